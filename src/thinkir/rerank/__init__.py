"""Rerankers behind one base class, chosen by name from a registry (:func:`load_reranker`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from thinkir.errors import StageUnavailableError
from thinkir.rerank.base import IdentityReranker, Reranker


def _cross_encoder(**kw: Any) -> Reranker:
    from thinkir.rerank.cross_encoder import CrossEncoderReranker

    return CrossEncoderReranker(**kw)


#: name -> factory(**kwargs). Other modules add entries (e.g. the DeAR stages).
RERANKERS: dict[str, Callable[..., Reranker]] = {
    "identity": lambda **kw: IdentityReranker(),
    "cross-encoder": _cross_encoder,
}


def available_rerankers() -> list[str]:
    return sorted(RERANKERS)


def load_reranker(name: str, **kwargs: Any) -> Reranker:
    """Build the reranker registered as ``name``.

    Raises:
        StageUnavailableError: unknown name; the message lists what is available.
    """
    if name not in RERANKERS:
        raise StageUnavailableError(f"unknown reranker {name!r}; available: {available_rerankers()}")
    return RERANKERS[name](**kwargs)


__all__ = ["RERANKERS", "IdentityReranker", "Reranker", "available_rerankers", "load_reranker"]
