"""Ranking metrics through ir-measures (trec_eval definitions), with per-query values kept.

Which queries count, stated once: a query is *evaluated* when the qrels judge at least one document
for it. Evaluated queries that the run leaves empty score 0 (as ``trec_eval -c`` does). Queries in the
run with no judged document cannot be scored; they are left out of the means and reported in
:attr:`EvalResult.unjudged`. Nothing is dropped silently.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from thinkir.errors import InputError
from thinkir.evals.datasets import Qrels, check_overlap
from thinkir.evals.runs import Run

logger = logging.getLogger(__name__)

DEFAULT_MEASURES = ("nDCG@10", "nDCG@5", "R@100", "R@1000", "RR@10", "AP@100")


def parse_measures(names: Iterable[str] | str | None = None) -> list[Any]:
    """ir-measures measure objects for ``names`` (default :data:`DEFAULT_MEASURES`).

    Accepts any ir-measures name (``P@10``, ``R(rel=2)@1000``, ``MAP@100`` → ``AP@100``); a comma-
    separated string is split.

    Raises:
        InputError: a name ir-measures does not know.
    """
    import ir_measures

    if names is None:
        names = DEFAULT_MEASURES
    if isinstance(names, str):
        names = [n for n in names.split(",")]
    out = []
    for name in names:
        name = name.strip()
        if not name:
            continue
        try:
            out.append(ir_measures.parse_measure(name))
        except (ValueError, NameError, SyntaxError, TypeError, AttributeError) as err:
            raise InputError(
                f"unknown measure {name!r} ({err}); use ir-measures names such as {list(DEFAULT_MEASURES)}"
            ) from err
    if not out:
        raise InputError("no measures given")
    return out


@dataclass(frozen=True)
class EvalResult:
    """Metric means over the evaluated queries, and every query's values.

    Attributes:
        metrics: measure name (as ir-measures writes it) -> mean over evaluated queries.
        per_query: query id -> measure name -> value, for every evaluated query.
        unjudged: run query ids with no judged document (not in the means).
        empty: evaluated query ids for which the run returned nothing (scored 0).
        no_relevant: evaluated query ids whose judgments are all non-relevant (grade <= 0).
        judged_not_run: judged query ids the run was not asked for (not evaluated).
    """

    metrics: dict[str, float]
    per_query: dict[str, dict[str, float]]
    unjudged: tuple[str, ...] = ()
    empty: tuple[str, ...] = ()
    no_relevant: tuple[str, ...] = ()
    judged_not_run: tuple[str, ...] = ()

    @property
    def n_queries(self) -> int:
        return len(self.per_query)

    def counts(self) -> dict[str, int]:
        return {
            "n_queries": self.n_queries,
            "n_unjudged": len(self.unjudged),
            "n_empty": len(self.empty),
            "n_no_relevant": len(self.no_relevant),
            "n_judged_not_in_run": len(self.judged_not_run),
        }

    def values(self, measure: str) -> dict[str, float]:
        """Per-query values of one measure."""
        if measure not in self.metrics:
            raise InputError(f"measure {measure!r} was not computed; have {list(self.metrics)}")
        return {q: v[measure] for q, v in self.per_query.items()}


def evaluate(
    qrels: Qrels,
    run: Run,
    measures: Sequence[str] | str | None = None,
    query_ids: Iterable[str] | None = None,
) -> EvalResult:
    """Score ``run`` against ``qrels``.

    Args:
        query_ids: the queries the run was asked for (default: the run's queries). Judged queries among
            them that the run leaves empty score 0; judged queries outside them are not evaluated.

    Raises:
        InputError: no qrels query id matches the run's queries (the message says how many matched).
    """
    import ir_measures

    parsed = parse_measures(measures)
    asked = list(dict.fromkeys(query_ids)) if query_ids is not None else list(run)
    check_overlap(qrels, asked, what="queries of the run")
    judged = [q for q in asked if qrels.get(q)]
    unjudged = tuple(q for q in asked if not qrels.get(q))
    empty = tuple(q for q in judged if not run.get(q))
    no_relevant = tuple(q for q in judged if not any(g > 0 for g in qrels[q].values()))

    judged_set = set(judged)
    qrel_rows = [ir_measures.Qrel(q, d, g) for q in judged for d, g in qrels[q].items()]
    run_rows = [ir_measures.ScoredDoc(q, d, s) for q in judged for d, s in run.get(q, [])]
    per_query: dict[str, dict[str, float]] = {q: {} for q in judged}
    names = [str(m) for m in parsed]
    if run_rows:
        for metric in ir_measures.iter_calc(parsed, qrel_rows, run_rows):
            if metric.query_id in judged_set:
                per_query[metric.query_id][str(metric.measure)] = float(metric.value)
    for q in judged:  # trec_eval -c: judged queries the run missed count as 0
        for name in names:
            value = per_query[q].setdefault(name, 0.0)
            if math.isnan(value):
                per_query[q][name] = 0.0
    means = {name: (sum(v[name] for v in per_query.values()) / len(per_query) if per_query else 0.0) for name in names}
    asked_set = set(asked)
    not_run = tuple(q for q in qrels if q not in asked_set)
    if not_run:
        logger.warning(
            "%d judged queries are not among the %d queries evaluated, e.g. %s",
            len(not_run),
            len(asked),
            list(not_run[:5]),
        )
    return EvalResult(means, per_query, unjudged, empty, no_relevant, not_run)


def evaluate_lists(
    qrels: Qrels, lists: Sequence[Any], measures: Sequence[str] | str | None = None
) -> tuple[EvalResult, Run]:
    """Evaluate ranked lists (see :func:`thinkir.evals.runs.from_ranked_lists`); returns the run too."""
    from thinkir.evals.runs import from_ranked_lists

    run = from_ranked_lists(lists)
    return evaluate(qrels, run, measures, query_ids=[r.query.id for r in lists]), run


def summarize(result: EvalResult) -> str:
    """Human-readable lines: metric means, then the query counts."""
    lines = [f"{name:>14}  {value:.4f}" for name, value in result.metrics.items()]
    c = result.counts()
    lines.append(
        f"queries: {c['n_queries']} evaluated, {c['n_unjudged']} without judged documents (not scored), "
        f"{c['n_empty']} with no results (scored 0), {c['n_no_relevant']} with no relevant document, "
        f"{c['n_judged_not_in_run']} judged but not in the run (not scored)"
    )
    return "\n".join(lines)
