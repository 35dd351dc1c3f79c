"""The reranker base: a concrete :meth:`Reranker.rerank` around one small abstract step."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import replace

from thinkir.errors import InputError
from thinkir.types import Candidate, Document, Query, RankedList, Trace


class Reranker(ABC):
    """Reorders a query's candidates. Subclasses implement :meth:`_rerank`.

    :meth:`rerank` validates input (every candidate needs its document text), calls the subclass and
    returns a new :class:`RankedList` with the stage's rationale, if any, in the trace.
    """

    name: str = ""

    def rerank(self, query: Query, candidates: Sequence[Candidate], top_n: int | None = None) -> RankedList:
        if top_n is not None and top_n < 1:
            raise InputError("top_n must be at least 1")
        missing = [c.doc_id for c in candidates if c.document is None]
        if missing:
            raise InputError(f"reranking needs document texts; missing for {missing[:5]}")
        if not candidates:
            return RankedList(query, ())
        ordered, trace = self._rerank(query, list(candidates))
        if len(ordered) != len(candidates):
            raise RuntimeError(f"{type(self).__name__} returned {len(ordered)} of {len(candidates)} candidates")
        return RankedList(query, tuple(ordered[:top_n] if top_n else ordered), trace)

    def rerank_texts(self, query: str, documents: Sequence[str], top_n: int | None = None) -> RankedList:
        """Rerank plain strings; candidate ids are the input indices as strings ("0", "1", …)."""
        cands = [Candidate(str(i), 0.0, Document(str(i), t)) for i, t in enumerate(documents)]
        return self.rerank(Query("q", query), cands, top_n)

    @abstractmethod
    def _rerank(self, query: Query, candidates: list[Candidate]) -> tuple[list[Candidate], Trace]:
        """Return all candidates, best first, with new scores, and a trace (rationale, counts)."""


class PointwiseReranker(Reranker):
    """A reranker that scores each (query, document) pair independently: implement :meth:`score`."""

    batch_size: int = 16

    def _rerank(self, query: Query, candidates: list[Candidate]) -> tuple[list[Candidate], Trace]:
        texts = [c.document.full_text for c in candidates if c.document is not None]
        scores = self.score(query.text, texts)
        rescored = [c.with_score(float(s)) for c, s in zip(candidates, scores, strict=True)]
        # stable sort: equal scores keep the first-stage order
        order = sorted(range(len(rescored)), key=lambda i: -rescored[i].score)
        return [rescored[i] for i in order], Trace()

    @abstractmethod
    def score(self, query: str, documents: Sequence[str]) -> list[float]:
        """Relevance scores for ``documents`` against ``query`` (higher is better)."""


class IdentityReranker(Reranker):
    """Keeps the input order (a baseline and a check of the evaluation plumbing)."""

    name = "identity"

    def _rerank(self, query: Query, candidates: list[Candidate]) -> tuple[list[Candidate], Trace]:
        n = len(candidates)
        # scores that reproduce the input order for tools that sort by score
        return [replace(c, score=float(n - i)) for i, c in enumerate(candidates)], Trace()
