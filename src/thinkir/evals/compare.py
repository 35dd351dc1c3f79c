"""Compare two TREC runs on the same qrels: means, paired significance tests, win/tie/loss."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thinkir.evals.datasets import load_qrels
from thinkir.evals.metrics import EvalResult, evaluate, parse_measures
from thinkir.evals.report import contract_record
from thinkir.evals.runs import read_run
from thinkir.evals.significance import Comparison, compare


@dataclass(frozen=True)
class CompareReport:
    """A run B against a baseline run A. ``comparisons`` holds one entry per measure."""

    name_a: str
    name_b: str
    dataset: str
    a: EvalResult
    b: EvalResult
    comparisons: tuple[Comparison, ...]

    @property
    def counts_a(self) -> dict[str, int]:
        return self.a.counts()

    @property
    def counts_b(self) -> dict[str, int]:
        return self.b.counts()

    def table(self) -> str:
        head = f"{'measure':>14}  {'A':>7}  {'B':>7}  {'B-A':>8}  {'p(t)':>7}  {'p(rand)':>7}  win/tie/loss"
        rows = [head]
        for c in self.comparisons:
            rows.append(
                f"{c.measure:>14}  {c.mean_a:7.4f}  {c.mean_b:7.4f}  {c.delta:+8.4f}  {c.p_ttest:7.4f}  "
                f"{c.p_randomization:7.4f}  {c.wins}/{c.ties}/{c.losses}"
            )
        return "\n".join(rows)

    def record(self) -> dict[str, Any]:
        """Contract record: ``metrics`` are run B's means; A's means, the differences and the tests follow.
        Runs carry no timings, so ``latency_ms`` values are null."""
        n = self.comparisons[0].n if self.comparisons else 0
        return contract_record(
            "compare",
            self.dataset,
            f"{self.name_a} vs {self.name_b}",
            n,
            {c.measure: c.mean_b for c in self.comparisons},
            {"p50": None, "p99": None},
            metrics_a={c.measure: round(c.mean_a, 4) for c in self.comparisons},
            comparison={
                c.measure: {
                    "delta": round(c.delta, 4),
                    "p_ttest": c.p_ttest,
                    "p_randomization": c.p_randomization,
                    "wins": c.wins,
                    "ties": c.ties,
                    "losses": c.losses,
                }
                for c in self.comparisons
            },
        )

    def payload(self) -> dict[str, Any]:
        """The record plus per-query values of both runs (what ``--out`` writes)."""
        per_query = {q: {"a": self.a.per_query[q], "b": self.b.per_query.get(q, {})} for q in self.a.per_query}
        return {**self.record(), "tests": [c.to_dict() for c in self.comparisons], "per_query": per_query}


def compare_runs(
    run_a: Path | str,
    run_b: Path | str,
    qrels: Path | str,
    measures: Sequence[str] | str | None = "nDCG@10",
    permutations: int = 10_000,
    seed: int = 0,
) -> CompareReport:
    """Evaluate both runs over the union of their queries (a query one run lacks scores 0 there) and
    test B against A per measure."""
    run_a, run_b = Path(run_a), Path(run_b)
    judgments = load_qrels(qrels)
    ra, rb = read_run(run_a), read_run(run_b)
    names = [str(m) for m in parse_measures(measures)]
    query_ids = list(dict.fromkeys([*ra, *rb]))
    a = evaluate(judgments, ra, names, query_ids=query_ids)
    b = evaluate(judgments, rb, names, query_ids=query_ids)
    comparisons = tuple(compare(a.values(m), b.values(m), m, permutations=permutations, seed=seed) for m in names)
    return CompareReport(run_a.stem, run_b.stem, Path(qrels).parent.name, a, b, comparisons)
