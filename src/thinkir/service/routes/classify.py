"""POST /v1/classify: wired to ``thinkir.classify`` when it provides a loader, else 501."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter

from thinkir.service.deps import State
from thinkir.service.errors import NotImplementedFeatureError
from thinkir.service.schemas import ClassifyRequest, ClassifyResponse, ErrorResponse

router = APIRouter(tags=["classify"])


@router.post(
    "/v1/classify",
    response_model=ClassifyResponse,
    responses={501: {"model": ErrorResponse, "description": "No classifier in this installation"}},
)
async def classify(body: ClassifyRequest, state: State) -> ClassifyResponse:
    """Top-k taxonomy codes for each input text (hierarchical classifier)."""
    classifier = state.classifier
    if classifier is None:
        state.metrics.rejected.labels("not_implemented").inc()
        raise NotImplementedFeatureError(state.classifier_error)
    texts = [body.input] if isinstance(body.input, str) else list(body.input)
    async with state.admission.slot():
        predictions = await state.run(lambda: classifier.classify(texts, k=body.top_k))
    return ClassifyResponse(results=[[_as_dict(p) for p in per_text] for per_text in predictions])


def _as_dict(prediction: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(prediction) and not isinstance(prediction, type):
        return dataclasses.asdict(prediction)
    if isinstance(prediction, Mapping):
        return dict(prediction)
    return {"label": str(prediction)}
