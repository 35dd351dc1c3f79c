"""The index manifest: what was built, from what, with which model. Checked on every load."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from thinkir.errors import InputError, ManifestMismatchError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FAISS_FILE = "index.faiss"
DOCS_FILE = "docs.sqlite"
BM25_DIR = "bm25"


@dataclass(frozen=True)
class EmbedderInfo:
    name: str
    model_id: str
    revision: str
    dimension: int
    type: str = "sentence-transformers"


@dataclass(frozen=True)
class Manifest:
    embedder: EmbedderInfo
    dimension: int
    faiss_factory: str
    index_kind: str
    corpus_sha256: str
    corpus_path: str
    counts: dict[str, int]
    bm25: dict[str, Any] | None
    metric: str = "inner_product"
    normalized: bool = True
    format_version: int = FORMAT_VERSION
    thinkir_version: str = ""
    created_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @property
    def fingerprint(self) -> str:
        """A short hash that changes whenever the index content or its embedder changes (cache keys)."""
        key = f"{self.corpus_sha256}|{self.embedder.model_id}|{self.embedder.revision}|{self.faiss_factory}"
        key += f"|{self.created_at}|{self.counts}"
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        path = folder / MANIFEST
        if not path.is_file():
            raise InputError(f"{folder} is not a thinkir index (no {MANIFEST}); build one with `thinkir index build`")
        try:
            raw = json.loads(path.read_text())
            if raw.get("format_version") != FORMAT_VERSION:
                raise ManifestMismatchError(
                    f"index {folder} has format version {raw.get('format_version')}, this thinkir reads "
                    f"{FORMAT_VERSION}; rebuild it with `thinkir index build --overwrite`"
                )
            raw["embedder"] = EmbedderInfo(**raw["embedder"])
            return cls(**raw)
        except (json.JSONDecodeError, TypeError, KeyError) as err:
            raise InputError(f"{path} is corrupt or from another tool: {err}") from err

    def check_embedder(self, model_id: str, revision: str | None = None) -> None:
        """Raise :class:`ManifestMismatchError` if the index was built with another embedder."""
        if model_id != self.embedder.model_id:
            raise ManifestMismatchError(
                f"index was built with embedder {self.embedder.model_id!r} but {model_id!r} is configured; "
                f"use --embedder {self.embedder.name} (or THINKIR_EMBEDDER) or rebuild the index"
            )
        if revision and self.embedder.revision and revision != self.embedder.revision:
            raise ManifestMismatchError(
                f"index was built with revision {self.embedder.revision} of {model_id!r}, the installed "
                f"weights are revision {revision}; rebuild the index with `thinkir index build --overwrite`"
            )


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
