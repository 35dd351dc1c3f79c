"""The listwise output parser and the packaged prompt templates."""

from __future__ import annotations

import pytest

from thinkir.errors import InputError
from thinkir.rerank.parse import ParseStats, format_ranking, parse_ranking, split_reasoning
from thinkir.rerank.prompts import FIELDS, load_template, validate_template


def test_think_then_ranking() -> None:
    p = parse_ranking("<think>[2] answers it; [1] is close.</think>\n[2] > [1] > [3]", 3)
    assert p.order == (1, 0, 2)
    assert p.valid and not p.failed
    assert p.rationale == "[2] answers it; [1] is close."


def test_ranking_first_then_prose_keeps_rationale() -> None:
    p = parse_ranking("[3] > [1] > [2]\n\nReasoning: [3] is direct.", 3)
    assert p.order == (2, 0, 1)
    assert "Reasoning: [3] is direct." in p.rationale


def test_last_chain_wins_over_ids_in_prose() -> None:
    text = "Passage [3] mentions it, [1] does not.\nFinal: [1] > [3] > [2]"
    assert parse_ranking(text, 3).order == (0, 2, 1)


def test_dedupe_out_of_range_and_missing_ids() -> None:
    p = parse_ranking("[2] > [2] > [9] > [1]", 4)
    assert p.order == (1, 0, 2, 3)  # missing 3 and 4 appended in input order
    assert not p.valid and not p.failed


def test_unparseable_falls_back_to_input_order() -> None:
    p = parse_ranking("I cannot rank these.", 3)
    assert p.order == (0, 1, 2)
    assert p.failed and not p.valid


def test_unclosed_think_and_bare_close_tag() -> None:
    assert split_reasoning("abc</think> [1] > [2]") == ("abc", "[1] > [2]")
    p = parse_ranking("<think> still thinking [2] > [1]", 2)
    assert p.order == (1, 0)  # the chain inside an unfinished think block is still used
    assert parse_ranking("[ 2 ] > [ 1 ]", 2).order == (1, 0)  # spaces inside brackets


def test_format_and_stats() -> None:
    assert format_ranking([1, 0, 2]) == "[2] > [1] > [3]"
    stats = ParseStats()
    stats.add(parse_ranking("[1] > [2]", 2))
    stats.add(parse_ranking("nothing", 2))
    stats.add(parse_ranking("<think>ran out</think>\n[2] > [1]", 2), forced=True)
    assert stats.as_dict() == {
        "windows": 3,
        "valid": 2,
        "failures": 1,
        "forced": 1,
        "forced_valid": 1,
        "valid_rate": 0.6667,
    }


def test_packaged_templates_validate() -> None:
    for name in FIELDS:
        assert load_template(name)
    assert "{query}" in load_template("pointwise_query")


def test_template_validation_rejects_wrong_fields() -> None:
    with pytest.raises(InputError, match="must use fields"):
        validate_template("listwise_user", "Rank {num} passages for {query}")
    with pytest.raises(InputError, match="not a valid format"):
        validate_template("pointwise_query", "query: {query")
    with pytest.raises(InputError, match="unknown prompt template"):
        load_template("nope")


def test_missing_dear_adapter_is_a_clear_stage_error(monkeypatch, tmp_path) -> None:
    import pytest

    import thinkir.rerank.dear as dear
    from thinkir.errors import StageUnavailableError
    from thinkir.rerank import load_reranker

    monkeypatch.delenv("THINKIR_DEAR_POINTWISE_ADAPTER", raising=False)
    monkeypatch.setattr(dear, "PACKAGED_ADAPTERS", tmp_path)  # no adapter folders there
    with pytest.raises(StageUnavailableError, match="thinkir train reranker-pointwise"):
        load_reranker("dear-pointwise")
