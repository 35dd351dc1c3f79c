"""POST /v1/rerank in the Cohere / Jina shape."""

from __future__ import annotations

from fastapi import APIRouter

from thinkir.service import flows
from thinkir.service.deps import State
from thinkir.service.logs import current_request_id
from thinkir.service.schemas import ErrorResponse, RerankDocument, RerankRequest, RerankResponse, RerankResult

router = APIRouter(tags=["rerank"])


@router.post(
    "/v1/rerank",
    response_model=RerankResponse,
    response_model_exclude_none=True,
    responses={
        400: {"model": ErrorResponse, "description": "Unknown reranker model"},
        422: {"model": ErrorResponse},
        429: {"model": ErrorResponse},
    },
)
async def rerank(body: RerankRequest, state: State) -> RerankResponse:
    """Score ``documents`` against ``query`` with a registered reranker; best first."""
    texts = [d if isinstance(d, str) else d.text for d in body.documents]
    pairs = await flows.rerank(state, body.model, body.query, texts, body.top_n)
    results = [
        RerankResult(
            index=i,
            relevance_score=score,
            document=RerankDocument(text=texts[i]) if body.return_documents else None,
        )
        for i, score in pairs
    ]
    return RerankResponse(id=current_request_id(), model=body.model, results=results, usage={"documents": len(texts)})
