"""LREM reinforcement stage: GRPO over sampled keyword reasonings, plus InfoNCE on their embeddings.

Per step: ``Q`` queries with items; ``G`` (8) reasonings sampled per query from the current policy;
each sampled query embedding is ranked against the ``N`` in-batch items (positives, hard negatives);
reward = 0.5·format + 0.2·length(≤16) + 1·(1 − log rank / log N); advantages normalised within each
group; loss = γ_grpo·GRPO + γ_nce·InfoNCE (1, 0.1) over all ``Q·G`` embeddings, with an optional KL
penalty to the cold-start policy (the merged cold-start weights, i.e. this stage's adapter disabled).

``python -m thinkir.training.grpo --config FILE`` reads section ``grpo``; ``adapters`` names the
cold-start adapter, merged first; a new LoRA adapter is trained on top and saved.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thinkir.errors import InputError
from thinkir.retrieval.reasoning.lm import LremLM
from thinkir.training.cold_start import (
    _optimizer,
    embed_documents,
    exclusion_mask,
    forward_queries,
    item_batch,
    load_trainable,
    run_step,
    save_adapter,
)
from thinkir.training.loop import TimeBudget
from thinkir.training.lrem_data import LremExample, load_config, read_examples
from thinkir.training.lrem_losses import gold_ranks, grpo_advantages, grpo_loss, info_nce, lrem_reward

logger = logging.getLogger(__name__)


@dataclass
class GRPOConfig:
    """GRPO settings (section ``grpo``)."""

    llm: str = "smollm2-135m"
    adapters: tuple[str, ...] = ("runs/lrem/cold_start",)
    data: str = "runs/lrem/data/train.jsonl"
    out_dir: str = "runs/lrem/grpo"
    group_size: int = 8
    queries_per_step: int = 8
    sample_temperature: float = 1.0
    top_p: float = 1.0
    reward_weights: tuple[float, float, float] = (0.5, 0.2, 1.0)
    gamma_grpo: float = 1.0
    gamma_nce: float = 0.1
    temperature: float = 0.05
    clip_eps: float = 0.2
    kl_beta: float = 0.0
    lr: float = 5e-5
    weight_decay: float = 0.0
    warmup_ratio: float = 0.05
    steps: int = 50
    time_budget_s: float = 0.0  # 0: no limit; else fit the schedule to it, stop and save when spent
    cpu_bf16: bool = False  # bf16 autocast on the CPU (fp32 master weights)
    save_dtype: str = "bfloat16"  # dtype of the saved adapter weights ("" keeps the training dtype)
    max_doc_tokens: int = 256
    max_query_tokens: int = 64
    max_keyword_tokens: int = 16
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    lora_targets: str = "all-linear"
    hard_negatives: bool = True
    seed: int = 13
    device: str | None = None
    log_every: int = 5


def sequence_logprobs(logits: Any, tokens: Any) -> Any:
    """``[B, W]`` log-probability of window token ``j+1`` under ``logits[:, j]`` (0 where padded)."""
    import torch

    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    target = tokens[:, 1:]
    picked = logp.gather(2, target.clamp(min=0)[..., None]).squeeze(-1)
    return picked * (target >= 0)


def grpo_step_loss(lm: LremLM, rows: Sequence[LremExample], cfg: GRPOConfig) -> tuple[Any, dict[str, float]]:
    """Sample, score, and return the step's loss and statistics (see the module docstring)."""
    import torch

    queries = [r.query for r in rows]
    gens = lm.generate(
        queries,
        do_sample=True,
        temperature=cfg.sample_temperature,
        top_p=cfg.top_p,
        num_samples=cfg.group_size,
        tidy=False,  # rewards and the policy gradient are on the raw sampled tokens
    )
    flat = [g for per_q in gens for g in per_q]  # [Q*G], query-major
    rep_queries = [q for q in queries for _ in range(cfg.group_size)]
    qp = forward_queries(lm, rep_queries, [g.ids for g in flat])

    texts, positives, exclude = item_batch(rows, cfg.hard_negatives)
    items = embed_documents(lm, texts)  # [N, H]
    pos = torch.tensor([p for p in positives for _ in range(cfg.group_size)], device=items.device)
    excl = exclusion_mask([e for e in exclude for _ in range(cfg.group_size)], len(texts), items.device)
    with torch.no_grad():
        sims = (qp.embeddings @ items.T).masked_fill(excl & ~torch.nn.functional.one_hot(pos, len(texts)).bool(), -2.0)
        ranks = gold_ranks(sims, pos).tolist()
    n_items = len(texts)
    rewards = torch.tensor(
        [
            lrem_reward(g.text, g.closed, len(g.ids), r, n_items, cfg.reward_weights, cfg.max_keyword_tokens)
            for g, r in zip(flat, ranks, strict=True)
        ],
        device=items.device,
    )
    adv = grpo_advantages(rewards.view(len(rows), cfg.group_size)).flatten()

    logp = sequence_logprobs(qp.logits, qp.tokens)  # [Q*G, W]
    mask = torch.zeros_like(logp)
    for i, g in enumerate(flat):
        mask[i, : len(g.ids) + (1 if g.closed else 0)] = 1.0  # sampled tokens only (a forced </think> is not)
    ref = None
    if cfg.kl_beta > 0:
        with torch.no_grad(), lm.model.disable_adapter():
            ref_pass = forward_queries(lm, rep_queries, [g.ids for g in flat])
            ref = sequence_logprobs(ref_pass.logits, ref_pass.tokens)
    l_grpo = grpo_loss(logp, logp.detach(), adv, mask, cfg.clip_eps, ref, cfg.kl_beta)
    l_nce = info_nce(qp.embeddings, items, pos, cfg.temperature, excl)
    loss = cfg.gamma_grpo * l_grpo + cfg.gamma_nce * l_nce
    stats = {
        "loss": loss.item(),
        "grpo": l_grpo.item(),
        "nce": l_nce.item(),
        "reward": float(rewards.mean()),
        "mean_rank": sum(ranks) / len(ranks),
        "n_items": float(n_items),
        "format": sum(g.closed for g in flat) / len(flat),
        "kw_tokens": sum(len(g.ids) for g in flat) / len(flat),
    }
    return loss, stats


