"""The outermost ASGI layer: request ids, body-size limit, access log, route metrics, and a last
resort that turns any uncaught exception into a JSON 500 without a stack trace."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from thinkir.service.logs import new_request_id, reset_request_id, set_request_id
from thinkir.service.metrics import Metrics

logger = logging.getLogger("thinkir.service.access")


class GatewayMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics, max_body_bytes: int, routes: set[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        request_id = new_request_id(headers.get("x-request-id"))
        token = set_request_id(request_id)
        path, method = scope.get("path", ""), scope.get("method", "")
        route = path if path in self.routes else "unmatched"
        status = {"code": 500, "started": 0}
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["started"] = message["status"], 1
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            declared = headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
                self.metrics.rejected.labels("body_too_large").inc()
                await _send_error(
                    send_wrapper,
                    413,
                    "payload_too_large",
                    f"request body of {declared} bytes is over the limit of {self.max_body_bytes}",
                    request_id,
                )
                return
            body_receive = await self._read_body(receive)
            if body_receive is None:
                self.metrics.rejected.labels("body_too_large").inc()
                await _send_error(
                    send_wrapper,
                    413,
                    "payload_too_large",
                    f"request body is over the limit of {self.max_body_bytes} bytes",
                    request_id,
                )
                return
            try:
                await self.app(scope, body_receive, send_wrapper)
            except Exception:  # noqa: BLE001 - the last resort: log it, answer without the trace
                logger.exception("unhandled error on %s %s", method, path)
                if not status["started"]:
                    await _send_error(
                        send_wrapper,
                        500,
                        "internal_error",
                        "internal server error; quote the request id when reporting it",
                        request_id,
                    )
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.latency.labels(route, method).observe(elapsed)
            self.metrics.requests.labels(route, method, str(status["code"])).inc()
            logger.info(
                "%s %s %s",
                method,
                path,
                status["code"],
                extra={"status": status["code"], "duration_ms": round(elapsed * 1000, 3), "route": route},
            )
            reset_request_id(token)

    async def _read_body(self, receive: Receive) -> Receive | None:
        """Read the whole body (chunked uploads too) up to the limit; None when it is over.

        Reading here, not inside the app, is what lets an oversized chunked upload get a 413: an
        error raised while FastAPI parses the body would come out as a 400.
        """
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return _replay([], message, receive)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return _replay(chunks, None, receive)


def _replay(chunks: list[bytes], pending: Message | None, receive: Receive) -> Receive:
    """A receive() that hands out the buffered body once, then defers to the server's."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if pending is not None:
                return pending
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        return await receive()

    return replay


async def _send_error(send: Send, status: int, kind: str, message: str, request_id: str) -> None:
    body: dict[str, Any] = {"error": {"type": kind, "message": message, "request_id": request_id}}
    raw = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": raw})
