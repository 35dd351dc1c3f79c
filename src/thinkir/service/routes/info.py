"""GET /v1/info: models, index manifest, versions, stages, limits."""

from __future__ import annotations

import dataclasses
import platform
from importlib import metadata

from fastapi import APIRouter

from thinkir import __version__
from thinkir.service.deps import State
from thinkir.service.schemas import InfoResponse

router = APIRouter(tags=["info"])

_PACKAGES = ("torch", "transformers", "sentence-transformers", "faiss-cpu", "faiss-gpu-cu12", "bm25s", "fastapi")


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


@router.get("/v1/info", response_model=InfoResponse)
async def info(state: State) -> InfoResponse:
    """What this server runs: index manifest, models, available stages, cache and limits."""
    index = state.pipeline.index
    embedder = index.embedder
    s = state.settings
    loaded = sorted(state.pipeline._rerankers)
    return InfoResponse(
        version=__version__,
        versions=_versions(),
        index={
            "folder": str(index.folder),
            "documents": len(index),
            "fingerprint": index.manifest.fingerprint,
            "manifest": dataclasses.asdict(index.manifest),
        },
        models={
            "embedder": {
                "name": str(getattr(embedder, "name", "")),
                "model_id": embedder.model_id,
                "revision": embedder.revision,
                "dimension": embedder.dimension,
            },
            "reasoner": getattr(state.pipeline.reasoner, "model_id", None),
            "rerankers_loaded": loaded,
            "classifier": state.classifier is not None,
        },
        stages={
            "mode": state.available_modes(),
            "reason": state.available_reason_modes(),
            "rerank": state.available_rerank_options(),
            "rerank_models": [o for o in state.available_rerank_options() if o != "none"],
        },
        cache={
            "backend": state.cache.backend,
            "ttl_s": s.cache_ttl_s,
            "namespace": s.cache_namespace,
            "version": state.index_version,
        },
        limits={
            "max_k": s.max_k,
            "max_query_chars": s.max_query_chars,
            "max_documents": s.max_documents,
            "max_document_chars": s.max_document_chars,
            "max_inputs": s.max_inputs,
            "max_body_bytes": s.max_body_bytes,
            "max_concurrency": s.max_concurrency,
            "queue_size": s.queue_size,
            "auth": bool(s.api_keys),
        },
    )
