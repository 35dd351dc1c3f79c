"""A dedicated redis-server killed during a stream of requests: every request succeeds, /ready says
degraded; restarted: caching resumes without restarting the service."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("redis")

from fastapi.testclient import TestClient  # noqa: E402

from service_helpers import build_tiny_index, free_port, start_redis, stop  # noqa: E402
from thinkir.config import Settings  # noqa: E402
from thinkir.service import create_app  # noqa: E402

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server binary not installed"),
]


def test_killing_redis_degrades_to_misses_and_restarting_resumes_caching(tmp_path: Path) -> None:
    import time

    index_dir = build_tiny_index(tmp_path)
    port = free_port()
    proc = start_redis(port, tmp_path)
    settings = Settings(
        index_dir=index_dir,
        device="cpu",
        redis_url=f"redis://127.0.0.1:{port}/0",
        redis_timeout_s=0.05,
        redis_retry_s=0.2,
        _env_file=None,
    )  # type: ignore[call-arg]
    statuses: list[int] = []
    try:
        with TestClient(create_app(settings)) as c:
            assert c.get("/ready").json()["status"] == "ready"
            for i in range(60):
                if i == 20:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                r = c.post("/v1/search", json={"query": f"query {i % 7}", "k": 3})
                statuses.append(r.status_code)
            assert statuses == [200] * 60
            ready = c.get("/ready")
            assert ready.status_code == 200 and ready.json()["status"] == "degraded"
            assert ready.json()["cache"] == "redis: degraded"
            assert 'thinkir_cache_errors_total{op="get"}' in c.get("/metrics").text

            proc = start_redis(port, tmp_path)
            deadline, cached = time.monotonic() + 15, False
            while not cached and time.monotonic() < deadline:
                q = {"query": "after the restart", "k": 2}
                assert c.post("/v1/search", json=q).status_code == 200
                cached = c.post("/v1/search", json=q).json()["cached"]
                time.sleep(0.1)
            assert cached, "caching did not resume after Redis came back"
            assert c.get("/ready").json()["status"] == "ready"

            # a hung Redis (stopped, connections open): calls time out after redis_timeout_s, as misses
            proc.send_signal(signal.SIGSTOP)
            try:
                for i in range(10):
                    t0 = time.perf_counter()
                    r = c.post("/v1/search", json={"query": f"while hung {i}", "k": 2})
                    assert r.status_code == 200 and time.perf_counter() - t0 < 5
                assert c.get("/ready").json()["status"] == "degraded"
            finally:
                proc.send_signal(signal.SIGCONT)
    finally:
        stop(proc)
