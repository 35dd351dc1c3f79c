"""Ranking losses of DeAR stage 1 as pure functions of score tensors.

Scores come in groups: ``[B, N]`` with the positive at column 0 and ``N - 1`` negatives after it.
Teacher scores have the same shape. Every function returns a scalar (mean over the ``B`` groups).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def softmax_ce(scores: torch.Tensor) -> torch.Tensor:
    """Softmax cross-entropy with the positive at column 0.

    Args:
        scores: ``[B, N]`` student scores.

    Returns:
        ``mean_b(-log softmax(scores_b)[0])``.
    """
    import torch.nn.functional as F

    return -F.log_softmax(scores, dim=1)[:, 0].mean()


def ranknet(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """RankNet over all ordered pairs ``i != j`` of a group.

    The pair target is ``P*_ij`` in [0, 1] (1: ``i`` above ``j``); the loss is the binary cross-entropy
    between ``P*_ij`` and ``σ(s_i − s_j)``, averaged over the pairs whose target is not 0.5 (no
    preference) and over groups.

    Args:
        scores: ``[B, N]`` student scores.
        targets: ``[B, N, N]`` pair targets, e.g. :func:`binary_pair_targets` or :func:`soft_pair_targets`.
    """
    import torch
    import torch.nn.functional as F

    diff = scores.unsqueeze(2) - scores.unsqueeze(1)  # [B, N, N]: s_i - s_j
    n = scores.shape[1]
    off_diag = ~torch.eye(n, dtype=torch.bool, device=scores.device)
    informative = off_diag & (targets != 0.5)
    if not informative.any():
        return scores.sum() * 0.0
    bce = F.binary_cross_entropy_with_logits(diff, targets.to(diff.dtype), reduction="none")
    return bce[informative.expand_as(bce)].mean()


def binary_pair_targets(n: int, batch: int, device: torch.device | str | None = None) -> torch.Tensor:
    """``[B, N, N]`` targets from binary labels (positive at 0): 1 for (0, j), 0 for (j, 0), 0.5 else."""
    import torch

    labels = torch.zeros(batch, n, device=device)
    labels[:, 0] = 1.0
    diff = labels.unsqueeze(2) - labels.unsqueeze(1)
    return 0.5 + 0.5 * torch.sign(diff)


def soft_pair_targets(teacher: torch.Tensor) -> torch.Tensor:
    """``[B, N, N]`` soft targets ``σ(t_i − t_j)`` from ``[B, N]`` teacher scores."""
    import torch

    teacher = teacher.detach()
    return torch.sigmoid(teacher.unsqueeze(2) - teacher.unsqueeze(1))


def kl_distillation(scores: torch.Tensor, teacher: torch.Tensor, temperature: float = 2.0) -> torch.Tensor:
    """``T² · KL(softmax(t/T) ‖ softmax(s/T))``, averaged over groups.

    Args:
        scores: ``[B, N]`` student scores.
        teacher: ``[B, N]`` teacher scores (no gradient flows into them).
        temperature: ``T``.
    """
    import torch.nn.functional as F

    log_p_student = F.log_softmax(scores / temperature, dim=1)
    p_teacher = F.softmax(teacher.detach() / temperature, dim=1)
    return F.kl_div(log_p_student, p_teacher, reduction="batchmean") * temperature**2


@dataclass(frozen=True)
class HybridLossConfig:
    """``(1 − alpha) · (ranknet_weight · RankNet + (1 − ranknet_weight) · CE) + alpha · KL``."""

    alpha: float = 0.1
    temperature: float = 2.0
    ranknet_weight: float = 0.5
    ranknet_targets: str = "binary"  # binary | teacher


def hybrid_loss(
    scores: torch.Tensor, teacher: torch.Tensor | None, cfg: HybridLossConfig = HybridLossConfig()
) -> dict[str, torch.Tensor]:
    """DeAR's stage-1 objective. Without teacher scores the KL term is dropped (``alpha`` ignored).

    Args:
        scores: ``[B, N]`` student scores, positive at column 0.
        teacher: ``[B, N]`` teacher scores or None.

    Returns:
        ``{"loss", "ce", "ranknet", "kl"?}``: the total and its parts (scalars).
    """
    if cfg.ranknet_targets not in ("binary", "teacher"):
        raise ValueError(f"ranknet_targets must be 'binary' or 'teacher', not {cfg.ranknet_targets!r}")
    b, n = scores.shape
    ce = softmax_ce(scores)
    if cfg.ranknet_targets == "teacher":
        if teacher is None:
            raise ValueError("ranknet_targets='teacher' needs teacher scores")
        targets = soft_pair_targets(teacher.to(scores.dtype))
    else:
        targets = binary_pair_targets(n, b, scores.device)
    rn = ranknet(scores, targets)
    main = cfg.ranknet_weight * rn + (1.0 - cfg.ranknet_weight) * ce
    out = {"ce": ce, "ranknet": rn}
    if teacher is None:
        out["loss"] = main
        return out
    kl = kl_distillation(scores, teacher.to(scores.dtype), cfg.temperature)
    out["kl"] = kl
    out["loss"] = (1.0 - cfg.alpha) * main + cfg.alpha * kl
    return out


__all__ = [
    "HybridLossConfig",
    "binary_pair_targets",
    "hybrid_loss",
    "kl_distillation",
    "ranknet",
    "soft_pair_targets",
    "softmax_ce",
]
