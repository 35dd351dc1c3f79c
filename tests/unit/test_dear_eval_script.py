"""Helpers of scripts/dear_eval.py: per-dataset depth cuts, run round trip, significance."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "dear_eval.py"


@pytest.fixture(scope="module")
def dear_eval():
    spec = importlib.util.spec_from_file_location("dear_eval", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_depth_for_takes_one_number_or_per_dataset_pairs(dear_eval) -> None:
    assert dear_eval.depth_for(None, "dl19") is None
    assert dear_eval.depth_for("6", "covid") == 6
    assert dear_eval.depth_for("scifact=30,dl19=100", "scifact") == 30
    assert dear_eval.depth_for("scifact=30,dl19=100", "dl19") == 100
    assert dear_eval.depth_for("scifact=30", "covid") is None


def test_run_files_round_trip_in_rank_order(dear_eval, tmp_path: Path) -> None:
    run = {"q1": ["d3", "d1", "d2"], "q2": ["d9"]}
    dear_eval.write_run(tmp_path / "r.trec", run, "stage1")
    assert dear_eval.read_run(tmp_path / "r.trec") == run


def test_ndcg_plain_matches_hand_computed_value(dear_eval) -> None:
    # rels: d1=2 at rank 2, d2=1 at rank 1 -> DCG = 1/log2(2) + 2/log2(3); ideal = 2 + 1/log2(3)
    import math

    got = dear_eval.ndcg_plain(["d2", "d1", "d0"], {"d1": 2, "d2": 1}, 10)
    assert got == pytest.approx((1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))


def test_paired_test_signs_the_difference_and_detects_a_consistent_gain(dear_eval) -> None:
    a = {f"q{i}": 0.6 + 0.01 * (i % 3) for i in range(30)}
    b = {f"q{i}": 0.4 + 0.01 * (i % 5) for i in range(30)}
    out = dear_eval.paired_test(a, b)
    assert out["n"] == 30 and out["mean_diff"] > 0.15
    assert out["p_randomization"] < 0.001 and out["p_ttest"] < 0.001
    same = dear_eval.paired_test(a, a)
    assert same["mean_diff"] == 0.0 and same["p_randomization"] == 1.0
