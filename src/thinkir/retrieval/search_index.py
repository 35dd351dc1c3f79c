"""A loaded index: dense, BM25 and hybrid first-stage search over one document collection."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from thinkir.errors import InputError, StageUnavailableError
from thinkir.retrieval.fusion import rrf
from thinkir.types import Candidate, Query, RankedList

if TYPE_CHECKING:
    from thinkir.indexing.docstore import DocStore
    from thinkir.indexing.manifest import Manifest
    from thinkir.retrieval.bm25 import BM25Backend
    from thinkir.retrieval.embedders import Embedder
    from thinkir.retrieval.vector_index import VectorIndex

logger = logging.getLogger(__name__)

MODES = ("dense", "bm25", "hybrid")


@dataclass
class SearchIndex:
    """Everything needed to answer first-stage queries against one index directory."""

    folder: Path
    manifest: Manifest
    embedder: Embedder
    vectors: VectorIndex
    docs: DocStore
    bm25: BM25Backend | None = None
    device: str = "cpu"
    hybrid_weights: tuple[float, float] = (1.0, 1.0)
    fusion_depth: int = 100

    def __len__(self) -> int:
        return len(self.vectors)

    def search(self, queries: Sequence[Query], k: int = 10, mode: str = "dense") -> list[RankedList]:
        """First-stage search. ``mode``: dense, bm25 or hybrid (RRF of both)."""
        if k < 1:
            raise InputError("k must be at least 1")
        if mode == "dense":
            return self.dense(queries, k)
        if mode == "bm25":
            return self.lexical(queries, k)
        if mode == "hybrid":
            depth = max(k, self.fusion_depth)
            dense, lexical = self.dense(queries, depth), self.lexical(queries, depth)
            return [rrf([d, b], self.hybrid_weights, depth=k) for d, b in zip(dense, lexical, strict=True)]
        raise InputError(f"unknown retrieval mode {mode!r}; valid: {list(MODES)}")

    def dense(self, queries: Sequence[Query], k: int, vectors: np.ndarray | None = None) -> list[RankedList]:
        """Dense search; pass precomputed query ``vectors`` (e.g. reasoning-augmented) to skip encoding."""
        if vectors is None:
            vectors = self.embedder.encode_queries([q.text for q in queries])
        scores, ids = self.vectors.search(vectors, k, device=self.device)
        return self._to_lists(queries, scores, ids)

    def lexical(self, queries: Sequence[Query], k: int) -> list[RankedList]:
        if self.bm25 is None:
            raise StageUnavailableError(
                f"index {self.folder} has no BM25 index; rebuild with --bm25 bm25s or search with mode dense"
            )
        scores, ids = self.bm25.search([q.text for q in queries], k)
        return self._to_lists(queries, scores, ids)

    def _to_lists(self, queries: Sequence[Query], scores: np.ndarray, ids: np.ndarray) -> list[RankedList]:
        flat = [int(i) for i in ids.ravel() if i >= 0]
        docs = dict(zip(flat, self.docs.get(flat), strict=True))
        out = []
        for q, row_s, row_i in zip(queries, scores, ids, strict=True):
            cands = tuple(
                Candidate(doc.id, float(s), doc)
                for s, i in zip(row_s, row_i, strict=True)
                if i >= 0 and (doc := docs.get(int(i))) is not None
            )
            out.append(RankedList(q, cands))
        return out
