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


def test_dl19_loader_builds_the_candidate_union(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from thinkir.retrieval.reasoning.evaluate import LremEvalConfig, _load_dl19

    folder = tmp_path / "trec-dl19"
    folder.mkdir()
    rows = [
        {
            "query": "flea life",
            "hits": [{"qid": 7, "docid": "b", "content": "B"}, {"qid": 7, "docid": "a", "content": "A"}],
        },
        {"query": "unjudged", "hits": [{"qid": 9, "docid": "c", "content": "C"}]},
        {
            "query": "cats",
            "hits": [{"qid": 12, "docid": "a", "content": "A"}, {"qid": 12, "docid": "d", "content": "D"}],
        },
    ]
    (folder / "bm25_top100.json").write_text(json.dumps(rows))
    (folder / "qrels.txt").write_text("7 Q0 a 2\n7 Q0 x 0\n12 Q0 d 3\n")
    doc_ids, docs, splits = _load_dl19(LremEvalConfig(data_dir=str(tmp_path), dataset="dl19"))
    assert doc_ids == ["a", "b", "c", "d"] and docs == ["A", "B", "C", "D"]  # every candidate, once
    assert set(splits) == {"test"}  # no dev split on DL19: nothing is tuned there
    test = splits["test"]
    assert test.qids == ["7", "12"] and test.texts == ["flea life", "cats"]  # judged queries only
    assert test.qrels["7"] == {"a": 2, "x": 0}


def test_reused_router_needs_a_scifact_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from thinkir.retrieval.reasoning.evaluate import LremEvalConfig, _reused_router
    from thinkir.retrieval.reasoning.router import Router

    with pytest.raises(ValueError, match="routers_from"):
        _reused_router(LremEvalConfig(dataset="dl19"), "two_tower_grpo")
    Router(weights=[0.5, -1.0, 0.2], bias=0.1, mean=[0.0] * 3, std=[1.0] * 3).save(tmp_path / "router_u.json")
    curve = [{"threshold": 0.0}, {"threshold": 0.42}, {"threshold": 1.01}]
    (tmp_path / "summary.json").write_text(json.dumps({"router": {"u": {"curve": curve}}}))
    router, thresholds, _ = _reused_router(LremEvalConfig(dataset="dl19", routers_from=str(tmp_path)), "u")
    assert thresholds == [0.0, 0.42, 1.01]
    assert router.weights == [0.5, -1.0, 0.2] and router.bias == 0.1


def test_dense_retriever_corpus_cache(tiny_embedder_path: str, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from thinkir.training.lrem_data import DenseRetriever

    monkeypatch.setenv("THINKIR_CACHE_DIR", str(tmp_path))
    retr = DenseRetriever(tiny_embedder_path, device="cpu")
    docs = ["vitamin d and bone density", "smoking and tuberculosis", "cancer cell growth"]
    first = retr.encode(docs, cache=True)
    assert len(list((tmp_path / "embeddings").glob("*.npy"))) == 1

    def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("a cached corpus must not be encoded again")

    monkeypatch.setattr(retr.model, "encode", boom)
    np.testing.assert_array_equal(retr.encode(docs, cache=True), first)
    with pytest.raises(AssertionError):  # other texts miss the cache
        retr.encode([*docs[:2], "cancer cell death"], cache=True)
