"""The gateway end to end in one process (FastAPI TestClient, in-process LRU cache, tiny real index)."""

from __future__ import annotations

import base64
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient  # noqa: E402

from service_helpers import build_tiny_index  # noqa: E402
from thinkir.config import Settings  # noqa: E402
from thinkir.service import create_app  # noqa: E402
from thinkir.types import Query  # noqa: E402


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_index(tmp_path_factory.mktemp("svc-app"))


def _settings(index_dir: Path, **kw: object) -> Settings:
    return Settings(index_dir=index_dir, device="cpu", _env_file=None, **kw)  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def client(index_dir: Path) -> Iterator[TestClient]:
    app = create_app(
        _settings(index_dir, max_query_chars=200, max_documents=5, max_body_bytes=64 * 1024, classifier_enabled=False)
    )
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def oracle(index_dir: Path):  # the library pipeline itself, loaded separately
    from thinkir.service_factory import build_pipeline

    return build_pipeline(index_dir, _settings(index_dir))


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_search_matches_library_pipeline(client: TestClient, oracle, mode: str) -> None:
    query = f"blood pressure and salt {mode}"
    r = client.post("/v1/search", json={"query": query, "k": 4, "mode": mode})
    assert r.status_code == 200, r.text
    body = r.json()
    expected = oracle.search(query, k=4, mode=mode)
    assert [h["id"] for h in body["results"]] == expected.doc_ids()
    assert np.allclose([h["score"] for h in body["results"]], [c.score for c in expected.candidates], atol=1e-5)
    assert body["cached"] is False
    assert "retrieve" in body["timings_ms"]
    assert body["results"][0]["text"]


def test_second_identical_search_is_a_cache_hit(client: TestClient) -> None:
    from thinkir.service.schemas import SearchResponse

    q = {"query": "coffee and the liver", "k": 3}
    first = client.post("/v1/search", json=q).json()
    second = client.post("/v1/search", json=q).json()
    for body in (first, second):  # both bodies (built as bytes) keep the documented shape
        SearchResponse.model_validate(body)
    assert second["cached"] is True and set(second["timings_ms"]) == {"cache"}
    assert second["results"] == first["results"]


def test_search_with_identity_rerank_keeps_first_stage_order(client: TestClient, oracle) -> None:
    r = client.post("/v1/search", json={"query": "sleep", "k": 3, "rerank": "identity"})
    assert r.status_code == 200, r.text
    assert [h["id"] for h in r.json()["results"]] == oracle.search("sleep", k=3).doc_ids()
    assert "rerank" in r.json()["timings_ms"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"query": "x", "rerank": "monot5"}, "available"),
        ({"query": "x", "rerank": "rankgpt"}, "available"),
    ],
)
def test_missing_stages_are_refused_with_400_naming_what_exists(client: TestClient, body: dict, needle: str) -> None:
    r = client.post("/v1/search", json=body)
    assert r.status_code == 400
    err = r.json()["error"]
    assert (
        err["type"] == "stage_unavailable"
        and needle in err["message"]
        and "identity" in str(client.get("/v1/info").json()["stages"]["rerank"])
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"query": "x", "k": 1001}, 422),
        ({"query": "x", "k": 0}, 422),
        ({"query": ""}, 422),
        ({"query": "x" * 201}, 422),
        ({"query": "x", "mode": "sparse"}, 422),
        ({"query": "x", "extra": 1}, 422),
        ({"k": 3}, 422),
    ],
)
def test_invalid_search_requests_get_422_with_a_message(client: TestClient, body: dict, status: int) -> None:
    r = client.post("/v1/search", json=body)
    assert r.status_code == status
    assert r.json()["error"]["message"]


class _KeywordReasoner:
    """A stand-in query reasoner (a collaborator of the gateway): appends a fixed keyword."""

    def __init__(self) -> None:
        self.calls = 0
        self.config = "keyword-test"

    def encode(self, queries, mode, index):
        self.calls += 1
        texts = [f"{q.text} salt" for q in queries]
        return index.embedder.encode_queries(texts), ["keywords: salt"] * len(queries)


def test_reasoning_is_returned_and_cached(index_dir: Path, oracle) -> None:
    from thinkir.service_factory import build_pipeline

    reasoner = _KeywordReasoner()
    settings = _settings(index_dir, classifier_enabled=False)
    pipeline = build_pipeline(index_dir, settings, reasoner=reasoner)
    with TestClient(create_app(settings, pipeline=pipeline)) as c:
        first = c.post("/v1/search", json={"query": "blood", "k": 3, "reason": "always"}).json()
        assert first["reasoning"] == "keywords: salt" and first["cached"] is False
        expected = oracle.index.dense(
            [Query("q", "blood")], 3, vectors=oracle.index.embedder.encode_queries(["blood salt"])
        )
        assert [h["id"] for h in first["results"]] == expected[0].doc_ids()
        # another k: a new result, but the reasoning comes from the cache
        other_k = c.post("/v1/search", json={"query": "blood", "k": 2, "reason": "always"}).json()
        assert other_k["cached"] is False and other_k["reasoning"] == "keywords: salt"
        assert c.post("/v1/search", json={"query": "blood", "k": 3, "reason": "always"}).json()["cached"] is True
        assert reasoner.calls == 1
        text = c.get("/metrics").text
        assert 'thinkir_cache_requests_total{kind="reasoning",outcome="hit"} 1.0' in text


