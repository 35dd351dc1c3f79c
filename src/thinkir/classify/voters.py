"""Voters: each scores the small option set of one hierarchy decision and turns it into a distribution.

A decision is "which child of ``parent`` does this description belong to?", with ``options`` the
children the retriever supports. :meth:`Voter.vote` is concrete: it validates, asks the subclass for one
raw score per option (:meth:`Voter._scores`) and normalises them with ``softmax(score / temperature)``
so that votes on different scales (cosines, BM25, log-probabilities) can be averaged.
"""

from __future__ import annotations

import inspect
import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

from thinkir.classify.taxonomy import LabelText, Taxonomy
from thinkir.errors import InputError

if TYPE_CHECKING:
    from thinkir.retrieval.bm25 import BM25sBackend

logger = logging.getLogger(__name__)


@dataclass
class ItemContext:
    """What the voters share about one description: its text and the retriever's top-K leaves."""

    text: str
    retrieved: list[tuple[str, float]]
    cache: dict[str, Any] = field(default_factory=dict)


def softmax(scores: Sequence[float], temperature: float = 1.0) -> list[float]:
    """``exp(s / T) / sum exp(s / T)``, computed stably; equal scores give a uniform distribution."""
    if not scores:
        return []
    scaled = [s / temperature for s in scores]
    top = max(scaled)
    exps = [math.exp(s - top) for s in scaled]
    total = sum(exps)
    return [e / total for e in exps]


class Voter(ABC):
    """Scores options of one decision. Subclasses fill :meth:`_scores` (and optionally :meth:`prepare`)."""

    name: str = ""

    def __init__(self, temperature: float = 1.0) -> None:
        if temperature <= 0:
            raise InputError(f"{self.name} voter temperature must be > 0")
        self.temperature = temperature

    def prepare(self, ctx: ItemContext) -> None:  # noqa: B027  (an optional hook)
        """Per-item work shared by all decisions of that item (e.g. one BM25 search)."""

    def applies(self, options: Sequence[str]) -> bool:
        """Whether this voter gives an opinion on a decision with these options."""
        return True

    def vote(self, ctx: ItemContext, parent: str | None, options: Sequence[str]) -> dict[str, float]:
        """A probability for each option (summing to 1)."""
        if not options:
            raise InputError("a decision needs at least one option")
        raw = self._scores(ctx, parent, options)
        if len(raw) != len(options):
            raise RuntimeError(f"{self.name} voter returned {len(raw)} scores for {len(options)} options")
        return dict(zip(options, softmax(raw, self.temperature), strict=True))

    @abstractmethod
    def _scores(self, ctx: ItemContext, parent: str | None, options: Sequence[str]) -> list[float]:
        """One raw score per option, higher is better."""


class RetrieverVoter(Voter):
    """Aggregates the retriever's leaf scores up to each option.

    ``sum``: the option's score is ``T * logsumexp(cos / T)`` over its retrieved leaves, so after the
    softmax its vote is the share of the retrieved probability mass under it; ``max``: its best leaf.
    Options with no retrieved leaf get ``-inf`` (probability 0).
    """

    name = "retriever"

    def __init__(self, taxonomy: Taxonomy, temperature: float = 0.05, aggregate: str = "sum") -> None:
        super().__init__(temperature)
        if aggregate not in ("sum", "max"):
            raise InputError(f"aggregate must be 'sum' or 'max', not {aggregate!r}")
        self.taxonomy = taxonomy
        self.aggregate = aggregate

    def prepare(self, ctx: ItemContext) -> None:
        by_node: dict[str, list[float]] = {}
        for leaf, score in ctx.retrieved:
            for node in self.taxonomy.path(leaf):
                by_node.setdefault(node, []).append(score)
        ctx.cache["retriever"] = by_node

    def _scores(self, ctx: ItemContext, parent: str | None, options: Sequence[str]) -> list[float]:
        if "retriever" not in ctx.cache:
            self.prepare(ctx)
        by_node: dict[str, list[float]] = ctx.cache["retriever"]
        out = []
        for o in options:
            scores = by_node.get(o)
            if not scores:
                out.append(-math.inf if any(by_node.get(x) for x in options) else 0.0)
            elif self.aggregate == "max":
                out.append(max(scores))
            else:
                top = max(scores)
                t = self.temperature
                out.append(top + t * math.log(sum(math.exp((s - top) / t) for s in scores)))
        return out


