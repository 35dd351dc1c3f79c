from __future__ import annotations

from pathlib import Path

import pytest

from thinkir.evals.compare import compare_runs


def test_compare_runs_pairs_queries_and_scores_missing_ones_zero(tmp_path: Path) -> None:
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("q1 0 a 1\nq2 0 b 1\nq3 0 c 1\n")
    a = tmp_path / "a.trec"
    a.write_text("q1 Q0 x 1 2.0 A\nq1 Q0 a 2 1.0 A\nq2 Q0 b 1 1.0 A\nq3 Q0 c 1 1.0 A\n")
    b = tmp_path / "b.trec"  # q1 better (a at rank 1), q2 missing (0), q3 equal
    b.write_text("q1 Q0 a 1 2.0 B\nq3 Q0 c 1 1.0 B\n")
    report = compare_runs(a, b, qrels, "RR@10", permutations=1000)
    c = report.comparisons[0]
    # A: RR = 0.5, 1, 1 ; B: 1, 0, 1
    assert (c.mean_a, c.mean_b) == (pytest.approx(2.5 / 3), pytest.approx(2 / 3))
    assert (c.n, c.wins, c.ties, c.losses) == (3, 1, 1, 1)
    assert report.b.empty == ("q2",)
    record = report.record()
    assert record["pipeline"] == "a vs b" and record["metrics"] == {"RR@10": 0.6667}
    assert record["metrics_a"] == {"RR@10": 0.8333} and record["comparison"]["RR@10"]["delta"] == -0.1667
    assert record["latency_ms"] == {"p50": None, "p99": None}
    assert set(report.payload()["per_query"]) == {"q1", "q2", "q3"}
