"""``ReasoningEmbedder``: the unified LREM embedder behind the :class:`Embedder` base (type ``lrem``).

``thinkir index build --embedder lrem:smollm2-135m`` embeds documents as ``text <emb>``; the manifest
records type ``lrem``, the name (so loading rebuilds the same embedder) and a revision that covers
the base weights and every merged adapter. Names: ``lrem:<llm>[+<adapter_dir>…]``.

``encode(texts, kind="query")`` is the *direct* query embedding (empty reasoning,
``<think></think><emb>``); :meth:`ReasoningEmbedder.encode_reasoned` embeds queries with a keyword
reasoning (written by :meth:`LremLM.generate` or taken from the cache).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from thinkir.retrieval.embedders import EMBEDDER_TYPES, Embedder, TextKind, token_budget_batches
from thinkir.retrieval.reasoning.lm import LremLM


def parse_lrem_name(spec: str) -> tuple[str, tuple[str, ...]]:
    """``smollm2-135m+runs/cold+runs/grpo`` → ``("smollm2-135m", ("runs/cold", "runs/grpo"))``."""
    llm, *adapters = spec.split("+")
    return llm, tuple(a for a in adapters if a)


class ReasoningEmbedder(Embedder):
    """Unified LREM: one causal LM embeds documents and (reasoning-augmented) queries at ``<emb>``.

    Args:
        spec: ``<llm>[+<adapter>…]``: registry key, hub id or path of the LM, then LoRA adapter folders.
        lm: an :class:`LremLM` in hand (tests, training); ``spec`` is then only the recorded name.
        max_doc_tokens: document tokens before ``<emb>`` (longer texts are truncated).
    """

    type_name = "lrem"

    def __init__(
        self,
        spec: str = "smollm2-135m",
        device: str | None = None,
        lm: LremLM | None = None,
        max_batch_tokens: int = 16384,
        max_doc_tokens: int = 256,
        dtype: Any = None,
        **_: Any,
    ) -> None:
        llm, adapters = parse_lrem_name(spec)
        self.lm = lm or LremLM.load(llm, adapters=adapters, device=device, dtype=dtype, max_doc_tokens=max_doc_tokens)
        self.name = f"lrem:{spec}"
        self.model_id = f"lrem:{self.lm.model_id}" + "".join(f"+{a}" for a in adapters)
        self.revision = self.lm.revision
        self.dimension = self.lm.dimension
        self.max_batch_tokens = max_batch_tokens
        self.device = self.lm.device

    # ---- Embedder steps (documents) -----------------------------------------------------------
    def _tokenize(self, texts: list[str]) -> dict[str, list[list[int]]]:
        return {"input_ids": [self.lm.document_ids(t) for t in texts]}

    def _embed(self, features: dict[str, list[list[int]]]) -> np.ndarray:
        return self.lm.embed(features["input_ids"]).cpu().numpy()  # type: ignore[no-any-return]

    # ---- queries ------------------------------------------------------------------------------
    def encode(
        self,
        texts: Sequence[str],
        kind: TextKind = "document",
        progress: bool = False,
        on_batch: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        if kind == "query" and not isinstance(texts, str):
            return self.encode_reasoned(texts, [""] * len(texts))
        return super().encode(texts, kind=kind, progress=progress, on_batch=on_batch)

    def encode_reasoned(self, queries: Sequence[str], keywords: Sequence[str]) -> np.ndarray:
        """Embed ``query <think> keywords </think><emb>``; ``[n, dimension]`` unit rows."""
        return self.encode_ids([self.lm.query_ids(q, k) for q, k in zip(queries, keywords, strict=True)])

    def encode_ids(self, seqs: Sequence[Sequence[int]]) -> np.ndarray:
        """Embed prepared token sequences (each ending with ``<emb>``), batched by token budget."""
        import torch

        out = np.zeros((len(seqs), self.dimension), dtype=np.float32)
        with torch.inference_mode():
            for batch in token_budget_batches([len(s) for s in seqs], self.max_batch_tokens):
                out[batch] = self.lm.embed([seqs[i] for i in batch]).cpu().numpy()
        return out


EMBEDDER_TYPES["lrem"] = ReasoningEmbedder
