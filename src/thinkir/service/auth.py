"""Optional API keys: ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``, compared in constant time."""

from __future__ import annotations

import hmac

from fastapi import Request

from thinkir.service.errors import UnauthorizedError


def _presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return request.headers.get("x-api-key")


def check_key(presented: str | None, keys: list[bytes]) -> bool:
    """True when ``presented`` equals one of ``keys``; every key is compared, so timing reveals nothing."""
    if presented is None:
        return False
    given = presented.encode()
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(given, key)
    return matched


async def require_api_key(request: Request) -> None:
    """FastAPI dependency for the ``/v1`` routes; a no-op when no keys are configured."""
    keys: list[bytes] = request.app.state.api_keys
    if not keys:
        return
    if not check_key(_presented_key(request), keys):
        request.app.state.service.metrics.rejected.labels("unauthorized").inc()
        raise UnauthorizedError("missing or invalid API key: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'")
