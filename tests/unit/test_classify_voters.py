"""The LLM voter on a tiny random Llama: cached batched scoring equals a plain forward pass per option."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_classify_helpers import build_tiny_llama, toy_taxonomy  # noqa: E402

from thinkir.classify.voters import ItemContext, LLMVoter, load_prompt  # noqa: E402


@pytest.fixture(scope="module")
def voter_parts(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from thinkir.models import load_causal_lm

    path = build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))
    return load_causal_lm(str(path), device="cpu")


def reference_logprobs(voter: LLMVoter, description: str, parent: str | None, options: list[str]) -> list[float]:
    """Oracle: one full forward of prompt + answer per option, no cache, no batching."""
    import torch

    tok, model = voter.tokenizer, voter.model
    prompt = tok(voter.build_prompt(description, parent, options), add_special_tokens=False)["input_ids"]
    out = []
    for answer in voter.answers(options):
        ids = tok(answer, add_special_tokens=False)["input_ids"]
        if voter.scoring == "letter":
            ids = ids[:1]
        with torch.inference_mode():
            logits = model(input_ids=torch.tensor([prompt + ids])).logits[0]
        logp = torch.log_softmax(logits.float(), dim=-1)
        total = sum(float(logp[len(prompt) + j - 1, t]) for j, t in enumerate(ids))
        out.append(total / len(ids))
    return out


@pytest.mark.parametrize("scoring", ["title", "letter"])
def test_cached_scores_match_full_forward(voter_parts, scoring: str) -> None:  # type: ignore[no-untyped-def]
    model, tok = voter_parts
    voter = LLMVoter(toy_taxonomy(), model, tok, scoring=scoring, calibrate=False)
    options = ["A1a", "A1b"]
    got = voter.option_logprobs("we grow wheat", "A1", options)
    assert got == pytest.approx(reference_logprobs(voter, "we grow wheat", "A1", options), abs=1e-4)
    roots = ["A", "B"]
    assert voter.option_logprobs("trucks", None, roots) == pytest.approx(
        reference_logprobs(voter, "trucks", None, roots), abs=1e-4
    )


def test_vote_is_a_distribution_and_calibration_is_cached(voter_parts) -> None:  # type: ignore[no-untyped-def]
    model, tok = voter_parts
    voter = LLMVoter(toy_taxonomy(), model, tok, calibrate=True)
    ctx = ItemContext("we grow wheat", [])
    vote = voter.vote(ctx, "A1", ["A1a", "A1b"])
    assert sum(vote.values()) == pytest.approx(1.0)
    raw = voter.option_logprobs("we grow wheat", "A1", ["A1a", "A1b"])
    ref = voter.option_logprobs("N/A", "A1", ["A1a", "A1b"])
    assert voter._scores(ctx, "A1", ["A1a", "A1b"]) == pytest.approx([r - c for r, c in zip(raw, ref, strict=True)])
    assert voter.calls == 2 and len(voter._reference) == 1
    assert not voter.applies(["A"]) and voter.applies(["A", "B"])


def test_prompt_lists_options_and_parent(voter_parts) -> None:  # type: ignore[no-untyped-def]
    model, tok = voter_parts
    voter = LLMVoter(toy_taxonomy(), model, tok)
    prompt = voter.build_prompt("we grow wheat", "A1", ["A1a", "A1b"])
    assert "A. Wheat farming" in prompt and "B. Soybean farming" in prompt
    assert 'of "Farming"' in prompt and "we grow wheat" in prompt
    assert "{options}" in load_prompt()
