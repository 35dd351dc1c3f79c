"""Stage-1 trainer (DeAR-P): LoRA + score head on a causal LM, distilled from a cached teacher.

Run with ``thinkir train reranker-pointwise --config FILE`` or ``python -m thinkir.training.pointwise
--config FILE``. Resumable: ``output_dir/checkpoint/`` holds the trainable weights, optimizer,
scheduler and step every ``checkpoint_every`` steps; a rerun with the same config continues from it.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from thinkir.device import torch_dtype
from thinkir.training import load_config, save_config

logger = logging.getLogger(__name__)


@dataclass
class StageOneData:
    """The stage-1 training groups and their dev split: read by :func:`build_groups`, shared by the
    stage-1 trainer and the cross-encoder teacher trainer (the same keys in both configs)."""

    triples: str | None = "../shared/data/msmarco/triples.jsonl"
    reasoning_dirs: list[str] = field(
        default_factory=lambda: ["../shared/data/reasoning/listwise-gpt35", "../shared/data/reasoning/listwise-gpt4"]
    )
    scifact_dir: str | None = "../shared/data/scifact"
    cache_dir: str = "runs/cache"
    n_negatives: int = 3
    dev_fraction: float = 0.05
    max_groups: int | None = None
    seed: int = 13


@dataclass
class PointwiseTrainConfig(StageOneData):
    """Arguments of a stage-1 run (JSON/YAML keys of the same names; the data keys: :class:`StageOneData`)."""

    output_dir: str = "runs/dear-pointwise"
    base_model: str = "smollm2-135m"
    base_model_name: str | None = None  # recorded in the adapter when base_model is a local copy
    # input
    q_max_len: int = 32
    p_max_len: int = 196
    # LoRA (published: r 16-32, alpha 2r, dropout 0.1, attention + MLP projections)
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )
    # optimisation
    lr: float = 1e-4
    head_lr: float = 1e-3
    epochs: float = 2.0
    max_steps: int | None = None
    batch_size: int = 8
    warmup_ratio: float = 0.05
    max_grad_norm: float = 1.0
    max_train_seconds: float | None = None
    # loss: (1 - alpha) (w RankNet + (1 - w) CE) + alpha T^2 KL
    alpha: float = 0.1
    temperature: float = 2.0
    ranknet_weight: float = 0.5
    ranknet_targets: str = "binary"
    teacher: str | None = "minilm"
    teacher_kind: str = "auto"
    teacher_path: str | None = None  # load the teacher from here (scores stay keyed by ``teacher``)
    teacher_scale: float = 20.0
    teacher_required: bool = True  # False: train without the KL term when the teacher cannot be loaded
    # bookkeeping
    checkpoint_every: int = 100
    log_every: int = 10
    device: str | None = None
    dtype: str | None = None
    cpu_bf16: bool = False  # bf16 autocast on the CPU (fp32 master weights; ~2.5x on AVX512-BF16 CPUs)
    save_dtype: str = "bfloat16"
    progress: bool = True


def build_groups(cfg: StageOneData) -> list[Any]:
    """All stage-1 training groups of the configured sources (train splits only)."""
    from thinkir.training import data_rerank as data

    groups: list[Any] = []
    if cfg.triples:
        groups += data.msmarco_groups(Path(cfg.triples), cfg.n_negatives, cfg.seed)
    if cfg.reasoning_dirs:
        groups += data.reasoning_groups(
            data.listwise_examples([Path(d) for d in cfg.reasoning_dirs]), cfg.n_negatives, cfg.seed
        )
    if cfg.scifact_dir:
        cache = Path(cfg.cache_dir) / "scifact-train-bm25.json"
        groups += data.scifact_groups(Path(cfg.scifact_dir), cfg.n_negatives, cache=cache, seed=cfg.seed)
    if cfg.max_groups:
        random.Random(cfg.seed).shuffle(groups)
        groups = groups[: cfg.max_groups]
    return groups


def group_accuracy(scores: list[list[float]]) -> dict[str, float]:
    """Share of groups whose positive (column 0) scores highest, and the mean reciprocal rank."""
    if not scores:
        return {"accuracy": 0.0, "mrr": 0.0}
    acc = sum(1 for s in scores if max(s) == s[0] and s.count(s[0]) == 1) / len(scores)
    mrr = sum(1.0 / (1 + sum(1 for v in s[1:] if v >= s[0])) for s in scores) / len(scores)
    return {"accuracy": round(acc, 4), "mrr": round(mrr, 4)}


def train(cfg: PointwiseTrainConfig) -> Path:
    """Train, save the adapter (with its score head) under ``output_dir/adapter`` and return that path."""
    import torch
    from peft import LoraConfig
    from tqdm.auto import tqdm

    from thinkir.rerank.dear import AdapterHost
    from thinkir.rerank.pointwise import POINTWISE_ADAPTER, DearPointwiseReranker, PointwiseSettings
    from thinkir.training.data_rerank import split_dev
    from thinkir.training.loop import (
        Checkpointer,
        TimeBudget,
        autocast_for,
        epoch_batch,
        optimizer_step,
        warmup_linear_schedule,
    )
    from thinkir.training.losses import HybridLossConfig, hybrid_loss
    from thinkir.training.teacher import TeacherCache

    t_start = time.perf_counter()
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "run_config.json")
    torch.manual_seed(cfg.seed)

    groups = build_groups(cfg)
    train_groups, dev_groups = split_dev(groups, cfg.dev_fraction)
    logger.info("stage-1 groups: %d train, %d dev", len(train_groups), len(dev_groups))
    teacher_t: list[list[float]] | None = None
    cache = None
    teacher_note = None
    if cfg.teacher:
        cache = TeacherCache(Path(cfg.cache_dir), cfg.teacher, cfg.teacher_kind, cfg.device, cfg.teacher_path)
        try:
            teacher_t = cache.lookup([g.query for g in train_groups], [g.docs for g in train_groups], cfg.progress)
        except (ImportError, OSError, ValueError) as err:
            if cfg.teacher_required:
                raise
            # e.g. a GPU machine without the teacher's weights and an incomplete score cache
            teacher_note = f"teacher {cfg.teacher!r} unavailable ({err}); trained without distillation"
            logger.warning(teacher_note)
            cache = None
    t_teacher = time.perf_counter()

    dtype = torch_dtype(cfg.dtype)
    host = AdapterHost(cfg.base_model, device=cfg.device, dtype=dtype)
    lora = LoraConfig(
        task_type="CAUSAL_LM",
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=list(cfg.target_modules),
    )
    host.add_adapter(POINTWISE_ADAPTER, lora, with_head=True)
    settings = PointwiseSettings(cfg.q_max_len, cfg.p_max_len, True, batch_size=max(16, cfg.batch_size * 4))
    model = DearPointwiseReranker(host, POINTWISE_ADAPTER, settings)
    rows = [model.encoder.encode(g.query, g.docs) for g in train_groups]
    n_docs = 1 + cfg.n_negatives

    head = host.heads[POINTWISE_ADAPTER]
    lora_params = [p for n, p in host.peft.named_parameters() if p.requires_grad and "lora_" in n]
    opt = torch.optim.AdamW(
        [{"params": lora_params, "lr": cfg.lr}, {"params": list(head.parameters()), "lr": cfg.head_lr}],
        weight_decay=0.0,
    )
    steps_per_epoch = max(1, math.ceil(len(rows) / cfg.batch_size))
    total = int(math.ceil(cfg.epochs * steps_per_epoch))
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    warmup = int(cfg.warmup_ratio * total)
    sched = warmup_linear_schedule(opt, lambda: total, warmup)  # reads ``total`` live (time budget)
    loss_cfg = HybridLossConfig(cfg.alpha, cfg.temperature, cfg.ranknet_weight, cfg.ranknet_targets)

    trainable = {
        **{n: p for n, p in host.peft.named_parameters() if p.requires_grad and "lora_" in n},
        "__head__": head.weight,
    }
    checkpoint = Checkpointer(out / "checkpoint" / "state.pt", trainable, opt, sched)
    step = checkpoint.resume(map_location=host.device)
    if step:
        logger.info("resumed stage-1 training at step %d", step)

    autocast = autocast_for(host.device, cfg.cpu_bf16)
    host.peft.train()
    bar = tqdm(total=total, initial=step, disable=not cfg.progress, desc="stage-1")
    log: list[dict[str, float]] = []
    budget = TimeBudget(cfg.max_train_seconds, step, "stage-1", logger)
    stopped_early = False
    while step < total:
        _, idx = epoch_batch(step, len(rows), cfg.batch_size, cfg.seed, steps_per_epoch)
        flat = [r for i in idx for r in rows[i]]
        with autocast:
            scores = model.forward(flat).view(len(idx), n_docs)
        teacher = None
        if teacher_t is not None:
            teacher = torch.tensor([teacher_t[i] for i in idx], device=scores.device) * cfg.teacher_scale
        parts = hybrid_loss(scores.float(), teacher, loss_cfg)
        optimizer_step(parts["loss"], opt, sched, [*lora_params, head.weight], cfg.max_grad_norm)
        step += 1
        bar.update(1)
        if step % cfg.log_every == 0 or step == total:
            rec = {"step": step, **{k: round(float(v.detach()), 4) for k, v in parts.items()}}
            log.append(rec)
            bar.set_postfix(loss=rec["loss"])
            logger.info("stage-1 %s", rec)
        if step % cfg.checkpoint_every == 0:
            checkpoint.save(step)
        new_total = budget.refit(step, total)
        if new_total != total:
            total = new_total  # the schedule reads ``total`` live, so it now decays within the budget
            bar.total = total
        if budget.exhausted(step, total):
            stopped_early = True
            break
    bar.close()
    checkpoint.save(step)
    t_train = time.perf_counter()

    host.peft.eval()
    metrics: dict[str, Any] = {
        "teacher_note": teacher_note,
        "steps": step,
        "planned_steps": total,
        "stopped_early": stopped_early,
        "train_groups": len(train_groups),
        "dev_groups": len(dev_groups),
        "log": log,
    }
    if dev_groups:
        student = [model.score_documents(g.query, g.docs) for g in dev_groups]
        metrics["dev_student"] = group_accuracy(student)
        if cache is not None:
            metrics["dev_teacher"] = group_accuracy(
                cache.lookup([g.query for g in dev_groups], [g.docs for g in dev_groups])
            )
    adapter_settings = {
        **asdict(settings),
        "eos_token": settings.eos_token or host.tokenizer.eos_token,  # what this tokenizer appended
        "stage": "pointwise",
        "base_model": cfg.base_model_name or host.base_model_name,
        "teacher": cfg.teacher,
    }
    path = host.save_adapter(POINTWISE_ADAPTER, out / "adapter", adapter_settings, cfg.save_dtype)
    metrics["seconds"] = {
        "teacher": round(t_teacher - t_start, 1),
        "train": round(t_train - budget.start, 1),
        "total": round(time.perf_counter() - t_start, 1),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    logger.info("stage-1 done: %s", {k: v for k, v in metrics.items() if k != "log"})
    return path


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Train the DeAR stage-1 (pointwise) adapter.")
    parser.add_argument("--config", required=True)
    parser.add_argument("--output-dir", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print(train(load_config(PointwiseTrainConfig, args.config, output_dir=args.output_dir)))  # noqa: T201


if __name__ == "__main__":
    main()
