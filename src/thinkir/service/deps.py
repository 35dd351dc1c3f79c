"""Typed FastAPI dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from thinkir.service.errors import NotReadyError
from thinkir.service.state import ServiceState


def get_state(request: Request) -> ServiceState:
    state: ServiceState | None = getattr(request.app.state, "service", None)
    if state is None or not state.ready:
        raise NotReadyError("the service is starting: index and models are not loaded yet", retry_after=5)
    return state


State = Annotated[ServiceState, Depends(get_state)]
