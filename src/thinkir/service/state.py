"""What one running gateway holds: the pipeline, its models, the cache, the batcher and the workers.

Built once by the app's lifespan (:meth:`ServiceState.start`) and closed on shutdown.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from thinkir.config import Settings
from thinkir.errors import InputError, StageUnavailableError
from thinkir.pipeline import SearchPipeline
from thinkir.rerank import RERANKERS, Reranker, available_rerankers, reranker_ready
from thinkir.service.admission import Admission
from thinkir.service.batcher import MicroBatcher
from thinkir.service.cache import Cache, SingleFlight, build_cache
from thinkir.service.metrics import Metrics
from thinkir.service.precomputed import BatchedEmbedder, PrecomputedReasoner

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: ``rerank`` option of /v1/search -> reranker registry key (the CLI uses the same aliases)
RERANK_ALIASES = {"pointwise": "dear-pointwise", "dear": "dear"}


@dataclass
class ServiceState:
    settings: Settings
    pipeline: SearchPipeline
    metrics: Metrics
    cache: Cache
    batcher: MicroBatcher
    admission: Admission
    executor: ThreadPoolExecutor
    flight: SingleFlight
    classifier: Any = None
    classifier_error: str = ""
    _classifier_tried: bool = False
    _classifier_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    started_at: float = field(default_factory=time.time)
    ready: bool = False
    _reranker_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    async def start(cls, settings: Settings, metrics: Metrics, pipeline: SearchPipeline | None = None) -> ServiceState:
        """Load the index and models (in a thread), wrap the embedder in the batcher, warm up."""
        if settings.inference_threads:
            _limit_threads(settings.inference_threads)
        executor = ThreadPoolExecutor(settings.workers, thread_name_prefix="thinkir-worker")
        loop = asyncio.get_running_loop()
        if pipeline is None:
            if settings.index_dir is None:
                raise InputError("no index configured: pass --index DIR or set THINKIR_INDEX_DIR")
            from thinkir.service_factory import build_pipeline

            index_dir = settings.index_dir
            pipeline = await loop.run_in_executor(executor, lambda: build_pipeline(index_dir, settings))
        pipeline.rerank_depth = settings.rerank_depth
        inner = pipeline.index.embedder
        if isinstance(inner, BatchedEmbedder):
            inner = inner.inner
        batcher = MicroBatcher(inner, metrics, settings.batch_max_texts, settings.batch_wait_ms)
        pipeline.index.embedder = BatchedEmbedder(inner, batcher)
        if pipeline.reasoner is not None and not isinstance(pipeline.reasoner, PrecomputedReasoner):
            pipeline.reasoner = PrecomputedReasoner(pipeline.reasoner)
        state = cls(
            settings=settings,
            pipeline=pipeline,
            metrics=metrics,
            cache=build_cache(settings, metrics),
            batcher=batcher,
            executor=executor,
            admission=Admission(settings.max_concurrency, settings.queue_size, settings.queue_timeout_s, metrics),
            flight=SingleFlight(metrics),
        )
        if settings.classifier_enabled and settings.preload_classifier:
            await state.classifier_or_none()
        await state.run(lambda: pipeline.search("warm up", k=1, mode="dense"))
        state.ready = True
        logger.info("service ready", extra={"index": str(pipeline.index.folder), "cache": state.cache.backend})
        return state

    async def close(self) -> None:
        self.ready = False
        await self.cache.close()
        self.batcher.close()
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def run(self, fn: Callable[[], T]) -> T:
        """Run blocking work (inference, FAISS) on the worker threads, off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn)

    async def classifier_or_none(self) -> Any:
        """The classifier, loaded once (in a worker thread) on first use; None when unavailable."""
        async with self._classifier_lock:
            if not self._classifier_tried:
                settings = self.settings
                self.classifier, self.classifier_error = await self.run(lambda: _load_classifier(settings))
                self._classifier_tried = True
        return self.classifier

    # -- versions for cache keys ------------------------------------------------------------

    @property
    def embedder_version(self) -> str:
        e = self.pipeline.index.embedder
        return hashlib.sha256(f"{e.model_id}|{e.revision}".encode()).hexdigest()[:12]

    @property
    def index_version(self) -> str:
        """Changes when the index is rebuilt (manifest fingerprint) or the embedder changes."""
        return f"{self.pipeline.index.manifest.fingerprint}.{self.embedder_version}"

    # -- stages -----------------------------------------------------------------------------

    def available_modes(self) -> list[str]:
        return ["dense", "bm25", "hybrid"] if self.pipeline.index.bm25 is not None else ["dense"]

    def available_reason_modes(self) -> list[str]:
        return ["never", "auto", "always"] if self.pipeline.reasoner is not None else ["never"]

    def available_rerank_options(self) -> list[str]:
        """What ``rerank`` can be now: registered rerankers that have what they need (DeAR: adapters)."""
        ready = [name for name in available_rerankers() if reranker_ready(name)]
        aliases = [a for a, key in RERANK_ALIASES.items() if key in ready and a not in ready]
        return ["none", *aliases, *ready]

    def reranker_key(self, rerank: str) -> str:
        """Map a /v1/search ``rerank`` option to a registry key, or refuse naming what exists."""
        key = RERANK_ALIASES.get(rerank, rerank)
        if key not in RERANKERS:
            raise StageUnavailableError(
                f"rerank={rerank!r} is not available in this installation; available: {self.available_rerank_options()}"
            )
        return key

    async def reranker(self, key: str) -> Reranker:
        """The pipeline's reranker ``key``, loaded once (in a worker thread) on first use."""
        cached = self.pipeline._rerankers.get(key)
        if cached is not None:
            return cached

        def load() -> Reranker:
            with self._reranker_lock:
                return self.pipeline.reranker(key)

        return await self.run(load)


def _limit_threads(n: int) -> None:
    """Intra-op threads of torch and FAISS. On a small or shared CPU, one thread per call avoids
    OpenMP spin-waiting (measured: 2 threads made a MiniLM query 9x slower on a busy 2-core host)."""
    import torch

    torch.set_num_threads(n)
    try:
        import faiss
    except ImportError:
        return
    faiss.omp_set_num_threads(n)


def _load_classifier(settings: Settings) -> tuple[Any, str]:
    """The classifier when ``thinkir.classify`` provides ``load_classifier``; else None and why."""
    if not settings.classifier_enabled:
        return None, "classification is turned off on this server (THINKIR_CLASSIFIER_ENABLED=false)"
    try:
        from thinkir.classify import load_classifier
    except ImportError:
        return None, "classification is not available: thinkir.classify provides no load_classifier()"
    try:
        source = settings.classifier_dir if settings.classifier_dir is not None else settings
        return load_classifier(source), ""
    except Exception as err:  # noqa: BLE001 - a broken optional stage must not stop the service
        logger.warning("classifier not loaded: %s", err)
        return None, f"classification is not available: the classifier could not be loaded ({err})"
