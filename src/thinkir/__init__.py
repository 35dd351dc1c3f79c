"""thinkir: think, then retrieve.

Reasoning-augmented dense retrieval and reranking. The public API is small and imports nothing heavy
(torch, faiss, Java) until it is used, so ``import thinkir`` is fast and never touches CUDA.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

__all__ = [
    "Candidate",
    "Document",
    "Query",
    "RankedList",
    "Settings",
    "Trace",
    "__version__",
    "build_index",
    "load_index",
]

_LAZY = {
    "Candidate": "thinkir.types",
    "Document": "thinkir.types",
    "Query": "thinkir.types",
    "RankedList": "thinkir.types",
    "Trace": "thinkir.types",
    "Settings": "thinkir.config",
    "build_index": "thinkir.indexing.builder",
    "load_index": "thinkir.indexing.loader",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'thinkir' has no attribute {name!r}")
    return getattr(import_module(module), name)
