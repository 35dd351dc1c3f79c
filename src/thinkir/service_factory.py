"""Builds a :class:`SearchPipeline` from an index directory and settings (shared by CLI and service)."""

from __future__ import annotations

from pathlib import Path

from thinkir.config import Settings
from thinkir.pipeline import SearchPipeline


def build_pipeline(index_dir: Path | str, settings: Settings, embedder: str | None = None) -> SearchPipeline:
    from thinkir.indexing.loader import load_index

    device = None if settings.device == "auto" else settings.device
    index = load_index(index_dir, embedder=embedder, device=device)
    return SearchPipeline(index)
