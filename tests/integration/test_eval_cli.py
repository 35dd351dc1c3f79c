"""``thinkir eval retrieval | compare`` end to end on a tiny BEIR folder (tiny random-weight embedder)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from thinkir.config import get_settings
from thinkir.errors import InputError
from thinkir.evals.compare import compare_runs
from thinkir.evals.datasets import load_beir
from thinkir.evals.metrics import evaluate
from thinkir.evals.retrieval import evaluate_retrieval, index_cache_dir
from thinkir.evals.runs import read_run
from thinkir.indexing.manifest import Manifest

TINY_BEIR = Path(__file__).resolve().parents[1] / "data" / "eval_beir"


def thinkir(*args: str, cache: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "THINKIR_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "thinkir", *args], capture_output=True, text=True, env=env, timeout=300, check=check
    )


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def invoke(*args: str) -> str:
    """Run the CLI in-process (no interpreter start-up); returns stdout."""
    from typer.testing import CliRunner

    from thinkir.cli import app

    result = CliRunner().invoke(app, list(args))
    if result.exception is not None:
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.stdout


def test_retrieval_builds_the_cached_index_once_and_scores(tmp_path: Path, tiny_embedder_path: str) -> None:
    settings = get_settings(cache_dir=tmp_path / "cache", embedder=tiny_embedder_path, progress=False, device="cpu")
    bm25 = evaluate_retrieval(TINY_BEIR, settings, mode="bm25", k=10)
    index_dir = index_cache_dir(load_beir(TINY_BEIR), settings)
    assert Path(bm25.details["index"]) == index_dir and index_dir.parent == tmp_path / "cache" / "indexes"
    built_at = Manifest.read(index_dir).created_at
    # by hand: BM25 ranks the relevant documents of q1 (d1 grade 2, d3 grade 1), q2 and q3 on top;
    # q4's only judgment is non-relevant, so it scores 0: mean nDCG@10 = 3 / 4
    assert bm25.result.per_query["q1"]["nDCG@10"] == pytest.approx(1.0)
    assert bm25.result.metrics["nDCG@10"] == pytest.approx(0.75)
    assert bm25.result.no_relevant == ("q4",) and bm25.result.n_queries == 4
    assert bm25.run["q1"][:2] == [("d1", bm25.run["q1"][0][1]), ("d3", bm25.run["q1"][1][1])]
    assert set(bm25.latencies_ms) == {"q1", "q2", "q3", "q4"}

    hybrid = evaluate_retrieval(TINY_BEIR, settings, mode="hybrid", k=10)
    assert Manifest.read(index_dir).created_at == built_at  # reused, not rebuilt
    assert hybrid.pipeline == "hybrid" and hybrid.result.n_queries == 4
    assert all(len(docs) == 8 for docs in hybrid.run.values())

    with pytest.raises(InputError, match="was built from"):
        evaluate_retrieval(TINY_BEIR, settings, mode="bm25", index=_other_index(tmp_path, tiny_embedder_path))


def _other_index(tmp_path: Path, embedder: str) -> Path:
    from thinkir.indexing.builder import build_index

    corpus = tmp_path / "other.jsonl"
    corpus.write_text('{"_id": "x", "text": "another corpus"}\n')
    return build_index(corpus, tmp_path / "other-index", embedder=embedder, progress=False).out


def test_cli_retrieval_run_out_and_compare(
    tmp_path: Path, tiny_embedder_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THINKIR_CACHE_DIR", str(tmp_path / "cache"))
    common = ["eval", "retrieval", "--data", str(TINY_BEIR), "--embedder", tiny_embedder_path, "--no-progress"]
    bm25_run, dense_run = str(tmp_path / "bm25.trec"), str(tmp_path / "dense.trec")
    out = invoke(*common, "--pipeline", "bm25", "--run", bm25_run, "--out", str(tmp_path / "bm25.json"))
    rec = last_json(out)
    assert (rec["task"], rec["dataset"], rec["pipeline"], rec["n_queries"]) == ("retrieval", "eval_beir", "bm25", 4)
    assert rec["metrics"]["nDCG@10"] == 0.75 and rec["n_no_relevant"] == 1
    assert set(rec["latency_ms"]) == {"p50", "p99"}
    assert "4 evaluated" in out and "1 with no relevant document" in out
    # the saved run scores the same when read back
    qrels = load_beir(TINY_BEIR).qrels
    assert evaluate(qrels, read_run(bm25_run), ["nDCG@10"]).metrics["nDCG@10"] == pytest.approx(0.75)
    saved = json.loads((tmp_path / "bm25.json").read_text())
    assert set(saved["per_query"]) == {"q1", "q2", "q3", "q4"} and saved["per_query"]["q4"]["nDCG@10"] == 0.0

    dense = last_json(invoke(*common, "--pipeline", "dense", "--run", dense_run))
    assert dense["pipeline"] == "dense" and dense["n_queries"] == 4

    qrels_file = str(TINY_BEIR / "qrels" / "test.tsv")
    cmp = last_json(
        invoke("eval", "compare", dense_run, bm25_run, "--qrels", qrels_file, "--measures", "nDCG@10,RR@10")
    )
    assert cmp["task"] == "compare" and cmp["n_queries"] == 4 and cmp["metrics"]["nDCG@10"] == 0.75
    assert cmp["metrics_a"]["nDCG@10"] == dense["metrics"]["nDCG@10"]
    c = cmp["comparison"]["nDCG@10"]
    assert c["wins"] + c["ties"] + c["losses"] == 4 and 0 <= c["p_ttest"] <= 1 and 0 < c["p_randomization"] <= 1
    lib = compare_runs(dense_run, bm25_run, qrels_file, "nDCG@10")
    assert lib.comparisons[0].p_randomization == c["p_randomization"]


def test_cli_bad_input_is_one_line_with_exit_code_2(tmp_path: Path) -> None:
    proc = thinkir("eval", "retrieval", "--data", str(TINY_BEIR), "--split", "dev", cache=tmp_path, check=False)
    assert proc.returncode == 2
    assert "no split 'dev'" in proc.stderr and "available splits: ['test', 'train']" in proc.stderr
    assert "Traceback" not in proc.stderr
    cands = tmp_path / "c.json"
    cands.write_text(json.dumps([{"query_id": "zz", "hits": [{"docid": "d1", "content": "x"}]}]))
    proc = thinkir(
        "eval",
        "rerank",
        "--candidates",
        str(cands),
        "--qrels",
        str(TINY_BEIR / "qrels" / "test.tsv"),
        cache=tmp_path,
        check=False,
    )
    assert proc.returncode == 2 and "0 of 4 judged query ids matched 1 query ids" in proc.stderr


def test_cli_rerank_with_a_cross_encoder_model_path(tmp_path: Path, tiny_embedder_path: str) -> None:
    """``--model`` points the cross-encoder reranker at a local model (a fine-tuned teacher, say)."""
    from sentence_transformers import CrossEncoder

    ce_dir = tmp_path / "ce"
    CrossEncoder(tiny_embedder_path, num_labels=1, device="cpu").save_pretrained(str(ce_dir))
    corpus = {
        json.loads(line)["_id"]: json.loads(line)
        for line in (TINY_BEIR / "corpus.jsonl").read_text().splitlines()
        if line
    }
    cands = tmp_path / "c.json"
    cands.write_text(
        json.dumps(
            [
                {
                    "query_id": "q1",
                    "query": "vitamin D and bone density",
                    "hits": [{"docid": d, "content": corpus[d]["text"]} for d in ("d2", "d3", "d1")],
                }
            ]
        )
    )
    qrels = str(TINY_BEIR / "qrels" / "test.tsv")
    run = tmp_path / "run.trec"
    invoke("eval", "rerank", "--candidates", str(cands), "--qrels", qrels, "--reranker", "cross-encoder",
           "--model", str(ce_dir), "--run", str(run), "--no-progress")  # fmt: skip
    ranked = [line.split()[2] for line in run.read_text().splitlines()]
    assert sorted(ranked) == ["d1", "d2", "d3"]  # all candidates, scored by the given model
    proc = thinkir("eval", "rerank", "--candidates", str(cands), "--qrels", qrels, "--model", "x",
                   cache=tmp_path, check=False)  # fmt: skip
    assert proc.returncode == 2 and "--model applies to cross-encoder" in proc.stderr
