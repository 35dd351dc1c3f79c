"""The contract every ``thinkir eval`` command ends with, latency summaries and result files.

Use from any eval command (retrieval, rerank, classify)::

    from thinkir.evals.report import latency_summary, print_contract

    print_contract(task="classify", dataset="naics", pipeline="green", n_queries=len(rows),
                   metrics={"top1": 0.61, "top10": 0.88}, latency_ms=latency_summary(per_item_ms))

which writes, as one line on stdout,
``{"task", "dataset", "pipeline", "n_queries", "metrics", "latency_ms": {"p50", "p99"}}``.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

CONTRACT_KEYS = ("task", "dataset", "pipeline", "n_queries", "metrics", "latency_ms")


def latency_summary(latencies_ms: Sequence[float]) -> dict[str, float | None]:
    """``{"p50", "p99"}`` in milliseconds (linear interpolation, as numpy); None for no samples."""
    if len(latencies_ms) == 0:
        return {"p50": None, "p99": None}
    arr = np.asarray(latencies_ms, dtype=float)
    return {"p50": round(float(np.percentile(arr, 50)), 3), "p99": round(float(np.percentile(arr, 99)), 3)}


def contract_record(
    task: str,
    dataset: str,
    pipeline: str,
    n_queries: int,
    metrics: Mapping[str, float],
    latency_ms: Mapping[str, float | None],
    **extra: Any,
) -> dict[str, Any]:
    """The contract object, metric values rounded to 4 decimals. ``extra`` keys (extensions such as
    query counts) follow the six contract keys."""
    record: dict[str, Any] = {
        "task": task,
        "dataset": dataset,
        "pipeline": pipeline,
        "n_queries": int(n_queries),
        "metrics": {k: _round(v) for k, v in metrics.items()},
        "latency_ms": {"p50": latency_ms.get("p50"), "p99": latency_ms.get("p99")},
    }
    record.update(extra)
    return record


def contract_line(
    task: str,
    dataset: str,
    pipeline: str,
    n_queries: int,
    metrics: Mapping[str, float],
    latency_ms: Mapping[str, float | None],
    **extra: Any,
) -> str:
    """:func:`contract_record` as one compact JSON line (no newline)."""
    record = contract_record(task, dataset, pipeline, n_queries, metrics, latency_ms, **extra)
    return json.dumps(record, ensure_ascii=False, allow_nan=False)


def print_contract(
    task: str,
    dataset: str,
    pipeline: str,
    n_queries: int,
    metrics: Mapping[str, float],
    latency_ms: Mapping[str, float | None],
    file: IO[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Write the contract line to ``file`` (stdout) as the eval command's last line; returns the record."""
    record = contract_record(task, dataset, pipeline, n_queries, metrics, latency_ms, **extra)
    out = file or sys.stdout
    out.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
    out.flush()
    return record


def _round(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else round(value, 4)


def write_json(path: Path | str, payload: Mapping[str, Any]) -> Path:
    """Write a JSON file atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    os.replace(tmp, path)
    return path


def results_payload(
    record: Mapping[str, Any],
    per_query: Mapping[str, Mapping[str, float]],
    latencies_ms: Mapping[str, float] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """What ``--out`` writes: the contract record, then per-query metric values (and latency)."""
    rows = {}
    for qid, values in per_query.items():
        row: dict[str, Any] = dict(values)
        if latencies_ms is not None and qid in latencies_ms:
            row["latency_ms"] = round(latencies_ms[qid], 3)
        rows[qid] = row
    return {**record, **extra, "per_query": rows}