def test_rerank_cohere_shape(client: TestClient) -> None:
    docs = ["first doc", {"text": "second doc"}, "third doc"]
    r = client.post(
        "/v1/rerank",
        json={"model": "identity", "query": "q", "documents": docs, "top_n": 2, "return_documents": True},
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["index"] for x in results] == [0, 1]
    assert results[0]["relevance_score"] > results[1]["relevance_score"]
    assert results[1]["document"] == {"text": "second doc"}
    bare = client.post("/v1/rerank", json={"model": "identity", "query": "q", "documents": ["a", "b"]}).json()
    assert all("document" not in x for x in bare["results"]) and len(bare["results"]) == 2


def test_rerank_unknown_model_and_limits(client: TestClient) -> None:
    r = client.post("/v1/rerank", json={"model": "no-such", "query": "q", "documents": ["a"]})
    assert r.status_code == 400 and "identity" in r.json()["error"]["message"]
    r = client.post("/v1/rerank", json={"model": "identity", "query": "q", "documents": ["a"] * 6})
    assert r.status_code == 422 and "limit" in r.json()["error"]["message"]


def test_embeddings_openai_shape_match_the_embedder(client: TestClient, oracle) -> None:
    texts = ["statins and cholesterol", "salt"]
    r = client.post("/v1/embeddings", json={"input": texts})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "list" and [d["index"] for d in body["data"]] == [0, 1]
    got = np.array([d["embedding"] for d in body["data"]], dtype=np.float32)
    assert np.allclose(got, oracle.index.embedder.encode(texts), atol=1e-5)
    assert body["usage"]["prompt_tokens"] > 0
    b64 = client.post("/v1/embeddings", json={"input": "salt", "encoding_format": "base64"}).json()
    vec = np.frombuffer(base64.b64decode(b64["data"][0]["embedding"]), dtype="<f4")
    assert np.allclose(vec, got[1], atol=1e-5)
    assert client.post("/v1/embeddings", json={"input": "x", "model": "text-embedding-3-small"}).status_code == 400


def test_classify_is_501_when_no_classifier_is_served(client: TestClient) -> None:
    r = client.post("/v1/classify", json={"input": "a bakery selling bread"})
    assert r.status_code == 501
    assert "classification" in r.json()["error"]["message"]


@pytest.mark.slow
def test_classify_with_the_zero_shot_classifier(index_dir: Path) -> None:
    """With thinkir.classify installed and the NAICS files present, /v1/classify answers codes."""
    pytest.importorskip("thinkir.classify")
    settings = _settings(index_dir)
    if not (settings.data_dir / "naics").is_dir():
        pytest.skip(f"NAICS data not found under {settings.data_dir}")
    with TestClient(create_app(settings)) as c:
        r = c.post("/v1/classify", json={"input": ["We brew craft beer and run a taproom"], "top_k": 3})
    assert r.status_code == 200, r.text
    preds = r.json()["results"][0]["predictions"]
    assert 1 <= len(preds) <= 3 and preds[0]["path"][-1] == preds[0]["code"]


