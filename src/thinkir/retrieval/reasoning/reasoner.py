"""``LremReasoner``: the :class:`~thinkir.pipeline.QueryReasoner` of thinkir, in two modes.

* ``unified``: the index was built with a :class:`ReasoningEmbedder` (``--embedder lrem:…``); its LM
  writes the keywords and embeds ``query <think> keywords </think><emb>``.
* ``two_tower``: the same kind of LM (an :class:`LremLM`, with the trained adapters) writes keywords,
  and the index's own embedder (MiniLM) embeds ``query keywords`` against its regular index.

``mode="always"`` reasons for every query; ``mode="auto"`` runs the direct pass first and lets the
:class:`Router` pick the queries to reason for. Keywords are cached (:mod:`.cache`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from thinkir.errors import InputError, StageUnavailableError
from thinkir.retrieval.reasoning.cache import LRUCache, ReasoningCache, cache_key
from thinkir.retrieval.reasoning.lm import PROMPT_VERSION, LremLM
from thinkir.retrieval.reasoning.router import Router, router_features
from thinkir.types import Query

if TYPE_CHECKING:
    from thinkir.retrieval.search_index import SearchIndex

logger = logging.getLogger(__name__)

REASONER_MODES = ("unified", "two_tower")


@dataclass
class ReasonerConfig:
    """What the service and CLI configure (``THINKIR_REASONER_*`` variables, see :meth:`from_env`).

    Args:
        mode: ``unified`` | ``two_tower``; None picks ``unified`` for an index built with an
            ``lrem:`` embedder, else ``two_tower``.
        llm: keyword writer of the two-tower mode (registry key, hub id or path).
        adapters: LoRA adapter folders merged into that LM, in order.
        threshold: router threshold for ``reason=auto`` (0: always reason, 1: never).
        router_path: a fitted router (JSON); else the hand-set default weights.
        cache_size: entries of the default in-process cache.
    """

    mode: str | None = None
    llm: str = "smollm2-135m"
    adapters: tuple[str, ...] = ()
    threshold: float = 0.5
    router_path: str | None = None
    cache_size: int = 10_000
    device: str | None = None

    @classmethod
    def from_env(cls, llm: str | None = None, device: str | None = None) -> ReasonerConfig:
        """From ``THINKIR_REASONER_*``. With the default LM and no ``_ADAPTERS`` set, the committed
        adapters and router (:func:`packaged_reasoner`) are used; ``THINKIR_REASONER_ADAPTERS=""`` opts out."""
        env = os.environ
        name = env.get("THINKIR_REASONER_LLM") or llm or "smollm2-135m"
        packaged, packaged_router = packaged_reasoner() if name == "smollm2-135m" else ((), None)
        if "THINKIR_REASONER_ADAPTERS" in env:
            adapters = tuple(a for a in env["THINKIR_REASONER_ADAPTERS"].split(",") if a)
        else:
            adapters = packaged
        router_path = env.get("THINKIR_REASONER_ROUTER") or (packaged_router if adapters == packaged else None)
        if "THINKIR_REASONER_THRESHOLD" in env:
            threshold = float(env["THINKIR_REASONER_THRESHOLD"])
        elif router_path is not None and router_path == packaged_router:
            threshold = Router.load(router_path).threshold  # the threshold chosen with the router, on dev
        else:
            threshold = 0.5
        return cls(
            mode=env.get("THINKIR_REASONER_MODE") or None,
            llm=name,
            adapters=adapters,
            threshold=threshold,
            router_path=router_path,
            cache_size=int(env.get("THINKIR_REASONER_CACHE_SIZE", 10_000)),
            device=device,
        )


TRAINED_DIR = Path(__file__).with_name("trained")


def packaged_reasoner() -> tuple[tuple[str, ...], str | None]:
    """The committed SmolLM2-135M-Instruct reasoner: its LoRA adapters (cold start, then GRPO), in merge
    order, and its dev-fitted router, where present (``retrieval/reasoning/trained/``, see its README)."""
    adapters = tuple(
        str(TRAINED_DIR / n) for n in ("cold_start", "grpo") if (TRAINED_DIR / n / "adapter_config.json").is_file()
    )
    router = TRAINED_DIR / "router.json"
    return adapters, (str(router) if adapters and router.is_file() else None)


@dataclass
class LremReasoner:
    """Implements ``encode(queries, mode, index) -> (vectors, reasonings)`` for :class:`SearchPipeline`.

    The LM loads on first use (``writer`` may be given, e.g. in tests or for a shared model).
    """

    config: ReasonerConfig = field(default_factory=ReasonerConfig)
    writer: LremLM | None = None
    router: Router | None = None
    cache: ReasoningCache = field(default_factory=LRUCache)
    route_k: int = 10
    last_decisions: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.config.mode is not None and self.config.mode not in REASONER_MODES:
            raise InputError(f"unknown reasoner mode {self.config.mode!r}; valid: {list(REASONER_MODES)}")
        if self.router is None:
            self.router = Router.load(self.config.router_path) if self.config.router_path else Router()
            self.router.threshold = self.config.threshold
        if isinstance(self.cache, LRUCache):
            self.cache.maxsize = self.config.cache_size

    @property
    def model_id(self) -> str:
        """What writes the reasoning (prompt version, mode, LM, adapters): for cache versioning upstream."""
        from thinkir.models import model_id

        mode = self.config.mode or "auto"
        parts = [PROMPT_VERSION, "tidy-v1", mode, model_id(self.config.llm), *self.config.adapters]
        return "lrem:" + "+".join(parts)

    # ---- QueryReasoner ------------------------------------------------------------------------
    def encode(self, queries: Sequence[Query], mode: str, index: SearchIndex) -> tuple[np.ndarray, list[str | None]]:
        texts = [q.text for q in queries]
        self.mode_for(index)  # fails early when the mode does not fit the index
        if mode == "always":
            reason = np.ones(len(texts), dtype=bool)
            direct = None
        elif mode == "auto":
            direct = index.embedder.encode_queries(texts)
            reason = self.route(texts, direct, index)
        else:
            raise InputError(f"LremReasoner.encode: mode must be auto or always, not {mode!r}")
        self.last_decisions = reason
        vectors = direct if direct is not None else np.zeros((len(texts), index.embedder.dimension), np.float32)
        reasonings: list[str | None] = [None] * len(texts)
        chosen = [i for i in range(len(texts)) if reason[i]]
        if chosen:
            keywords = self.keywords([texts[i] for i in chosen], index)
            vectors[chosen] = self._embed_reasoned([texts[i] for i in chosen], keywords, index)
            for i, kw in zip(chosen, keywords, strict=True):
                reasonings[i] = kw
        return vectors, reasonings

    # ---- steps --------------------------------------------------------------------------------
    def mode_for(self, index: SearchIndex) -> str:
        from thinkir.retrieval.reasoning.embedder import ReasoningEmbedder

        unified_index = isinstance(index.embedder, ReasoningEmbedder)
        mode = self.config.mode or ("unified" if unified_index else "two_tower")
        if mode == "unified" and not unified_index:
            raise StageUnavailableError(
                f"reasoner mode 'unified' needs an index built with an lrem: embedder; {index.folder} uses "
                f"{index.manifest.embedder.name!r} (set THINKIR_REASONER_MODE=two_tower, or rebuild with "
                "--embedder lrem:smollm2-135m)"
            )
        return mode

    def lm_for(self, index: SearchIndex) -> LremLM:
        if self.mode_for(index) == "unified":
            return index.embedder.lm  # type: ignore[attr-defined, no-any-return]
        if self.writer is None:
            self.writer = LremLM.load(self.config.llm, adapters=self.config.adapters, device=self.config.device)
        return self.writer

    def keywords(self, texts: Sequence[str], index: SearchIndex) -> list[str]:
        """Keyword reasonings for ``texts``: from the cache, else generated (greedy) and cached."""
        lm = self.lm_for(index)
        keys = [cache_key(lm.cache_key, PROMPT_VERSION, t) for t in texts]
        out: list[str | None] = [self.cache.get(k) for k in keys]
        missing = [i for i, v in enumerate(out) if v is None]
        if missing:
            generated = lm.generate([texts[i] for i in missing])
            for i, gens in zip(missing, generated, strict=True):
                out[i] = gens[0].text
                self.cache.set(keys[i], gens[0].text)
        return [v or "" for v in out]

    def route(self, texts: Sequence[str], direct: np.ndarray, index: SearchIndex) -> np.ndarray:
        """Router decisions ``[n]`` from the direct pass (dense scores, BM25 overlap, length)."""
        k = min(self.route_k, max(len(index), 1))
        scores, ids = index.vectors.search(direct, k, device=index.device)
        lexical = None
        if index.bm25 is not None:
            _, lexical = index.bm25.search(list(texts), k)
        feats = router_features(scores, ids, lexical, [len(t.split()) for t in texts], k)
        assert self.router is not None
        return self.router.decide(feats)

    def _embed_reasoned(self, texts: Sequence[str], keywords: Sequence[str], index: SearchIndex) -> np.ndarray:
        if self.mode_for(index) == "unified":
            return index.embedder.encode_reasoned(texts, keywords)  # type: ignore[attr-defined, no-any-return]
        return index.embedder.encode_queries([two_tower_text(t, k) for t, k in zip(texts, keywords, strict=True)])


def two_tower_text(query: str, keywords: str) -> str:
    """What the regular embedder sees in two-tower mode: the query followed by the keywords."""
    return f"{query} {keywords}".strip()


def build_reasoner(llm: str | None = None, device: str | None = None, **overrides: Any) -> LremReasoner:
    """A reasoner configured from ``THINKIR_REASONER_*`` (models load lazily, on the first reasoned query)."""
    cfg = ReasonerConfig.from_env(llm=llm, device=device)
    for k, v in overrides.items():
        setattr(cfg, k, v)
    return LremReasoner(cfg)
