"""The LREM evaluation's built-in metrics agree with ir-measures; the scipy BM25 fallback ranks sensibly."""

from __future__ import annotations

import numpy as np
import pytest

from thinkir.retrieval.reasoning.evaluate import _bm25_scipy, metrics_builtin


def test_builtin_metrics_match_ir_measures() -> None:
    ir_measures = pytest.importorskip("ir_measures")
    rng = np.random.default_rng(0)
    docs = [f"d{i}" for i in range(150)]
    qrels = {f"q{q}": {d: int(rng.integers(0, 3)) for d in rng.choice(docs, 6, replace=False)} for q in range(20)}
    qrels["q0"] = {"d1": 1}
    run = {
        q: [(d, float(s)) for d, s in zip(rng.permutation(docs)[:120], np.sort(rng.random(120))[::-1], strict=True)]
        for q in qrels
    }
    run["q0"] = [("d1", 1.0)]
    ours = metrics_builtin(qrels, run)
    measures = [ir_measures.nDCG @ 10, ir_measures.R @ 100]
    qrel_rows = [ir_measures.Qrel(q, d, g) for q, js in qrels.items() for d, g in js.items()]
    run_rows = [ir_measures.ScoredDoc(q, d, s) for q, r in run.items() for d, s in r]
    for m in ir_measures.iter_calc(measures, qrel_rows, run_rows):
        if m.query_id in ours and any(g > 0 for g in qrels[m.query_id].values()):
            assert ours[m.query_id][str(m.measure)] == pytest.approx(m.value, abs=1e-9)
    assert ours["q0"]["nDCG@10"] == 1.0 and ours["q0"]["R@100"] == 1.0


def test_scipy_bm25_fallback() -> None:
    corpus = ["vitamin d and bone density", "smoking and tuberculosis", "cancer cell growth", "bone fractures"]
    top = _bm25_scipy(corpus, ["tuberculosis in smokers", "bone", "unrelated words"], k=2)
    assert top[0, 0] == 1
    assert set(top[1].tolist()) == {0, 3}
    assert (top[2] == -1).all()
