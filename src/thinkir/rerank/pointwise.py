"""DeAR-P: a causal LM with a scalar score head on the hidden state of the last real token.

Input is ``query: {q}`` (at most ``q_max_len`` tokens) followed by ``document: {title} {text}`` (at
most ``p_max_len`` tokens), joined by the tokenizer's own pair template (so the released Llama-3.1
DeAR adapters see what they were trained on). Batches are right-padded and the last non-pad token of
each row is pooled explicitly from the attention mask; a linear head maps it to the score.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thinkir.rerank.base import Reranker
from thinkir.rerank.prompts import load_template
from thinkir.types import Candidate, Document, Query, Trace

if TYPE_CHECKING:
    import torch

    from thinkir.rerank.dear import AdapterHost

logger = logging.getLogger(__name__)

POINTWISE_ADAPTER = "pointwise"


@dataclass(frozen=True)
class PointwiseSettings:
    """Input shaping of stage 1; saved with the adapter (``thinkir_adapter.json``)."""

    q_max_len: int = 32
    p_max_len: int = 196
    append_eos: bool = True
    batch_size: int = 16
    #: the end token the adapter was trained with, appended and pooled (None: the tokenizer's own). Saved
    #: because tokenizers of one base model can disagree: transformers 5.17 reads SmolLM2's GGUF with
    #: ``<|im_start|>`` as EOS, 5.24 with ``<|im_end|>``.
    eos_token: str | None = None

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> PointwiseSettings:
        own = meta.get("thinkir", {})
        if not own:  # a foreign (released) checkpoint: the reference inputs, no extra EOS
            return cls(append_eos=False)
        return cls(**{k: v for k, v in own.items() if k in cls.__dataclass_fields__})


def eos_token_id(tokenizer: Any, token: str | None) -> int | None:
    """Id of the adapter's end token ``token`` (None: the tokenizer's EOS); unknown tokens are an error."""
    if token is None:
        return tokenizer.eos_token_id
    tid = tokenizer.convert_tokens_to_ids(token)
    if tid is None or (tid == tokenizer.unk_token_id and token != tokenizer.unk_token):
        raise ValueError(f"the adapter's end token {token!r} is not in this tokenizer's vocabulary")
    return int(tid)


def _clean(text: str) -> str:
    return " ".join(text.split())


def pad_batch(rows: Sequence[Sequence[int]], pad_id: int, side: str = "right") -> tuple[torch.Tensor, torch.Tensor]:
    """``(input_ids [B, L], attention_mask [B, L])`` from id lists, padded on ``side``."""
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        if side == "right":
            ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
            mask[i, : len(row)] = 1
        else:
            ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
            mask[i, width - len(row) :] = 1
    return ids, mask


def last_token_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Hidden state of the last non-pad token of each row, for left or right padding.

    Args:
        hidden: ``[B, L, H]``; mask: ``[B, L]`` with 1 on real tokens.

    Returns:
        ``[B, H]``.
    """
    import torch

    width = mask.shape[1]
    last = width - 1 - torch.flip(mask, dims=[1]).argmax(dim=1)  # [B]
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]


class PointwiseEncoder:
    """Turns (query, document) pairs into token ids the way stage 1 trains and scores them."""

    def __init__(self, tokenizer: Any, settings: PointwiseSettings) -> None:
        self.tokenizer = tokenizer
        self.settings = settings
        self.q_template = load_template("pointwise_query")
        self.d_template = load_template("pointwise_document")

    def _truncate(self, text: str, limit: int) -> str:
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        return text if len(ids) <= limit else self.tokenizer.decode(ids[:limit])

    def encode_query(self, query: str) -> str:
        return self._truncate(self.q_template.format(query=_clean(query)), self.settings.q_max_len)

    def encode(self, query_text: str, documents: Sequence[Document]) -> list[list[int]]:
        """Token ids for one query against each document."""
        q = self.encode_query(query_text)
        ds = [
            self._truncate(_clean(self.d_template.format(title=d.title, text=d.text)), self.settings.p_max_len)
            for d in documents
        ]
        enc = self.tokenizer([q] * len(ds), ds, add_special_tokens=True, truncation=False)
        rows = [list(r) for r in enc["input_ids"]]
        eos = eos_token_id(self.tokenizer, self.settings.eos_token)
        if self.settings.append_eos and eos is not None:
            rows = [r if r and r[-1] == eos else [*r, eos] for r in rows]
        return rows


