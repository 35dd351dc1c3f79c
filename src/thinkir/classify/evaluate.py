"""Accuracy of a classifier on labelled descriptions: top-1, top-10, per-level top-1, LLM calls, latency."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from thinkir.classify.group import Classification, GroupClassifier
from thinkir.classify.taxonomy import Example, Taxonomy
from thinkir.errors import InputError

logger = logging.getLogger(__name__)


@dataclass
class ClassifyEval:
    """What one evaluation run measured."""

    pipeline: str
    metrics: dict[str, float]
    latencies_ms: dict[str, float]
    per_item: dict[str, dict[str, Any]] = field(default_factory=dict)


def item_metrics(result: Classification, gold: str, taxonomy: Taxonomy, k: int = 10) -> dict[str, Any]:
    """Per-item hits: ``top1``, ``top10`` and, for each depth, whether top-1 shares gold's ancestor."""
    codes = result.codes
    row: dict[str, Any] = {
        "gold": gold,
        "pred": codes[0] if codes else None,
        "top1": float(bool(codes) and codes[0] == gold),
        f"top{k}": float(gold in codes[:k]),
        "llm_calls": result.llm_calls,
    }
    gold_path = taxonomy.path(gold)
    pred_path = taxonomy.path(codes[0]) if codes else ()
    for depth in range(1, len(gold_path) + 1):
        hit = len(pred_path) >= depth and pred_path[depth - 1] == gold_path[depth - 1]
        row[f"acc_{taxonomy.level_name(depth)}"] = float(hit)
    return row


def evaluate_classifier(
    classifier: GroupClassifier,
    examples: Sequence[Example],
    pipeline: str = "group",
    k: int = 10,
    progress: bool = False,
) -> ClassifyEval:
    """Classify each example alone (so latency is per item) and average the per-item hits.

    ``pipeline``: ``group`` (beam search with the classifier's voters) or ``flat`` (retriever top-k).
    """
    if pipeline not in ("group", "flat"):
        raise InputError(f"pipeline must be 'group' or 'flat', not {pipeline!r}")
    if not examples:
        raise InputError("no examples to evaluate")
    for e in examples:
        if e.code not in classifier.taxonomy:
            raise InputError(f"gold code {e.code!r} is not in the taxonomy")
    iterator: Any = examples
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(examples, desc=f"classify ({pipeline})", unit="item")
    per_item: dict[str, dict[str, Any]] = {}
    latencies: dict[str, float] = {}
    for i, e in enumerate(iterator):
        start = time.perf_counter()
        flat = pipeline == "flat"
        result = classifier.flat([e.text], k)[0] if flat else classifier.classify(e.text, top_k=k)
        qid = str(i)
        latencies[qid] = (time.perf_counter() - start) * 1000
        per_item[qid] = {"text": e.text, **item_metrics(result, e.code, classifier.taxonomy, k)}
    keys = [key for key in next(iter(per_item.values())) if key.startswith(("top", "acc_"))]
    metrics = {key: sum(r.get(key, 0.0) for r in per_item.values()) / len(per_item) for key in keys}
    metrics["llm_calls_per_item"] = sum(r["llm_calls"] for r in per_item.values()) / len(per_item)
    return ClassifyEval(pipeline, metrics, latencies, per_item)


def pipeline_name(classifier: GroupClassifier, pipeline: str) -> str:
    """``flat`` or ``group[retriever=1,lexical=0.3]`` (voter weights) for the contract line."""
    if pipeline == "flat":
        return "flat"
    weights = ",".join(f"{n}={classifier.weights[n]:g}" for n in classifier.voters)
    return f"group[{weights}]"
