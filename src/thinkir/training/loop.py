"""Plumbing shared by the training loops (DeAR stages 1-2, LREM cold start and GRPO).

* :func:`warmup_linear_factor` / :func:`warmup_linear_schedule`: linear warm-up then linear decay to 0;
  the total may be a callable, so a trainer can shorten its schedule (time budget) mid-run.
* :class:`Checkpointer`: ``state.pt`` with the keys ``weights`` / ``optimizer`` / ``scheduler`` / ``step``,
  written atomically (tmp file + replace) and read back by :meth:`Checkpointer.resume`.
* :func:`autocast_for`: bf16 autocast on CUDA, a disabled autocast elsewhere.
* :func:`epoch_batch`: the batch of a step from a per-epoch seeded permutation (resumable by step alone).
* :func:`optimizer_step`: zero-grad, backward, gradient clipping, optimizer and scheduler step.
* :func:`record_step`: append a step's stats to the log, log it every ``log_every`` steps and say
  whether the time budget is spent.

torch is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

_logger = logging.getLogger(__name__)


def warmup_linear_factor(step: int, total: int, warmup: int) -> float:
    """LR factor at ``step``: ``(step + 1) / warmup`` capped at 1, times ``(total - step) / (total - warmup)``.

    Both denominators are at least 1 and the decay never goes below 0 (steps past ``total``).
    """
    return min(1.0, (step + 1) / max(1, warmup)) * max(0.0, (total - step) / max(1, total - warmup))


def warmup_linear_schedule(opt: Any, total: int | Callable[[], int], warmup: int) -> Any:
    """A ``LambdaLR`` of :func:`warmup_linear_factor`; ``total`` may be a callable read at every step."""
    import torch

    def total_now() -> int:
        return total() if callable(total) else total

    return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_linear_factor(s, total_now(), warmup))


class Checkpointer:
    """Save and resume a run's trainable weights, optimizer, scheduler and step in one ``state.pt``."""

    def __init__(self, path: str | Path, weights: Mapping[str, Any], opt: Any, sched: Any) -> None:
        self.path = Path(path)
        self.weights = weights
        self.opt = opt
        self.sched = sched

    def resume(self, map_location: Any = None) -> int:
        """Load the checkpoint (if any) into the weights, optimizer and scheduler; returns its step, else 0."""
        import torch

        if not self.path.is_file():
            return 0
        state = torch.load(self.path, map_location=map_location, weights_only=False)
        with torch.no_grad():
            for n, p in self.weights.items():
                p.copy_(state["weights"][n])
        self.opt.load_state_dict(state["optimizer"])
        self.sched.load_state_dict(state["scheduler"])
        return int(state["step"])

    def save(self, step: int) -> None:
        """Write the checkpoint atomically: a temporary file beside it, then a rename over it."""
        import torch

        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        torch.save(
            {
                "weights": {n: p.detach() for n, p in self.weights.items()},
                "optimizer": self.opt.state_dict(),
                "scheduler": self.sched.state_dict(),
                "step": step,
            },
            tmp,
        )
        tmp.replace(self.path)


def autocast_for(device: str, cpu_bf16: bool = False) -> Any:
    """bf16 autocast on a CUDA device; on the CPU a bf16 autocast when ``cpu_bf16`` (about 2.5x faster
    matrix products on CPUs with AVX512-BF16 or AMX, fp32 master weights kept), else a disabled one."""
    import torch

    if device.startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=cpu_bf16)


def epoch_batch(step: int, n: int, batch_size: int, seed: int, steps_per_epoch: int) -> tuple[int, list[int]]:
    """``(epoch, indices)`` of ``step``: slice ``step % steps_per_epoch`` of the permutation seeded ``seed + epoch``.

    An empty slice (more steps per epoch than the examples fill) falls back to the first batch.
    """
    epoch, pos = divmod(step, steps_per_epoch)
    perm = list(range(n))
    random.Random(seed + epoch).shuffle(perm)
    return epoch, perm[pos * batch_size : (pos + 1) * batch_size] or perm[:batch_size]


def optimizer_step(loss: Any, opt: Any, sched: Any, params: Iterable[Any], max_grad_norm: float) -> None:
    """Zero the gradients, back-propagate ``loss``, clip the gradients of ``params``, step optimizer and scheduler."""
    import torch

    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(list(params), max_grad_norm)
    opt.step()
    sched.step()


def record_step(
    log: list[dict[str, float]],
    stats: dict[str, float],
    step: int,
    total: int,
    start: float,
    log_every: int,
    time_budget_s: float | None,
    label: str,
    logger: logging.Logger = _logger,
) -> bool:
    """Log step ``step`` (0-based) of ``total``; True when the time budget (from ``start``) is spent."""
    stats.update(step=step, seconds=time.perf_counter() - start)
    log.append(stats)
    if step % log_every == 0 or step == total - 1:
        logger.info("%s step %d/%d %s", label, step + 1, total, {k: round(v, 4) for k, v in stats.items()})
    if time_budget_s and time.perf_counter() - start > time_budget_s:
        logger.warning("%s: time budget of %.0f s reached after %d steps", label, time_budget_s, step + 1)
        return True
    return False


__all__ = [
    "Checkpointer",
    "TimeBudget",
    "autocast_for",
    "epoch_batch",
    "optimizer_step",
    "record_step",
    "warmup_linear_factor",
    "warmup_linear_schedule",
]


class TimeBudget:
    """A wall-clock training budget that also shortens the planned schedule to fit it.

    After ``probe_steps`` steps it measures the time per step and, when the planned ``total`` would
    overrun, returns a smaller total, so a warm-up/decay schedule reading it decays before the budget
    ends. ``seconds`` of None or 0 means no budget.
    """

    def __init__(
        self, seconds: float | None, first_step: int, label: str, log: logging.Logger, probe_steps: int = 20
    ) -> None:
        self.seconds = seconds or 0.0
        self.first_step = first_step
        self.label = label
        self.log = log
        self.probe_steps = probe_steps
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def refit(self, step: int, total: int) -> int:
        """The planned total after ``step``: shortened once, after the probe steps, if it cannot fit."""
        if not self.seconds or step != self.first_step + self.probe_steps:
            return total
        per_step = self.elapsed() / self.probe_steps
        fits = step + int((self.seconds - self.elapsed()) / per_step)
        if fits >= total:
            return total
        self.log.info("time budget: %d of %d planned steps fit (%.3fs/step)", fits, total, per_step)
        return max(step + 1, fits)

    def exhausted(self, step: int, total: int) -> bool:
        if not self.seconds or self.elapsed() <= self.seconds:
            return False
        self.log.warning("%s: time budget of %.0fs reached at step %d/%d", self.label, self.seconds, step, total)
        return True
