"""Adaptive routing: reason only for the queries a direct embedding is likely to get wrong.

A first direct pass gives cheap signals per query (:func:`router_features`):

* ``margin``: top-1 score minus the k-th score of the dense ranking (a flat top suggests confusion);
* ``disagreement``: 1 − overlap of the dense and BM25 top-k sets (0.5 when there is no BM25 index);
* ``log_length``: log(1 + number of query words).

:class:`Router` turns them into a probability that reasoning helps, ``sigmoid(w · z + b)`` with ``z``
the standardised features, and reasons when it is at least ``threshold``: 0 reasons for every query,
1 for none; the threshold trades latency for quality. The default weights are hand-set (a small
margin and a large disagreement mean "reason"); :meth:`Router.fit` trains them as a logistic
regression on a labelled split (label 1 where reasoning improved the query's nDCG@10).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from thinkir.errors import InputError

FEATURES = ("margin", "disagreement", "log_length")


def router_features(
    dense_scores: np.ndarray,
    dense_ids: np.ndarray,
    lexical_ids: np.ndarray | None,
    query_lengths: Sequence[int],
    k: int = 10,
) -> np.ndarray:
    """Signals of a direct pass, ``[n, 3]`` float32 (see the module docstring).

    Args:
        dense_scores: ``[n, >=k]`` descending scores of the direct dense search.
        dense_ids: ``[n, >=k]`` document positions of that search (``-1`` pads).
        lexical_ids: ``[n, >=k]`` positions of a BM25 search, or None.
        query_lengths: words per query.
    """
    n = len(query_lengths)
    if dense_scores.shape[0] != n or dense_ids.shape[0] != n:
        raise InputError("router_features: scores, ids and lengths must have one row per query")
    kk = max(1, min(k, dense_scores.shape[1]))
    margin = dense_scores[:, 0] - dense_scores[:, kk - 1]
    if lexical_ids is None:
        disagreement = np.full(n, 0.5, dtype=np.float32)
    else:
        disagreement = np.empty(n, dtype=np.float32)
        for i in range(n):
            d = {int(x) for x in dense_ids[i, :kk] if x >= 0}
            b = {int(x) for x in lexical_ids[i, :kk] if x >= 0}
            disagreement[i] = 1.0 - len(d & b) / kk
    log_length = np.log1p(np.asarray(query_lengths, dtype=np.float32))
    return np.stack([margin, disagreement, log_length], axis=1).astype(np.float32)


@dataclass
class Router:
    """Logistic router over standardised :data:`FEATURES`; reasons where ``p >= threshold``."""

    weights: list[float] = field(default_factory=lambda: [-1.0, 1.0, -0.5])
    bias: float = 0.0
    mean: list[float] = field(default_factory=lambda: [0.1, 0.5, 2.5])
    std: list[float] = field(default_factory=lambda: [0.05, 0.25, 0.7])
    threshold: float = 0.5

    def probability(self, features: np.ndarray) -> np.ndarray:
        """``[n]`` probability that reasoning helps each query."""
        z = (np.asarray(features, np.float64) - np.asarray(self.mean)) / np.maximum(np.asarray(self.std), 1e-6)
        return 1.0 / (1.0 + np.exp(-(z @ np.asarray(self.weights) + self.bias)))  # type: ignore[no-any-return]

    def decide(self, features: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """``[n]`` bool: reason for this query?"""
        t = self.threshold if threshold is None else threshold
        return self.probability(features) >= t

    def fit(
        self, features: np.ndarray, labels: np.ndarray, l2: float = 1e-2, steps: int = 500, lr: float = 0.5
    ) -> Router:
        """Fit weights by L2-regularised logistic regression (gradient descent, standardised inputs)."""
        x = np.asarray(features, np.float64)
        y = np.asarray(labels, np.float64)
        if len(x) != len(y) or len(x) == 0:
            raise InputError("Router.fit needs as many labels as feature rows, and at least one")
        self.mean = x.mean(0).tolist()
        self.std = np.maximum(x.std(0), 1e-6).tolist()
        z = (x - self.mean) / self.std
        w, b = np.zeros(z.shape[1]), 0.0
        for _ in range(steps):
            p = 1.0 / (1.0 + np.exp(-(z @ w + b)))
            w -= lr * (z.T @ (p - y) / len(y) + l2 * w)
            b -= lr * float(np.mean(p - y))
        self.weights, self.bias = w.tolist(), b
        return self

    def save(self, path: Path | str) -> None:
        Path(path).write_text(json.dumps({"features": list(FEATURES), **asdict(self)}, indent=2))

    @classmethod
    def load(cls, path: Path | str) -> Router:
        raw = json.loads(Path(path).read_text())
        if raw.pop("features", list(FEATURES)) != list(FEATURES):
            raise InputError(f"{path}: router was trained on other features than {FEATURES}")
        return cls(**raw)
