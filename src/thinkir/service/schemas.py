"""Request and response models of the HTTP API (pydantic lives here, at the edge, only).

Static bounds (``k`` ≤ 1000, non-empty strings) are in the schema so they appear in the OpenAPI spec;
limits an operator configures (query length, documents per call) are checked at runtime and answered
with 422 and a message.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Mode(str, Enum):
    dense = "dense"
    bm25 = "bm25"
    hybrid = "hybrid"


class Reason(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- search -----------------------------------------------------------------------------------


class SearchRequest(_Strict):
    query: str = Field(..., min_length=1, description="The query text.", examples=["do statins lower LDL?"])
    k: int = Field(10, ge=1, le=1000, description="Number of results.")
    mode: Mode = Field(Mode.dense, description="First stage: dense, bm25 or hybrid (RRF of both).")
    reason: Reason = Field(Reason.never, description="Query reasoning (LREM): auto, always or never.")
    rerank: str = Field(
        "none",
        min_length=1,
        max_length=64,
        description="none, pointwise, dear, or a reranker registry name; GET /v1/info lists what is available.",
    )


class SearchHit(BaseModel):
    id: str
    score: float
    title: str = ""
    text: str = ""


class SearchResponse(BaseModel):
    query: str
    results: list[SearchHit]
    timings_ms: dict[str, float] = Field(description="Per-stage wall time; only 'cache' on a cache hit.")
    reasoning: str | None = None
    rationale: str | None = None
    cached: bool = False


# -- rerank (Cohere / Jina shape) ---------------------------------------------------------------


class TextDocument(BaseModel):
    model_config = ConfigDict(extra="allow")
    text: str


class RerankRequest(_Strict):
    model: str = Field("identity", min_length=1, max_length=200, description="Reranker registry name.")
    query: str = Field(..., min_length=1)
    documents: list[str | TextDocument] = Field(..., min_length=1, description="Strings or {text} objects.")
    top_n: int | None = Field(None, ge=1, description="Return only the best top_n (default: all).")
    return_documents: bool = Field(False, description="Echo each document in its result.")


class RerankDocument(BaseModel):
    text: str


class RerankResult(BaseModel):
    index: int = Field(description="Position of the document in the request.")
    relevance_score: float
    document: RerankDocument | None = None


class RerankResponse(BaseModel):
    id: str | None = Field(None, description="The request id.")
    model: str
    results: list[RerankResult]
    usage: dict[str, int] = Field(default_factory=dict)


# -- embeddings (OpenAI shape) ------------------------------------------------------------------


class EmbeddingsRequest(_Strict):
    input: str | list[str] = Field(..., description="A text or a list of texts.")
    model: str | None = Field(None, max_length=500, description="Must name the loaded embedder (or omit).")
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1, description="Only the model's own dimension is supported.")
    user: str | None = None
    input_type: Literal["query", "document"] = Field(
        "document", description="thinkir extension: embed as query or as document (asymmetric models)."
    )


class EmbeddingItem(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class Usage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingsResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[EmbeddingItem]
    model: str
    usage: Usage


# -- classify ---------------------------------------------------------------------------------


class ClassifyRequest(_Strict):
    input: str | list[str] = Field(..., description="Company description(s) to classify.")
    top_k: int = Field(5, ge=1, le=100)


class ClassifyPrediction(BaseModel):
    code: str
    title: str
    score: float
    path: list[str] = Field(description="Codes from the top level down to ``code``.")
    confidences: list[float] = Field(description="Confidence of the decision at each level of the path.")


class ClassifyResult(BaseModel):
    text: str
    predictions: list[ClassifyPrediction]


class ClassifyResponse(BaseModel):
    results: list[ClassifyResult]


# -- info and probes --------------------------------------------------------------------------


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class ReadyResponse(BaseModel):
    status: Literal["ready", "degraded", "loading"]
    index: bool
    models: bool
    cache: str = Field(description="Cache backend and its state, e.g. 'redis: ok' or 'memory: ok'.")


class InfoResponse(BaseModel):
    version: str
    versions: dict[str, str]
    index: dict[str, Any]
    models: dict[str, Any]
    stages: dict[str, list[str]]
    cache: dict[str, Any]
    limits: dict[str, Any]


class ErrorBody(BaseModel):
    type: str
    message: str
    request_id: str | None = None
    details: Any = None


class ErrorResponse(BaseModel):
    error: ErrorBody
