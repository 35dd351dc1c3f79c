"""The cross-encoder teacher trainer: trains from a bi-encoder's transformer, saves a model the teacher
loader recognises as a cross-encoder, learns its training groups, and writes the dev comparison."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("datasets")


def _triples(path: Path, n: int = 40) -> Path:
    topics = ["vitamin", "bone", "smoking", "tuberculosis", "cancer", "cell", "growth", "density"]
    rows = []
    for i in range(n):
        t = topics[i % len(topics)]
        partner = topics[(i + 3) % len(topics)]  # relevant by a rule the words do not show: to be learned
        rows.append(
            {
                "query": f"what is {t} number {i}",
                "positive": f"{partner} {partner} is a document",
                "negative": f"what is {t} {t} in the query",
            }
        )
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def _margin(scores: list[list[float]]) -> float:
    return sum(s[0] - max(s[1:]) for s in scores) / len(scores)


def test_cross_encoder_teacher_trains_and_compares(tiny_embedder_path: str, tmp_path: Path) -> None:
    from thinkir.training.cross_encoder import CrossEncoderTrainConfig, train
    from thinkir.training.data_rerank import msmarco_groups
    from thinkir.training.pointwise import group_accuracy
    from thinkir.training.teacher import load_teacher

    triples = _triples(tmp_path / "triples.jsonl")
    cfg = CrossEncoderTrainConfig(
        output_dir=str(tmp_path / "ce"),
        init_model=tiny_embedder_path,
        compare_with=tiny_embedder_path,
        triples=str(triples),
        reasoning_dirs=[],
        scifact_dir=None,
        n_negatives=1,
        dev_fraction=0.2,
        max_length=32,
        batch_size=8,
        epochs=8,
        lr=2e-3,
        device="cpu",
    )
    groups = msmarco_groups(triples, 1)
    before = load_teacher(tiny_embedder_path, kind="cross-encoder", device="cpu")
    margin_before = _margin(before.score_many([g.query for g in groups], [g.docs for g in groups]))

    model_dir = train(cfg)
    teacher = load_teacher(str(model_dir), device="cpu")  # the kind is detected from the saved head
    assert teacher.kind == "cross-encoder"
    after = teacher.score_many([g.query for g in groups], [g.docs for g in groups])
    assert group_accuracy(after)["accuracy"] >= 0.9  # it learned the rule on its training groups
    assert _margin(after) > margin_before + 0.05  # positive-minus-negative logit grew

    report = json.loads((tmp_path / "ce" / "teacher_comparison.json").read_text())
    assert report["train_groups"] + report["dev_groups"] == len(groups) and report["dev_groups"] > 0
    assert set(report["dev"]) == {f"bi-encoder ({tiny_embedder_path})", "cross-encoder (fine-tuned)"}
    assert all(0.0 <= v["accuracy"] <= 1.0 for v in report["dev"].values())


def test_train_commands_log_progress_and_refuse_a_missing_config(tmp_path: Path) -> None:
    import logging

    from typer.testing import CliRunner

    from thinkir.cli import app

    logging.getLogger("thinkir").setLevel(logging.WARNING)
    result = CliRunner().invoke(app, ["train", "cross-encoder", "--config", str(tmp_path / "missing.json")])
    assert result.exit_code != 0 and "config file not found" in str(result.exception or result.output)
    assert logging.getLogger("thinkir").level == logging.INFO  # training logs steps without -v
