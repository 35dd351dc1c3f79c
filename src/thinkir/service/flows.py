"""What each endpoint computes: cache lookups, single flight, admission, then the library call.

Cache hits are answered without a worker slot; misses take one slot for the whole computation, so
the queue bounds every kind of inference the same way.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from thinkir.errors import StageUnavailableError
from thinkir.service.cache import cache_key
from thinkir.service.errors import LimitExceededError
from thinkir.service.precomputed import run_with
from thinkir.service.state import ServiceState
from thinkir.types import Query, RankedList


@dataclass(frozen=True)
class SearchParams:
    query: str
    k: int
    mode: str
    reason: str
    rerank: str  # registry key or "none"


def check_search(state: ServiceState, query: str, k: int, mode: str, reason: str, rerank: str) -> SearchParams:
    """Refuse, before any work, what is over a limit or not available (naming what is)."""
    s = state.settings
    if len(query) > s.max_query_chars:
        state.metrics.rejected.labels("limit").inc()
        raise LimitExceededError(f"query is {len(query)} characters; the limit is {s.max_query_chars}")
    if not query.strip():
        raise LimitExceededError("query is empty")
    if k > s.max_k:
        state.metrics.rejected.labels("limit").inc()
        raise LimitExceededError(f"k={k} is above this server's limit of {s.max_k}")
    if mode not in state.available_modes():
        raise StageUnavailableError(
            f"mode={mode!r} needs a BM25 index, and this index has none; available modes: {state.available_modes()}"
        )
    if mode != "bm25" and reason not in state.available_reason_modes():
        raise StageUnavailableError(
            f"reason={reason!r} needs a query reasoner, and none is configured; available: "
            f"{state.available_reason_modes()}"
        )
    key = "none" if rerank == "none" else state.reranker_key(rerank)
    return SearchParams(query, k, mode, reason if mode != "bm25" else "never", key)


async def search(state: ServiceState, p: SearchParams) -> bytes:
    """The JSON body of a search response (see :class:`~thinkir.service.schemas.SearchResponse`).

    The cache holds the body without ``timings_ms`` and ``cached``; a hit appends those two fields to
    the stored bytes, so it costs one cache read and no JSON parsing.
    """
    started = time.perf_counter()
    params: dict[str, Any] = asdict(p)
    if p.rerank != "none":
        reranker = await state.reranker(p.rerank)
        params["rerank_model"] = str(getattr(reranker, "model_id", "") or p.rerank)
        params["rerank_depth"] = state.pipeline.rerank_depth
    if p.reason != "never" and state.pipeline.reasoner is not None:
        params["reasoner"] = getattr(state.pipeline.reasoner, "model_id", "")
    key = cache_key(state.settings.cache_namespace, "search", state.index_version, params)
    raw = await state.cache.get(key)
    if raw is not None and raw.endswith(b"}"):
        return _finish(raw, {"cache": round((time.perf_counter() - started) * 1000, 3)}, cached=True)

    async def compute() -> tuple[bytes, dict[str, float]]:
        async with state.admission.slot():
            payload, timings = await _compute_search(state, p)
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        await state.cache.set(key, body)
        return body, timings

    body, timings = await state.flight.do(key, compute)
    return _finish(body, timings, cached=False)


def _finish(body: bytes, timings: dict[str, float], cached: bool) -> bytes:
    extra = json.dumps({"timings_ms": timings, "cached": cached}, separators=(",", ":")).encode()
    return body[:-1] + b"," + extra[1:]


async def _compute_search(state: ServiceState, p: SearchParams) -> tuple[dict[str, Any], dict[str, float]]:
    timings: dict[str, float] = {}
    vectors: dict[str, np.ndarray] = {}
    reasoned: dict[tuple[str, str], tuple[np.ndarray, str | None]] = {}
    if p.mode in ("dense", "hybrid"):
        t0 = time.perf_counter()
        if p.reason == "never":
            vectors[p.query] = await query_vector(state, p.query)
            timings["embed"] = (time.perf_counter() - t0) * 1000
        else:
            reasoned[(p.query, p.reason)] = await reasoning(state, p.query, p.reason)
            timings["reason_lookup"] = (time.perf_counter() - t0) * 1000
    pipeline = state.pipeline
    job = run_with(
        lambda: pipeline.search(p.query, k=p.k, mode=p.mode, reason=p.reason, rerank=p.rerank),
        vectors=vectors,
        reasoned=reasoned,
    )
    ranked: RankedList = await state.run(job)
    for name, ms in ranked.trace.timings_ms.items():
        timings[name.removesuffix("_ms")] = ms
    for stage, ms in timings.items():
        state.metrics.stage.labels(stage).observe(ms / 1000)
    payload: dict[str, Any] = {
        "query": p.query,
        "results": [
            {
                "id": c.doc_id,
                "score": c.score,
                "title": c.document.title if c.document else "",
                "text": c.document.text if c.document else "",
            }
            for c in ranked.candidates
        ],
    }
    if ranked.trace.reasoning:
        payload["reasoning"] = ranked.trace.reasoning
    if ranked.trace.rationale:
        payload["rationale"] = ranked.trace.rationale
    return payload, {name: round(ms, 3) for name, ms in timings.items()}


async def query_vector(state: ServiceState, text: str) -> np.ndarray:
    """A query's embedding: cache, else the micro-batcher (identical concurrent misses encode once)."""
    # keyed by the embedder only: a query vector does not depend on the index
    key = cache_key(state.settings.cache_namespace, "embedding", state.embedder_version, {"q": text})
    dim = state.pipeline.index.embedder.dimension
    raw = await state.cache.get(key)
    if raw is not None and len(raw) == 4 * dim:
        return np.frombuffer(raw, dtype=np.float32)

    async def compute() -> np.ndarray:
        t0 = time.perf_counter()
        vec = (await state.batcher.encode_async([text], "query"))[0]
        state.metrics.stage.labels("encode").observe(time.perf_counter() - t0)
        await state.cache.set(key, np.ascontiguousarray(vec, dtype=np.float32).tobytes())
        return vec

    return await state.flight.do(key, compute)


