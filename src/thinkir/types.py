"""Data contracts used inside the library (frozen dataclasses; pydantic lives only at the HTTP edge)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace


@dataclass(frozen=True, slots=True)
class Document:
    """A corpus document. ``title`` may be empty."""

    id: str
    text: str
    title: str = ""

    @property
    def full_text(self) -> str:
        """Title and text joined the way BEIR evaluations embed them."""
        return f"{self.title} {self.text}".strip() if self.title else self.text


@dataclass(frozen=True, slots=True)
class Query:
    id: str
    text: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """One scored document for one query. ``document`` is filled when the text is known."""

    doc_id: str
    score: float
    document: Document | None = None

    def with_score(self, score: float) -> Candidate:
        return replace(self, score=score)


@dataclass(frozen=True, slots=True)
class Trace:
    """What a pipeline did for one query: per-stage wall times and any generated text."""

    timings_ms: dict[str, float] = field(default_factory=dict)
    reasoning: str | None = None
    rationale: str | None = None
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RankedList:
    """Candidates for one query, best first."""

    query: Query
    candidates: tuple[Candidate, ...]
    trace: Trace = field(default_factory=Trace)

    def __len__(self) -> int:
        return len(self.candidates)

    def __iter__(self) -> Iterator[Candidate]:
        return iter(self.candidates)

    def top(self, k: int) -> RankedList:
        return replace(self, candidates=self.candidates[:k])

    def doc_ids(self) -> list[str]:
        return [c.doc_id for c in self.candidates]

    @classmethod
    def from_scores(cls, query: Query, scored: Sequence[tuple[str, float]], trace: Trace | None = None) -> RankedList:
        """Sort ``(doc_id, score)`` pairs by descending score (ties by id, for determinism)."""
        ordered = sorted(scored, key=lambda p: (-p[1], p[0]))
        return cls(query, tuple(Candidate(d, float(s)) for d, s in ordered), trace or Trace())
