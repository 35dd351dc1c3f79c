"""The LREM language model: one causal LM that writes a keyword reasoning and embeds at ``<emb>``.

Sequences (token ids; ``…`` is ordinary text):

* query: ``chat_template(system, query) <think> kw1, kw2, … </think><emb>``: the model writes the
  keywords itself (at most ``max_keyword_tokens`` tokens, greedy by default, stopping at ``</think>``);
  the query vector is the last-layer hidden state at ``<emb>``;
* document: ``text <emb>``, no reasoning.

Any Hugging Face causal LM loads by registry key, hub id or path; the three special tokens are added
and the embedding matrix resized, with the new rows set deterministically (so a LoRA adapter trained
on top of them reloads exactly). Adapters (peft LoRA folders) are merged in order at load time.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

THINK, END_THINK, EMB = "<think>", "</think>", "<emb>"
SPECIAL_TOKENS = (THINK, END_THINK, EMB)
#: bumped whenever the prompt or the sequence layout changes (part of every reasoning-cache key)
PROMPT_VERSION = "lrem-v1"
SYSTEM_PROMPT = "List a few search keywords for the query: what it needs that it does not say."
MAX_KEYWORD_TOKENS = 16
# words whose embeddings seed the new rows (a deterministic, meaningful starting point)
_SEED_WORDS = {THINK: "Keywords:", END_THINK: ".", EMB: " summary"}


def add_lrem_tokens(model: Any, tokenizer: Any) -> tuple[int, int, int]:
    """Add ``<think>``, ``</think>``, ``<emb>`` as special tokens and resize the embeddings.

    Idempotent. New rows are the mean embedding of a seed word each (input and, when untied, output
    embeddings), so two processes that add them produce identical weights. Returns their ids.
    """
    import torch

    missing = [t for t in SPECIAL_TOKENS if tokenizer.convert_tokens_to_ids(t) in (None, tokenizer.unk_token_id)]
    if missing:
        tokenizer.add_tokens(list(missing), special_tokens=True)
    ids = tuple(int(tokenizer.convert_tokens_to_ids(t)) for t in SPECIAL_TOKENS)
    emb = model.get_input_embeddings()
    if emb.weight.shape[0] < len(tokenizer):
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        emb = model.get_input_embeddings()
        out = model.get_output_embeddings()
        tied = out is None or out.weight.data_ptr() == emb.weight.data_ptr()
        with torch.no_grad():
            for tok, tid in zip(SPECIAL_TOKENS, ids, strict=True):
                seed = [
                    i
                    for i in tokenizer(_SEED_WORDS[tok], add_special_tokens=False)["input_ids"]
                    if i < tid and i not in ids
                ] or [0]
                emb.weight[tid] = emb.weight[seed].float().mean(0).to(emb.weight.dtype)
                if not tied:
                    out.weight[tid] = out.weight[seed].float().mean(0).to(out.weight.dtype)
    return ids  # type: ignore[return-value]


def backbone(model: Any) -> Any:
    """The transformer body (no LM head) of a causal LM, through a peft wrapper if there is one."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return getattr(base, base.base_model_prefix)


def lm_head(model: Any) -> Any:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return base.get_output_embeddings()


@dataclass
class Generation:
    """Keywords written for one query: the token ids between ``<think>`` and ``</think>`` and their text."""

    ids: list[int]
    text: str
    closed: bool  # the model wrote ``</think>`` itself (else the bound cut it and we closed it)


