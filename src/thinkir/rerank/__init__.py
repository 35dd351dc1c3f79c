"""Rerankers behind one base class, chosen by name from a registry (:func:`load_reranker`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from thinkir.errors import StageUnavailableError
from thinkir.rerank.base import IdentityReranker, Reranker


def _cross_encoder(**kw: Any) -> Reranker:
    from thinkir.rerank.cross_encoder import CrossEncoderReranker

    return CrossEncoderReranker(**kw)


def _dear_dtype(dtype: Any = None) -> Any:
    """The DeAR stages' dtype: ``dtype``, else ``$THINKIR_DEAR_DTYPE`` (e.g. ``bfloat16``: 2.2x faster stage-1
    scoring on CPUs with AVX512-BF16, ``benchmarks/bench_dear_dtype.py``), else the device default."""
    import os

    from thinkir.device import torch_dtype

    name = dtype or os.environ.get("THINKIR_DEAR_DTYPE") or None
    if name is None or not isinstance(name, str):
        return name
    try:
        return torch_dtype(name)
    except ValueError as err:
        raise StageUnavailableError(f"THINKIR_DEAR_DTYPE: {err}") from err


# DeAR stages: adapters from THINKIR_DEAR_POINTWISE_ADAPTER / THINKIR_DEAR_LISTWISE_ADAPTER (a path or
# hub id, e.g. abdoelsayed/dear-8b-reranker-ce-lora-v1) or the ones packaged in thinkir/rerank/adapters/.
def _dear_pointwise(
    adapter: str | None = None, base_model: str | None = None, device: str | None = None, **kw: Any
) -> Reranker:
    from thinkir.rerank.dear import default_adapter
    from thinkir.rerank.pointwise import DearPointwiseReranker

    return DearPointwiseReranker.from_pretrained(
        adapter or default_adapter("pointwise"),
        base_model,
        device,
        dtype=_dear_dtype(kw.get("dtype")),
        batch_size=kw.get("batch_size"),
    )


def _dear_listwise(
    adapter: str | None = None, base_model: str | None = None, device: str | None = None, **kw: Any
) -> Reranker:
    from thinkir.rerank.dear import default_adapter
    from thinkir.rerank.listwise import ListwiseReranker

    return ListwiseReranker.from_pretrained(
        adapter or default_adapter("listwise"), base_model, device, dtype=_dear_dtype(kw.get("dtype"))
    )


def _dear(
    pointwise_adapter: str | None = None,
    listwise_adapter: str | None = None,
    base_model: str | None = None,
    device: str | None = None,
    listwise_depth: int = 30,
    **kw: Any,
) -> Reranker:
    from thinkir.rerank.dear import load_dear

    dtype = _dear_dtype(kw.pop("dtype", None))
    return load_dear(pointwise_adapter, listwise_adapter, base_model, device, listwise_depth, dtype=dtype, **kw)


#: name -> factory(**kwargs); models load only when a factory is called.
RERANKERS: dict[str, Callable[..., Reranker]] = {
    "identity": lambda **kw: IdentityReranker(),
    "cross-encoder": _cross_encoder,
    "dear-pointwise": _dear_pointwise,
    "dear-listwise": _dear_listwise,
    "dear": _dear,
}


def available_rerankers() -> list[str]:
    return sorted(RERANKERS)


#: rerankers that need trained adapters before they can run, and which
_NEEDS_ADAPTERS = {"dear-pointwise": ("pointwise",), "dear-listwise": ("listwise",), "dear": ("pointwise", "listwise")}


def reranker_ready(name: str) -> bool:
    """Whether ``name`` is registered and has what it needs to load (the DeAR rerankers: an adapter set
    by ``THINKIR_DEAR_*_ADAPTER`` or packaged). Models fetched by id are not checked (no network here)."""
    from thinkir.errors import StageUnavailableError
    from thinkir.rerank.dear import default_adapter

    if name not in RERANKERS:
        return False
    for stage in _NEEDS_ADAPTERS.get(name, ()):
        try:
            default_adapter(stage, warn=False)
        except StageUnavailableError:
            return False
    return True


def load_reranker(name: str, **kwargs: Any) -> Reranker:
    """Build the reranker registered as ``name``.

    Raises:
        StageUnavailableError: unknown name; the message lists what is available.
    """
    if name not in RERANKERS:
        raise StageUnavailableError(f"unknown reranker {name!r}; available: {available_rerankers()}")
    return RERANKERS[name](**kwargs)


__all__ = ["RERANKERS", "IdentityReranker", "Reranker", "available_rerankers", "load_reranker", "reranker_ready"]