async def reasoning(state: ServiceState, text: str, mode: str) -> tuple[np.ndarray, str | None]:
    """A query's reasoning-augmented vector and reasoning text: cache, else the reasoner."""
    reasoner = state.pipeline.reasoner
    assert reasoner is not None  # checked by check_search
    version = f"{state.embedder_version}.{getattr(reasoner, 'model_id', '')}"
    key = cache_key(state.settings.cache_namespace, "reasoning", version, {"q": text, "mode": mode})
    raw = await state.cache.get(key)
    if raw is not None:
        item = json.loads(raw)
        return np.frombuffer(base64.b64decode(item["vector"]), dtype=np.float32), item["reasoning"]

    async def compute() -> tuple[np.ndarray, str | None]:
        index = state.pipeline.index
        t0 = time.perf_counter()
        vectors, texts = await state.run(lambda: reasoner.encode([Query("q", text)], mode, index))
        state.metrics.stage.labels("reason").observe(time.perf_counter() - t0)
        vec = np.ascontiguousarray(vectors[0], dtype=np.float32)
        item = {"vector": base64.b64encode(vec.tobytes()).decode(), "reasoning": texts[0]}
        await state.cache.set(key, json.dumps(item).encode())
        return vec, texts[0]

    return await state.flight.do(key, compute)


async def rerank(
    state: ServiceState, model: str, query: str, documents: list[str], top_n: int | None
) -> list[tuple[int, float]]:
    """(input index, score) pairs, best first, from the registry's reranker ``model``; cached."""
    s = state.settings
    if len(documents) > s.max_documents:
        state.metrics.rejected.labels("limit").inc()
        raise LimitExceededError(f"{len(documents)} documents; the limit per call is {s.max_documents}")
    if len(query) > s.max_query_chars:
        state.metrics.rejected.labels("limit").inc()
        raise LimitExceededError(f"query is {len(query)} characters; the limit is {s.max_query_chars}")
    longest = max(len(d) for d in documents)
    if longest > s.max_document_chars:
        state.metrics.rejected.labels("limit").inc()
        raise LimitExceededError(f"a document has {longest} characters; the limit is {s.max_document_chars}")
    reranker = await state.reranker(state.reranker_key(model))
    version = str(getattr(reranker, "model_id", "") or model)
    key = cache_key(s.cache_namespace, "rerank", version, {"m": model, "q": query, "d": documents, "n": top_n})
    raw = await state.cache.get(key)
    if raw is not None:
        return [(int(i), float(sc)) for i, sc in json.loads(raw)]

    async def compute() -> list[tuple[int, float]]:
        async with state.admission.slot():
            t0 = time.perf_counter()
            ranked = await state.run(lambda: reranker.rerank_texts(query, documents, top_n))
            state.metrics.stage.labels("rerank").observe(time.perf_counter() - t0)
        pairs = [(int(c.doc_id), float(c.score)) for c in ranked.candidates]
        await state.cache.set(key, json.dumps(pairs).encode())
        return pairs

    return await state.flight.do(key, compute)


async def embed(state: ServiceState, texts: list[str], kind: str) -> np.ndarray:
    """Embeddings of ``texts`` through the shared micro-batcher (``[n, dim]`` float32)."""
    s = state.settings
    if len(texts) > s.max_inputs:
        state.metrics.rejected.labels("limit").inc()
        raise LimitExceededError(f"{len(texts)} inputs; the limit per call is {s.max_inputs}")
    longest = max((len(t) for t in texts), default=0)
    if longest > s.max_document_chars:
        state.metrics.rejected.labels("limit").inc()
        raise LimitExceededError(f"an input has {longest} characters; the limit is {s.max_document_chars}")
    async with state.admission.slot():
        t0 = time.perf_counter()
        vectors = await state.batcher.encode_async(texts, kind)  # type: ignore[arg-type]
        state.metrics.stage.labels("encode").observe(time.perf_counter() - t0)
    return vectors


def token_count(state: ServiceState, texts: list[str]) -> int:
    """Tokens as the embedder's tokenizer counts them (usage field of the OpenAI shape)."""
    tokenizer = getattr(state.pipeline.index.embedder, "tokenizer", None)
    if tokenizer is None:
        return sum(len(t.split()) for t in texts)
    return sum(len(ids) for ids in tokenizer(texts, truncation=True)["input_ids"])