class LexicalVoter(Voter):
    """BM25 (bm25s, Lucene variant) over the label texts of every node; an option scores the best BM25
    score in its subtree (its own label text or any descendant's), so sectors inherit their industries'
    vocabulary."""

    name = "lexical"

    def __init__(
        self,
        taxonomy: Taxonomy,
        label_text: LabelText | str = LabelText.TITLE_DESCRIPTION,
        label_max_chars: int = 0,
        temperature: float = 2.0,
        backend: BM25sBackend | None = None,
    ) -> None:
        super().__init__(temperature)
        from thinkir.retrieval.bm25 import BM25sBackend

        self.taxonomy = taxonomy
        self.codes = list(taxonomy.nodes)
        if backend is None:
            backend = BM25sBackend()
            backend.build([taxonomy.label_text(c, label_text, label_max_chars) for c in self.codes])
        self.backend = backend

    def prepare(self, ctx: ItemContext) -> None:
        scores, positions = self.backend.search([ctx.text], k=len(self.codes))
        best: dict[str, float] = {}
        for s, p in zip(scores[0], positions[0], strict=True):
            if p < 0:
                continue
            for node in self.taxonomy.path(self.codes[int(p)]):
                if s > best.get(node, 0.0):
                    best[node] = float(s)
        ctx.cache["lexical"] = best

    def _scores(self, ctx: ItemContext, parent: str | None, options: Sequence[str]) -> list[float]:
        if "lexical" not in ctx.cache:
            self.prepare(ctx)
        best: dict[str, float] = ctx.cache["lexical"]
        return [best.get(o, 0.0) for o in options]


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def load_prompt(name: str = "llm_vote.txt") -> str:
    """A packaged prompt template, checked for the fields the LLM voter fills."""
    text = resources.files("thinkir.classify").joinpath("prompts", name).read_text(encoding="utf-8")
    for key in ("{description}", "{options}", "{parent_clause}"):
        if key not in text:
            raise InputError(f"prompt {name} lacks the field {key}")
    return text


