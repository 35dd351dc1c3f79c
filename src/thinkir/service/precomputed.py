"""Hand cached or micro-batched stage outputs to an unchanged :class:`~thinkir.pipeline.SearchPipeline`.

The gateway gets a query's vector (cache, else the micro-batcher) and its reasoning (cache, else the
reasoner) on the event loop, then runs the pipeline in a worker thread. The pipeline reaches those
values through the two proxies below, which look them up in context variables set for that one call
and fall back to the real stage, so no stage is implemented twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import numpy as np

from thinkir.retrieval.embedders import Embedder, TextKind
from thinkir.service.batcher import MicroBatcher
from thinkir.types import Query

T = TypeVar("T")

_VECTORS: ContextVar[dict[str, np.ndarray] | None] = ContextVar("thinkir_query_vectors", default=None)
_REASONED: ContextVar[dict[tuple[str, str], tuple[np.ndarray, str | None]] | None] = ContextVar(
    "thinkir_reasoned", default=None
)


@contextmanager
def precomputed(
    vectors: dict[str, np.ndarray] | None = None,
    reasoned: dict[tuple[str, str], tuple[np.ndarray, str | None]] | None = None,
) -> Iterator[None]:
    """Within the block, the proxies answer these query texts without running the models."""
    t1, t2 = _VECTORS.set(vectors), _REASONED.set(reasoned)
    try:
        yield
    finally:
        _VECTORS.reset(t1)
        _REASONED.reset(t2)


def run_with(fn: Callable[[], T], **values: Any) -> Callable[[], T]:
    """Wrap ``fn`` so that it runs inside :func:`precomputed` (for a worker thread)."""

    def job() -> T:
        with precomputed(**values):
            return fn()

    return job


class BatchedEmbedder(Embedder):
    """Stands in for the index's embedder: precomputed query vectors first, else the micro-batcher."""

    def __init__(self, inner: Embedder, batcher: MicroBatcher) -> None:
        self.inner = inner
        self.batcher = batcher
        self.model_id = inner.model_id
        self.revision = inner.revision
        self.dimension = inner.dimension
        self.max_batch_tokens = inner.max_batch_tokens

    def encode(
        self,
        texts: Sequence[str],
        kind: TextKind = "document",
        progress: bool = False,
        on_batch: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        known = _VECTORS.get()
        if kind == "query" and known and all(t in known for t in texts):
            return np.stack([known[t] for t in texts]).astype(np.float32, copy=False)
        if progress or on_batch is not None:  # long jobs with a progress display: a direct call
            return self.inner.encode(texts, kind=kind, progress=progress, on_batch=on_batch)
        return self.batcher.encode(texts, kind)

    def prepare(self, text: str, kind: TextKind) -> str:
        return self.inner.prepare(text, kind)

    def _tokenize(self, texts: list[str]) -> dict[str, list[list[int]]]:
        return self.inner._tokenize(texts)

    def _embed(self, features: dict[str, list[list[int]]]) -> np.ndarray:
        return self.inner._embed(features)

    def __getattr__(self, name: str) -> Any:
        # attributes of the concrete embedder (tokenizer, name, device) stay reachable
        return getattr(self.__dict__["inner"], name)


class PrecomputedReasoner:
    """Stands in for the pipeline's query reasoner: cached (vector, reasoning) pairs first."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        # the configuration (LM, adapters, router threshold) decides the output, so it versions the cache
        config = getattr(inner, "config", "")
        self.model_id = str(getattr(inner, "model_id", "") or f"{type(inner).__name__}:{config!r}")

    def encode(self, queries: Sequence[Query], mode: str, index: Any) -> tuple[np.ndarray, list[str | None]]:
        known = _REASONED.get()
        if known and all((q.text, mode) in known for q in queries):
            pairs = [known[(q.text, mode)] for q in queries]
            return np.stack([v for v, _ in pairs]).astype(np.float32, copy=False), [r for _, r in pairs]
        return self.inner.encode(queries, mode, index)
