"""LREM losses and rewards, as pure functions of scores, embeddings, log-probabilities and texts.

Shapes: ``B`` queries (or sampled reasonings), ``N`` items (documents), ``D`` embedding size,
``T`` tokens, ``V`` vocabulary, ``G`` samples per query.

* :func:`info_nce`: in-batch contrastive loss over cosine similarities / τ;
* :func:`sft_loss`: next-token cross-entropy on the reasoning tokens only;
* :func:`grpo_advantages`: rewards normalised within each group of ``G`` samples;
* :func:`lrem_reward`: 0.5·format + 0.2·length(≤16) + 1·(1 − log rank / log N);
* :func:`grpo_loss`: clipped policy-gradient objective with the advantages, optional KL penalty.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

_KEYWORD_LIST = re.compile(r"^[^,\n]+(,[^,\n]+)*$")


def info_nce(
    queries: torch.Tensor,
    items: torch.Tensor,
    positives: torch.Tensor,
    temperature: float = 0.05,
    exclude: torch.Tensor | None = None,
) -> torch.Tensor:
    """InfoNCE with in-batch negatives: ``−mean_i log softmax_j(cos(q_i, d_j) / τ)[pos_i]``.

    Args:
        queries: ``[B, D]`` query embeddings (normalised here).
        items: ``[N, D]`` item embeddings: every query's positive plus any extra negatives.
        positives: ``[B]`` long, the index in ``items`` of each query's positive.
        temperature: τ.
        exclude: ``[B, N]`` bool, True where an item must not count as a negative for a query (another
            positive of the same query); never applied to the query's own positive.
    """
    import torch
    import torch.nn.functional as F

    q = F.normalize(queries.float(), dim=-1)
    d = F.normalize(items.float(), dim=-1)
    logits = q @ d.T / temperature  # [B, N]
    if exclude is not None:
        own = F.one_hot(positives, logits.shape[1]).bool()
        logits = logits.masked_fill(exclude & ~own, torch.finfo(logits.dtype).min)
    return F.cross_entropy(logits, positives)


def sft_loss(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    """Mean next-token negative log-likelihood over the labelled positions.

    Args:
        logits: ``[B, T, V]``: ``logits[:, t]`` predicts token ``t + 1``.
        labels: ``[B, T]`` token ids, ``ignore_index`` everywhere but the reasoning tokens (and
            ``</think>``) of the *input*; shifted here.
    """
    import torch.nn.functional as F

    shifted_logits = logits[:, :-1].float()
    shifted_labels = labels[:, 1:]
    return F.cross_entropy(
        shifted_logits.reshape(-1, shifted_logits.shape[-1]), shifted_labels.reshape(-1), ignore_index=ignore_index
    )


def grpo_advantages(rewards: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Group-normalised advantages ``(r − mean_g r) / (std_g r + eps)``; ``rewards`` is ``[Q, G]``.

    The standard deviation is the population one (``unbiased=False``); a group whose rewards are all
    equal gets zero advantages.
    """
    mean = rewards.mean(dim=1, keepdim=True)
    std = rewards.std(dim=1, keepdim=True, unbiased=False)
    return (rewards - mean) / (std + eps)


def format_reward(keywords: str, closed: bool) -> float:
    """1 when the reasoning is a non-empty comma-separated keyword list closed by ``</think>``, else 0."""
    text = keywords.strip()
    return 1.0 if closed and text and _KEYWORD_LIST.match(text) else 0.0


def length_reward(n_tokens: int, max_tokens: int = 16) -> float:
    """1 when the reasoning has between 1 and ``max_tokens`` tokens, else 0."""
    return 1.0 if 0 < n_tokens <= max_tokens else 0.0


def rank_reward(rank: int, n_items: int) -> float:
    """``1 − log(rank) / log(N)`` for the 1-based rank of the gold item among ``N``: 1 at rank 1, 0 at N."""
    if n_items < 2:
        return 1.0
    rank = min(max(rank, 1), n_items)
    return 1.0 - math.log(rank) / math.log(n_items)


def lrem_reward(
    keywords: str,
    closed: bool,
    n_tokens: int,
    rank: int,
    n_items: int,
    weights: tuple[float, float, float] = (0.5, 0.2, 1.0),
    max_tokens: int = 16,
) -> float:
    """``w_f·format + w_l·length + w_r·rank`` with the paper's weights (0.5, 0.2, 1) by default."""
    w_f, w_l, w_r = weights
    return (
        w_f * format_reward(keywords, closed)
        + w_l * length_reward(n_tokens, max_tokens)
        + w_r * rank_reward(rank, n_items)
    )


def gold_ranks(sims: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
    """1-based rank of each row's gold column: ``1 + #{j: sims[i, j] > sims[i, pos_i]}``; ``[B]`` long."""
    gold = sims.gather(1, positives[:, None])  # [B, 1]
    return 1 + (sims > gold).sum(dim=1)


def grpo_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_eps: float = 0.2,
    ref_logprobs: torch.Tensor | None = None,
    kl_beta: float = 0.0,
) -> torch.Tensor:
    """GRPO objective (to minimise), token-level and averaged per sequence, then over sequences.

    ``−mean_i (1/|o_i|) Σ_t [min(ρ_t A_i, clip(ρ_t, 1±ε) A_i) − β KL_t]`` with ``ρ_t = exp(logp − old)``
    and the k3 estimator ``KL_t = exp(ref − logp) − (ref − logp) − 1`` of KL(π || π_ref).

    Args:
        logprobs: ``[B, T]`` log π(o_t) of the sampled tokens under the current policy (with grad).
        old_logprobs: ``[B, T]`` the same under the sampling policy (no grad).
        advantages: ``[B]`` one advantage per sampled sequence.
        mask: ``[B, T]`` 1 on the sampled tokens.
        ref_logprobs: ``[B, T]`` under the reference (cold-start) policy, for the KL term.
    """
    import torch

    mask = mask.float()
    ratio = torch.exp(logprobs - old_logprobs)
    adv = advantages[:, None]
    per_token = torch.minimum(ratio * adv, torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * adv)
    if ref_logprobs is not None and kl_beta > 0:
        delta = ref_logprobs - logprobs
        per_token = per_token - kl_beta * (torch.exp(delta) - delta - 1)
    per_seq = (per_token * mask).sum(1) / mask.sum(1).clamp(min=1)
    return -per_seq.mean()
