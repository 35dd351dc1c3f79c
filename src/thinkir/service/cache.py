"""Caches of query embeddings, reasoning outputs and full results: Redis, or an in-process LRU.

Keys are ``{namespace}:v{CACHE_FORMAT}:{kind}:{version}:{sha256(params)}`` where ``version`` is the
index manifest fingerprint plus the model ids and revisions, so a rebuilt index or another model never
reads an old entry. Values are bytes (JSON or raw float32), never pickles.

A Redis error or timeout is a miss (counted), never a failed request. After ``FAILURES_TO_OPEN``
errors in a row, Redis is left alone for ``retry_s`` so a dead server does not add a timeout to every
request, then tried again (redis-py reconnects by itself). One slow call (an event loop that is busy
for a moment) does not switch the cache off.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from thinkir.service.metrics import Metrics

logger = logging.getLogger(__name__)

CACHE_FORMAT = 1
FAILURES_TO_OPEN = 3
T = TypeVar("T")


def cache_key(namespace: str, kind: str, version: str, params: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]
    return f"{namespace}:v{CACHE_FORMAT}:{kind}:{version}:{digest}"


class Cache(ABC):
    """Async get/set of bytes with a TTL. Lookups are counted per kind (the key's third part)."""

    backend = ""

    def __init__(self, metrics: Metrics, ttl_s: int) -> None:
        self.metrics = metrics
        self.ttl_s = ttl_s

    async def get(self, key: str) -> bytes | None:
        value = await self._get(key)
        self.metrics.cache.labels(_kind(key), "hit" if value is not None else "miss").inc()
        return value

    async def set(self, key: str, value: bytes, ttl_s: int | None = None) -> None:
        await self._set(key, value, ttl_s or self.ttl_s)

    async def status(self) -> str:
        """``ok``, or ``degraded`` when the backend cannot be reached (the service still answers)."""
        return "ok"

    async def close(self) -> None:  # noqa: B027 - optional hook
        pass

    @abstractmethod
    async def _get(self, key: str) -> bytes | None: ...

    @abstractmethod
    async def _set(self, key: str, value: bytes, ttl_s: int) -> None: ...


def _kind(key: str) -> str:
    parts = key.split(":")
    return parts[2] if len(parts) > 2 else "unknown"


class MemoryCache(Cache):
    """Bounded LRU with per-entry expiry, for one process (the default without Redis)."""

    backend = "memory"

    def __init__(self, metrics: Metrics, ttl_s: int, max_entries: int = 10000) -> None:
        super().__init__(metrics, ttl_s)
        self.max_entries = max_entries
        self._data: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    async def _get(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None:
            return None
        expires, value = item
        if expires < time.monotonic():
            del self._data[key]
            return None
        self._data.move_to_end(key)
        return value

    async def _set(self, key: str, value: bytes, ttl_s: int) -> None:
        if self.max_entries <= 0:
            return
        self._data[key] = (time.monotonic() + ttl_s, value)
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)


class RedisCache(Cache):
    """Redis with short timeouts; errors degrade to misses. See the module docstring."""

    backend = "redis"

    def __init__(
        self,
        url: str,
        metrics: Metrics,
        ttl_s: int,
        timeout_s: float = 0.05,
        retry_s: float = 1.0,
        max_connections: int = 64,
    ) -> None:
        super().__init__(metrics, ttl_s)
        import redis.asyncio as aioredis

        self.url = url
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self.client = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            max_connections=max_connections,
            retry_on_timeout=False,
            health_check_interval=30,
        )
        self._down_until = 0.0
        self._failures = 0
        self._last_error: str | None = None

    async def _call(self, op: str, coro_fn: Callable[[], Awaitable[T]]) -> T | None:
        if time.monotonic() < self._down_until:
            self.metrics.cache_errors.labels(op + "_skipped").inc()
            return None
        try:
            # wait_for bounds the whole call, including a connect to a host that does not answer
            result = await asyncio.wait_for(coro_fn(), timeout=self.timeout_s * 2)
        except (OSError, asyncio.TimeoutError, _redis_errors()) as err:
            self.metrics.cache_errors.labels(op).inc()
            self._failures += 1
            if self._failures >= FAILURES_TO_OPEN:
                self._down_until = time.monotonic() + self.retry_s
            if self._last_error is None:
                logger.warning("redis unavailable, serving without cache: %s", err or type(err).__name__)
            self._last_error = str(err) or type(err).__name__
            return None
        self._failures = 0
        if self._last_error is not None:
            logger.warning("redis reachable again, caching resumed")
            self._last_error = None
        return result

    async def _get(self, key: str) -> bytes | None:
        value = await self._call("get", lambda: self.client.get(key))
        return value.encode() if isinstance(value, str) else value

    async def _set(self, key: str, value: bytes, ttl_s: int) -> None:
        await self._call("set", lambda: self.client.set(key, value, ex=ttl_s))

    async def ping(self) -> bool:
        """One live check, bypassing the back-off window (so /ready notices a recovered server)."""
        self._down_until, self._failures = 0.0, max(self._failures, FAILURES_TO_OPEN - 1)
        return bool(await self._call("ping", self.client.ping))

    async def status(self) -> str:
        return "ok" if await self.ping() else "degraded"

    async def close(self) -> None:
        try:
            await self.client.aclose()
        except (OSError, _redis_errors()) as err:
            logger.debug("closing redis: %s", err)


def _redis_errors() -> type[Exception]:
    from redis.exceptions import RedisError

    return RedisError


class SingleFlight:
    """Concurrent calls with the same key share one computation (per process).

    The first caller runs ``fn``; callers arriving while it runs await the same result (or error).
    """

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._inflight: dict[str, asyncio.Future[Any]] = {}

    def __len__(self) -> int:
        return len(self._inflight)

    async def do(self, key: str, fn: Callable[[], Awaitable[T]]) -> T:
        existing = self._inflight.get(key)
        if existing is not None:
            self.metrics.singleflight.labels(_kind(key)).inc()
            return await asyncio.shield(existing)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await fn()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as err:
            future.set_exception(err)
            # mark retrieved so an unshared failure does not log "exception was never retrieved"
            future.exception()
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._inflight[key]


def build_cache(settings: Any, metrics: Metrics) -> Cache:
    if settings.redis_url:
        return RedisCache(
            settings.redis_url, metrics, settings.cache_ttl_s, settings.redis_timeout_s, settings.redis_retry_s
        )
    return MemoryCache(metrics, settings.cache_ttl_s, settings.lru_cache_size)
