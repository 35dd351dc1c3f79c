"""GET /health (process alive), GET /ready (index and models loaded; cache state), GET /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from thinkir.service.schemas import HealthResponse, ReadyResponse

router = APIRouter(tags=["probes"])


@router.get("/health", response_model=HealthResponse)
async def health() -> HealthResponse:
    """Liveness: the process answers."""
    return HealthResponse()


@router.get("/ready", response_model=ReadyResponse, responses={503: {"model": ReadyResponse}})
async def ready(request: Request) -> JSONResponse:
    """Readiness: 200 once index and models are loaded; ``degraded`` while Redis is unreachable."""
    state = getattr(request.app.state, "service", None)
    if state is None or not state.ready:
        body = ReadyResponse(status="loading", index=False, models=False, cache="unknown")
        return JSONResponse(body.model_dump(), status_code=503)
    cache_status = await state.cache.status()
    body = ReadyResponse(
        status="ready" if cache_status == "ok" else "degraded",
        index=True,
        models=True,
        cache=f"{state.cache.backend}: {cache_status}",
    )
    return JSONResponse(body.model_dump())


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics(request: Request) -> Response:
    """Prometheus exposition of this process's metrics."""
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
