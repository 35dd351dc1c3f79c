"""A sentence-transformers ``CrossEncoder`` reranker (any id or path): a baseline and a teacher option."""

from __future__ import annotations

from collections.abc import Sequence

from thinkir.errors import UnknownModelError
from thinkir.rerank.base import PointwiseReranker


class CrossEncoderReranker(PointwiseReranker):
    name = "cross-encoder"

    def __init__(
        self,
        model: str = "cross-encoder/ms-marco-MiniLM-L6-v2",
        device: str | None = None,
        max_length: int = 512,
        batch_size: int = 32,
    ) -> None:
        from sentence_transformers import CrossEncoder

        from thinkir.device import pick_device

        try:
            self.model = CrossEncoder(model, device=pick_device(device), max_length=max_length)
        except OSError as err:
            raise UnknownModelError(f"cannot load cross-encoder {model!r}: {err}") from err
        self.model_id = model
        self.batch_size = batch_size

    def score(self, query: str, documents: Sequence[str]) -> list[float]:
        pairs = [(query, d) for d in documents]
        scores = self.model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False)
        return [float(s) for s in scores]
