"""POST /v1/search."""

from __future__ import annotations

from fastapi import APIRouter, Response

from thinkir.service import flows
from thinkir.service.deps import State
from thinkir.service.schemas import ErrorResponse, SearchRequest, SearchResponse

router = APIRouter(tags=["search"])


@router.post(
    "/v1/search",
    response_model=SearchResponse,
    response_model_exclude_none=True,
    responses={
        400: {"model": ErrorResponse, "description": "A stage that is not available"},
        422: {"model": ErrorResponse},
        429: {"model": ErrorResponse},
        503: {"model": ErrorResponse},
    },
)
async def search(body: SearchRequest, state: State) -> Response:
    """Search the index: first stage (dense, bm25, hybrid), optional reasoning and reranking."""
    params = flows.check_search(state, body.query, body.k, body.mode.value, body.reason.value, body.rerank)
    # the body is built (and cached) as JSON bytes in the shape of SearchResponse; no re-validation
    return Response(await flows.search(state, params), media_type="application/json")
