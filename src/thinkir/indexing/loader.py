"""Loading an index directory into a :class:`SearchIndex` (vectors, documents, BM25, embedder)."""

from __future__ import annotations

import logging
from pathlib import Path

from thinkir.errors import ManifestMismatchError
from thinkir.indexing.docstore import DocStore
from thinkir.indexing.manifest import BM25_DIR, DOCS_FILE, FAISS_FILE, Manifest
from thinkir.retrieval.embedders import Embedder, load_embedder
from thinkir.retrieval.search_index import SearchIndex
from thinkir.retrieval.vector_index import VectorIndex

logger = logging.getLogger(__name__)


def load_index(
    folder: Path | str,
    embedder: str | Embedder | None = None,
    device: str | None = None,
    mmap: bool = False,
) -> SearchIndex:
    """Open an index built by :func:`thinkir.indexing.builder.build_index`.

    Args:
        embedder: the configured embedder (name or instance). ``None`` uses the one in the manifest.
            A different model than the manifest's raises :class:`ManifestMismatchError`.
    """
    from thinkir.device import pick_device

    folder = Path(folder)
    manifest = Manifest.read(folder)
    if isinstance(embedder, str):
        from thinkir.models import model_id

        if model_id(embedder) != manifest.embedder.model_id:
            manifest.check_embedder(model_id(embedder))
    enc = (
        embedder if isinstance(embedder, Embedder) else load_embedder(embedder or manifest.embedder.name, device=device)
    )
    manifest.check_embedder(enc.model_id, enc.revision)
    if enc.dimension != manifest.dimension:
        raise ManifestMismatchError(f"embedder dimension {enc.dimension} differs from the index's {manifest.dimension}")
    vectors = VectorIndex.load(folder / FAISS_FILE, manifest.faiss_factory, mmap=mmap)
    store = DocStore(folder / DOCS_FILE, readonly=True)
    bm25 = None
    if manifest.bm25 is not None:
        from thinkir.retrieval.bm25 import load_bm25

        bm25 = load_bm25(folder / BM25_DIR)
    return SearchIndex(folder, manifest, enc, vectors, store, bm25, device=pick_device(device))
