"""``thinkir serve``: run the HTTP gateway (FastAPI + uvicorn) over one index directory."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from thinkir.cli import app
from thinkir.config import get_settings

logger = logging.getLogger(__name__)

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@app.command("serve")
def serve(
    index: Path = typer.Option(None, "--index", help="Index directory (default: THINKIR_INDEX_DIR)."),
    host: str = typer.Option(None, "--host", help="Bind address (default: THINKIR_HOST or 127.0.0.1)."),
    port: int = typer.Option(None, "--port", help="Port (default: THINKIR_PORT or 8000)."),
    redis_url: str = typer.Option(None, "--redis-url", help="redis://host:port/0 (default: in-process cache)."),
    device: str = typer.Option(None, "--device", help="cpu | cuda | auto."),
    log_level: str = typer.Option("info", "--log-level", help="debug | info | warning | error."),
) -> None:
    """Serve /v1/search, /v1/rerank, /v1/embeddings, /v1/classify, /v1/info, /health, /ready, /metrics."""
    from thinkir._optional import require

    require("fastapi", "service")
    uvicorn = require("uvicorn", "service")
    from thinkir.errors import InputError
    from thinkir.service.app import create_app
    from thinkir.service.logs import configure_logging

    settings = get_settings(index_dir=index, host=host, port=port, redis_url=redis_url, device=device)
    if settings.index_dir is None:
        raise InputError("no index: pass --index DIR or set THINKIR_INDEX_DIR")
    if not (settings.index_dir / "manifest.json").is_file():
        raise InputError(f"{settings.index_dir} is not a thinkir index (no manifest.json)")
    level = getattr(logging, log_level.upper(), None)
    if not isinstance(level, int):
        raise InputError(f"--log-level must be debug, info, warning or error, not {log_level!r}")
    configure_logging(settings.log_json, level)
    if settings.host not in _LOOPBACK and not settings.api_keys:
        logger.warning("listening on %s without API keys; set THINKIR_API_KEYS to require them", settings.host)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
