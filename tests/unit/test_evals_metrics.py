from __future__ import annotations

import math

import pytest

from thinkir.errors import InputError
from thinkir.evals.metrics import DEFAULT_MEASURES, evaluate, evaluate_lists, parse_measures, summarize
from thinkir.types import Candidate, Query, RankedList

QRELS = {"q1": {"d1": 2, "d2": 0, "d3": 1}, "q2": {"d9": 1}, "q3": {"d1": 0}}
RUN = {
    "q1": [("d2", 3.0), ("d1", 2.0), ("d5", 1.0)],
    "q3": [("d1", 1.0)],
    "q4": [("d5", 1.0)],  # no judgments
}
ASKED = ["q1", "q2", "q3", "q4"]

# q1 by hand (trec_eval: gain = grade, discount log2(rank + 1)):
#   DCG = 0 + 2 / log2(3);  ideal DCG = 2 / log2(2) + 1 / log2(3)
Q1_NDCG = (2 / math.log2(3)) / (2 + 1 / math.log2(3))


def test_hand_computed_values_per_query_and_means() -> None:
    r = evaluate(QRELS, RUN, ["nDCG@10", "RR@10", "AP@100", "R@100", "P@2"], query_ids=ASKED)
    assert r.per_query["q1"]["nDCG@10"] == pytest.approx(Q1_NDCG)  # 0.479625
    assert r.per_query["q1"]["RR@10"] == pytest.approx(0.5)  # first relevant at rank 2
    assert r.per_query["q1"]["AP@100"] == pytest.approx(0.25)  # (1/2) / 2 relevant
    assert r.per_query["q1"]["R@100"] == pytest.approx(0.5)  # d3 never retrieved
    assert r.per_query["q1"]["P@2"] == pytest.approx(0.5)
    # q2: judged but the run is empty -> 0; q3: judged, nothing relevant -> 0
    assert r.per_query["q2"] == {"nDCG@10": 0.0, "RR@10": 0.0, "AP@100": 0.0, "R@100": 0.0, "P@2": 0.0}
    assert r.per_query["q3"]["nDCG@10"] == 0.0
    assert r.metrics["nDCG@10"] == pytest.approx(Q1_NDCG / 3)
    assert r.metrics["RR@10"] == pytest.approx(1 / 6)
    assert r.metrics["AP@100"] == pytest.approx(1 / 12)


def test_no_query_is_dropped_silently() -> None:
    r = evaluate(QRELS, RUN, query_ids=ASKED)
    assert r.n_queries == 3 and set(r.per_query) == {"q1", "q2", "q3"}
    assert r.unjudged == ("q4",) and r.empty == ("q2",) and r.no_relevant == ("q3",)
    assert r.counts() == {
        "n_queries": 3,
        "n_unjudged": 1,
        "n_empty": 1,
        "n_no_relevant": 1,
        "n_judged_not_in_run": 0,
    }
    text = summarize(r)
    assert "3 evaluated, 1 without judged documents" in text and "1 with no results (scored 0)" in text
    # without query_ids the run's own queries are asked: q2 is judged but not in the run
    r2 = evaluate(QRELS, RUN)
    assert r2.n_queries == 2 and r2.judged_not_run == ("q2",)


def test_default_measures_and_names() -> None:
    r = evaluate(QRELS, RUN, query_ids=ASKED)
    assert list(r.metrics) == list(DEFAULT_MEASURES)
    assert [str(m) for m in parse_measures("MAP@100, nDCG@10,R(rel=2)@1000")] == [
        "AP@100",
        "nDCG@10",
        "R(rel=2)@1000",
    ]
    with pytest.raises(InputError, match="unknown measure 'nDCG@x'"):
        parse_measures(["nDCG@x"])


def test_graded_relevance_threshold() -> None:
    qrels = {"q": {"a": 1, "b": 2}}
    run = {"q": [("a", 2.0), ("b", 1.0)]}
    r = evaluate(qrels, run, ["RR@10", "RR(rel=2)@10"])
    assert r.metrics == {"RR@10": 1.0, "RR(rel=2)@10": 0.5}


def test_qrels_matching_no_query_is_an_error() -> None:
    with pytest.raises(InputError, match=r"0 of 3 judged query ids matched 2 query ids"):
        evaluate(QRELS, {"x": [("d1", 1.0)], "y": []})


def test_ranked_lists_are_scored_in_list_order() -> None:
    # equal scores: the list order decides, not the doc-id tie-break trec_eval would apply
    cands = tuple(Candidate(d, 0.0) for d in ("z", "a"))
    r, run = evaluate_lists({"q": {"z": 1}}, [RankedList(Query("q", "t"), cands)], ["RR@10"])
    assert r.metrics["RR@10"] == 1.0
    assert run == {"q": [("z", 2.0), ("a", 1.0)]}
