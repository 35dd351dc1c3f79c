"""``create_app(settings)``: the FastAPI application of the gateway.

The lifespan loads the index and models once (in a worker thread), warms them, opens the cache
(Redis pool or in-process LRU) and closes everything on shutdown. Routers, one per resource, call
:mod:`thinkir.service.flows`; errors become HTTP codes in :mod:`thinkir.service.errors` only.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from thinkir import __version__
from thinkir.config import Settings
from thinkir.pipeline import SearchPipeline
from thinkir.service.auth import require_api_key
from thinkir.service.errors import install_error_handlers
from thinkir.service.metrics import Metrics
from thinkir.service.middleware import GatewayMiddleware
from thinkir.service.routes import classify, embeddings, info, probes, rerank, search
from thinkir.service.state import ServiceState

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, pipeline: SearchPipeline | None = None) -> FastAPI:
    """Build the app. ``pipeline`` lets a caller (tests, embedding apps) hand over a loaded pipeline;
    by default the lifespan loads ``settings.index_dir``."""
    settings = settings or Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = await ServiceState.start(settings, metrics, pipeline)
        app.state.service = state
        try:
            yield
        finally:
            app.state.service = None
            await state.close()
            logger.info("service stopped")

    app = FastAPI(
        title="thinkir",
        version=__version__,
        description="Reasoning-augmented retrieval and reranking: search, rerank, embeddings, classify.",
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.state.service = None
    app.state.api_keys = [k.get_secret_value().encode() for k in settings.api_keys]
    install_error_handlers(app)

    protected = [Depends(require_api_key)]
    for module in (search, rerank, embeddings, classify, info):
        app.include_router(module.router, dependencies=protected)
    app.include_router(probes.router)
    # metric labels: known route paths only, so random URLs cannot blow up the label set
    routes = {str(getattr(r, "path", "")) for r in app.routes}
    for module in (search, rerank, embeddings, classify, info, probes):
        routes |= {str(getattr(r, "path", "")) for r in module.router.routes}

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(GatewayMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes, routes=routes)
    return app
