"""The reasoning cache: generated keywords keyed by model, prompt version and query.

Any object with ``get(key) -> str | None`` and ``set(key, value) -> None`` is a cache
(:class:`ReasoningCache`); the in-process :class:`LRUCache` is the default, and the service plugs in a
Redis-backed one with the same two methods (keys are short ASCII strings, values UTF-8 text).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Protocol, runtime_checkable


@runtime_checkable
class ReasoningCache(Protocol):
    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...


def cache_key(model_key: str, prompt_version: str, query: str) -> str:
    """``lrem:<prompt_version>:<sha256(model_key \\0 query)[:32]>``, safe for Redis and bounded in size."""
    digest = hashlib.sha256(f"{model_key}\0{query}".encode()).hexdigest()[:32]
    return f"lrem:{prompt_version}:{digest}"


class LRUCache:
    """A thread-safe, bounded, in-process least-recently-used map (the default reasoning cache)."""

    def __init__(self, maxsize: int = 10_000) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> str | None:
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def set(self, key: str, value: str) -> None:
        if self.maxsize <= 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)
