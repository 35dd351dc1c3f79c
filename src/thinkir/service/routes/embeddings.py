"""POST /v1/embeddings in the OpenAI shape."""

from __future__ import annotations

import base64

from fastapi import APIRouter

from thinkir.errors import StageUnavailableError
from thinkir.service import flows
from thinkir.service.deps import State
from thinkir.service.errors import LimitExceededError
from thinkir.service.schemas import EmbeddingItem, EmbeddingsRequest, EmbeddingsResponse, ErrorResponse, Usage

router = APIRouter(tags=["embeddings"])


@router.post(
    "/v1/embeddings",
    response_model=EmbeddingsResponse,
    responses={
        400: {"model": ErrorResponse, "description": "Another model than the loaded one"},
        422: {"model": ErrorResponse},
        429: {"model": ErrorResponse},
    },
)
async def embeddings(body: EmbeddingsRequest, state: State) -> EmbeddingsResponse:
    """Embed texts with the index's embedder (L2-normalised vectors)."""
    embedder = state.pipeline.index.embedder
    names = {embedder.model_id, str(getattr(embedder, "name", embedder.model_id))}
    if body.model is not None and body.model not in names:
        raise StageUnavailableError(f"model {body.model!r} is not loaded; available: {sorted(names)}")
    if body.dimensions is not None and body.dimensions != embedder.dimension:
        raise LimitExceededError(f"dimensions={body.dimensions} is not supported; this model has {embedder.dimension}")
    texts = [body.input] if isinstance(body.input, str) else list(body.input)
    if not texts:
        raise LimitExceededError("input is empty")
    vectors = await flows.embed(state, texts, body.input_type)
    data = [
        EmbeddingItem(
            index=i,
            embedding=base64.b64encode(v.astype("<f4").tobytes()).decode()
            if body.encoding_format == "base64"
            else v.tolist(),
        )
        for i, v in enumerate(vectors)
    ]
    tokens = flows.token_count(state, texts)
    return EmbeddingsResponse(
        data=data, model=embedder.model_id, usage=Usage(prompt_tokens=tokens, total_tokens=tokens)
    )