def train_grpo(cfg: GRPOConfig) -> Path:
    """Run GRPO on top of the merged ``cfg.adapters`` and save the new adapter; returns its folder."""
    import torch

    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    rows = [r for r in read_examples(cfg.data) if r.item is not None]
    if not rows:
        raise InputError(f"{cfg.data} has no rows with an item; GRPO ranks items, so it needs some")
    n_queries = len({r.qid for r in rows})
    lm = load_trainable(cfg)
    plan = {"total": cfg.steps}
    opt, sched = _optimizer(lm, cfg, plan)
    budget = TimeBudget(cfg.time_budget_s, 0, "grpo", logger, probe_steps=3)
    log: list[dict[str, float]] = []
    order: list[int] = []
    step = 0
    while step < plan["total"]:
        batch: list[LremExample] = []
        seen: set[str] = set()
        while len(batch) < cfg.queries_per_step:
            if not order:
                order = random.sample(range(len(rows)), len(rows))
            r = rows[order.pop()]
            if r.qid not in seen or len(seen) >= n_queries:
                batch.append(r)
                seen.add(r.qid)
        spent = run_step(lm, cfg, grpo_step_loss, batch, opt, sched, budget, plan, log, step, "grpo")
        step += 1
        if spent:
            break
    return save_adapter(lm, cfg.out_dir, cfg, log, "grpo")


def main(argv: Sequence[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="LREM GRPO stage (section 'grpo' of a config).")
    parser.add_argument("--config", required=True)
    parser.add_argument("--set", action="append", default=[], help="key=value override")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    out = train_grpo(load_config(GRPOConfig, args.config, "grpo", args.set))
    print(json.dumps({"adapter": str(out)}))


if __name__ == "__main__":
    main()
