from __future__ import annotations

import io
import json

from thinkir.evals.report import CONTRACT_KEYS, contract_line, latency_summary, print_contract


def test_latency_summary_percentiles() -> None:
    lat = [float(i) for i in range(1, 101)]  # 1..100 ms
    assert latency_summary(lat) == {"p50": 50.5, "p99": 99.01}
    assert latency_summary([]) == {"p50": None, "p99": None}


def test_contract_line_shape_and_extensions() -> None:
    buf = io.StringIO()
    record = print_contract(
        task="classify",
        dataset="naics",
        pipeline="green",
        n_queries=3,
        metrics={"top1": 2 / 3, "top10": 1.0},
        latency_ms={"p50": 1.5, "p99": 9.0},
        n_unjudged=0,
        file=buf,
    )
    line = buf.getvalue()
    assert line.endswith("\n") and line.count("\n") == 1
    parsed = json.loads(line)
    assert parsed == record
    assert tuple(parsed)[:6] == CONTRACT_KEYS
    assert parsed["metrics"] == {"top1": 0.6667, "top10": 1.0} and parsed["n_unjudged"] == 0
    assert json.loads(contract_line("rerank", "d", "p", 1, {}, {"p50": None, "p99": None}))["latency_ms"] == {
        "p50": None,
        "p99": None,
    }
