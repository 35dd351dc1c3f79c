"""The shared training-loop helpers (thinkir.training.loop)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from thinkir.training.loop import (  # noqa: E402
    Checkpointer,
    autocast_for,
    epoch_batch,
    optimizer_step,
    record_step,
    warmup_linear_factor,
    warmup_linear_schedule,
)


def test_warmup_linear_factor_by_hand() -> None:
    # total 10, warmup 4: (s + 1) / 4 up to 1, times (10 - s) / 6
    assert warmup_linear_factor(0, 10, 4) == pytest.approx(0.25 * 10 / 6)
    assert warmup_linear_factor(2, 10, 4) == pytest.approx(0.75 * 8 / 6)
    assert warmup_linear_factor(3, 10, 4) == pytest.approx(1.0 * 7 / 6)
    assert warmup_linear_factor(7, 10, 4) == pytest.approx(3 / 6)
    assert warmup_linear_factor(10, 10, 4) == 0.0
    assert warmup_linear_factor(12, 10, 4) == 0.0
    # no warm-up: linear decay from 1
    assert warmup_linear_factor(0, 4, 0) == pytest.approx(1.0)
    assert warmup_linear_factor(2, 4, 0) == pytest.approx(0.5)


def _opt(lr: float = 1.0) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=lr)


def test_warmup_linear_schedule_lr_values() -> None:
    opt = _opt(2.0)
    sched = warmup_linear_schedule(opt, 10, 4)
    lrs = []
    for _ in range(5):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([2.0 * warmup_linear_factor(s, 10, 4) for s in range(5)])
    assert lrs[0] == pytest.approx(2.0 * 0.25 * 10 / 6)


def test_warmup_linear_schedule_reads_a_callable_total() -> None:
    total = 10
    opt = _opt()
    sched = warmup_linear_schedule(opt, lambda: total, 2)
    opt.step()
    sched.step()  # step 1: min(1, 2/2) * (10 - 1) / 8
    assert opt.param_groups[0]["lr"] == pytest.approx(9 / 8)
    total = 5  # shortened (time budget)
    opt.step()
    sched.step()  # step 2: (5 - 2) / 3
    assert opt.param_groups[0]["lr"] == pytest.approx(1.0)


def _run(tmp_path: Path) -> tuple[dict[str, torch.nn.Parameter], torch.optim.Optimizer, object, Checkpointer]:
    weights = {"a": torch.nn.Parameter(torch.zeros(3)), "b": torch.nn.Parameter(torch.zeros(2, 2))}
    opt = torch.optim.AdamW(list(weights.values()), lr=0.1)
    sched = warmup_linear_schedule(opt, 20, 2)
    return weights, opt, sched, Checkpointer(tmp_path / "checkpoint" / "state.pt", weights, opt, sched)


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    weights, opt, sched, ckpt = _run(tmp_path)
    assert ckpt.resume() == 0  # nothing saved yet
    for _ in range(3):
        loss = sum((p - 1.0).pow(2).sum() for p in weights.values())
        optimizer_step(loss, opt, sched, weights.values(), 1.0)
    ckpt.save(3)
    path = tmp_path / "checkpoint" / "state.pt"
    assert path.is_file() and not path.with_suffix(".tmp").exists()
    state = torch.load(path, weights_only=False)
    assert set(state) == {"weights", "optimizer", "scheduler", "step"}
    assert state["step"] == 3

    weights2, opt2, sched2, ckpt2 = _run(tmp_path)
    assert ckpt2.resume(map_location="cpu") == 3
    for n, p in weights.items():
        assert torch.equal(weights2[n].detach(), p.detach())
        assert not torch.equal(p.detach(), torch.zeros_like(p))
    assert opt2.param_groups[0]["lr"] == pytest.approx(opt.param_groups[0]["lr"])
    assert sched2.state_dict()["last_epoch"] == sched.state_dict()["last_epoch"] == 3  # type: ignore[attr-defined]
    assert opt2.state_dict()["state"][0]["step"] == opt.state_dict()["state"][0]["step"]


def test_checkpoint_save_overwrites(tmp_path: Path) -> None:
    weights, _, _, ckpt = _run(tmp_path)
    ckpt.save(1)
    with torch.no_grad():
        weights["a"].fill_(5.0)
    ckpt.save(2)
    state = torch.load(tmp_path / "checkpoint" / "state.pt", weights_only=False)
    assert state["step"] == 2
    assert torch.equal(state["weights"]["a"], torch.full((3,), 5.0))


@pytest.mark.parametrize(("n", "batch_size"), [(10, 3), (9, 3), (7, 8), (1, 1)])
def test_epoch_batch_covers_every_index_once_per_epoch(n: int, batch_size: int) -> None:
    steps_per_epoch = -(-n // batch_size)
    for epoch in range(3):
        seen: list[int] = []
        for pos in range(steps_per_epoch):
            e, idx = epoch_batch(epoch * steps_per_epoch + pos, n, batch_size, 13, steps_per_epoch)
            assert e == epoch
            assert 0 < len(idx) <= batch_size
            seen += idx
        assert sorted(seen) == list(range(n))


def test_epoch_batch_is_seeded_per_epoch() -> None:
    a = [epoch_batch(s, 20, 4, 7, 5)[1] for s in range(10)]
    assert a == [epoch_batch(s, 20, 4, 7, 5)[1] for s in range(10)]  # resumable from the step alone
    assert a[:5] != a[5:]  # a new permutation each epoch
    assert a != [epoch_batch(s, 20, 4, 8, 5)[1] for s in range(10)]


def test_epoch_batch_empty_slice_falls_back_to_first_batch() -> None:
    # more steps per epoch than the examples fill
    assert epoch_batch(3, 4, 2, 0, 5)[1] == epoch_batch(0, 4, 2, 0, 5)[1]


def test_autocast_for() -> None:
    import warnings

    cpu = autocast_for("cpu")
    assert cpu.device == "cpu"
    with cpu:
        assert not torch.is_autocast_cpu_enabled()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "CUDA is not available … disabling autocast" on CPU machines
        cuda = autocast_for("cuda:0")
    assert cuda.device == "cuda" and cuda.fast_dtype == torch.bfloat16
    with autocast_for("cpu", cpu_bf16=True):  # opt-in bf16 compute on the CPU, fp32 weights untouched
        w = torch.ones(4, 4)
        y = w @ torch.ones(4, 2)
    assert y.dtype == torch.bfloat16 and w.dtype == torch.float32


def test_record_step_logs_and_budget(caplog: pytest.LogCaptureFixture) -> None:
    import time

    log: list[dict[str, float]] = []
    with caplog.at_level(logging.INFO):
        stop = record_step(log, {"loss": 1.23456}, 0, 5, time.perf_counter(), 2, None, "demo")
    assert not stop
    assert log[0]["step"] == 0 and log[0]["loss"] == 1.23456 and "seconds" in log[0]
    assert "demo step 1/5" in caplog.text
    assert not record_step(log, {"loss": 1.0}, 1, 5, time.perf_counter(), 2, 1000.0, "demo")
    assert record_step(log, {"loss": 1.0}, 2, 5, time.perf_counter() - 10, 2, 1.0, "demo")
    assert len(log) == 3


def test_time_budget_shortens_the_plan_once_and_stops_when_spent(monkeypatch) -> None:
    import logging

    import thinkir.training.loop as loop

    clock = [100.0]
    monkeypatch.setattr(loop.time, "perf_counter", lambda: clock[0])
    budget = loop.TimeBudget(10.0, first_step=0, label="stage-x", log=logging.getLogger("t"), probe_steps=4)
    clock[0] += 2.0  # 4 steps took 2 s: 0.5 s per step, 8 s left -> 16 more steps fit
    assert budget.refit(3, 100) == 100  # not yet at the probe step
    assert budget.refit(4, 100) == 20
    assert budget.refit(4, 10) == 10  # a plan that fits is kept
    assert not budget.exhausted(5, 20)
    clock[0] += 8.5
    assert budget.exhausted(19, 20)
    assert not loop.TimeBudget(None, 0, "x", logging.getLogger("t")).exhausted(10**6, 1)
