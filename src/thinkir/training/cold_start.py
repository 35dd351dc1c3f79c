"""LREM cold start: λ1·L_SFT (next-token loss on the keyword tokens and ``</think>``) + λ2·L_InfoNCE
(query embedding at ``<emb>`` against in-batch items, documents embedded as ``text <emb>``), λ = (0.1, 1).

Only a LoRA adapter (all linear layers) and the three special-token rows are trained, so the artefact
is a few MB. ``python -m thinkir.training.cold_start --config FILE`` reads section ``cold_start``.
"""

from __future__ import annotations

import json
import logging
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from thinkir.device import torch_dtype
from thinkir.retrieval.reasoning.lm import LremLM
from thinkir.training.loop import TimeBudget, autocast_for, optimizer_step, record_step
from thinkir.training.lrem_data import LremExample, load_config, read_examples
from thinkir.training.lrem_losses import info_nce, sft_loss

logger = logging.getLogger(__name__)


@dataclass
class ColdStartConfig:
    """Cold-start settings (section ``cold_start``)."""

    llm: str = "smollm2-135m"
    adapters: tuple[str, ...] = ()  # merged before training (none for the cold start)
    data: str = "runs/lrem/data/train.jsonl"
    out_dir: str = "runs/lrem/cold_start"
    lambda_sft: float = 0.1
    lambda_nce: float = 1.0
    temperature: float = 0.05
    lr: float = 2e-4
    weight_decay: float = 0.0
    warmup_ratio: float = 0.05
    epochs: float = 1.0
    max_steps: int = 0  # 0: epochs decide
    time_budget_s: float = 0.0  # 0: no limit; else fit the schedule to it, stop and save when spent
    cpu_bf16: bool = False  # bf16 autocast on the CPU (fp32 master weights; ~2.5x on AVX512-BF16 CPUs)
    save_dtype: str = "bfloat16"  # dtype of the saved adapter weights ("" keeps the training dtype)
    batch_size: int = 16
    max_examples: int = 0
    max_doc_tokens: int = 256
    max_query_tokens: int = 64
    max_keyword_tokens: int = 16
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    lora_targets: str = "all-linear"
    hard_negatives: bool = True
    seed: int = 13
    device: str | None = None
    log_every: int = 10


# ---- shared by cold start and GRPO -------------------------------------------------------------
def load_trainable(cfg: Any) -> LremLM:
    """The LREM LM with ``cfg.adapters`` merged and a fresh LoRA adapter (plus special-token rows) on top."""
    from thinkir._optional import require

    peft = require("peft", "train")
    lm = LremLM.load(
        cfg.llm,
        adapters=cfg.adapters,
        device=cfg.device,
        max_doc_tokens=cfg.max_doc_tokens,
        max_query_tokens=cfg.max_query_tokens,
        max_keyword_tokens=cfg.max_keyword_tokens,
    )
    lora = peft.LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=cfg.lora_targets if cfg.lora_targets == "all-linear" else list(cfg.lora_targets.split(",")),
        trainable_token_indices=list(lm.special_ids),
        task_type="CAUSAL_LM",
    )
    lm.model = peft.get_peft_model(lm.model, lora)
    lm.model.train()
    return lm


@dataclass
class QueryPass:
    """One forward pass over query sequences: embeddings at ``<emb>`` and the reasoning window."""

    embeddings: Any  # [B, H] float32, unit norm
    logits: Any  # [B, W+1, V]: logits[:, j] at position think+j (predicts token think+j+1)
    tokens: Any  # [B, W+1] long: token at position think+j (j=0 is <think>), pad elsewhere
    lengths: Any  # [B] long: number of predicted window tokens (keywords + </think>)


