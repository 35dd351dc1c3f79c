"""Group reasoning down the hierarchy (GREEN): a beam search whose every step is a small ensemble vote.

For one description:

1. the retriever returns its top-K leaves; a node is *supported* when one of them lies under it;
2. level by level (NAICS: 2 → 3 → 4 → 5 → 6 digits), each path in the beam is extended by the
   supported children of its last node; when there are two or more, every voter gives a distribution
   over them and the votes combine as ``p(child) = sum_v w_v * p_v(child) / sum_v w_v`` (voters that
   abstain drop out of both sums); a single supported child is taken with probability 1;
3. a path's score is the product of its per-level probabilities; after each level the best
   ``beam_width`` paths survive, except at the last level where all expansions are ranked;
4. the result is the top-k leaves (with path, per-level confidences and each voter's opinion); when
   the beam yields fewer than k, the retriever's next leaves fill the list (marked ``source=retriever``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from thinkir.classify.taxonomy import Taxonomy
from thinkir.classify.voters import ItemContext, Voter
from thinkir.errors import InputError


@dataclass(frozen=True, slots=True)
class Decision:
    """One vote: the options under ``parent`` and each voter's and the combined distribution."""

    depth: int
    parent: str | None
    options: tuple[str, ...]
    combined: dict[str, float]
    opinions: dict[str, dict[str, float]]


@dataclass(frozen=True, slots=True)
class CodePrediction:
    code: str
    title: str
    score: float
    path: tuple[str, ...]
    confidences: tuple[float, ...]
    opinions: tuple[dict[str, float], ...] = ()
    source: str = "beam"


@dataclass(frozen=True, slots=True)
class Classification:
    text: str
    predictions: tuple[CodePrediction, ...]
    decisions: tuple[Decision, ...] = ()
    llm_calls: int = 0
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self.predictions]

    def to_dict(self, with_decisions: bool = False) -> dict[str, object]:
        out: dict[str, object] = {
            "text": self.text,
            "predictions": [
                {
                    "code": p.code,
                    "title": p.title,
                    "score": round(p.score, 6),
                    "path": list(p.path),
                    "confidences": [round(c, 6) for c in p.confidences],
                    "opinions": [{v: round(x, 6) for v, x in o.items()} for o in p.opinions],
                    "source": p.source,
                }
                for p in self.predictions
            ],
            "llm_calls": self.llm_calls,
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
        }
        if with_decisions:
            out["decisions"] = [
                {
                    "depth": d.depth,
                    "parent": d.parent,
                    "combined": {k: round(v, 6) for k, v in d.combined.items()},
                    "opinions": {n: {k: round(v, 6) for k, v in o.items()} for n, o in d.opinions.items()},
                }
                for d in self.decisions
            ]
        return out


def combine_votes(
    opinions: Mapping[str, Mapping[str, float]], weights: Mapping[str, float], options: Sequence[str]
) -> dict[str, float]:
    """Weighted average of the voters' distributions over ``options``.

    ``opinions`` maps voter → option → probability; voters with weight 0 or without an opinion are
    ignored. Each distribution is renormalised over ``options`` first, so the result sums to 1.
    """
    total_weight = 0.0
    combined = dict.fromkeys(options, 0.0)
    for voter, dist in opinions.items():
        w = weights.get(voter, 0.0)
        if w <= 0:
            continue
        mass = sum(max(dist.get(o, 0.0), 0.0) for o in options)
        if mass <= 0:
            continue
        for o in options:
            combined[o] += w * max(dist.get(o, 0.0), 0.0) / mass
        total_weight += w
    if total_weight == 0:
        return {o: 1.0 / len(options) for o in options}
    return {o: v / total_weight for o, v in combined.items()}


@dataclass(frozen=True, slots=True)
class _Path:
    nodes: tuple[str, ...]
    logp: float
    confidences: tuple[float, ...]
    opinions: tuple[dict[str, float], ...]


