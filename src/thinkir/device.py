"""The one place that decides device and dtype."""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from typing import Any

logger = logging.getLogger(__name__)


@lru_cache(maxsize=8)
def pick_device(requested: str | None = None) -> str:
    """Return ``requested`` if given, else ``cuda`` when a GPU is usable, else ``mps``, else ``cpu``.

    ``THINKIR_DEVICE`` overrides the automatic choice. torch is imported here, never at package import.
    """
    requested = requested or os.environ.get("THINKIR_DEVICE") or None
    if requested and requested != "auto":
        return requested
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def torch_dtype(name: str | None) -> Any:
    """``"bfloat16"`` -> ``torch.bfloat16``; None, ``""`` and ``"auto"`` -> None (the caller's default).

    Raises ValueError, naming the accepted spellings, for anything that is not a torch dtype.
    """
    if not name or name == "auto":
        return None
    import torch

    value = getattr(torch, name, None)
    if not isinstance(value, torch.dtype):
        raise ValueError(f"{name!r} is not a torch dtype; use float32, bfloat16 or float16")
    return value


def pick_dtype(device: str, requested: str | None = None) -> Any:
    """fp32 on CPU (bf16 matmuls are slow on most CPUs), bf16 on GPUs that support it, else fp16."""
    import torch

    if requested and requested != "auto":
        return torch_dtype(requested)
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def faiss_gpu_available() -> bool:
    """True when the installed faiss has GPU support and at least one GPU is visible."""
    try:
        import faiss
    except ImportError:
        return False
    get_num_gpus = getattr(faiss, "get_num_gpus", None)
    return bool(get_num_gpus and get_num_gpus() > 0)
