from __future__ import annotations

from pathlib import Path

import pytest

from thinkir.errors import InputError
from thinkir.evals.metrics import evaluate
from thinkir.evals.runs import from_ranked_lists, read_run, write_run
from thinkir.types import Candidate, Query, RankedList


def lst(qid: str, *pairs: tuple[str, float]) -> RankedList:
    return RankedList(Query(qid, "t"), tuple(Candidate(d, s) for d, s in pairs))


def test_round_trip_keeps_order_and_scores(tmp_path: Path) -> None:
    run = from_ranked_lists([lst("1", ("a", 3.5), ("b", 1.25)), lst("2", ("c", 0.5))])
    assert run == {"1": [("a", 3.5), ("b", 1.25)], "2": [("c", 0.5)]}
    path = write_run(tmp_path / "sub" / "r.trec", run, tag="bm25 run")
    assert path.read_text().splitlines() == [
        "1 Q0 a 1 3.500000 bm25_run",
        "1 Q0 b 2 1.250000 bm25_run",
        "2 Q0 c 1 0.500000 bm25_run",
    ]
    assert read_run(path) == run


def test_ties_and_inversions_become_rank_scores(tmp_path: Path) -> None:
    # a candidate file whose scores are all 0: its order must survive writing and re-reading
    run = from_ranked_lists([lst("1", ("a", 0.0), ("z", 0.0), ("m", 0.0))])
    assert run == {"1": [("a", 3.0), ("z", 2.0), ("m", 1.0)]}
    qrels = {"1": {"a": 1}}
    direct = evaluate(qrels, run, ["RR@10"])
    reread = evaluate(qrels, read_run(write_run(tmp_path / "r.trec", run)), ["RR@10"])
    assert direct.metrics == reread.metrics == {"RR@10": 1.0}


def test_reading_orders_like_trec_eval(tmp_path: Path) -> None:
    p = tmp_path / "r.trec"
    p.write_text("q Q0 a 1 1.0 t\nq Q0 c 2 5.0 t\nq Q0 b 3 1.0 t\n")
    assert [d for d, _ in read_run(p)["q"]] == ["c", "b", "a"]  # score desc, ties by docid desc


def test_duplicate_documents_are_rejected(tmp_path: Path) -> None:
    p = tmp_path / "dup.trec"
    p.write_text("q Q0 a 1 2.0 t\nq Q0 b 2 1.5 t\nq Q0 a 3 1.0 t\n")
    with pytest.raises(InputError, match=r"dup\.trec:3: query 'q' lists document 'a' twice \(also on line 1\)"):
        read_run(p)
    with pytest.raises(InputError, match="query '1' lists document 'a' more than once"):
        from_ranked_lists([lst("1", ("a", 2.0), ("a", 1.0))])


def test_malformed_run_lines(tmp_path: Path) -> None:
    p = tmp_path / "bad.trec"
    p.write_text("q Q0 a 1 2.0 t\n\nq Q0 b 2 1.5\n")
    with pytest.raises(InputError, match=r"bad\.trec:3: expected 6 columns"):
        read_run(p)
    p.write_text("q Q0 a 1 high t\n")
    with pytest.raises(InputError, match=r"bad\.trec:1: score must be a number, got 'high'"):
        read_run(p)
    p.write_text("")
    with pytest.raises(InputError, match="no run lines"):
        read_run(p)
