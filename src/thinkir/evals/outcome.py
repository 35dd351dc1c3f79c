"""What one evaluation produced: metrics, the run, per-query latency; turned into the contract record."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thinkir.evals.metrics import EvalResult
from thinkir.evals.report import contract_record, latency_summary, results_payload, write_json
from thinkir.evals.runs import Run, write_run


@dataclass
class EvalOutcome:
    """Metrics of one pipeline on one dataset, with the run and each query's wall time (ms)."""

    task: str
    dataset: str
    pipeline: str
    result: EvalResult
    run: Run
    latencies_ms: dict[str, float]
    details: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """The contract record, extended with the query counts and ``details``."""
        counts = self.result.counts()
        n = counts.pop("n_queries")
        return contract_record(
            self.task,
            self.dataset,
            self.pipeline,
            n,
            self.result.metrics,
            latency_summary(list(self.latencies_ms.values())),
            **counts,
            **self.details,
        )

    def save(self, out: Path | str | None = None, run: Path | str | None = None) -> None:
        """Write the per-query results (``out``, JSON) and the TREC run file (``run``) when given."""
        if out is not None:
            write_json(
                out,
                results_payload(
                    self.record(),
                    self.result.per_query,
                    self.latencies_ms,
                    unjudged=list(self.result.unjudged),
                    empty=list(self.result.empty),
                ),
            )
        if run is not None:
            write_run(run, self.run, tag=self.pipeline)
