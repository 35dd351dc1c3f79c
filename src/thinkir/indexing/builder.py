"""Batch index building: stream the corpus, embed in shards, build FAISS + BM25, publish atomically.

Layout while building: a hidden work folder ``.<out>.partial`` beside the output. Each shard of
``shard_size`` documents is embedded, saved as ``shards/NNNNN.npy`` (temp file + rename) and then
recorded, together with its documents, in one SQLite transaction. A build that is killed part-way and
run again with the same corpus and settings resumes after its last recorded shard. Only when
everything is written is the work folder renamed to ``out``, so a crash never leaves a half index.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from thinkir.errors import IndexExistsError, InputError
from thinkir.indexing.docstore import DocStore
from thinkir.indexing.manifest import (
    BM25_DIR,
    DOCS_FILE,
    FAISS_FILE,
    MANIFEST,
    EmbedderInfo,
    Manifest,
    file_sha256,
    write_atomic,
)
from thinkir.indexing.readers import ReadStats, read_corpus
from thinkir.retrieval.embedders import Embedder, load_embedder
from thinkir.retrieval.vector_index import VectorIndex
from thinkir.types import Document

logger = logging.getLogger(__name__)


@dataclass
class BuildReport:
    out: Path
    documents: int
    stats: ReadStats
    resumed_shards: int
    manifest: Manifest


def build_index(
    corpus: Path | str,
    out: Path | str,
    embedder: str | Embedder = "minilm",
    index_kind: str = "flat",
    bm25: str = "bm25s",
    overwrite: bool = False,
    shard_size: int = 4096,
    fmt: str = "auto",
    skip_bad_lines: bool = False,
    progress: bool = True,
    device: str | None = None,
    max_batch_tokens: int = 16384,
    on_shard: Callable[[int], None] | None = None,
) -> BuildReport:
    """Build a thinkir index directory at ``out`` from a corpus file. See the module docstring.

    Args:
        on_shard: called with the shard number after each shard is committed (tests use it to
            simulate a crash part-way).
    """
    from thinkir import __version__

    corpus, out = Path(corpus), Path(out)
    occupied = out.exists() and (not out.is_dir() or any(out.iterdir()))
    if occupied and not overwrite:
        raise IndexExistsError(f"output directory {out} already exists; pass --overwrite to replace it")
    if occupied and not (out / MANIFEST).is_file():
        raise IndexExistsError(f"{out} exists and is not a thinkir index; refusing to replace it")
    if shard_size < 1:
        raise InputError("--shard-size must be at least 1")
    if not corpus.is_file():
        raise InputError(f"corpus file not found: {corpus}")
    corpus_sha = file_sha256(corpus)

    enc = (
        embedder
        if isinstance(embedder, Embedder)
        else load_embedder(embedder, device=device, max_batch_tokens=max_batch_tokens)
    )
    work = out.parent / f".{out.name}.partial"
    key = {
        "corpus_sha256": corpus_sha,
        "embedder": enc.model_id,
        "revision": enc.revision,
        "index_kind": index_kind,
        "bm25": bm25,
        "shard_size": shard_size,
        "format": fmt,
        "skip_bad_lines": skip_bad_lines,
    }
    resumed = _prepare_work_dir(work, key)
    (work / "shards").mkdir(exist_ok=True)
    store = DocStore(work / DOCS_FILE)
    done = store.done_shards()
    stats = ReadStats()
    bar = _progress(progress, "index documents", total=_count_lines(corpus) if progress else None)
    n_docs = 0
    resumed_shards = 0
    try:
        for shard, docs in enumerate(_chunks(read_corpus(corpus, fmt, skip_bad_lines, stats), shard_size)):
            start = n_docs
            n_docs += len(docs)
            npy = work / "shards" / f"{shard:05d}.npy"
            if shard in done and done[shard] == (start, len(docs)) and npy.is_file():
                resumed_shards += 1
                if bar is not None:
                    bar.update(len(docs))
                continue
            vecs = enc.encode(
                [d.full_text for d in docs], kind="document", on_batch=bar.update if bar is not None else None
            )
            tmp = npy.with_suffix(".tmp.npy")
            np.save(tmp, vecs)
            os.replace(tmp, npy)
            store.add_shard(shard, start, docs)
            if on_shard is not None:
                on_shard(shard)
        if bar is not None:
            bar.close()
        if n_docs == 0:
            raise InputError(f"{corpus} holds no indexable documents ({stats.lines} lines read)")
        if resumed and resumed_shards:
            logger.info("resumed: %d shard(s) reused from an interrupted build", resumed_shards)

        n_shards = -(-n_docs // shard_size)
        shard_files = [work / "shards" / f"{s:05d}.npy" for s in range(n_shards)]
        index = _build_faiss(index_kind, enc.dimension, n_docs, shard_files)
        index.save(work / FAISS_FILE)
        bm25_meta = None
        if bm25 != "none":
            from thinkir.retrieval.bm25 import backend_class

            backend = backend_class(bm25)()
            backend.build(store.iter_texts(), progress=progress)
            backend.save(work / BM25_DIR)
            bm25_meta = {"backend": bm25, "k1": backend.k1, "b": backend.b}
    finally:
        store.close()

    manifest = Manifest(
        embedder=EmbedderInfo(
            name=getattr(enc, "name", enc.model_id),
            model_id=enc.model_id,
            revision=enc.revision,
            dimension=enc.dimension,
            type=getattr(enc, "type_name", "sentence-transformers"),
        ),
        dimension=enc.dimension,
        faiss_factory=index.factory,
        index_kind=index_kind,
        corpus_sha256=corpus_sha,
        corpus_path=str(corpus.resolve()),
        counts={
            "documents": n_docs,
            "vectors": len(index),
            "lines": stats.lines,
            "skipped_empty": stats.empty,
            "skipped_duplicates": stats.duplicates,
            "skipped_bad_lines": stats.bad_lines,
        },
        bm25=bm25_meta,
        thinkir_version=__version__,
    )
    write_atomic(work / MANIFEST, manifest.to_json())
    shutil.rmtree(work / "shards")
    (work / "build.json").unlink()
    _publish(work, out)
    return BuildReport(out, n_docs, stats, resumed_shards, manifest)


def _prepare_work_dir(work: Path, key: dict[str, object]) -> bool:
    """Reuse ``work`` when it belongs to the same build (resume); otherwise start it afresh."""
    marker = work / "build.json"
    if marker.is_file():
        try:
            if json.loads(marker.read_text()) == key:
                return True
        except json.JSONDecodeError:
            pass
        logger.info("discarding an interrupted build of different settings in %s", work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    write_atomic(marker, json.dumps(key, sort_keys=True))
    return False


def _build_faiss(kind: str, dim: int, n: int, shard_files: list[Path]) -> VectorIndex:
    index = VectorIndex.create(kind, dim, n)
    if index.needs_training:
        rng = np.random.default_rng(0)
        per_shard = max(1, index.training_sample_size() // len(shard_files))
        parts = []
        for f in shard_files:
            vecs = np.load(f, mmap_mode="r")
            take = rng.choice(len(vecs), size=min(per_shard, len(vecs)), replace=False)
            parts.append(np.asarray(vecs[np.sort(take)]))
        index.train(np.concatenate(parts))
    for f in shard_files:
        index.add(np.load(f))
    return index


def _publish(work: Path, out: Path) -> None:
    """Rename the finished work folder to ``out``; an existing ``out`` is replaced only after that works."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
        os.replace(work, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(work, out)


def _chunks(docs: Iterator[Document], size: int) -> Iterator[list[Document]]:
    chunk: list[Document] = []
    for d in docs:
        chunk.append(d)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _progress(enabled: bool, desc: str, total: int | None = None):  # type: ignore[no-untyped-def]
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(desc=desc, unit="doc", total=total)


def _count_lines(path: Path) -> int | None:
    """Line count for the progress bar's total (one cheap pass; an estimate when lines are skipped)."""
    from thinkir.indexing.readers import open_text

    try:
        with open_text(path) as fh:
            return sum(1 for _ in fh)
    except (OSError, InputError, UnicodeDecodeError):
        return None
