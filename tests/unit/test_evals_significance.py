from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from thinkir.errors import InputError
from thinkir.evals.significance import compare, paired_t_test, randomization_test

A = [0.2, 0.5, 0.1, 0.9, 0.4, 0.3]
B = [0.3, 0.7, 0.1, 0.8, 0.9, 0.6]


def exact_permutation_p(a: list[float], b: list[float]) -> float:
    """All 2^n sign flips: the exact two-sided randomisation p (the oracle)."""
    d = np.array(b) - np.array(a)
    obs = abs(d.mean())
    flips = [abs((np.array(s) * d).mean()) for s in itertools.product((1, -1), repeat=len(d))]
    return float(np.mean([f >= obs - 1e-12 for f in flips]))


def test_paired_t_test_matches_the_formula() -> None:
    d = np.array(B) - np.array(A)
    t = d.mean() / (d.std(ddof=1) / math.sqrt(len(d)))
    from scipy import stats

    assert paired_t_test(np.array(A), np.array(B)) == pytest.approx(2 * stats.t.sf(abs(t), len(d) - 1))
    assert paired_t_test(np.array(A), np.array(A)) == 1.0


def test_randomization_test_approaches_the_exact_p() -> None:
    exact = exact_permutation_p(A, B)  # 64 sign patterns
    p = randomization_test(np.array(A), np.array(B), permutations=200_000, seed=1)
    assert p == pytest.approx(exact, abs=0.005)
    assert randomization_test(np.array(A), np.array(A)) == 1.0


def test_compare_counts_wins_ties_losses_over_common_queries() -> None:
    a = {str(i): v for i, v in enumerate(A)} | {"only-a": 1.0}
    b = {str(i): v for i, v in enumerate(B)}
    c = compare(a, b, "nDCG@10", permutations=2000)
    assert (c.n, c.wins, c.ties, c.losses) == (6, 4, 1, 1)
    assert c.delta == pytest.approx(np.mean(B) - np.mean(A))
    assert 0 < c.p_ttest < 1 and 0 < c.p_randomization <= 1
    with pytest.raises(InputError, match="share no evaluated query"):
        compare({"x": 1.0}, {"y": 1.0})
