"""CLI paths (classify, eval classify, train classifier) and load_classifier on tiny random-weight models."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_classify_helpers import build_tiny_llama, write_model_dir, write_toy_csv, write_toy_examples  # noqa: E402

from thinkir.cli import app  # noqa: E402

runner = CliRunner()
ALL_VOTERS = {"retriever": 1.0, "lexical": 0.5, "llm": 0.5}


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(build_tiny_llama(tmp_path_factory.mktemp("llama")))


@pytest.fixture()
def model_dir(tmp_path: Path, tiny_embedder_path: str, tiny_llama: str) -> Path:
    return write_model_dir(tmp_path / "model", tiny_embedder_path, tiny_llama, ALL_VOTERS)


def test_classify_json_has_ranked_codes_paths_and_votes(model_dir: Path) -> None:
    res = runner.invoke(app, ["classify", "wheat farming", "--json", "--model", str(model_dir), "--decisions"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout.strip().splitlines()[-1])
    preds = payload["predictions"]
    assert len(preds) == 3  # top_k from the model config
    leaves = {"A1a", "A1b", "A2a", "B1x"}
    assert {p["code"] for p in preds} <= leaves and len({p["code"] for p in preds}) == 3
    beam = [p for p in preds if p["source"] == "beam"]
    assert beam and all(len(p["path"]) == 3 == len(p["confidences"]) for p in beam)
    scores = [p["score"] for p in beam]
    assert scores == sorted(scores, reverse=True)
    # the root decision has two options, so all three voters gave an opinion on it
    assert set(payload["decisions"][0]["opinions"]) == {"retriever", "lexical", "llm"}
    assert payload["llm_calls"] >= 1
    # label vectors were cached in the model directory for the next load
    assert (model_dir / "label_index" / "labels.json").is_file()


def test_classify_text_output_and_flat(model_dir: Path) -> None:
    res = runner.invoke(app, ["classify", "bread", "--model", str(model_dir), "--weights", "retriever=1"])
    assert res.exit_code == 0, res.output
    assert "llm calls: 0" in res.output
    res = runner.invoke(app, ["classify", "bread", "--model", str(model_dir), "--flat", "--json", "--top-k", "2"])
    assert [p["source"] for p in json.loads(res.stdout.strip().splitlines()[-1])["predictions"]] == [
        "retriever",
        "retriever",
    ]


def test_classify_rejects_empty_text_and_bad_weights(model_dir: Path) -> None:
    from thinkir.errors import InputError

    res = runner.invoke(app, ["classify", "  ", "--model", str(model_dir)])
    assert isinstance(res.exception, InputError)
    res = runner.invoke(app, ["classify", "x", "--model", str(model_dir), "--weights", "retriever"])
    assert isinstance(res.exception, InputError)
    res = runner.invoke(app, ["classify", "x", "--model", str(model_dir.parent / "nope")])
    assert isinstance(res.exception, InputError) and "model directory" in str(res.exception)


def test_eval_classify_ends_with_contract_line(model_dir: Path, tmp_path: Path) -> None:
    data = write_toy_examples(tmp_path / "dev.csv")
    out = tmp_path / "res.json"
    res = runner.invoke(
        app, ["eval", "classify", "--data", str(data), "--model", str(model_dir), "--out", str(out), "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    record = json.loads(res.stdout.strip().splitlines()[-1])
    assert list(record)[:6] == ["task", "dataset", "pipeline", "n_queries", "metrics", "latency_ms"]
    assert record["task"] == "classify" and record["n_queries"] == 8
    metrics = record["metrics"]
    assert {"top1", "top10", "acc_level1", "acc_level2", "acc_level3", "llm_calls_per_item"} <= set(metrics)
    assert metrics["top10"] == 1.0  # 4 leaves, all in every top-10
    assert metrics["acc_level1"] >= metrics["acc_level2"] >= metrics["acc_level3"] == metrics["top1"]
    assert record["latency_ms"]["p50"] > 0
    saved = json.loads(out.read_text())
    assert len(saved["per_query"]) == 8 and "latency_ms" in saved["per_query"]["0"]
    res = runner.invoke(
        app,
        [
            "eval",
            "classify",
            "--data",
            str(data),
            "--model",
            str(model_dir),
            "--pipeline",
            "flat",
            "--limit",
            "3",
            "--no-progress",
        ],
    )
    record = json.loads(res.stdout.strip().splitlines()[-1])
    assert record["pipeline"] == "flat" and record["n_queries"] == 3


def test_train_classifier_writes_a_loadable_model_dir(tmp_path: Path, tiny_embedder_path: str) -> None:
    taxonomy = write_toy_csv(tmp_path / "toy.csv")
    examples = write_toy_examples(tmp_path / "train.csv")
    config = {
        "output_dir": str(tmp_path / "trained"),
        "taxonomy": str(taxonomy),
        "train_file": str(examples),
        "base_model": tiny_embedder_path,
        "max_steps": 2,
        "batch_size": 2,
        "dev_fraction": 0.25,
        "tune_fraction": 0.0,
        "classifier": {"retrieve_k": 4, "top_k": 2},
    }
    (tmp_path / "cfg.json").write_text(json.dumps(config))
    res = runner.invoke(app, ["train", "classifier", "--config", str(tmp_path / "cfg.json")])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["steps"] == 2 and summary["dev"] == 2 and summary["train"] == 6
    trained = tmp_path / "trained"
    for name in ("classifier.json", "taxonomy.csv", "retriever", "label_index", "splits/dev.csv", "train_summary.json"):
        assert (trained / name).exists(), name
    assert not list(tmp_path.glob("trained.tmp-*"))

    from thinkir.classify import load_classifier

    clf = load_classifier(trained)
    result = clf.classify("wheat farming")
    assert len(result.predictions) == 2 and result.llm_calls == 0
    eval_res = runner.invoke(
        app,
        ["eval", "classify", "--data", str(trained / "splits" / "dev.csv"), "--model", str(trained), "--no-progress"],
    )
    assert eval_res.exit_code == 0, eval_res.output
    assert json.loads(eval_res.stdout.strip().splitlines()[-1])["n_queries"] == 2


def test_load_classifier_from_settings_zero_shot(tmp_path: Path, tiny_embedder_path: str) -> None:
    from thinkir.classify import load_classifier
    from thinkir.config import Settings

    (tmp_path / "data").mkdir()
    write_toy_csv(tmp_path / "data" / "naics.csv")
    # a data dir without NAICS files is a clear error
    settings = Settings(embedder=tiny_embedder_path, data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    from thinkir.errors import InputError

    with pytest.raises(InputError, match="not found"):
        load_classifier(settings)
    clf = load_classifier(settings, overrides={"taxonomy": str(tmp_path / "data" / "naics.csv"), "top_k": 2})
    assert len(clf.classify("bread").predictions) == 2
    assert list((tmp_path / "cache" / "classify").glob("*/labels.json"))


def test_model_option_accepts_a_standalone_config_file(
    tmp_path: Path, tiny_embedder_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THINKIR_CACHE_DIR", str(tmp_path / "cache"))  # label vectors are cached there
    config = {
        "taxonomy": str(write_toy_csv(tmp_path / "toy.csv")),
        "embedder": tiny_embedder_path,
        "weights": {"retriever": 1.0, "lexical": 0.25},
        "top_k": 2,
    }
    (tmp_path / "zs.json").write_text(json.dumps(config))
    res = runner.invoke(app, ["classify", "bread", "--json", "--model", str(tmp_path / "zs.json")])
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.stdout.strip().splitlines()[-1])["predictions"]) == 2
    assert list((tmp_path / "cache" / "classify").glob("*/labels.json"))
