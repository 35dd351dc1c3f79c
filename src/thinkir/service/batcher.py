"""A micro-batcher in front of one embedder: texts from concurrent requests share one ``encode`` call.

One worker thread owns the model. It takes the first waiting request, then every request that queued
up while the previous batch ran (and, with ``max_wait_ms`` > 0, those arriving within that window), up
to ``max_texts``; it encodes them in one call and hands each caller its rows. Batching therefore grows
with load and costs no latency when the service is idle. Callers on the event loop await
:meth:`encode_async`; callers in worker threads use :meth:`encode`.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from thinkir.retrieval.embedders import Embedder, TextKind
from thinkir.service.metrics import Metrics

logger = logging.getLogger(__name__)


@dataclass
class _Job:
    texts: list[str]
    kind: TextKind
    future: Future[np.ndarray] = field(default_factory=Future)


class MicroBatcher:
    def __init__(
        self, embedder: Embedder, metrics: Metrics | None = None, max_texts: int = 64, max_wait_ms: float = 0.0
    ) -> None:
        self.embedder = embedder
        self.metrics = metrics
        self.max_texts = max_texts
        self.max_wait_s = max_wait_ms / 1000
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="thinkir-embed-batcher", daemon=True)
        self._thread.start()

    def submit(self, texts: Sequence[str], kind: TextKind = "query") -> Future[np.ndarray]:
        job = _Job(list(texts), kind)
        if not self._thread.is_alive():
            raise RuntimeError("the embedding batcher is closed")
        self._queue.put(job)
        return job.future

    def encode(self, texts: Sequence[str], kind: TextKind = "query") -> np.ndarray:
        return self.submit(texts, kind).result()

    async def encode_async(self, texts: Sequence[str], kind: TextKind = "query") -> np.ndarray:
        return await asyncio.wrap_future(self.submit(texts, kind))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _collect(self, first: _Job) -> tuple[list[_Job], bool]:
        jobs, n = [first], len(first.texts)
        deadline = time.monotonic() + self.max_wait_s
        while n < self.max_texts:
            try:
                remaining = deadline - time.monotonic()
                job = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
            n += len(job.texts)
        return jobs, False

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                return
            jobs, stop = self._collect(first)
            for kind in ("query", "document"):
                group = [j for j in jobs if j.kind == kind and j.future.set_running_or_notify_cancel()]
                if group:
                    self._encode_group(group, kind)  # type: ignore[arg-type]

    def _encode_group(self, jobs: list[_Job], kind: TextKind) -> None:
        texts = [t for j in jobs for t in j.texts]
        try:
            vectors = self.embedder.encode(texts, kind=kind)
        except Exception as err:  # noqa: BLE001 - handed to every waiting caller
            for j in jobs:
                j.future.set_exception(err)
            return
        if self.metrics is not None:
            self.metrics.batch_size.observe(len(texts))
        start = 0
        for j in jobs:
            j.future.set_result(vectors[start : start + len(j.texts)])
            start += len(j.texts)
