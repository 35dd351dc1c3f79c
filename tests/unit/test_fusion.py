from __future__ import annotations

import pytest

from thinkir.retrieval.fusion import rrf
from thinkir.types import Query, RankedList


def ranked(ids: list[str]) -> RankedList:
    return RankedList.from_scores(Query("q", "q"), [(d, float(len(ids) - i)) for i, d in enumerate(ids)])


def test_rrf_matches_hand_computed_scores() -> None:
    fused = rrf([ranked(["a", "b", "c"]), ranked(["c", "a"])], k=60)
    scores = {c.doc_id: c.score for c in fused}
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert scores["b"] == pytest.approx(1 / 62)
    assert fused.doc_ids() == ["a", "c", "b"]


def test_rrf_weights_change_the_winner() -> None:
    dense, lexical = ranked(["x", "y"]), ranked(["y", "x"])
    assert rrf([dense, lexical], weights=[2.0, 1.0]).doc_ids()[0] == "x"
    assert rrf([dense, lexical], weights=[1.0, 2.0]).doc_ids()[0] == "y"


def test_rrf_depth_and_validation() -> None:
    assert len(rrf([ranked(["a", "b", "c"])], depth=2)) == 2
    with pytest.raises(ValueError, match="weights"):
        rrf([ranked(["a"])], weights=[1.0, 2.0])