class DearPointwiseReranker(Reranker):
    """Stage 1 of DeAR over a shared :class:`AdapterHost` (adapter ``pointwise`` + its score head)."""

    name = "dear-pointwise"

    def __init__(
        self,
        host: AdapterHost,
        adapter: str = POINTWISE_ADAPTER,
        settings: PointwiseSettings | None = None,
        progress: bool = False,
    ) -> None:
        if adapter not in host.heads:
            raise ValueError(f"adapter {adapter!r} has no score head; load a pointwise adapter first")
        self.host = host
        self.adapter = adapter
        self.settings = settings or PointwiseSettings.from_meta(host.metas.get(adapter, {}))
        self.encoder = PointwiseEncoder(host.tokenizer, self.settings)
        self.progress = progress

    @classmethod
    def from_pretrained(
        cls,
        adapter: str | Path,
        base_model: str | None = None,
        device: str | None = None,
        dtype: Any = None,
        batch_size: int | None = None,
    ) -> DearPointwiseReranker:
        """Load a stage-1 adapter (thinkir's or the released DeAR SEQ_CLS format) by path or hub id."""
        from thinkir.rerank.dear import load_adapter_host

        host, meta = load_adapter_host(adapter, POINTWISE_ADAPTER, base_model, device, dtype)
        settings = PointwiseSettings.from_meta(meta)
        if batch_size:
            settings = PointwiseSettings(**{**asdict(settings), "batch_size": batch_size})
        return cls(host, POINTWISE_ADAPTER, settings)

    def forward(self, rows: Sequence[Sequence[int]]) -> torch.Tensor:
        """Scores ``[B]`` (float32) for token-id rows; differentiable (used by the trainer)."""
        pad = self.host.tokenizer.pad_token_id
        ids, mask = pad_batch(rows, pad if pad is not None else 0, side="right")
        ids, mask = ids.to(self.host.device), mask.to(self.host.device)
        with self.host.active(self.adapter):
            out = self.host.decoder()(input_ids=ids, attention_mask=mask)
        pooled = last_token_pool(out.last_hidden_state, mask)
        return self.host.heads[self.adapter](pooled.float()).squeeze(-1)

    def score_documents(self, query: str, documents: Sequence[Document]) -> list[float]:
        """Scores for ``documents`` in input order (batched by length, order restored)."""
        import torch

        rows = self.encoder.encode(query, documents)
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
        scores = [0.0] * len(rows)
        bs = self.settings.batch_size
        with torch.inference_mode():
            for start in range(0, len(order), bs):
                idx = order[start : start + bs]
                vals = self.forward([rows[i] for i in idx]).tolist()
                for i, v in zip(idx, vals, strict=True):
                    scores[i] = float(v)
        return scores

    def score(self, query: str, documents: Sequence[str]) -> list[float]:
        """Scores for plain document texts (no titles)."""
        return self.score_documents(query, [Document(str(i), t) for i, t in enumerate(documents)])

    def _rerank(self, query: Query, candidates: list[Candidate]) -> tuple[list[Candidate], Trace]:
        docs = [c.document for c in candidates if c.document is not None]
        scores = self.score_documents(query.text, docs)
        rescored = [c.with_score(s) for c, s in zip(candidates, scores, strict=True)]
        order = sorted(range(len(rescored)), key=lambda i: -rescored[i].score)  # stable on ties
        return [rescored[i] for i in order], Trace()


__all__ = [
    "POINTWISE_ADAPTER",
    "DearPointwiseReranker",
    "PointwiseEncoder",
    "PointwiseSettings",
    "last_token_pool",
    "pad_batch",
]
