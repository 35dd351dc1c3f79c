"""Stage-2 trainer (DeAR-L): supervised fine-tuning of a listwise LoRA on reasoning rankings.

Each example is a window of passages with a teacher LLM's permutation and rationale; the target is
``<think> rationale </think> [i] > [j] > …`` (reasoning before the ranking), the loss covers the
target tokens only. Passages are shortened and rationales cut to fit a small model. Passages are
reshuffled per epoch (ids in the ranking and rationale renumbered), so the model cannot learn a
position prior. Resumable like the stage-1 trainer.
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from thinkir.device import torch_dtype
from thinkir.training import load_config, save_config

logger = logging.getLogger(__name__)


@dataclass
class ListwiseTrainConfig:
    """Arguments of a stage-2 run (JSON/YAML keys of the same names)."""

    output_dir: str = "runs/dear-listwise"
    base_model: str = "smollm2-135m"
    base_model_name: str | None = None  # recorded in the adapter when base_model is a local copy
    reasoning_dirs: list[str] = field(
        default_factory=lambda: ["../shared/data/reasoning/listwise-gpt35", "../shared/data/reasoning/listwise-gpt4"]
    )
    dev_fraction: float = 0.05
    max_examples: int | None = None
    passage_tokens: int = 64
    query_tokens: int = 48
    max_rationale_words: int = 40
    max_new_tokens: int = 96
    window_size: int = 5
    step: int = 3
    shuffle_passages: bool = True
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )
    lr: float = 2e-4
    epochs: float = 1.0
    max_steps: int | None = None
    batch_size: int = 8
    warmup_ratio: float = 0.05
    max_grad_norm: float = 1.0
    max_train_seconds: float | None = None
    dev_windows: int = 32
    checkpoint_every: int = 100
    log_every: int = 10
    seed: int = 13
    device: str | None = None
    dtype: str | None = None
    cpu_bf16: bool = False  # bf16 autocast on the CPU (fp32 master weights; ~2.5x on AVX512-BF16 CPUs)
    save_dtype: str = "bfloat16"
    progress: bool = True


def renumber(example: Any, perm: list[int]) -> Any:
    """The example with passages reordered: new position ``j`` holds old passage ``perm[j]``."""
    from dataclasses import replace

    inv = {old: new for new, old in enumerate(perm)}
    n = len(perm)

    def swap(m: re.Match[str]) -> str:
        k = int(m.group(1)) - 1
        return f"[{inv[k] + 1}]" if 0 <= k < n else m.group(0)

    return replace(
        example,
        passages=tuple(example.passages[p] for p in perm),
        order=tuple(inv[o] for o in example.order),
        rationale=re.sub(r"\[(\d+)\]", swap, example.rationale),
    )


def encode_example(prompter: Any, example: Any, max_words: int) -> tuple[list[int], list[int]]:
    """``(input_ids, labels)`` with the prompt masked (-100)."""
    from thinkir.training.data_rerank import shorten_words

    prompt = prompter.prompt_ids(example.query, example.passages)
    target = prompter.target_ids(example.order, shorten_words(example.rationale, max_words))
    return prompt + target, [-100] * len(prompt) + target


def train(cfg: ListwiseTrainConfig) -> Path:
    """Train, save the adapter under ``output_dir/adapter`` and return that path."""
    import torch
    from peft import LoraConfig
    from tqdm.auto import tqdm

    from thinkir.rerank.dear import AdapterHost
    from thinkir.rerank.listwise import LISTWISE_ADAPTER, ListwisePrompter, ListwiseReranker, ListwiseSettings
    from thinkir.rerank.parse import parse_ranking
    from thinkir.rerank.pointwise import pad_batch
    from thinkir.training.data_rerank import listwise_examples, split_dev
    from thinkir.training.loop import (
        Checkpointer,
        TimeBudget,
        autocast_for,
        epoch_batch,
        optimizer_step,
        warmup_linear_schedule,
    )

    t_start = time.perf_counter()
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "run_config.json")
    torch.manual_seed(cfg.seed)

    examples = listwise_examples([Path(d) for d in cfg.reasoning_dirs])
    if cfg.max_examples:
        random.Random(cfg.seed).shuffle(examples)
        examples = examples[: cfg.max_examples]
    train_ex, dev_ex = split_dev(examples, cfg.dev_fraction)
    logger.info("stage-2 examples: %d train, %d dev", len(train_ex), len(dev_ex))

    dtype = torch_dtype(cfg.dtype)
    host = AdapterHost(cfg.base_model, device=cfg.device, dtype=dtype)
    host.add_adapter(
        LISTWISE_ADAPTER,
        LoraConfig(
            task_type="CAUSAL_LM",
            r=cfg.lora_r,
            lora_alpha=cfg.lora_alpha,
            lora_dropout=cfg.lora_dropout,
            target_modules=list(cfg.target_modules),
        ),
    )
    settings = ListwiseSettings(
        cfg.window_size,
        cfg.step,
        cfg.passage_tokens,
        cfg.query_tokens,
        cfg.max_new_tokens,
        batch_size=max(8, cfg.batch_size * 4),
    )
    prompter = ListwisePrompter(host.tokenizer, settings)
    tok = host.tokenizer
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id

    params = [p for n, p in host.peft.named_parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    steps_per_epoch = max(1, math.ceil(len(train_ex) / cfg.batch_size))
    total = int(math.ceil(cfg.epochs * steps_per_epoch))
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    warmup = int(cfg.warmup_ratio * total)
    sched = warmup_linear_schedule(opt, lambda: total, warmup)  # reads ``total`` live (time budget)

    named = {n: p for n, p in host.peft.named_parameters() if p.requires_grad}
    checkpoint = Checkpointer(out / "checkpoint" / "state.pt", named, opt, sched)
    step = checkpoint.resume(map_location=host.device)
    if step:
        logger.info("resumed stage-2 training at step %d", step)

    autocast = autocast_for(host.device, cfg.cpu_bf16)
    host.peft.train()
    bar = tqdm(total=total, initial=step, disable=not cfg.progress, desc="stage-2")
    log: list[dict[str, float]] = []
    budget = TimeBudget(cfg.max_train_seconds, step, "stage-2", logger)
    stopped_early = False
    while step < total:
        epoch, idx = epoch_batch(step, len(train_ex), cfg.batch_size, cfg.seed, steps_per_epoch)
        batch = []
        for i in idx:
            ex = train_ex[i]
            if cfg.shuffle_passages:
                order = list(range(len(ex.passages)))
                random.Random(hash((cfg.seed, epoch, i)) & 0xFFFFFFFF).shuffle(order)
                ex = renumber(ex, order)
            batch.append(encode_example(prompter, ex, cfg.max_rationale_words))
        ids, mask = pad_batch([b[0] for b in batch], pad, side="right")
        labels, _ = pad_batch([b[1] for b in batch], -100, side="right")
        with autocast, host.active(LISTWISE_ADAPTER):
            loss = host.causal_lm(
                input_ids=ids.to(host.device), attention_mask=mask.to(host.device), labels=labels.to(host.device)
            ).loss
        optimizer_step(loss, opt, sched, params, cfg.max_grad_norm)
        step += 1
        bar.update(1)
        if step % cfg.log_every == 0 or step == total:
            log.append({"step": step, "loss": round(float(loss.detach()), 4)})
            bar.set_postfix(loss=log[-1]["loss"])
            logger.info("stage-2 %s", log[-1])
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
        "steps": step,
        "planned_steps": total,
        "stopped_early": stopped_early,
        "train_examples": len(train_ex),
        "dev_examples": len(dev_ex),
        "log": log,
    }
    if dev_ex and cfg.dev_windows:
        reranker = ListwiseReranker(host, LISTWISE_ADAPTER, settings)
        sample = dev_ex[: cfg.dev_windows]
        texts = reranker.generate([prompter.prompt_ids(e.query, e.passages) for e in sample])
        parsed = [parse_ranking(t, len(e.passages)) for t, e in zip(texts, sample, strict=True)]
        metrics["dev"] = {
            "windows": len(sample),
            "valid_rate": sum(p.valid for p in parsed) / len(sample),
            "top1_agreement": sum(p.order[0] == e.order[0] for p, e in zip(parsed, sample, strict=True)) / len(sample),
            "example_output": texts[0][:400],
        }
    adapter_settings = {
        **asdict(settings),
        "eos_token": settings.eos_token or host.tokenizer.eos_token,  # what this tokenizer appended
        "stage": "listwise",
        "base_model": cfg.base_model_name or host.base_model_name,
    }
    path = host.save_adapter(LISTWISE_ADAPTER, out / "adapter", adapter_settings, cfg.save_dtype)
    metrics["seconds"] = {"train": round(t_train - budget.start, 1), "total": round(time.perf_counter() - t_start, 1)}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    logger.info("stage-2 done: %s", {k: v for k, v in metrics.items() if k != "log"})
    return path


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Train the DeAR stage-2 (listwise) adapter.")
    parser.add_argument("--config", required=True)
    parser.add_argument("--output-dir", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print(train(load_config(ListwiseTrainConfig, args.config, output_dir=args.output_dir)))  # noqa: T201


if __name__ == "__main__":
    main()