def forward_queries(lm: LremLM, queries: Sequence[str], keyword_ids: Sequence[Sequence[int]]) -> QueryPass:
    """Embed ``prompt <think> kw </think><emb>`` and return the logits over the reasoning window."""
    import torch
    import torch.nn.functional as F

    from thinkir.retrieval.reasoning.lm import lm_head

    prompts = [lm.prompt_ids(q) for q in queries]
    seqs = [[*p, *k, lm.end_id, lm.emb_id] for p, k in zip(prompts, keyword_ids, strict=True)]
    hidden, mask = lm.hidden_states(seqs)  # [B, T, H]
    b = torch.arange(len(seqs), device=hidden.device)
    emb = F.normalize(hidden[b, mask.sum(1) - 1].float(), dim=-1)
    width = max(len(k) for k in keyword_ids) + 2  # <think>, keywords, </think>
    starts = torch.tensor([len(p) - 1 for p in prompts], device=hidden.device)
    pos = (starts[:, None] + torch.arange(width, device=hidden.device)[None, :]).clamp(max=hidden.shape[1] - 1)
    window = hidden[b[:, None], pos]  # [B, W+1, H]
    logits = lm_head(lm.model)(window)
    tokens = torch.full((len(seqs), width), -100, dtype=torch.long, device=hidden.device)
    for i, (p, k) in enumerate(zip(prompts, keyword_ids, strict=True)):
        tokens[i, : len(k) + 2] = torch.tensor([p[-1], *k, lm.end_id])
    lengths = torch.tensor([len(k) + 1 for k in keyword_ids], device=hidden.device)
    return QueryPass(emb, logits, tokens, lengths)


def embed_documents(lm: LremLM, texts: Sequence[str]) -> Any:
    """``[N, H]`` unit embeddings of ``text <emb>`` (with grad when training)."""
    return lm.embed([lm.document_ids(t) for t in texts])


def item_batch(rows: Sequence[LremExample], hard_negatives: bool) -> tuple[list[str], list[int], list[list[int]]]:
    """Items of a batch (positives of rows with an item, then hard negatives), each query row's positive
    index, and per query row the item indices that are its positives too (excluded as negatives)."""
    texts: list[str] = []
    where: dict[str, int] = {}
    for r in rows:
        if r.item is not None and r.item not in where:
            where[r.item] = len(texts)
            texts.append(r.item)
    if hard_negatives:
        for r in rows:
            if r.negative is not None and r.negative not in where:
                where[r.negative] = len(texts)
                texts.append(r.negative)
    with_item = [r for r in rows if r.item is not None]
    positives = [where[r.item] for r in with_item if r.item is not None]
    by_q: dict[str, set[int]] = {}
    for r in with_item:
        by_q.setdefault(r.qid, set()).add(where[r.item or ""])
    exclude = [sorted(by_q[r.qid]) for r in with_item]
    return texts, positives, exclude


def exclusion_mask(exclude: Sequence[Sequence[int]], n_items: int, device: Any) -> Any:
    import torch

    mask = torch.zeros((len(exclude), n_items), dtype=torch.bool, device=device)
    for i, cols in enumerate(exclude):
        mask[i, list(cols)] = True
    return mask


