"""Settings for the library, CLI and service (pydantic-settings, environment prefix ``THINKIR_``).

Training runs use their own dataclass arguments (``thinkir.training``); this object configures what a
running installation uses: which models, where caches live, how the service behaves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "thinkir"


class Settings(BaseSettings):
    """Everything configurable, read from ``THINKIR_*`` variables or a ``.env`` file."""

    model_config = SettingsConfigDict(env_prefix="THINKIR_", env_file=".env", extra="ignore")

    # models
    embedder: str = Field("minilm", description="Embedder registry key, Hugging Face id or local path.")
    llm: str = Field("smollm2-135m", description="Causal LM for reasoning and reranking.")
    device: str = Field("auto", description="auto, cpu, cuda, cuda:1, mps.")
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="Converted models, caches.")
    max_batch_tokens: int = Field(16384, ge=256, description="Token budget of one embedding batch.")
    progress: bool = Field(True, description="Show progress bars on long work.")

    # data and index
    data_dir: Path = Field(Path("../shared/data"), description="Folder holding the offline datasets.")
    index_dir: Path | None = Field(None, description="Index directory the service loads.")
    hybrid_weights: tuple[float, float] = Field(
        (1.0, 1.0), description="Reciprocal-rank-fusion weights of (dense, bm25) in hybrid mode."
    )
    fusion_depth: int = Field(100, ge=1, le=1000, description="Depth of each list fused in hybrid mode.")

    # service: network
    host: str = Field("127.0.0.1", description="Address `thinkir serve` binds (0.0.0.0 in containers).")
    port: int = Field(8000, ge=1, le=65535, description="Port `thinkir serve` listens on.")
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="Accepted API keys, comma-separated; empty disables auth."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Origins allowed by CORS, comma-separated; empty disables CORS."
    )
    log_json: bool = Field(True, description="JSON log lines (with request ids) from the service.")
    # service: cache
    redis_url: str | None = Field(None, description="redis://host:port/db; unset: in-process LRU cache.")
    redis_timeout_s: float = Field(0.1, gt=0, le=10, description="Timeout of one Redis call.")
    redis_retry_s: float = Field(1.0, ge=0, description="After 3 Redis errors in a row, skip Redis this long.")
    cache_ttl_s: int = Field(3600, ge=1, description="Lifetime of cached embeddings, reasoning, results.")
    cache_namespace: str = Field("thinkir", min_length=1, description="Prefix of every cache key.")
    lru_cache_size: int = Field(10000, ge=0, description="Entries of the in-process cache (no Redis).")
    # service: throughput and limits
    workers: int = Field(2, ge=1, le=64, description="Threads running inference off the event loop.")
    inference_threads: int = Field(
        0, ge=0, le=256, description="Threads torch and FAISS use per call (0: their default; 1 on busy CPUs)."
    )
    max_concurrency: int = Field(16, ge=1, description="Requests computing at once (share embed batches).")
    queue_size: int = Field(64, ge=0, description="Requests allowed to wait for a worker; more get 429.")
    queue_timeout_s: float = Field(30.0, gt=0, description="Longest wait for a worker before 503.")
    batch_max_texts: int = Field(64, ge=1, description="Most texts the embedding micro-batcher joins.")
    batch_wait_ms: float = Field(0.0, ge=0, le=100, description="Extra wait to fill an embedding batch.")
    max_query_chars: int = Field(2048, ge=1, description="Longest query or input text (422 beyond).")
    max_k: int = Field(1000, ge=1, le=1000, description="Largest k a search may ask for.")
    max_documents: int = Field(1000, ge=1, description="Most documents in one rerank call.")
    max_document_chars: int = Field(20000, ge=1, description="Longest document in a rerank call.")
    max_inputs: int = Field(256, ge=1, description="Most texts in one embeddings call.")
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="Largest request body (413 beyond).")
    rerank_depth: int = Field(100, ge=1, le=1000, description="First-stage candidates a reranker sees.")
    # service: classification
    classifier_enabled: bool = Field(True, description="Serve /v1/classify when thinkir.classify is installed.")
    preload_classifier: bool = Field(False, description="Load the classifier at startup, not on first use.")
    classifier_dir: Path | None = Field(
        None, description="Classifier model directory (thinkir train classifier); unset: zero-shot NAICS."
    )

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


def get_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit keyword overrides (None values ignored)."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
