"""Builds a :class:`SearchPipeline` from an index directory and settings (shared by CLI and service)."""

from __future__ import annotations

from pathlib import Path

from thinkir.config import Settings
from thinkir.pipeline import QueryReasoner, SearchPipeline


def build_pipeline(
    index_dir: Path | str, settings: Settings, embedder: str | None = None, reasoner: QueryReasoner | None = None
) -> SearchPipeline:
    """Load the index and attach a query reasoner for ``reason=auto|always``.

    Without ``reasoner``, the LREM reasoner configured by ``THINKIR_REASONER_*`` is attached (unified
    for an index built with an ``lrem:`` embedder, else two-tower with ``settings.llm``); its model loads
    on the first reasoned query, so ``reason=never`` costs nothing.
    """
    from thinkir.indexing.loader import load_index

    device = None if settings.device == "auto" else settings.device
    index = load_index(index_dir, embedder=embedder, device=device)
    index.hybrid_weights = settings.hybrid_weights
    index.fusion_depth = settings.fusion_depth
    if reasoner is None:
        from thinkir.retrieval.reasoning.reasoner import build_reasoner

        reasoner = build_reasoner(llm=settings.llm, device=device)
    return SearchPipeline(index, reasoner=reasoner)
