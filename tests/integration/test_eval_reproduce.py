"""The harness reproduces published numbers on the shared data (offline, seconds each)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from thinkir.evals.datasets import load_beir
from thinkir.evals.metrics import evaluate_lists
from thinkir.evals.rerank import evaluate_rerank
from thinkir.indexing.readers import read_corpus
from thinkir.retrieval.bm25 import BM25sBackend
from thinkir.types import Candidate, RankedList


def test_dl19_bm25_top100_identity(shared_data: Path) -> None:
    d = shared_data / "trec-dl19"
    out = evaluate_rerank(d / "bm25_top100.json", d / "qrels.txt", "identity", depth=100)
    assert out.result.n_queries == 43 and not out.result.unjudged and not out.result.empty
    assert out.result.metrics["nDCG@10"] == pytest.approx(0.5058, abs=0.0005)
    assert len(out.latencies_ms) == 43


def test_trec_covid_bm25_top20_identity(shared_data: Path) -> None:
    d = shared_data / "trec-covid"
    out = evaluate_rerank(d / "bm25_top20.json", d / "qrels.txt", "identity", depth=20)
    assert out.result.n_queries == 50
    assert out.result.metrics["nDCG@10"] == pytest.approx(0.5947, abs=0.0005)


def test_scifact_bm25s_test_split(shared_data: Path) -> None:
    """bm25s (Lucene BM25, k1 0.9, b 0.4) over title + text, searched through thinkir's backend."""
    ds = load_beir(shared_data / "scifact", "test")
    docs = list(read_corpus(ds.corpus_path))
    assert len(docs) == 5183 and len(ds.queries) == 300
    bm25 = BM25sBackend()
    bm25.build([d.full_text for d in docs])
    scores, positions = bm25.search([q.text for q in ds.queries], 1000)
    lists = [
        RankedList(q, tuple(Candidate(docs[p].id, float(s)) for s, p in zip(row_s, row_p, strict=True) if p >= 0))
        for q, row_s, row_p in zip(ds.queries, scores, positions, strict=True)
    ]
    result, _ = evaluate_lists(ds.qrels, lists)
    assert result.n_queries == 300 and not result.unjudged
    assert 0.665 <= result.metrics["nDCG@10"] <= 0.685


def test_cli_eval_rerank_prints_the_contract_line(shared_data: Path, tmp_path: Path) -> None:
    d = shared_data / "trec-dl19"
    run = tmp_path / "dl19.trec"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "thinkir",
            "eval",
            "rerank",
            "--candidates",
            str(d / "bm25_top100.json"),
            "--qrels",
            str(d / "qrels.txt"),
            "--reranker",
            "identity",
            "--no-progress",
            "--run",
            str(run),
            "--out",
            str(tmp_path / "dl19.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    last = json.loads(proc.stdout.strip().splitlines()[-1])
    assert list(last)[:6] == ["task", "dataset", "pipeline", "n_queries", "metrics", "latency_ms"]
    assert (last["task"], last["dataset"], last["pipeline"], last["n_queries"]) == (
        "rerank",
        "trec-dl19",
        "identity",
        43,
    )
    assert last["metrics"]["nDCG@10"] == pytest.approx(0.5058, abs=0.0005)
    assert set(last["metrics"]) == {"nDCG@10", "nDCG@5", "R@100", "R@1000", "RR@10", "AP@100"}
    assert last["latency_ms"]["p50"] <= last["latency_ms"]["p99"]
    assert len(run.read_text().splitlines()) == 4300
    per_query = json.loads((tmp_path / "dl19.json").read_text())["per_query"]
    assert len(per_query) == 43 and "latency_ms" in next(iter(per_query.values()))


@pytest.mark.slow
def test_scifact_dense_minilm_through_the_cached_index(shared_data: Path) -> None:
    """all-MiniLM-L6-v2, exact search: published 0.645. Indexes SciFact into the cache on first run (minutes)."""
    from thinkir.config import get_settings
    from thinkir.evals.retrieval import evaluate_retrieval

    out = evaluate_retrieval(shared_data / "scifact", get_settings(progress=False), mode="dense", k=100)
    assert out.result.n_queries == 300
    assert out.result.metrics["nDCG@10"] == pytest.approx(0.645, abs=0.005)
