"""Retrieval evaluation: a BEIR folder, an index of its corpus, and a pipeline spec run through the
same :class:`~thinkir.pipeline.SearchPipeline` the CLI and the service use.

Without an explicit index, the corpus is indexed once into the cache
(``<cache_dir>/indexes/<dataset>-<corpus sha256 prefix>-<embedder>``) and reused afterwards.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from thinkir.errors import InputError
from thinkir.evals.datasets import BeirDataset, load_beir
from thinkir.evals.metrics import evaluate
from thinkir.evals.outcome import EvalOutcome
from thinkir.evals.runs import from_ranked_lists
from thinkir.indexing.manifest import MANIFEST, Manifest, file_sha256

if TYPE_CHECKING:
    from thinkir.config import Settings
    from thinkir.pipeline import SearchPipeline
    from thinkir.types import RankedList

logger = logging.getLogger(__name__)

SHA_PREFIX = 12


def pipeline_name(mode: str, reason: str = "never", rerank: str = "none") -> str:
    """A readable pipeline spec: ``dense``, ``hybrid+reason:auto``, ``bm25+rerank:cross-encoder``."""
    name = mode
    if reason != "never":
        name += f"+reason:{reason}"
    if rerank != "none":
        name += f"+rerank:{rerank}"
    return name


def index_cache_dir(dataset: BeirDataset, settings: Settings, embedder: str | None = None) -> Path:
    """Where the cached index of ``dataset``'s corpus with ``embedder`` lives."""
    sha = file_sha256(dataset.corpus_path)[:SHA_PREFIX]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", embedder or settings.embedder).strip("_")
    return Path(settings.cache_dir) / "indexes" / f"{dataset.name}-{sha}-{slug}"


def ensure_index(dataset: BeirDataset, settings: Settings, embedder: str | None = None) -> Path:
    """Return the cached index of the dataset's corpus, building it first when absent.

    A file lock makes concurrent evaluations build it once; the build itself is atomic and resumable
    (:func:`thinkir.indexing.builder.build_index`).
    """
    from filelock import FileLock

    from thinkir.indexing.builder import build_index

    out = index_cache_dir(dataset, settings, embedder)
    if (out / MANIFEST).is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out) + ".lock"):
        if not (out / MANIFEST).is_file():
            logger.warning("indexing %s into %s (once; later evaluations reuse it)", dataset.corpus_path, out)
            device = None if settings.device == "auto" else settings.device
            build_index(
                dataset.corpus_path,
                out,
                embedder=embedder or settings.embedder,
                bm25="bm25s",
                progress=settings.progress,
                device=device,
                max_batch_tokens=settings.max_batch_tokens,
            )
    return out


def check_index_corpus(index_dir: Path, dataset: BeirDataset) -> None:
    """Refuse an index built from another corpus than the dataset's (its ids would not match)."""
    manifest = Manifest.read(index_dir)
    sha = file_sha256(dataset.corpus_path)
    if manifest.corpus_sha256 != sha:
        raise InputError(
            f"index {index_dir} was built from {manifest.corpus_path} "
            f"(sha256 {manifest.corpus_sha256[:12]}), not from {dataset.corpus_path} "
            f"(sha256 {sha[:12]}); drop --index to build one for this dataset"
        )


def run_queries(
    pipeline: SearchPipeline,
    queries: Sequence[object],
    k: int,
    mode: str,
    reason: str = "never",
    rerank: str = "none",
    batch_size: int = 1,
    progress: bool = False,
) -> tuple[list[RankedList], dict[str, float]]:
    """Search every query; returns the ranked lists and each query's latency in milliseconds.

    With ``batch_size`` 1 (the default) a query's latency is the wall time of its own search, what a
    user of the service sees; with larger batches it is the batch's wall time divided evenly.
    """
    if batch_size < 1:
        raise InputError("batch size must be at least 1")
    results: list[RankedList] = []
    latencies: dict[str, float] = {}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(queries), desc=f"search ({pipeline_name(mode, reason, rerank)})", unit="query")
    for start in range(0, len(queries), batch_size):
        batch = list(queries[start : start + batch_size])
        t0 = time.perf_counter()
        lists = pipeline.search_many(batch, k=k, mode=mode, reason=reason, rerank=rerank)  # type: ignore[arg-type]
        per_query = (time.perf_counter() - t0) * 1000 / len(batch)
        for ranked in lists:
            latencies[ranked.query.id] = per_query
        results.extend(lists)
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    return results, latencies


def evaluate_retrieval(
    data: Path | str,
    settings: Settings,
    mode: str = "bm25",
    split: str = "test",
    reason: str = "never",
    rerank: str = "none",
    k: int = 1000,
    rerank_depth: int = 100,
    index: Path | str | None = None,
    embedder: str | None = None,
    measures: Sequence[str] | str | None = None,
    batch_size: int = 1,
    warmup: int = 1,
) -> EvalOutcome:
    """Evaluate one pipeline spec on a BEIR folder's ``split``.

    Args:
        index: an index directory of the same corpus; default: the cached one (built when absent).
        k: documents retrieved per query (R@1000 needs 1000).
        warmup: queries searched once before timing, so model loading is not counted as latency.
    """
    from thinkir.pipeline import REASON_MODES
    from thinkir.retrieval.search_index import MODES
    from thinkir.service_factory import build_pipeline

    if mode not in MODES:
        raise InputError(f"unknown pipeline {mode!r}; valid: {list(MODES)}")
    if reason not in REASON_MODES:
        raise InputError(f"unknown reason mode {reason!r}; valid: {list(REASON_MODES)}")
    dataset = load_beir(data, split)
    if index is not None:
        index_dir = Path(index)
        check_index_corpus(index_dir, dataset)
    else:
        index_dir = ensure_index(dataset, settings, embedder)
    pipeline = build_pipeline(index_dir, settings, embedder=embedder)
    pipeline.rerank_depth = rerank_depth
    queries = list(dataset.queries)
    if warmup > 0 and queries:
        pipeline.search_many(queries[:warmup], k=k, mode=mode, reason=reason, rerank=rerank)
    lists, latencies = run_queries(pipeline, queries, k, mode, reason, rerank, batch_size, settings.progress)
    run = from_ranked_lists(lists)
    result = evaluate(dataset.qrels, run, measures, query_ids=[q.id for q in queries])
    return EvalOutcome(
        task="retrieval",
        dataset=dataset.name if split == "test" else f"{dataset.name}/{split}",
        pipeline=pipeline_name(mode, reason, rerank),
        result=result,
        run=run,
        latencies_ms=latencies,
        details={
            "split": split,
            "k": k,
            "index": str(index_dir),
            "embedder": pipeline.index.manifest.embedder.name,
        },
    )
