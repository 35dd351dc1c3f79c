"""Stage-1 losses against values computed by hand (see the comments for the arithmetic)."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from thinkir.training.losses import (  # noqa: E402
    HybridLossConfig,
    binary_pair_targets,
    hybrid_loss,
    kl_distillation,
    ranknet,
    soft_pair_targets,
    softmax_ce,
)

LOG1P_EXP_M2 = math.log(1 + math.exp(-2))  # 0.126928: -log σ(2)


def test_softmax_ce_positive_first() -> None:
    # -log(e^2 / (e^2 + e^0)) = log(1 + e^-2)
    assert softmax_ce(torch.tensor([[2.0, 0.0]])).item() == pytest.approx(LOG1P_EXP_M2, abs=1e-6)
    # two groups are averaged: the second is uniform over 4 -> log 4
    two = softmax_ce(torch.tensor([[2.0, 0.0, -50.0, -50.0], [1.0, 1.0, 1.0, 1.0]]))
    assert two.item() == pytest.approx((LOG1P_EXP_M2 + math.log(4)) / 2, abs=1e-5)


def test_ranknet_binary_targets() -> None:
    t = binary_pair_targets(2, 1)
    assert t.tolist() == [[[0.5, 1.0], [0.0, 0.5]]]
    # pairs (0,1) target 1 on σ(2) and (1,0) target 0 on σ(-2): both cost log(1 + e^-2)
    assert ranknet(torch.tensor([[2.0, 0.0]]), t).item() == pytest.approx(LOG1P_EXP_M2, abs=1e-6)


def test_ranknet_ignores_no_preference_pairs() -> None:
    # three docs, binary: pairs among the two negatives have target 0.5 and are skipped
    t = binary_pair_targets(3, 1)
    scores = torch.tensor([[2.0, 0.0, 0.0]])
    assert ranknet(scores, t).item() == pytest.approx(LOG1P_EXP_M2, abs=1e-6)


def test_ranknet_soft_targets() -> None:
    # teacher [1, 0] -> P01 = σ(1) = 0.731059; student diff 2:
    # -(p log σ(2) + (1 - p) log σ(-2)) = p * 0.126928 + (1 - p) * 2.126928 = 0.664811 (same for (1,0))
    t = soft_pair_targets(torch.tensor([[1.0, 0.0]]))
    assert t[0, 0, 1].item() == pytest.approx(1 / (1 + math.exp(-1)), abs=1e-6)
    p = 1 / (1 + math.exp(-1))
    expected = p * LOG1P_EXP_M2 + (1 - p) * (2 + LOG1P_EXP_M2)
    assert ranknet(torch.tensor([[2.0, 0.0]]), t).item() == pytest.approx(expected, abs=1e-5)
    assert expected == pytest.approx(0.664811, abs=1e-5)


def test_kl_distillation_by_hand() -> None:
    # T = 2: p_t = softmax([0, 1]) = [0.268941, 0.731059], log p_s = log_softmax([1, 0]);
    # KL = 0.268941 * (-1) + 0.731059 * (+1) = 0.462117, times T² = 4 -> 1.848469
    kl = kl_distillation(torch.tensor([[2.0, 0.0]]), torch.tensor([[0.0, 2.0]]), temperature=2.0)
    assert kl.item() == pytest.approx(4 * (0.731059 - 0.268941), abs=1e-5)
    same = kl_distillation(torch.tensor([[1.0, 3.0]]), torch.tensor([[1.0, 3.0]]))
    assert same.item() == pytest.approx(0.0, abs=1e-7)


def test_hybrid_defaults_and_weights() -> None:
    scores, teacher = torch.tensor([[2.0, 0.0]]), torch.tensor([[0.0, 2.0]])
    parts = hybrid_loss(scores, teacher)  # alpha 0.1, T 2, 0.5 RankNet + 0.5 CE
    main = 0.5 * LOG1P_EXP_M2 + 0.5 * LOG1P_EXP_M2
    assert parts["loss"].item() == pytest.approx(0.9 * main + 0.1 * 1.848469, abs=1e-5)
    assert parts["loss"].item() == pytest.approx(0.299082, abs=1e-5)
    no_teacher = hybrid_loss(scores, None)
    assert no_teacher["loss"].item() == pytest.approx(main, abs=1e-6)
    assert "kl" not in no_teacher


def test_hybrid_soft_ranknet_needs_teacher() -> None:
    with pytest.raises(ValueError, match="teacher"):
        hybrid_loss(torch.zeros(1, 2), None, HybridLossConfig(ranknet_targets="teacher"))


def test_gradient_flows_to_scores_only() -> None:
    scores = torch.tensor([[0.5, 0.2, -0.1]], requires_grad=True)
    teacher = torch.tensor([[1.0, 0.0, 0.0]], requires_grad=True)
    hybrid_loss(scores, teacher, HybridLossConfig(ranknet_targets="teacher"))["loss"].backward()
    assert scores.grad is not None and scores.grad.abs().sum() > 0
    assert teacher.grad is None or teacher.grad.abs().sum() == 0