@dataclass
class LremLM:
    """A causal LM prepared for LREM. Build with :meth:`load` (or :meth:`wrap` for a model in hand)."""

    model: Any
    tokenizer: Any
    device: str
    name: str = ""
    model_id: str = ""
    revision: str = ""
    max_keyword_tokens: int = MAX_KEYWORD_TOKENS
    max_query_tokens: int = 64
    max_doc_tokens: int = 256
    system_prompt: str = SYSTEM_PROMPT
    adapters: tuple[str, ...] = ()
    _ids: tuple[int, int, int] = field(default=(0, 0, 0), repr=False)

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        name: str = "smollm2-135m",
        adapters: Sequence[str | Path] = (),
        device: str | None = None,
        dtype: Any = None,
        **options: Any,
    ) -> LremLM:
        """Load ``name`` (registry key, hub id or path), add the LREM tokens, merge ``adapters`` in order."""
        from thinkir.models import load_causal_lm, model_id, resolve

        model, tokenizer = load_causal_lm(name, device=device, dtype=dtype)
        lm = cls.wrap(model, tokenizer, name=name, **options)
        for adapter in adapters:
            lm.merge_adapter(adapter)
        lm.model_id = model_id(name)
        lm.revision = _fingerprint(resolve(name, "llm"), lm.adapters)
        return lm

    @classmethod
    def wrap(cls, model: Any, tokenizer: Any, name: str = "", **options: Any) -> LremLM:
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
        ids = add_lrem_tokens(model, tokenizer)
        device = str(next(model.parameters()).device)
        return cls(model, tokenizer, device, name=name, model_id=name, _ids=ids, **options)

    def merge_adapter(self, path: str | Path) -> None:
        """Merge a LoRA adapter (with its trained special-token rows) into the weights."""
        from thinkir._optional import require

        peft = require("peft", "train")
        peft_model = peft.PeftModel.from_pretrained(self.model, str(path))
        self.model = peft_model.merge_and_unload()
        self.model.eval()
        self.adapters = (*self.adapters, str(path))

    @property
    def think_id(self) -> int:
        return self._ids[0]

    @property
    def end_id(self) -> int:
        return self._ids[1]

    @property
    def emb_id(self) -> int:
        return self._ids[2]

    @property
    def special_ids(self) -> tuple[int, int, int]:
        return self._ids

    @property
    def cache_key(self) -> str:
        """Identifies the weights that write keywords (model, adapters) for the reasoning cache."""
        return f"{self.model_id}@{self.revision}" if self.revision else self.model_id

    # ---- sequences ----------------------------------------------------------------------------
    def _text_ids(self, text: str, limit: int | None = None) -> list[int]:
        ids: list[int] = self.tokenizer(text, add_special_tokens=False, split_special_tokens=True)["input_ids"]
        return ids[:limit] if limit is not None else ids

    def prompt_ids(self, query: str) -> list[int]:
        """Chat-templated query (truncated to ``max_query_tokens``), ending with ``<think>``."""
        q_ids = self._text_ids(query, self.max_query_tokens)
        query = self.tokenizer.decode(q_ids) if len(q_ids) == self.max_query_tokens else query
        if getattr(self.tokenizer, "chat_template", None):
            messages = [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": query}]
            text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        else:  # base models and the tiny test models have no chat template
            ids = self._text_ids(f"{self.system_prompt}\nQuery: {query}\nKeywords:")
            if self.tokenizer.bos_token_id is not None:
                ids = [self.tokenizer.bos_token_id, *ids]
        return [*ids, self.think_id]

    def keyword_ids(self, keywords: str) -> list[int]:
        """Token ids of a keyword reasoning, bounded to ``max_keyword_tokens``."""
        keywords = keywords.strip()
        return self._text_ids(" " + keywords, self.max_keyword_tokens) if keywords else []

    def query_ids(self, query: str, keywords: str = "") -> list[int]:
        """The whole query sequence: prompt, ``<think>`` keywords ``</think><emb>``."""
        return [*self.prompt_ids(query), *self.keyword_ids(keywords), self.end_id, self.emb_id]

    def document_ids(self, text: str) -> list[int]:
        return [*self._text_ids(text, self.max_doc_tokens - 1), self.emb_id]

    # ---- generation ---------------------------------------------------------------------------
    def generate(
        self,
        queries: Sequence[str],
        do_sample: bool = False,
        temperature: float = 1.0,
        top_p: float = 1.0,
        num_samples: int = 1,
        max_keyword_tokens: int | None = None,
        batch_size: int = 64,
        tidy: bool = True,
    ) -> list[list[Generation]]:
        """Write the keyword reasoning for each query: ``num_samples`` generations per query.

        Bounded: at most ``max_keyword_tokens`` (≤ 16 by default) tokens before ``</think>``; generation
        stops at ``</think>`` (or EOS). ``<think>`` and ``<emb>`` are never generated. With ``tidy``
        (inference), each text gets the post-processing of the training data (:meth:`tidy`); ``ids``
        stay the raw generated tokens (GRPO scores those, with ``tidy=False``).
        """
        import torch

        limit = min(max_keyword_tokens or self.max_keyword_tokens, self.max_keyword_tokens)
        out: list[list[Generation]] = []
        stop = [self.end_id] + ([self.tokenizer.eos_token_id] if self.tokenizer.eos_token_id is not None else [])
        was_training = self.model.training
        self.model.eval()
        try:
            for start in range(0, len(queries), batch_size):
                chunk = queries[start : start + batch_size]
                prompts = [self.prompt_ids(q) for q in chunk]
                input_ids, attention = self._pad(prompts, left=True)
                with torch.inference_mode():
                    seqs = self.model.generate(
                        input_ids=input_ids,
                        attention_mask=attention,
                        generation_config=self._generation_config(
                            do_sample, temperature, top_p, limit + 1, num_samples, stop
                        ),
                    )
                new = seqs[:, input_ids.shape[1] :].tolist()
                for i in range(len(chunk)):
                    gens = [self._parse(new[i * num_samples + j], stop, limit) for j in range(num_samples)]
                    if tidy:
                        gens = [replace(g, text=self.tidy(chunk[i], g.text)) for g in gens]
                    out.append(gens)
        finally:
            self.model.train(was_training)
        return out

    def tidy(self, query: str, keywords: str) -> str:
        """The training data's post-processing, applied to generated keywords: dedupe by stem, drop
        keywords whose words the query already has, keep at most ``max_keyword_tokens`` tokens. A small
        LM repeats itself ("low, low, low"); repeated or echoed terms only add noise to the embedding."""
        from thinkir.training.lrem_data import postprocess_keywords

        return postprocess_keywords(
            keywords.split(","), query, lambda t: len(self.keyword_ids(t)), self.max_keyword_tokens
        )

    def _generation_config(
        self, do_sample: bool, temperature: float, top_p: float, max_new: int, n: int, stop: list[int]
    ) -> Any:
        from transformers import GenerationConfig

        kwargs: dict[str, Any] = {"temperature": temperature, "top_p": top_p, "top_k": 0} if do_sample else {}
        return GenerationConfig(
            max_new_tokens=max_new,
            min_new_tokens=0,
            do_sample=do_sample,
            num_return_sequences=n,
            eos_token_id=stop,
            pad_token_id=self.tokenizer.pad_token_id,
            bad_words_ids=[[self.think_id], [self.emb_id]],
            **kwargs,
        )

    def _parse(self, new_ids: list[int], stop: list[int], limit: int) -> Generation:
        ids: list[int] = []
        closed = False
        for t in new_ids:
            if t in stop:
                closed = t == self.end_id
                break
            ids.append(int(t))
        ids = ids[:limit]
        text = self.tokenizer.decode(ids, skip_special_tokens=True).strip()
        return Generation(ids, text, closed)

    # ---- embedding ----------------------------------------------------------------------------
    def _pad(self, seqs: Sequence[Sequence[int]], left: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        width = max(len(s) for s in seqs)
        pad = int(self.tokenizer.pad_token_id)
        ids = torch.full((len(seqs), width), pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, s in enumerate(seqs):
            if left:
                ids[i, width - len(s) :] = torch.tensor(s)
                mask[i, width - len(s) :] = 1
            else:
                ids[i, : len(s)] = torch.tensor(s)
                mask[i, : len(s)] = 1
        return ids.to(self.device), mask.to(self.device)

    def hidden_states(self, seqs: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Last-layer hidden states ``[B, T, H]`` of right-padded sequences, and the mask ``[B, T]``."""
        ids, mask = self._pad(seqs)
        out = backbone(self.model)(input_ids=ids, attention_mask=mask)
        return out.last_hidden_state, mask

    def embed(self, seqs: Sequence[Sequence[int]]) -> torch.Tensor:
        """Unit vectors ``[B, H]`` (float32) read at each sequence's last token, which is ``<emb>``."""
        import torch
        import torch.nn.functional as F

        hidden, mask = self.hidden_states(seqs)
        last = mask.sum(1) - 1  # [B]
        vecs = hidden[torch.arange(len(seqs), device=hidden.device), last]
        return F.normalize(vecs.float(), dim=-1)

    @property
    def dimension(self) -> int:
        return int(self.model.config.hidden_size)


def _fingerprint(path: str, adapters: Sequence[str]) -> str:
    """Content fingerprint of the base weights' config and the adapter weights (manifests, cache keys)."""
    h = hashlib.sha256()
    base = Path(path)
    if (base / "config.json").is_file():
        h.update((base / "config.json").read_bytes())
        for w in sorted(base.glob("*.safetensors")):
            h.update(f"{w.name}:{w.stat().st_size}".encode())
    else:
        h.update(path.encode())
    for a in adapters:
        for f in sorted(Path(a).glob("adapter_*")):
            h.update(f.read_bytes())
    h.update(PROMPT_VERSION.encode())
    return h.hexdigest()[:16]
