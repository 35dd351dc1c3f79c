"""The search pipeline: (reasoning) → first stage (dense | bm25 | hybrid) → (rerank stages).

The CLI, the HTTP service and the evaluation scripts all search through :class:`SearchPipeline`, so a
stage is implemented once. Per-stage wall times land in each result's :class:`~thinkir.types.Trace`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from thinkir.errors import InputError, StageUnavailableError
from thinkir.rerank import Reranker, load_reranker
from thinkir.retrieval.search_index import MODES, SearchIndex
from thinkir.types import Query, RankedList

logger = logging.getLogger(__name__)

REASON_MODES = ("never", "auto", "always")


class QueryReasoner(Protocol):
    """Writes a reasoning for queries and embeds them (LREM). ``mode`` is ``auto`` or ``always``.

    Returns the query vectors for the index and, per query, the reasoning text (None where the
    router decided a direct embedding suffices).
    """

    def encode(
        self, queries: Sequence[Query], mode: str, index: SearchIndex
    ) -> tuple[np.ndarray, list[str | None]]: ...


@dataclass
class SearchPipeline:
    """Composes the stages over a loaded :class:`SearchIndex`.

    Args:
        rerank_depth: how many first-stage candidates the reranker sees.
        reranker_factory: builds a reranker by name (defaults to the registry); results are cached.
    """

    index: SearchIndex
    reasoner: QueryReasoner | None = None
    rerank_depth: int = 100
    reranker_factory: Callable[[str], Reranker] = field(default=lambda name: load_reranker(name))
    _rerankers: dict[str, Reranker] = field(default_factory=dict, repr=False)

    def reranker(self, name: str) -> Reranker:
        if name not in self._rerankers:
            self._rerankers[name] = self.reranker_factory(name)
        return self._rerankers[name]

    def search(
        self, query: Query | str, k: int = 10, mode: str = "dense", reason: str = "never", rerank: str = "none"
    ) -> RankedList:
        q = query if isinstance(query, Query) else Query("q", query)
        return self.search_many([q], k=k, mode=mode, reason=reason, rerank=rerank)[0]

    def search_many(
        self,
        queries: Sequence[Query],
        k: int = 10,
        mode: str = "dense",
        reason: str = "never",
        rerank: str = "none",
    ) -> list[RankedList]:
        """Search a batch of queries (first stage batched; reranking per query)."""
        self._validate(k, mode, reason)
        depth = max(k, self.rerank_depth) if rerank != "none" else k
        per_query = 1.0 / max(len(queries), 1)
        timings: dict[str, float] = {}
        reasonings: list[str | None] = [None] * len(queries)

        t0 = time.perf_counter()
        if reason != "never" and mode in ("dense", "hybrid"):
            if self.reasoner is None:
                raise StageUnavailableError(
                    f"reason={reason!r} needs a query reasoner, and none is configured; use reason='never'"
                )
            vectors, reasonings = self.reasoner.encode(queries, reason, self.index)
            timings["reason_ms"] = (time.perf_counter() - t0) * 1000 * per_query
            t0 = time.perf_counter()
            dense = self.index.dense(queries, depth, vectors=vectors)
            results = dense if mode == "dense" else self._fuse(dense, queries, depth)
        else:
            results = self.index.search(queries, depth, mode)
        timings["retrieve_ms"] = (time.perf_counter() - t0) * 1000 * per_query

        out = []
        for i, ranked in enumerate(results):
            stage_times = dict(timings)
            if rerank != "none":
                t1 = time.perf_counter()
                reranked = self.reranker(rerank).rerank(ranked.query, ranked.candidates[: self.rerank_depth])
                stage_times["rerank_ms"] = (time.perf_counter() - t1) * 1000
                ranked = RankedList(ranked.query, reranked.candidates, reranked.trace)
            trace = replace(ranked.trace, timings_ms=stage_times, reasoning=reasonings[i])
            out.append(RankedList(ranked.query, ranked.candidates[:k], trace))
        return out

    def _fuse(self, dense: list[RankedList], queries: Sequence[Query], depth: int) -> list[RankedList]:
        from thinkir.retrieval.fusion import rrf

        lexical = self.index.lexical(queries, depth)
        return [rrf([d, b], self.index.hybrid_weights, depth=depth) for d, b in zip(dense, lexical, strict=True)]

    def _validate(self, k: int, mode: str, reason: str) -> None:
        if k < 1:
            raise InputError("k must be at least 1")
        if mode not in MODES:
            raise InputError(f"unknown retrieval mode {mode!r}; valid: {list(MODES)}")
        if reason not in REASON_MODES:
            raise InputError(f"unknown reason mode {reason!r}; valid: {list(REASON_MODES)}")
