"""The gateway's parts on their own: cache keys, LRU, single flight, admission, auth, micro-batcher."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest

pytest.importorskip("fastapi")

from thinkir.errors import StageUnavailableError, UnknownModelError  # noqa: E402
from thinkir.retrieval.embedders import Embedder  # noqa: E402
from thinkir.service.admission import Admission  # noqa: E402
from thinkir.service.auth import check_key  # noqa: E402
from thinkir.service.batcher import MicroBatcher  # noqa: E402
from thinkir.service.cache import MemoryCache, RedisCache, SingleFlight, cache_key  # noqa: E402
from thinkir.service.errors import QueueFullError, QueueTimeoutError, status_of  # noqa: E402
from thinkir.service.metrics import Metrics  # noqa: E402


def test_cache_keys_are_namespaced_versioned_and_order_free() -> None:
    a = cache_key("ns", "search", "fp1", {"q": "x", "k": 10})
    assert a.startswith("ns:v1:search:fp1:")
    assert a == cache_key("ns", "search", "fp1", {"k": 10, "q": "x"})
    assert a != cache_key("ns", "search", "fp2", {"q": "x", "k": 10})
    assert a != cache_key("ns", "search", "fp1", {"q": "x", "k": 11})


def test_memory_cache_lru_and_ttl() -> None:
    async def run() -> None:
        m = Metrics()
        c = MemoryCache(m, ttl_s=60, max_entries=2)
        await c.set("n:v1:k:a", b"1")
        await c.set("n:v1:k:b", b"2")
        assert await c.get("n:v1:k:a") == b"1"  # a is now the most recent
        await c.set("n:v1:k:c", b"3")
        assert await c.get("n:v1:k:b") is None and await c.get("n:v1:k:a") == b"1"
        await c.set("n:v1:k:t", b"x", ttl_s=1)
        c._data["n:v1:k:t"] = (time.monotonic() - 1, b"x")  # expiry reached
        assert await c.get("n:v1:k:t") is None
        assert m.cache.labels("k", "hit")._value.get() == 2

    asyncio.run(run())


def test_redis_errors_degrade_to_counted_misses() -> None:
    from service_helpers import free_port

    async def run() -> None:
        m = Metrics()
        c = RedisCache(f"redis://127.0.0.1:{free_port()}/0", m, ttl_s=10, timeout_s=0.05, retry_s=0.0)
        t0 = time.perf_counter()
        assert await c.get("n:v1:k:a") is None
        await c.set("n:v1:k:a", b"1")
        assert time.perf_counter() - t0 < 2
        assert await c.status() == "degraded"
        assert m.cache_errors.labels("get")._value.get() == 1
        assert m.cache.labels("k", "miss")._value.get() == 1
        await c.close()

    asyncio.run(run())


def test_redis_is_skipped_after_repeated_errors_only() -> None:
    from service_helpers import free_port
    from thinkir.service.cache import FAILURES_TO_OPEN

    async def run() -> None:
        m = Metrics()
        c = RedisCache(f"redis://127.0.0.1:{free_port()}/0", m, ttl_s=10, timeout_s=0.05, retry_s=30)
        for _ in range(FAILURES_TO_OPEN + 2):
            assert await c.get("n:v1:k:a") is None
        assert m.cache_errors.labels("get")._value.get() == FAILURES_TO_OPEN
        assert m.cache_errors.labels("get_skipped")._value.get() == 2
        await c.close()

    asyncio.run(run())


def test_single_flight_runs_identical_work_once() -> None:
    calls = []

    async def run() -> None:
        flight = SingleFlight(Metrics())

        async def work() -> int:
            calls.append(1)
            await asyncio.sleep(0.05)
            return 42

        results = await asyncio.gather(*(flight.do("n:v1:k:x", work) for _ in range(10)))
        assert results == [42] * 10
        assert len(flight) == 0

        async def fail() -> int:
            await asyncio.sleep(0.01)
            raise ValueError("bad")

        outcomes = await asyncio.gather(*(flight.do("n:v1:k:y", fail) for _ in range(3)), return_exceptions=True)
        assert all(isinstance(o, ValueError) for o in outcomes)

    asyncio.run(run())
    assert len(calls) == 1


def test_admission_rejects_when_full_and_times_out() -> None:
    async def run() -> None:
        m = Metrics()
        adm = Admission(workers=1, queue_size=1, timeout_s=0.2, metrics=m)
        release = asyncio.Event()

        async def hold() -> None:
            async with adm.slot():
                await release.wait()

        holder = asyncio.create_task(hold())
        await asyncio.sleep(0)
        waiter = asyncio.create_task(hold())
        await asyncio.sleep(0)
        assert adm.depth == 2
        with pytest.raises(QueueFullError) as full:
            async with adm.slot():
                pass
        assert full.value.retry_after is not None and full.value.retry_after >= 1
        assert status_of(full.value)[0] == 429
        with pytest.raises(QueueTimeoutError):
            await waiter  # waited 0.2 s for the held worker
        release.set()
        await holder
        assert adm.depth == 0
        assert m.rejected.labels("queue_full")._value.get() == 1

    asyncio.run(run())


def test_library_errors_map_to_4xx() -> None:
    assert status_of(StageUnavailableError("x"))[0] == 400
    assert status_of(UnknownModelError("x"))[0] == 400


def test_api_key_check() -> None:
    keys = [b"alpha", b"beta"]
    assert check_key("beta", keys) and check_key("alpha", keys)
    assert not check_key("gamma", keys) and not check_key(None, keys) and not check_key("", keys)


class _SlowEmbedder(Embedder):
    """A collaborator that records its calls: each text maps to [len(text), 1, 0, ...]."""

    dimension = 4

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.lock = threading.Lock()

    def encode(self, texts: Sequence[str], kind="document", **kw) -> np.ndarray:  # type: ignore[override]
        with self.lock:
            self.calls.append(len(texts))
        time.sleep(0.05)
        return np.array([[len(t), 1.0, 0.0, 0.0] for t in texts], dtype=np.float32)

    def _tokenize(self, texts):  # pragma: no cover - encode is overridden
        raise NotImplementedError

    def _embed(self, features):  # pragma: no cover
        raise NotImplementedError


def test_micro_batcher_shares_one_call_and_keeps_rows_in_order() -> None:
    emb = _SlowEmbedder()
    batcher = MicroBatcher(emb, Metrics(), max_texts=64)

    async def run() -> list[np.ndarray]:
        return await asyncio.gather(*(batcher.encode_async(["x" * (i + 1)] * 2) for i in range(12)))

    try:
        out = asyncio.run(run())
    finally:
        batcher.close()
    for i, rows in enumerate(out):
        assert rows.shape == (2, 4) and (rows[:, 0] == i + 1).all()
    assert sum(emb.calls) == 24
    assert len(emb.calls) < 12  # requests queued behind the first batch shared the next call


def test_micro_batcher_passes_errors_to_every_caller() -> None:
    class Failing(_SlowEmbedder):
        def encode(self, texts, kind="document", **kw):  # type: ignore[override]
            raise RuntimeError("model failed")

    batcher = MicroBatcher(Failing(), max_texts=8)
    try:
        with pytest.raises(RuntimeError, match="model failed"):
            batcher.encode(["a"])
    finally:
        batcher.close()


def test_serve_refuses_a_folder_that_is_not_an_index(tmp_path) -> None:
    from typer.testing import CliRunner

    from thinkir.cli import app

    result = CliRunner().invoke(app, ["serve", "--index", str(tmp_path)])
    assert result.exit_code != 0
    assert "not a thinkir index" in str(result.exception)


def test_settings_read_comma_separated_lists(monkeypatch) -> None:
    from thinkir.config import Settings

    monkeypatch.setenv("THINKIR_API_KEYS", "sekrit-1, sekrit-2")
    monkeypatch.setenv("THINKIR_CORS_ORIGINS", "https://a.example,https://b.example")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert [k.get_secret_value() for k in s.api_keys] == ["sekrit-1", "sekrit-2"]
    assert "sekrit" not in repr(s)  # keys never show up in logs or reprs
    assert s.cors_origins == ["https://a.example", "https://b.example"]


def test_env_example_documents_every_setting() -> None:
    from pathlib import Path

    from thinkir.config import Settings

    text = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    missing = [n for n in Settings.model_fields if f"THINKIR_{n.upper()}=" not in text]
    assert not missing, f".env.example lacks {missing}"