def test_probes_info_metrics_and_docs(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready["status"] == "ready" and ready["cache"] == "memory: ok"
    info = client.get("/v1/info").json()
    assert info["index"]["documents"] == 8 and info["stages"]["mode"] == ["dense", "bm25", "hybrid"]
    assert info["models"]["embedder"]["dimension"] == 32
    client.post("/v1/search", json={"query": "metrics please"})
    text = client.get("/metrics").text
    for name in (
        'thinkir_http_request_duration_seconds_bucket{le="0.0005",method="POST",route="/v1/search"}',
        'thinkir_stage_duration_seconds_count{stage="retrieve"}',
        'thinkir_cache_requests_total{kind="search",outcome="miss"}',
        "thinkir_queue_depth",
        "thinkir_rejected_requests_total",
    ):
        assert name in text, name
    assert client.get("/docs").status_code == 200
    assert "/v1/rerank" in client.get("/openapi.json").json()["paths"]


def test_request_ids_body_limit_and_no_stack_traces(client: TestClient) -> None:
    r = client.post("/v1/search", json={"query": "x"}, headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    big = client.post("/v1/search", content=b"{" + b" " * 70_000 + b"}", headers={"content-type": "application/json"})
    assert big.status_code == 413 and "limit" in big.json()["error"]["message"]
    assert client.get("/nope").json()["error"]["type"] == "not_found"


def test_an_internal_error_is_a_500_without_a_trace(client: TestClient) -> None:
    from thinkir.rerank import RERANKERS
    from thinkir.rerank.base import PointwiseReranker

    class Broken(PointwiseReranker):  # a faulty collaborator, to reach the last-resort handler
        def score(self, query, documents):
            raise RuntimeError("secret internal detail")

    RERANKERS["broken-test"] = lambda **kw: Broken()
    try:
        r = client.post("/v1/rerank", json={"model": "broken-test", "query": "q", "documents": ["a", "b"]})
    finally:
        del RERANKERS["broken-test"]
    assert r.status_code == 500
    assert "secret" not in r.text and "Traceback" not in r.text
    assert r.json()["error"]["request_id"] == r.headers["x-request-id"]


def test_api_keys_and_cors(index_dir: Path) -> None:
    settings = _settings(index_dir, api_keys="k1,k2", cors_origins="http://app.example")
    with TestClient(create_app(settings)) as c:
        assert c.post("/v1/search", json={"query": "x"}).status_code == 401
        assert c.post("/v1/search", json={"query": "x"}, headers={"X-API-Key": "bad"}).status_code == 401
        assert c.post("/v1/search", json={"query": "x"}, headers={"Authorization": "Bearer k2"}).status_code == 200
        assert c.post("/v1/search", json={"query": "x"}, headers={"X-API-Key": "k1"}).status_code == 200
        assert c.get("/health").status_code == 200 and c.get("/ready").status_code == 200
        pre = c.options("/v1/search", headers={"Origin": "http://app.example", "Access-Control-Request-Method": "POST"})
        assert pre.headers["access-control-allow-origin"] == "http://app.example"
        other = c.get("/health", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_a_full_queue_answers_429_with_retry_after(index_dir: Path) -> None:
    import threading
    import time

    from thinkir.rerank import RERANKERS
    from thinkir.rerank.base import PointwiseReranker

    class SlowReranker(PointwiseReranker):  # a slow collaborator that keeps the only worker busy
        def score(self, query, documents):
            time.sleep(0.5)
            return [0.0] * len(documents)

    RERANKERS["slow-queue-test"] = lambda **kw: SlowReranker()
    settings = _settings(index_dir, max_concurrency=1, queue_size=0, classifier_enabled=False)
    try:
        with TestClient(create_app(settings)) as c:
            c.post("/v1/rerank", json={"model": "slow-queue-test", "query": "warm", "documents": ["a"]})
            responses = []

            def call(i: int) -> None:
                body = {"model": "slow-queue-test", "query": f"q{i}", "documents": ["a", "b"]}
                responses.append(c.post("/v1/rerank", json=body))

            threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            codes = sorted(r.status_code for r in responses)
            assert codes.count(200) >= 1 and codes.count(429) >= 1 and set(codes) <= {200, 429}
            busy = next(r for r in responses if r.status_code == 429)
            assert int(busy.headers["retry-after"]) >= 1 and busy.json()["error"]["type"] == "queue_full"
            assert 'thinkir_rejected_requests_total{reason="queue_full"}' in c.get("/metrics").text
    finally:
        del RERANKERS["slow-queue-test"]


def test_a_chunked_body_over_the_limit_is_413(client: TestClient) -> None:
    def chunks():  # no Content-Length: the limit is enforced while the body streams in
        for _ in range(100):
            yield b" " * 1024

    r = client.post("/v1/search", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.json()["error"]["type"] == "payload_too_large"


def test_info_lists_dear_only_with_adapters(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from thinkir.rerank import dear

    monkeypatch.delenv("THINKIR_DEAR_POINTWISE_ADAPTER", raising=False)
    monkeypatch.delenv("THINKIR_DEAR_LISTWISE_ADAPTER", raising=False)
    monkeypatch.setattr(dear, "PACKAGED_ADAPTERS", Path("/nonexistent"))
    options = client.get("/v1/info").json()["stages"]["rerank"]
    assert "identity" in options and not {"pointwise", "dear", "dear-pointwise", "dear-listwise"} & set(options)
    monkeypatch.setenv("THINKIR_DEAR_POINTWISE_ADAPTER", "some/adapter")  # stage 1 only: not the pair
    options = client.get("/v1/info").json()["stages"]["rerank"]
    assert {"pointwise", "dear-pointwise"} <= set(options) and "dear" not in options
    monkeypatch.setenv("THINKIR_DEAR_LISTWISE_ADAPTER", "some/listwise")
    options = client.get("/v1/info").json()["stages"]["rerank"]
    assert {"dear", "dear-listwise"} <= set(options) and len(options) == len(set(options))
