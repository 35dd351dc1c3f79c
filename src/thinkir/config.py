"""Settings for the library, CLI and service (pydantic-settings, environment prefix ``THINKIR_``).

Training runs use their own dataclass arguments (``thinkir.training``); this object configures what a
running installation uses: which models, where caches live, how the service behaves.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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


def get_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit keyword overrides (None values ignored)."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
