"""Query reasoning (LREM, arXiv 2510.14321): think, then embed.

* :class:`ReasoningEmbedder`: unified mode, one causal LM writes ``<think> keywords </think><emb>``
  and embeds at ``<emb>`` (embedder type ``lrem``);
* :class:`LremReasoner`: the pipeline's query reasoner, unified or two-tower, with the
  :class:`Router` for ``reason=auto`` and a pluggable :class:`ReasoningCache`.

Heavy modules (torch, transformers) load lazily.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "LRUCache",
    "LremLM",
    "LremReasoner",
    "ReasonerConfig",
    "ReasoningCache",
    "ReasoningEmbedder",
    "Router",
    "build_reasoner",
    "router_features",
]

_LAZY = {
    "LRUCache": "cache",
    "ReasoningCache": "cache",
    "LremLM": "lm",
    "LremReasoner": "reasoner",
    "ReasonerConfig": "reasoner",
    "build_reasoner": "reasoner",
    "ReasoningEmbedder": "embedder",
    "Router": "router",
    "router_features": "router",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
