"""LREM losses and rewards against values computed by hand."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from thinkir.training.lrem_losses import (  # noqa: E402
    format_reward,
    gold_ranks,
    grpo_advantages,
    grpo_loss,
    info_nce,
    length_reward,
    lrem_reward,
    rank_reward,
    sft_loss,
)


def test_info_nce_hand_values() -> None:
    eye = torch.eye(2)
    pos = torch.tensor([0, 1])
    # logits [[1, 0], [0, 1]] / τ: each row's loss is log(1 + e^{-1/τ})
    assert info_nce(eye, eye, pos, temperature=1.0).item() == pytest.approx(math.log(1 + math.exp(-1)), abs=1e-6)
    assert info_nce(eye, eye, pos, temperature=0.5).item() == pytest.approx(math.log(1 + math.exp(-2)), abs=1e-6)
    # inputs are normalised: scaling does not matter
    assert info_nce(3 * eye, 0.5 * eye, pos, temperature=1.0).item() == pytest.approx(0.3132617, abs=1e-6)


def test_info_nce_excludes_other_positives() -> None:
    q = torch.tensor([[1.0, 0.0]])
    items = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    pos = torch.tensor([0])
    with_dup = info_nce(q, items, pos, 1.0)  # log(1 + e^0 + e^-1) = log(2 + e^-1)
    assert with_dup.item() == pytest.approx(math.log(2 + math.exp(-1)), abs=1e-6)
    exclude = torch.tensor([[True, True, False]])  # item 1 is another positive; item 0 stays
    assert info_nce(q, items, pos, 1.0, exclude).item() == pytest.approx(math.log(1 + math.exp(-1)), abs=1e-6)


def test_sft_loss_hand_values() -> None:
    ln3 = math.log(3)
    logits = torch.tensor([[[0.0, ln3], [ln3, 0.0], [0.0, 0.0]]])  # [1, 3, 2]
    labels = torch.tensor([[-100, 1, 1]])
    # position 0 predicts label 1 with p = 3/4, position 1 predicts label 1 with p = 1/4
    expected = (-math.log(0.75) - math.log(0.25)) / 2
    assert sft_loss(logits, labels).item() == pytest.approx(expected, abs=1e-6)
    uniform = torch.zeros(2, 4, 5)
    labels = torch.tensor([[-100, 3, 1, -100], [-100, -100, 0, 2]])
    assert sft_loss(uniform, labels).item() == pytest.approx(math.log(5), abs=1e-6)


def test_grpo_advantages_hand_values() -> None:
    adv = grpo_advantages(torch.tensor([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]]))
    s = math.sqrt(2 / 3)
    assert adv[0].tolist() == pytest.approx([-1 / s, 0.0, 1 / s], abs=1e-5)
    assert adv[1].tolist() == pytest.approx([0.0, 0.0, 0.0], abs=1e-9)


def test_rewards_hand_values() -> None:
    assert rank_reward(1, 8) == 1.0
    assert rank_reward(8, 8) == pytest.approx(0.0)
    assert rank_reward(2, 8) == pytest.approx(1 - 1 / 3)
    assert rank_reward(4, 16) == pytest.approx(0.5)
    assert format_reward("calcium, bone density", closed=True) == 1.0
    assert format_reward("calcium, bone density", closed=False) == 0.0
    assert format_reward("", closed=True) == 0.0
    assert format_reward("a,, b", closed=True) == 0.0
    assert format_reward("line\nbreak", closed=True) == 0.0
    assert length_reward(16) == 1.0 and length_reward(17) == 0.0 and length_reward(0) == 0.0
    # 0.5·format + 0.2·length + 1·rank
    assert lrem_reward("calcium, bone density", True, 5, 2, 8) == pytest.approx(0.5 + 0.2 + 2 / 3)
    assert lrem_reward("calcium, bone density", False, 5, 2, 8) == pytest.approx(0.2 + 2 / 3)
    assert lrem_reward("calcium", True, 20, 1, 8) == pytest.approx(0.5 + 1.0)
    assert lrem_reward("calcium", True, 3, 1, 8, weights=(1.0, 1.0, 2.0)) == pytest.approx(4.0)


def test_gold_ranks() -> None:
    sims = torch.tensor([[0.9, 0.5, 0.95], [0.1, 0.2, 0.3]])
    assert gold_ranks(sims, torch.tensor([0, 2])).tolist() == [2, 1]


def test_grpo_loss_hand_values() -> None:
    lp = torch.zeros(2, 3)
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    # ratio 1: the loss is minus the mean advantage
    assert grpo_loss(lp, lp, torch.tensor([1.0, -1.0]), mask).item() == pytest.approx(0.0, abs=1e-7)
    assert grpo_loss(lp, lp, torch.tensor([2.0, 0.0]), mask).item() == pytest.approx(-1.0)
    one = torch.ones(1, 1)
    up = torch.full((1, 1), math.log(1.5))
    # ratio 1.5 is clipped at 1.2 for a positive advantage, not for a negative one
    assert grpo_loss(up, torch.zeros(1, 1), torch.tensor([1.0]), one).item() == pytest.approx(-1.2)
    assert grpo_loss(up, torch.zeros(1, 1), torch.tensor([-1.0]), one).item() == pytest.approx(1.5)
    # k3 KL with ref − logp = ln 2: 2 − ln 2 − 1, weighted by β
    ref = torch.full((1, 1), math.log(2))
    kl = 2 - math.log(2) - 1
    value = grpo_loss(torch.zeros(1, 1), torch.zeros(1, 1), torch.tensor([0.0]), one, ref_logprobs=ref, kl_beta=0.1)
    assert value.item() == pytest.approx(0.1 * kl, abs=1e-6)


def test_grpo_gradient_pushes_up_good_samples() -> None:
    lp = torch.zeros(2, 1, requires_grad=True)
    loss = grpo_loss(lp, lp.detach(), torch.tensor([1.0, -1.0]), torch.ones(2, 1))
    loss.backward()
    # d loss / d logp_i = −A_i / B
    assert lp.grad is not None and lp.grad.flatten().tolist() == pytest.approx([-0.5, 0.5])
