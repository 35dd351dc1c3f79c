"""Errors of the HTTP layer and the one place that maps every error to a status code and JSON body.

Bodies look like ``{"error": {"type": ..., "message": ..., "request_id": ...}}``; never a stack trace.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from thinkir.errors import (
    IndexExistsError,
    InputError,
    ManifestMismatchError,
    MissingExtraError,
    StageUnavailableError,
    ThinkirError,
    UnknownModelError,
)
from thinkir.service.logs import current_request_id

logger = logging.getLogger(__name__)


class ServiceError(ThinkirError):
    """An error raised by the gateway itself; ``status`` is its HTTP code."""

    status = 500
    kind = "service_error"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QueueFullError(ServiceError):
    status, kind = 429, "queue_full"


class QueueTimeoutError(ServiceError):
    status, kind = 503, "queue_timeout"


class NotReadyError(ServiceError):
    status, kind = 503, "not_ready"


class UnauthorizedError(ServiceError):
    status, kind = 401, "unauthorized"


class PayloadTooLargeError(ServiceError):
    status, kind = 413, "payload_too_large"


class LimitExceededError(ServiceError):
    """A request within the schema but beyond a configured limit (query length, k, documents)."""

    status, kind = 422, "limit_exceeded"


class NotImplementedFeatureError(ServiceError):
    status, kind = 501, "not_implemented"


# most specific first: the first isinstance match wins
_LIBRARY_STATUS: list[tuple[type[ThinkirError], int, str]] = [
    (UnknownModelError, 400, "unknown_model"),
    (StageUnavailableError, 400, "stage_unavailable"),
    (MissingExtraError, 501, "missing_extra"),
    (InputError, 422, "invalid_input"),
    (IndexExistsError, 409, "index_exists"),
    (ManifestMismatchError, 503, "index_mismatch"),
]


def status_of(err: ThinkirError) -> tuple[int, str]:
    """HTTP status and error type for a library or service error."""
    if isinstance(err, ServiceError):
        return err.status, err.kind
    for cls, status, kind in _LIBRARY_STATUS:
        if isinstance(err, cls):
            return status, kind
    return 400, "error"


def error_response(
    status: int, kind: str, message: str, retry_after: float | None = None, details: Any = None
) -> JSONResponse:
    body: dict[str, Any] = {"type": kind, "message": message, "request_id": current_request_id()}
    if details is not None:
        body["details"] = details
    headers = {"Retry-After": str(max(1, math.ceil(retry_after)))} if retry_after is not None else None
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return JSONResponse({"error": body}, status_code=status, headers=headers)


async def _thinkir_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ThinkirError)
    status, kind = status_of(exc)
    logger.info("request failed: %s %s", status, exc)
    return error_response(status, kind, str(exc), getattr(exc, "retry_after", None))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"] if p != "body") or "body"
    return error_response(422, "invalid_request", f"{where}: {first['msg']}", details=details)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    kinds = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}
    return error_response(exc.status_code, kinds.get(exc.status_code, "http_error"), str(exc.detail))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers; uncaught exceptions are turned into a 500 by the request middleware."""
    app.add_exception_handler(ThinkirError, _thinkir_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