class GroupClassifier:
    """Hierarchical classifier: retriever support + ensemble votes + beam search.

    Args:
        taxonomy: the hierarchy.
        retriever: anything with ``search(texts, k) -> [[(leaf, score)]]`` (a
            :class:`~thinkir.classify.retriever.LabelRetriever`).
        voters: name → voter; only those with a positive weight vote.
        weights: name → vote weight.
        retrieve_k: leaves retrieved per description (the support of the walk).
        beam_width: paths kept per level.
        top_k: leaves returned.
    """

    def __init__(
        self,
        taxonomy: Taxonomy,
        retriever: object,
        voters: Mapping[str, Voter],
        weights: Mapping[str, float],
        retrieve_k: int = 50,
        beam_width: int = 3,
        top_k: int = 10,
    ) -> None:
        if beam_width < 1 or retrieve_k < 1 or top_k < 1:
            raise InputError("beam_width, retrieve_k and top_k must be >= 1")
        self.taxonomy = taxonomy
        self.retriever = retriever
        self.voters = {n: v for n, v in voters.items() if weights.get(n, 0.0) > 0}
        if not self.voters:
            raise InputError(f"no voter has a positive weight (weights {dict(weights)}, voters {list(voters)})")
        self.weights = dict(weights)
        self.retrieve_k = retrieve_k
        self.beam_width = beam_width
        self.top_k = top_k

    # ---- public API ---------------------------------------------------------------------------
    def classify(self, text: str, top_k: int | None = None) -> Classification:
        return self.classify_batch([text], top_k)[0]

    def classify_batch(self, texts: Sequence[str], top_k: int | None = None) -> list[Classification]:
        """Classify several descriptions (embedded in one batch, walked one by one)."""
        texts = _check_texts(texts)
        start = time.perf_counter()
        retrieved = self.retriever.search(texts, max(self.retrieve_k, top_k or self.top_k))  # type: ignore[attr-defined]
        per_item_retrieval = (time.perf_counter() - start) * 1000 / len(texts)
        out = []
        for text, hits in zip(texts, retrieved, strict=True):
            t0 = time.perf_counter()
            result = self.walk(text, hits, top_k or self.top_k)
            result.timings_ms.update({"retrieve": per_item_retrieval, "walk": (time.perf_counter() - t0) * 1000})
            out.append(result)
        return out

    def flat(self, texts: Sequence[str], k: int | None = None) -> list[Classification]:
        """Flat retrieval baseline: the retriever's top-k leaves, no hierarchy, no voters."""
        texts = _check_texts(texts)
        k = k or self.top_k
        start = time.perf_counter()
        hits = self.retriever.search(texts, k)  # type: ignore[attr-defined]
        ms = (time.perf_counter() - start) * 1000 / len(texts)
        return [
            Classification(
                text,
                tuple(self._prediction(code, score, source="retriever") for code, score in row[:k]),
                timings_ms={"retrieve": ms},
            )
            for text, row in zip(texts, hits, strict=True)
        ]

    # ---- the walk -----------------------------------------------------------------------------
    def walk(self, text: str, retrieved: Sequence[tuple[str, float]], top_k: int) -> Classification:
        """Beam search down the hierarchy for one description, given the retriever's ranked leaves."""
        tax = self.taxonomy
        support_hits = list(retrieved[: self.retrieve_k])
        support = {node for leaf, _ in support_hits for node in tax.path(leaf)}
        ctx = ItemContext(text, support_hits)
        for voter in self.voters.values():
            voter.prepare(ctx)
        beam = [_Path((), 0.0, (), ())]
        finished: list[_Path] = []
        decisions: list[Decision] = []
        llm_calls = 0
        for depth in range(1, tax.max_depth + 1):
            expanded: list[_Path] = []
            for path in beam:
                parent = path.nodes[-1] if path.nodes else None
                options = [c for c in tax.children(parent) if c in support]
                if not options:
                    finished.append(path)
                    continue
                if len(options) == 1:
                    combined, opinions = {options[0]: 1.0}, {}
                else:
                    opinions = {
                        name: voter.vote(ctx, parent, options)
                        for name, voter in self.voters.items()
                        if voter.applies(options)
                    }
                    llm_calls += int("llm" in opinions)
                    combined = combine_votes(opinions, self.weights, options)
                    decisions.append(Decision(depth, parent, tuple(options), combined, opinions))
                for o in options:
                    p = combined[o]
                    expanded.append(
                        _Path(
                            path.nodes + (o,),
                            path.logp + (math.log(p) if p > 0 else -math.inf),
                            path.confidences + (p,),
                            path.opinions + ({n: d[o] for n, d in opinions.items()},),
                        )
                    )
            if not expanded:
                beam = []
                break
            expanded.sort(key=lambda q: (-q.logp, q.nodes))
            is_last = all(tax.is_leaf(q.nodes[-1]) for q in expanded)
            if is_last:
                finished.extend(expanded)
                beam = []
                break
            # leaves end their path here (taxonomies with leaves at several depths); all are ranked
            finished.extend(q for q in expanded if tax.is_leaf(q.nodes[-1]))
            beam = [q for q in expanded[: self.beam_width] if not tax.is_leaf(q.nodes[-1])]
        finished.extend(beam)
        finished.sort(key=lambda q: (-q.logp, q.nodes))
        predictions = [
            CodePrediction(q.nodes[-1], tax[q.nodes[-1]].title, math.exp(q.logp), q.nodes, q.confidences, q.opinions)
            for q in finished
            if q.nodes and q.logp > -math.inf
        ][:top_k]
        seen = {p.code for p in predictions}
        for leaf, score in retrieved:
            if len(predictions) >= top_k:
                break
            if leaf not in seen:
                predictions.append(self._prediction(leaf, 0.0, source="retriever", retrieval_score=score))
                seen.add(leaf)
        return Classification(text, tuple(predictions), tuple(decisions), llm_calls, {})

    def _prediction(self, code: str, score: float, source: str, retrieval_score: float | None = None) -> CodePrediction:
        opinions: tuple[dict[str, float], ...] = ()
        if retrieval_score is not None:
            opinions = ({"retriever_cosine": retrieval_score},)
        return CodePrediction(code, self.taxonomy[code].title, score, self.taxonomy.path(code), (), opinions, source)


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise InputError("pass a list of descriptions, not a single string")
    if not texts:
        raise InputError("no descriptions given")
    out = []
    for t in texts:
        if not isinstance(t, str) or not t.strip():
            raise InputError("the description is empty")
        out.append(" ".join(t.split()))
    return out