class LLMVoter(Voter):
    """A causal LM scores each option by its likelihood after a prompt listing the options.

    No free generation: with ``scoring="title"`` an option's score is the mean log-probability of
    ``"<letter>. <title>"`` as the answer; with ``"letter"`` the log-probability of its letter alone.
    ``calibrate`` subtracts the same score under a content-free description ("N/A"), which removes the
    model's prior for some titles (contextual calibration, Zhao et al. 2021); those reference scores
    depend only on the options, so they are computed once per option set and cached.

    The prompt is run once and its key/value cache is shared by all options of a decision (one
    forward pass for the prompt, one batched pass for the answers): one "LLM call" per decision.
    """

    name = "llm"

    def __init__(
        self,
        taxonomy: Taxonomy,
        model: Any,
        tokenizer: Any,
        temperature: float = 0.5,
        scoring: str = "title",
        calibrate: bool = True,
        max_options: int = 30,
        prompt: str | None = None,
        max_description_chars: int = 600,
    ) -> None:
        super().__init__(temperature)
        if scoring not in ("title", "letter"):
            raise InputError(f"llm scoring must be 'title' or 'letter', not {scoring!r}")
        if max_options > len(_LETTERS):
            raise InputError(f"llm max_options is at most {len(_LETTERS)}")
        self.taxonomy = taxonomy
        self.model = model
        self.tokenizer = tokenizer
        self.scoring = scoring
        self.calibrate = calibrate
        self.max_options = max_options
        self.template = prompt or load_prompt()
        self.max_description_chars = max_description_chars
        self.calls = 0
        # transformers 5 renamed ``past_key_values`` to ``cache``; older models keep the old name
        params = inspect.signature(model.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        self._reference: dict[tuple[str, ...], list[float]] = {}

    @classmethod
    def from_name(cls, taxonomy: Taxonomy, name: str, device: str | None = None, **kwargs: Any) -> LLMVoter:
        from thinkir.models import load_causal_lm

        model, tokenizer = load_causal_lm(name, device=device)
        return cls(taxonomy, model, tokenizer, **kwargs)

    def applies(self, options: Sequence[str]) -> bool:
        return 2 <= len(options) <= self.max_options

    def _scores(self, ctx: ItemContext, parent: str | None, options: Sequence[str]) -> list[float]:
        scores = self.option_logprobs(ctx.text, parent, options)
        self.calls += 1
        if not self.calibrate:
            return scores
        key = tuple(options)
        if key not in self._reference:
            self._reference[key] = self.option_logprobs("N/A", parent, options)
        return [s - r for s, r in zip(scores, self._reference[key], strict=True)]

    def build_prompt(self, description: str, parent: str | None, options: Sequence[str]) -> str:
        desc = description.strip()[: self.max_description_chars]
        parent_clause = f' of "{self.taxonomy[parent].title}"' if parent else ""
        listing = "\n".join(f"{_LETTERS[i]}. {self.taxonomy[o].title}" for i, o in enumerate(options))
        user = self.template.format(description=desc, options=listing, parent_clause=parent_clause)
        if getattr(self.tokenizer, "chat_template", None):
            return str(
                self.tokenizer.apply_chat_template(
                    [{"role": "user", "content": user}], tokenize=False, add_generation_prompt=True
                )
            )
        return user + "\nAnswer: "

    def answers(self, options: Sequence[str]) -> list[str]:
        if self.scoring == "letter":
            return [_LETTERS[i] for i in range(len(options))]
        return [f"{_LETTERS[i]}. {self.taxonomy[o].title}" for i, o in enumerate(options)]

    def option_logprobs(self, description: str, parent: str | None, options: Sequence[str]) -> list[float]:
        """Mean log-probability of each option's answer text after the prompt (letter: its first token)."""
        import torch

        prompt_ids = self.tokenizer(self.build_prompt(description, parent, options), add_special_tokens=False)[
            "input_ids"
        ]
        answer_ids = [self.tokenizer(a, add_special_tokens=False)["input_ids"] for a in self.answers(options)]
        if self.scoring == "letter":
            answer_ids = [ids[:1] for ids in answer_ids]
        device = next(self.model.parameters()).device
        n, p = len(options), len(prompt_ids)
        width = max(len(a) for a in answer_ids)
        pad = self.tokenizer.pad_token_id or 0
        batch = torch.full((n, width), pad, dtype=torch.long)
        mask = torch.zeros((n, width), dtype=torch.long)
        for i, ids in enumerate(answer_ids):
            batch[i, : len(ids)] = torch.tensor(ids)
            mask[i, : len(ids)] = 1
        with torch.inference_mode():
            out = self.model(input_ids=torch.tensor([prompt_ids], device=device), use_cache=True)
            first = torch.log_softmax(out.logits[0, -1].float(), dim=-1)  # [vocab]: next-token after prompt
            cache = getattr(out, "cache", None) or out.past_key_values
            cache.batch_repeat_interleave(n)
            attention = torch.cat([torch.ones((n, p), dtype=torch.long), mask], dim=1).to(device)
            positions = (p + torch.arange(width)).unsqueeze(0).expand(n, width).to(device)
            cont = self.model(
                input_ids=batch.to(device),
                attention_mask=attention,
                position_ids=positions,
                use_cache=False,
                **{self._cache_arg: cache},
            )
            logps = torch.log_softmax(cont.logits.float(), dim=-1)  # [n, width, vocab]
        scores = []
        for i, ids in enumerate(answer_ids):
            total = float(first[ids[0]])
            for j in range(1, len(ids)):
                total += float(logps[i, j - 1, ids[j]])
            scores.append(total / len(ids))
        return scores
