"""Rerank evaluation: a candidate file (RankGPT/rank_llm JSON), a named reranker, a depth, qrels."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

from thinkir.errors import InputError
from thinkir.evals.datasets import check_overlap, load_candidates, load_qrels
from thinkir.evals.metrics import evaluate
from thinkir.evals.outcome import EvalOutcome
from thinkir.evals.runs import from_ranked_lists
from thinkir.rerank import Reranker, load_reranker
from thinkir.types import RankedList

logger = logging.getLogger(__name__)


def rerank_lists(
    lists: Sequence[RankedList], reranker: Reranker, depth: int = 100, progress: bool = False
) -> tuple[list[RankedList], dict[str, float]]:
    """Rerank each query's top ``depth`` candidates; the rest follow in their first-stage order.

    Returns the new lists and each query's reranking wall time in milliseconds.
    """
    if depth < 1:
        raise InputError("depth must be at least 1")
    out: list[RankedList] = []
    latencies: dict[str, float] = {}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(lists), desc=f"rerank ({reranker.name or type(reranker).__name__})", unit="query")
    for ranked in lists:
        head, tail = ranked.candidates[:depth], ranked.candidates[depth:]
        t0 = time.perf_counter()
        reranked = reranker.rerank(ranked.query, head)
        latencies[ranked.query.id] = (time.perf_counter() - t0) * 1000
        out.append(RankedList(ranked.query, reranked.candidates + tail, reranked.trace))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return out, latencies


def evaluate_rerank(
    candidates: Path | str,
    qrels: Path | str,
    reranker: str | Reranker = "identity",
    depth: int = 100,
    measures: Sequence[str] | str | None = None,
    dataset: str | None = None,
    progress: bool = False,
) -> EvalOutcome:
    """Rerank a candidate file at ``depth`` and score it. The qrels are checked before reranking."""
    candidates, qrels_path = Path(candidates), Path(qrels)
    lists = load_candidates(candidates)
    judgments = load_qrels(qrels_path)
    check_overlap(judgments, [r.query.id for r in lists], what=f"queries of {candidates.name}")
    model = load_reranker(reranker) if isinstance(reranker, str) else reranker
    name = reranker if isinstance(reranker, str) else (model.name or type(model).__name__)
    reranked, latencies = rerank_lists(lists, model, depth, progress=progress)
    run = from_ranked_lists(reranked)
    result = evaluate(judgments, run, measures, query_ids=[r.query.id for r in reranked])
    n_cands = [len(r) for r in lists]
    return EvalOutcome(
        task="rerank",
        dataset=dataset or candidates.parent.name or candidates.stem,
        pipeline=name,
        result=result,
        run=run,
        latencies_ms=latencies,
        details={"depth": depth, "candidates_per_query": max(n_cands) if n_cands else 0},
    )
