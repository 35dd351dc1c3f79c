"""The gateway against the real Redis at 127.0.0.1:6379: hits, key versioning, TTL, single flight."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("redis")

from fastapi.testclient import TestClient  # noqa: E402

from service_helpers import DOCS, REDIS_TEST_URL, build_tiny_index, redis_reachable  # noqa: E402
from thinkir.config import Settings  # noqa: E402
from thinkir.service import create_app  # noqa: E402

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not redis_reachable(url=REDIS_TEST_URL), reason=f"no Redis answering at {REDIS_TEST_URL}"),
]
REDIS_URL = REDIS_TEST_URL


@pytest.fixture()
def namespace() -> Iterator[str]:
    """A namespace of its own per test (the Redis is shared), deleted afterwards."""
    import redis

    ns = f"thinkir-test-{uuid.uuid4().hex[:10]}"
    yield ns
    r = redis.Redis.from_url(REDIS_URL)
    keys = list(r.scan_iter(f"{ns}:*"))
    if keys:
        r.delete(*keys)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("svc-redis")
    build_tiny_index(folder)
    return folder


def _app(index_dir: Path, namespace: str, **kw: object):
    settings = Settings(
        index_dir=index_dir, device="cpu", redis_url=REDIS_URL, cache_namespace=namespace, _env_file=None, **kw
    )  # type: ignore[call-arg]
    return create_app(settings)


def _metric(client: TestClient, name: str, labels: str) -> float:
    m = re.search(rf"^{re.escape(name)}\{{{re.escape(labels)}\}} ([0-9.e+-]+)$", client.get("/metrics").text, re.M)
    return float(m.group(1)) if m else 0.0


def test_hit_after_miss_and_keys_in_redis(workdir: Path, namespace: str) -> None:
    import redis

    with TestClient(_app(workdir / "index", namespace)) as c:
        assert c.get("/ready").json()["cache"] == "redis: ok"
        q = {"query": "salt and blood pressure", "k": 3, "mode": "hybrid"}
        first, second = c.post("/v1/search", json=q).json(), c.post("/v1/search", json=q).json()
        assert first["cached"] is False and second["cached"] is True
        assert second["results"] == first["results"]
        assert _metric(c, "thinkir_cache_requests_total", 'kind="search",outcome="hit"') == 1
    kinds = {k.decode().split(":")[2] for k in redis.Redis.from_url(REDIS_URL).scan_iter(f"{namespace}:*")}
    assert kinds == {"search", "embedding"}


def test_rebuilt_index_never_serves_stale_results(tmp_path: Path, namespace: str, workdir: Path) -> None:
    import shutil

    from service_helpers import write_corpus
    from thinkir.indexing.builder import build_index

    folder = tmp_path / "idx"
    shutil.copytree(workdir / "index", folder)
    q = {"query": "coffee", "k": 8}
    with TestClient(_app(folder, namespace)) as c:
        before = c.post("/v1/search", json=q).json()
        assert c.post("/v1/search", json=q).json()["cached"] is True
    assert {h["id"] for h in before["results"]} == {d[0] for d in DOCS}
    time.sleep(1.1)  # manifests carry their creation second
    new_docs = [(f"n{i}", t, x) for i, (_, t, x) in enumerate(DOCS[:5])]
    build_index(
        write_corpus(tmp_path / "new.jsonl", new_docs),
        folder,
        embedder=str(workdir / "tiny-st"),
        progress=False,
        device="cpu",
        overwrite=True,
    )
    with TestClient(_app(folder, namespace)) as c:
        after = c.post("/v1/search", json=q).json()
    assert after["cached"] is False
    assert {h["id"] for h in after["results"]} == {d[0] for d in new_docs}


def test_entries_expire_after_the_ttl(workdir: Path, namespace: str) -> None:
    import redis

    with TestClient(_app(workdir / "index", namespace, cache_ttl_s=1)) as c:
        q = {"query": "vitamin d and bones", "k": 2}
        c.post("/v1/search", json=q)
        keys = list(redis.Redis.from_url(REDIS_URL).scan_iter(f"{namespace}:*:search:*"))
        assert keys and 0 < redis.Redis.from_url(REDIS_URL).pttl(keys[0]) <= 1000
        assert c.post("/v1/search", json=q).json()["cached"] is True
        time.sleep(1.3)
        assert c.post("/v1/search", json=q).json()["cached"] is False


def test_concurrent_identical_misses_compute_once(workdir: Path, namespace: str) -> None:
    from thinkir.rerank import RERANKERS
    from thinkir.rerank.base import PointwiseReranker

    class SlowReranker(PointwiseReranker):  # a slow collaborator, so that the requests overlap
        def score(self, query, documents):
            time.sleep(0.5)
            return [float(-i) for i in range(len(documents))]

    RERANKERS["slow-test"] = lambda **kw: SlowReranker()
    n = 8
    try:
        with TestClient(_app(workdir / "index", namespace)) as c:
            c.post("/v1/rerank", json={"model": "slow-test", "query": "warm", "documents": ["a"]})  # load it
            before = _metric(c, "thinkir_stage_duration_seconds_count", 'stage="rerank"')
            barrier, out = threading.Barrier(n), [None] * n

            def call(i: int) -> None:
                barrier.wait()
                out[i] = c.post("/v1/search", json={"query": "sleep and obesity", "k": 3, "rerank": "slow-test"})

            threads = [threading.Thread(target=call, args=(i,)) for i in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert all(r is not None and r.status_code == 200 for r in out)
            bodies = [r.json() for r in out]  # type: ignore[union-attr]
            assert all(b["results"] == bodies[0]["results"] for b in bodies)
            assert _metric(c, "thinkir_stage_duration_seconds_count", 'stage="rerank"') - before == 1
            shared = _metric(c, "thinkir_singleflight_shared_total", 'kind="search"')
            hits = sum(b["cached"] for b in bodies)
            assert shared + hits == n - 1 and shared >= 1
    finally:
        del RERANKERS["slow-test"]
