"""DeAR-L: listwise reranking with reasoning, RankGPT-style, over a sliding window.

The prompt numbers the passages ``[1]..[n]`` and asks for a short reasoning inside ``<think>`` and then
the full ranking ``[2] > [1] > …``. Windows of ``window_size`` passages move from the back of the list
to the front in steps of ``step`` (RankGPT), so strong passages bubble up. :meth:`rerank_many` runs the
same window position of many queries as one generation batch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thinkir.rerank.base import Reranker
from thinkir.rerank.parse import ParseStats, format_ranking, parse_ranking
from thinkir.rerank.pointwise import eos_token_id
from thinkir.rerank.prompts import load_template
from thinkir.types import Candidate, Document, Query, RankedList, Trace

if TYPE_CHECKING:
    from thinkir.rerank.dear import AdapterHost

logger = logging.getLogger(__name__)

LISTWISE_ADAPTER = "listwise"


@dataclass(frozen=True)
class ListwiseSettings:
    """Window and length settings of stage 2 (the paper: 20/10 over a top-30 with 8B models).

    The defaults are sized for a 135M model trained on 5-passage windows.
    """

    window_size: int = 5
    step: int = 3
    passage_tokens: int = 64
    query_tokens: int = 48
    max_new_tokens: int = 96
    batch_size: int = 32
    #: budget forcing: a window whose reasoning used up ``max_new_tokens`` without closing ``</think>`` gets
    #: ``</think>`` appended and up to ``answer_tokens`` more tokens for the ranking (0: off)
    answer_tokens: int = 32
    #: the end token the adapter was trained with (None: the tokenizer's EOS); generation stops at it
    eos_token: str | None = None

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> ListwiseSettings:
        own = meta.get("thinkir", {})
        return cls(**{k: v for k, v in own.items() if k in cls.__dataclass_fields__})


def sliding_windows(n: int, size: int, step: int) -> list[tuple[int, int]]:
    """``(start, end)`` windows from the back of a list of ``n`` to its front.

    >>> sliding_windows(30, 20, 10)
    [(10, 30), (0, 20)]
    """
    if size < 2 or step < 1:
        raise ValueError("window_size must be >= 2 and step >= 1")
    if n <= size:
        return [(0, n)] if n > 1 else []
    out, end = [], n
    while True:
        start = max(0, end - size)
        if start == 0:  # the front window is a full one
            out.append((0, min(n, size)))
            return out
        out.append((start, end))
        end -= step


class ListwisePrompter:
    """Builds the chat prompt (and, for training, the target) of one window."""

    def __init__(self, tokenizer: Any, settings: ListwiseSettings) -> None:
        self.tokenizer = tokenizer
        self.settings = settings
        self.system = load_template("listwise_system")
        self.user = load_template("listwise_user")
        self.passage = load_template("listwise_passage")
        self.answer = load_template("listwise_answer")

    def _shorten(self, text: str, limit: int) -> str:
        text = " ".join(text.split())
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        return text if len(ids) <= limit else self.tokenizer.decode(ids[:limit]).strip()

    def messages(self, query: str, passages: Sequence[str]) -> list[dict[str, str]]:
        q = self._shorten(query, self.settings.query_tokens)
        body = "\n".join(
            self.passage.format(index=i + 1, text=self._shorten(p, self.settings.passage_tokens))
            for i, p in enumerate(passages)
        )
        user = self.user.format(num=len(passages), query=q, passages=body)
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]

    def prompt_ids(self, query: str, passages: Sequence[str]) -> list[int]:
        msgs = self.messages(query, passages)
        if getattr(self.tokenizer, "chat_template", None):
            ids = self.tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True)
            if isinstance(ids, dict) or hasattr(ids, "keys"):
                ids = ids["input_ids"]
            return list(ids)
        text = "\n\n".join(m["content"] for m in msgs) + "\n\nAnswer:\n"
        return list(self.tokenizer.encode(text, add_special_tokens=True))

    def target_text(self, order: Sequence[int], rationale: str) -> str:
        return self.answer.format(rationale=rationale.strip(), ranking=format_ranking(order))

    def target_ids(self, order: Sequence[int], rationale: str) -> list[int]:
        ids = list(self.tokenizer.encode(self.target_text(order, rationale), add_special_tokens=False))
        eos = eos_token_id(self.tokenizer, self.settings.eos_token)
        return [*ids, eos] if eos is not None else ids


class ListwiseReranker(Reranker):
    """Stage 2 of DeAR: the ``listwise`` adapter of a shared :class:`AdapterHost` (None: the base LM)."""

    name = "dear-listwise"

    def __init__(
        self, host: AdapterHost, adapter: str | None = LISTWISE_ADAPTER, settings: ListwiseSettings | None = None
    ) -> None:
        self.host = host
        self.adapter = adapter
        self.settings = settings or ListwiseSettings.from_meta(host.metas.get(adapter or "", {}))
        self.prompter = ListwisePrompter(host.tokenizer, self.settings)
        self.stats = ParseStats()

    @classmethod
    def from_pretrained(
        cls, adapter: str | Path, base_model: str | None = None, device: str | None = None, dtype: Any = None
    ) -> ListwiseReranker:
        """Load a listwise (causal-LM) adapter by path or hub id."""
        from thinkir.rerank.dear import load_adapter_host

        host, _ = load_adapter_host(adapter, LISTWISE_ADAPTER, base_model, device, dtype)
        return cls(host, LISTWISE_ADAPTER)

    def generate(self, prompts: Sequence[list[int]], max_new_tokens: int | None = None) -> list[str]:
        """Greedy completions for token-id prompts (left-padded batches)."""
        import torch

        from thinkir.rerank.pointwise import pad_batch

        tok = self.host.tokenizer
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        # stop at the adapter's end token and at the tokenizer's own
        stops = sorted({i for i in (eos_token_id(tok, self.settings.eos_token), tok.eos_token_id) if i is not None})
        out: list[str] = [""] * len(prompts)
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        bs = self.settings.batch_size
        with torch.inference_mode(), self.host.active(self.adapter):
            for start in range(0, len(order), bs):
                idx = order[start : start + bs]
                ids, mask = pad_batch([prompts[i] for i in idx], pad, side="left")
                gen = self.host.causal_lm.generate(
                    input_ids=ids.to(self.host.device),
                    attention_mask=mask.to(self.host.device),
                    max_new_tokens=max_new_tokens or self.settings.max_new_tokens,
                    do_sample=False,
                    pad_token_id=pad,
                    eos_token_id=stops or None,
                )
                for i, row in zip(idx, gen[:, ids.shape[1] :], strict=True):
                    out[i] = str(tok.decode(row, skip_special_tokens=True))
        return out

    def complete(self, prompts: Sequence[list[int]], sizes: Sequence[int]) -> tuple[list[str], list[bool]]:
        """Generate each window's answer; windows still inside ``<think>`` when ``max_new_tokens`` ran out
        are forced to answer (``</think>`` appended, ``answer_tokens`` more). Returns texts and forced flags."""
        texts = self.generate(prompts)
        forced = [False] * len(texts)
        if self.settings.answer_tokens <= 0:
            return texts, forced
        redo = [
            i
            for i, (t, n) in enumerate(zip(texts, sizes, strict=True))
            if "</think>" not in t.lower() and not parse_ranking(t, n).valid
        ]
        if not redo:
            return texts, forced
        tok = self.host.tokenizer
        heads = [texts[i].rstrip() + "\n</think>\n" for i in redo]
        extended = [[*prompts[i], *tok.encode(h, add_special_tokens=False)] for i, h in zip(redo, heads, strict=True)]
        tails = self.generate(extended, max_new_tokens=self.settings.answer_tokens)
        for i, head, tail in zip(redo, heads, tails, strict=True):
            texts[i], forced[i] = head + tail, True
        return texts, forced

    def rerank_many(self, queries: Sequence[Query], candidates: Sequence[Sequence[Candidate]]) -> list[RankedList]:
        """Slide the windows of all queries in lockstep (one generation batch per window position)."""
        current = [list(c) for c in candidates]
        plans = [sliding_windows(len(c), self.settings.window_size, self.settings.step) for c in current]
        rationales: list[list[str]] = [[] for _ in queries]
        stats = [ParseStats() for _ in queries]
        for round_ in range(max((len(p) for p in plans), default=0)):
            todo = [qi for qi, p in enumerate(plans) if round_ < len(p)]
            prompts = []
            for qi in todo:
                s, e = plans[qi][round_]
                prompts.append(
                    self.prompter.prompt_ids(queries[qi].text, [_text(c.document) for c in current[qi][s:e]])
                )
            outputs, forced = self.complete(prompts, [plans[qi][round_][1] - plans[qi][round_][0] for qi in todo])
            for qi, text, was_forced in zip(todo, outputs, forced, strict=True):
                s, e = plans[qi][round_]
                parsed = parse_ranking(text, e - s)
                stats[qi].add(parsed, was_forced)
                self.stats.add(parsed, was_forced)
                if parsed.rationale:
                    rationales[qi].append(parsed.rationale)
                window = current[qi][s:e]
                current[qi][s:e] = [window[p] for p in parsed.order]
        results = []
        for qi, q in enumerate(queries):
            n = len(current[qi])
            ranked = tuple(c.with_score(float(n - i)) for i, c in enumerate(current[qi]))
            notes = {k: str(v) for k, v in stats[qi].as_dict().items()}
            trace = Trace(rationale="\n\n".join(rationales[qi]) or None, notes=notes)
            results.append(RankedList(q, ranked, trace))
        return results

    def _rerank(self, query: Query, candidates: list[Candidate]) -> tuple[list[Candidate], Trace]:
        ranked = self.rerank_many([query], [candidates])[0]
        return list(ranked.candidates), ranked.trace


def _text(doc: Document | None) -> str:
    return doc.full_text if doc is not None else ""


__all__ = ["LISTWISE_ADAPTER", "ListwisePrompter", "ListwiseReranker", "ListwiseSettings", "sliding_windows"]
