"""Paired significance tests between two systems' per-query scores, and win/tie/loss counts.

Both tests are two-sided and paired over the same queries: Student's paired t-test (scipy) and a
randomisation (permutation) test that flips the sign of each query's difference at random, as in
Smucker et al. (CIKM 2007) and ranx's ``fisher`` test.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

from thinkir.errors import InputError

TIE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Comparison:
    """B against A on one measure over ``n`` paired queries (``delta = mean_b - mean_a``)."""

    measure: str
    n: int
    mean_a: float
    mean_b: float
    delta: float
    wins: int  # queries where B beats A
    ties: int
    losses: int
    p_ttest: float
    p_randomization: float
    permutations: int

    def to_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def paired_t_test(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided p of the paired t-test; 1.0 when all differences are equal (no variance)."""
    from scipy import stats

    diff = np.asarray(b, float) - np.asarray(a, float)
    if len(diff) < 2 or np.allclose(diff, diff[0], atol=TIE_TOLERANCE, rtol=0):
        return 1.0 if len(diff) < 2 or abs(diff[0]) <= TIE_TOLERANCE else 0.0
    p = float(stats.ttest_rel(b, a).pvalue)
    return 1.0 if math.isnan(p) else p


def randomization_test(a: np.ndarray, b: np.ndarray, permutations: int = 10_000, seed: int = 0) -> float:
    """Two-sided p of the paired randomisation test on the mean difference.

    Each permutation swaps the two systems' scores on every query with probability 1/2 (a sign flip of
    the difference). p = (1 + #{|mean perm diff| >= |observed|}) / (1 + permutations).
    """
    diff = np.asarray(b, float) - np.asarray(a, float)
    if permutations < 1:
        raise InputError("permutations must be at least 1")
    if len(diff) == 0:
        return 1.0
    observed = abs(diff.mean())
    rng = np.random.default_rng(seed)
    hits = 0
    chunk = max(1, min(permutations, 2_000_000 // max(len(diff), 1)))
    done = 0
    while done < permutations:
        m = min(chunk, permutations - done)
        signs = rng.integers(0, 2, size=(m, len(diff)), dtype=np.int8) * 2 - 1  # [m, n]
        means = np.abs((signs * diff).mean(axis=1))
        hits += int(np.sum(means >= observed - 1e-12))
        done += m
    return (1 + hits) / (1 + permutations)


def compare(
    a: Mapping[str, float],
    b: Mapping[str, float],
    measure: str = "",
    permutations: int = 10_000,
    seed: int = 0,
) -> Comparison:
    """Compare per-query values of systems A and B over their common queries.

    Raises:
        InputError: the two share no query.
    """
    common = [q for q in a if q in b]
    if not common:
        raise InputError(f"the two systems share no evaluated query ({len(a)} vs {len(b)} queries)")
    va = np.array([a[q] for q in common], float)
    vb = np.array([b[q] for q in common], float)
    diff = vb - va
    wins = int(np.sum(diff > TIE_TOLERANCE))
    losses = int(np.sum(diff < -TIE_TOLERANCE))
    return Comparison(
        measure=measure,
        n=len(common),
        mean_a=float(va.mean()),
        mean_b=float(vb.mean()),
        delta=float(diff.mean()),
        wins=wins,
        ties=len(common) - wins - losses,
        losses=losses,
        p_ttest=paired_t_test(va, vb),
        p_randomization=randomization_test(va, vb, permutations, seed),
        permutations=permutations,
    )
