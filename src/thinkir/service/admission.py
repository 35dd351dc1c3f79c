"""Load shedding: a bounded queue in front of the inference workers.

At most ``workers`` requests compute at once and at most ``queue_size`` more wait. A request arriving
when both are full is refused at once with 429 and a ``Retry-After`` estimated from recent service
times; one that waits longer than ``timeout_s`` gets 503. Refusing early keeps latency flat for the
requests that are admitted instead of slowing everyone down.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from thinkir.service.errors import QueueFullError, QueueTimeoutError
from thinkir.service.metrics import Metrics


class Admission:
    def __init__(self, workers: int, queue_size: int, timeout_s: float, metrics: Metrics) -> None:
        self.workers = workers
        self.queue_size = queue_size
        self.timeout_s = timeout_s
        self.metrics = metrics
        self._slots = asyncio.Semaphore(workers)
        self._pending = 0  # waiting + running
        self._avg_s = 0.05  # moving average of one request's service time

    @property
    def depth(self) -> int:
        return self._pending

    def retry_after_s(self) -> float:
        return max(1.0, math.ceil(self._pending * self._avg_s / self.workers))

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._pending >= self.workers + self.queue_size:
            self.metrics.rejected.labels("queue_full").inc()
            raise QueueFullError(
                f"server busy: {self._pending} requests queued or running (limit "
                f"{self.workers + self.queue_size}); retry later",
                retry_after=self.retry_after_s(),
            )
        self._pending += 1
        self.metrics.queue_depth.set(self._pending)
        try:
            try:
                await asyncio.wait_for(self._slots.acquire(), timeout=self.timeout_s)
            except asyncio.TimeoutError as err:
                self.metrics.rejected.labels("queue_timeout").inc()
                raise QueueTimeoutError(
                    f"no worker free within {self.timeout_s:g}s; retry later", retry_after=self.retry_after_s()
                ) from err
            start = time.perf_counter()
            try:
                yield
            finally:
                self._slots.release()
                self._avg_s = 0.9 * self._avg_s + 0.1 * (time.perf_counter() - start)
        finally:
            self._pending -= 1
            self.metrics.queue_depth.set(self._pending)
