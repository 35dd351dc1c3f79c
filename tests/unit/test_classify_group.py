"""Hierarchy walking, vote combination and beam top-k on a hand-made taxonomy, hand-computed."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_classify_helpers import toy_taxonomy  # noqa: E402

from thinkir.classify.group import GroupClassifier, combine_votes  # noqa: E402
from thinkir.classify.voters import ItemContext, LexicalVoter, RetrieverVoter, Voter, softmax  # noqa: E402
from thinkir.errors import InputError  # noqa: E402


class TableVoter(Voter):
    """A collaborator with fixed probabilities: raw score log(p), temperature 1, so softmax gives p back."""

    def __init__(self, name: str, probs: dict[str, float]) -> None:
        super().__init__(1.0)
        self.name = name
        self.probs = probs

    def _scores(self, ctx: ItemContext, parent: str | None, options: Sequence[str]) -> list[float]:
        return [math.log(self.probs[o]) for o in options]


class FixedRetriever:
    """The retriever collaborator: returns the given ranked leaves for every text."""

    def __init__(self, hits: list[tuple[str, float]]) -> None:
        self.hits = hits

    def search(self, texts: Sequence[str], k: int) -> list[list[tuple[str, float]]]:
        return [self.hits[:k] for _ in texts]


# conditional probabilities chosen by hand: P(A)=.7, P(A2|A)=.6, P(A1a|A1)=.9
PROBS = {"A": 0.7, "B": 0.3, "A1": 0.4, "A2": 0.6, "A1a": 0.9, "A1b": 0.1, "A2a": 1.0, "B1": 1.0, "B1x": 1.0}
ALL_LEAVES = [("A1a", 0.9), ("A2a", 0.8), ("B1x", 0.7), ("A1b", 0.6)]


def make(beam: int, hits: list[tuple[str, float]] = ALL_LEAVES, top_k: int = 4) -> GroupClassifier:
    voters = {"table": TableVoter("table", PROBS)}
    return GroupClassifier(
        toy_taxonomy(), FixedRetriever(hits), voters, {"table": 1.0}, retrieve_k=4, beam_width=beam, top_k=top_k
    )


def test_combine_votes_weighted_average() -> None:
    opinions = {"r": {"x": 0.6, "y": 0.4}, "l": {"x": 0.2, "y": 0.8}}
    combined = combine_votes(opinions, {"r": 1.0, "l": 3.0}, ["x", "y"])
    # x = (1*.6 + 3*.2) / 4 = .3 ; y = (1*.4 + 3*.8) / 4 = .7
    assert combined == pytest.approx({"x": 0.3, "y": 0.7})


def test_combine_votes_ignores_zero_weight_and_renormalises() -> None:
    opinions = {"r": {"x": 0.3, "y": 0.1}, "off": {"x": 0.0, "y": 1.0}}
    # r renormalised over the options: x = .75, y = .25; "off" has weight 0
    assert combine_votes(opinions, {"r": 2.0, "off": 0.0}, ["x", "y"]) == pytest.approx({"x": 0.75, "y": 0.25})
    assert combine_votes({}, {"r": 1.0}, ["x", "y"]) == {"x": 0.5, "y": 0.5}


def test_beam_three_ranks_all_paths_by_product() -> None:
    result = make(beam=3).classify("anything")
    # A>A2>A2a = .7*.6 = .42 ; B>B1>B1x = .3 ; A>A1>A1a = .7*.4*.9 = .252 ; A>A1>A1b = .028
    assert result.codes == ["A2a", "B1x", "A1a", "A1b"]
    assert [p.score for p in result.predictions] == pytest.approx([0.42, 0.3, 0.252, 0.028])
    first = result.predictions[0]
    assert first.path == ("A", "A2", "A2a")
    assert first.confidences == pytest.approx((0.7, 0.6, 1.0))
    assert first.opinions[0] == pytest.approx({"table": 0.7})
    # decisions with two or more options: roots, children of A, children of A1 (single children are free)
    assert [(d.depth, d.parent) for d in result.decisions] == [(1, None), (2, "A"), (3, "A1")]


def test_beam_two_prunes_a1_and_fills_from_retriever() -> None:
    result = make(beam=2).classify("anything")
    # level 2 expansions: A1 .28, A2 .42, B1 .3 -> beam keeps A2 and B1; A1's leaves are not reached
    assert result.codes[:2] == ["A2a", "B1x"]
    assert [p.source for p in result.predictions] == ["beam", "beam", "retriever", "retriever"]
    # the rest of top-k comes from the retriever's order: A1a (.9) then A1b (.6)
    assert result.codes[2:] == ["A1a", "A1b"]
    assert result.predictions[2].score == 0.0


def test_beam_one_is_greedy() -> None:
    result = make(beam=1, top_k=1).classify("anything")
    assert result.codes == ["A2a"]
    assert result.predictions[0].score == pytest.approx(0.42)


def test_candidates_are_children_supported_by_retriever() -> None:
    # only A1a and B1x retrieved: A2 is not a candidate, so A's only option A1 has probability 1
    result = make(beam=3, hits=[("A1a", 0.9), ("B1x", 0.5)], top_k=2).classify("anything")
    assert result.codes == ["A1a", "B1x"]
    assert result.predictions[0].confidences == pytest.approx((0.7, 1.0, 1.0))
    assert [d.parent for d in result.decisions] == [None]


def test_retriever_voter_sum_and_max_aggregation() -> None:
    tax = toy_taxonomy()
    ctx = ItemContext("x", [("A1a", 0.9), ("A1b", 0.8), ("A2a", 0.85), ("B1x", 0.1)])
    mass_a = math.exp(9) + math.exp(8) + math.exp(8.5)
    got = RetrieverVoter(tax, temperature=0.1, aggregate="sum").vote(ctx, None, ["A", "B"])
    assert got["A"] == pytest.approx(mass_a / (mass_a + math.exp(1)))
    got = RetrieverVoter(tax, temperature=0.1, aggregate="max").vote(ctx, None, ["A", "B"])
    assert got["A"] == pytest.approx(math.exp(9) / (math.exp(9) + math.exp(1)))
    got = RetrieverVoter(tax, temperature=0.1, aggregate="sum").vote(ctx, "A1", ["A1a", "A1b"])
    assert got["A1a"] == pytest.approx(math.exp(9) / (math.exp(9) + math.exp(8)))


def test_lexical_voter_propagates_subtree_best() -> None:
    tax = toy_taxonomy()
    voter = LexicalVoter(tax, temperature=1.0)
    ctx = ItemContext("wheat", [])
    voter.prepare(ctx)
    best = ctx.cache["lexical"]
    # only A1a mentions wheat: its score reaches A1 and A; B's subtree has none
    assert best["A1a"] > 0 and best["A1"] == best["A1a"] and best["A"] == best["A1a"]
    assert "B" not in best
    vote = voter.vote(ctx, None, ["A", "B"])
    assert vote["A"] == pytest.approx(1 / (1 + math.exp(-best["A"])))


def test_softmax_uniform_on_ties() -> None:
    assert softmax([2.0, 2.0]) == [0.5, 0.5]
    assert sum(softmax([1.0, 5.0, -3.0], 0.3)) == pytest.approx(1.0)


def test_empty_text_is_an_input_error() -> None:
    with pytest.raises(InputError, match="empty"):
        make(beam=2).classify("   ")
    with pytest.raises(InputError):
        make(beam=2).classify_batch("a single string")  # type: ignore[arg-type]


def test_no_positive_weight_is_rejected() -> None:
    with pytest.raises(InputError, match="positive weight"):
        GroupClassifier(toy_taxonomy(), FixedRetriever(ALL_LEAVES), {"t": TableVoter("t", PROBS)}, {"t": 0.0})
