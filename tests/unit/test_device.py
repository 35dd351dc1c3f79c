"""Device and dtype choice (``thinkir.device``)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from thinkir.device import pick_dtype, torch_dtype  # noqa: E402


def test_torch_dtype_maps_names_and_leaves_the_default_to_the_caller() -> None:
    assert torch_dtype("bfloat16") is torch.bfloat16
    assert torch_dtype("float32") is torch.float32
    assert torch_dtype(None) is None and torch_dtype("") is None and torch_dtype("auto") is None


@pytest.mark.parametrize("name", ["bf17", "Tensor", "cuda"])  # unknown, and torch attributes that are no dtype
def test_torch_dtype_rejects_what_is_not_a_dtype(name: str) -> None:
    with pytest.raises(ValueError, match="use float32, bfloat16 or float16"):
        torch_dtype(name)


def test_pick_dtype_defaults_and_requests() -> None:
    assert pick_dtype("cpu") is torch.float32
    assert pick_dtype("cpu", "auto") is torch.float32
    assert pick_dtype("cpu", "bfloat16") is torch.bfloat16
    with pytest.raises(ValueError, match="not a torch dtype"):
        pick_dtype("cpu", "half-ish")
