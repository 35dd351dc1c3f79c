"""POST /v1/classify: the hierarchical classifier of ``thinkir.classify`` when it loads, else 501."""

from __future__ import annotations

from fastapi import APIRouter

from thinkir.service.deps import State
from thinkir.service.errors import LimitExceededError, NotImplementedFeatureError
from thinkir.service.schemas import ClassifyPrediction, ClassifyRequest, ClassifyResponse, ClassifyResult, ErrorResponse

router = APIRouter(tags=["classify"])


@router.post(
    "/v1/classify",
    response_model=ClassifyResponse,
    responses={
        501: {"model": ErrorResponse, "description": "No classifier in this installation"},
        422: {"model": ErrorResponse},
        429: {"model": ErrorResponse},
    },
)
async def classify(body: ClassifyRequest, state: State) -> ClassifyResponse:
    """Top-k taxonomy codes (with their path and per-level confidence) for each input text."""
    texts = [body.input] if isinstance(body.input, str) else list(body.input)
    s = state.settings
    if not texts or len(texts) > s.max_inputs:
        raise LimitExceededError(f"input must hold 1 to {s.max_inputs} texts, not {len(texts)}")
    if any(not t.strip() or len(t) > s.max_document_chars for t in texts):
        raise LimitExceededError(f"each input must be non-empty and at most {s.max_document_chars} characters")
    classifier = await state.classifier_or_none()
    if classifier is None:
        state.metrics.rejected.labels("not_implemented").inc()
        raise NotImplementedFeatureError(state.classifier_error)
    async with state.admission.slot():
        results = await state.run(lambda: classifier.classify_batch(texts, body.top_k))
    return ClassifyResponse(
        results=[
            ClassifyResult(
                text=r.text,
                predictions=[
                    ClassifyPrediction(
                        code=p.code, title=p.title, score=p.score, path=list(p.path), confidences=list(p.confidences)
                    )
                    for p in r.predictions
                ],
            )
            for r in results
        ]
    )