def cosine_schedule(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / max(warmup, 1)
    progress = (step - warmup) / max(total - warmup, 1)
    return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def save_adapter(lm: LremLM, out_dir: str | Path, cfg: Any, log: list[dict[str, float]], stage: str) -> Path:
    """Save the LoRA adapter (with the special-token rows) and ``lrem.json`` (config, log, base adapters)."""

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if getattr(cfg, "save_dtype", ""):  # bf16 halves the artefact (an r=8 adapter: ~5 MB instead of ~10)
        dtype = torch_dtype(cfg.save_dtype)
        for param in lm.model.parameters():
            if param.requires_grad:
                param.data = param.data.to(dtype)
    # the special-token rows travel as trainable-token deltas; never the whole (resized) embedding matrix
    lm.model.save_pretrained(str(out), save_embedding_layers=False)
    meta = {"stage": stage, "llm": cfg.llm, "base_adapters": list(cfg.adapters), "config": asdict(cfg), "log": log}
    (out / "lrem.json").write_text(json.dumps(meta, indent=2))
    size = sum(f.stat().st_size for f in out.glob("adapter_model.*"))
    logger.info("saved %s adapter to %s (%.1f MB)", stage, out, size / 1e6)
    return out


def _optimizer(lm: LremLM, cfg: Any, plan: dict[str, int]) -> tuple[Any, Any]:
    """AdamW with warm-up + cosine decay over ``plan["total"]`` steps, read at every step, so a
    :class:`~thinkir.training.loop.TimeBudget` that shortens the plan makes the decay finish in time."""
    import torch

    params = [p for p in lm.model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    warmup = int(cfg.warmup_ratio * plan["total"])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: cosine_schedule(s, plan["total"], warmup))
    return opt, sched


def run_step(
    lm: LremLM,
    cfg: Any,
    loss_fn: Callable[[LremLM, Sequence[LremExample], Any], tuple[Any, dict[str, float]]],
    batch: Sequence[LremExample],
    opt: Any,
    sched: Any,
    budget: TimeBudget,
    plan: dict[str, int],
    log: list[dict[str, float]],
    step: int,
    label: str,
) -> bool:
    """One optimizer step of an LREM stage (cold start or GRPO): ``loss_fn(lm, batch, cfg)`` gives ``(loss, stats)``
    under the configured autocast; step, log, refit ``plan["total"]`` to the time budget. True when the
    budget is spent."""
    with autocast_for(lm.device, cfg.cpu_bf16):
        loss, stats = loss_fn(lm, batch, cfg)
    optimizer_step(loss, opt, sched, [p for p in lm.model.parameters() if p.requires_grad], 1.0)
    record_step(log, stats, step, plan["total"], budget.start, cfg.log_every, None, label, logger)
    plan["total"] = budget.refit(step + 1, plan["total"])
    return budget.exhausted(step + 1, plan["total"])


# ---- the cold start -----------------------------------------------------------------------------
def cold_start_loss(lm: LremLM, rows: Sequence[LremExample], cfg: ColdStartConfig) -> tuple[Any, dict[str, float]]:
    """λ_sft·SFT + λ_nce·InfoNCE on one batch; rows without an item only count in the SFT term."""
    import torch

    kw_ids = [lm.keyword_ids(r.keywords) for r in rows]
    qp = forward_queries(lm, [r.query for r in rows], kw_ids)
    l_sft = sft_loss(qp.logits, qp.tokens)
    texts, positives, exclude = item_batch(rows, cfg.hard_negatives)
    has_item = torch.tensor([r.item is not None for r in rows], device=qp.embeddings.device)
    if texts and len(positives) > 0:
        items = embed_documents(lm, texts)
        pos = torch.tensor(positives, device=items.device)
        l_nce = info_nce(
            qp.embeddings[has_item], items, pos, cfg.temperature, exclusion_mask(exclude, len(texts), items.device)
        )
    else:
        l_nce = qp.embeddings.sum() * 0.0
    loss = cfg.lambda_sft * l_sft + cfg.lambda_nce * l_nce
    return loss, {"loss": loss.item(), "sft": l_sft.item(), "nce": l_nce.item()}


def train_cold_start(cfg: ColdStartConfig) -> Path:
    """Train and save the cold-start adapter; returns its folder."""
    import torch

    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    rows = read_examples(cfg.data)
    if cfg.max_examples:
        rows = rows[: cfg.max_examples]
    lm = load_trainable(cfg)
    steps_per_epoch = max(1, len(rows) // cfg.batch_size)
    plan = {"total": cfg.max_steps or max(1, int(cfg.epochs * steps_per_epoch))}
    opt, sched = _optimizer(lm, cfg, plan)
    budget = TimeBudget(cfg.time_budget_s, 0, "cold start", logger, probe_steps=5)
    log: list[dict[str, float]] = []
    order: list[int] = []
    step = 0
    while step < plan["total"]:
        if len(order) < cfg.batch_size:
            order += random.sample(range(len(rows)), len(rows))
        batch = [rows[i] for i in order[: cfg.batch_size]]
        del order[: cfg.batch_size]
        spent = run_step(lm, cfg, cold_start_loss, batch, opt, sched, budget, plan, log, step, "cold start")
        step += 1
        if spent:
            break
    return save_adapter(lm, cfg.out_dir, cfg, log, "cold_start")


def main(argv: Sequence[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="LREM cold start (section 'cold_start' of a config).")
    parser.add_argument("--config", required=True)
    parser.add_argument("--set", action="append", default=[], help="key=value override")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    out = train_cold_start(load_config(ColdStartConfig, args.config, "cold_start", args.set))
    print(json.dumps({"adapter": str(out)}))


if __name__ == "__main__":
    main()
