"""Compact model copies: fp16 weights and an int8 vocabulary matrix (one fp32 scale per row).

A sentence-transformers folder shrinks from 87 MB to ~34 MB for MiniLM, small enough to ship to a
machine that takes a few tens of MB (the lent GPU machines). :func:`thinkir.models.resolve` expands a
compact folder transparently, so every loader (embedders, teachers, the LREM retriever) accepts one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

logger = logging.getLogger(__name__)

COMPACT_META = "thinkir_compact.json"
COMPACT_WEIGHTS = "model.compact.safetensors"
WEIGHTS = "model.safetensors"
VOCAB_ROWS = 10_000  # a 2-D weight with more rows than this is the token-embedding matrix


def is_compact(path: Path) -> bool:
    return (path / COMPACT_META).is_file()


def compact_model(src: Path, dst: Path) -> None:
    """Write a compact copy of the model folder ``src`` (weights in ``model.safetensors``) to ``dst``."""
    import numpy as np
    from safetensors.numpy import load_file, save_file

    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(WEIGHTS, "*.bin", "onnx", "openvino", "README.md"))
    out: dict[str, np.ndarray] = {}
    int8: list[str] = []
    for name, value in load_file(str(src / WEIGHTS)).items():
        if value.ndim == 2 and value.shape[0] > VOCAB_ROWS:
            scale = np.abs(value).max(axis=1, keepdims=True).astype(np.float32) / 127
            out[name + ".int8"] = np.round(value / np.maximum(scale, 1e-12)).astype(np.int8)
            out[name + ".scale"] = scale
            int8.append(name)
        else:
            out[name] = value.astype(np.float16) if value.dtype == np.float32 else value
    save_file(out, str(dst / COMPACT_WEIGHTS))
    (dst / COMPACT_META).write_text(json.dumps({"format": 1, "int8_rows": int8}))


def expand_compact(path: Path, cache_dir: Path) -> Path:
    """``path`` itself, or (for a compact folder) an fp32 copy under ``cache_dir``, made once, atomically."""
    if not is_compact(path):
        return path
    from filelock import FileLock

    digest = hashlib.sha256((path / COMPACT_META).read_bytes())
    digest.update(str((path / COMPACT_WEIGHTS).stat().st_size).encode())
    out = cache_dir / "expanded" / f"{path.name}-{digest.hexdigest()[:12]}"
    if (out / WEIGHTS).is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out) + ".lock"):
        if (out / WEIGHTS).is_file():
            return out
        import numpy as np
        from safetensors.numpy import load_file, save_file

        meta = json.loads((path / COMPACT_META).read_text())
        packed = load_file(str(path / COMPACT_WEIGHTS))
        tensors = {
            name: value.astype(np.float32) if value.dtype == np.float16 else value
            for name, value in packed.items()
            if not name.endswith((".int8", ".scale"))
        }
        for name in meta["int8_rows"]:
            tensors[name] = packed[name + ".int8"].astype(np.float32) * packed[name + ".scale"]
        tmp = out.with_name(out.name + f".tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(path, tmp, ignore=shutil.ignore_patterns(COMPACT_WEIGHTS, COMPACT_META))
        save_file(tensors, str(tmp / WEIGHTS))
        os.replace(tmp, out)
        logger.info("expanded compact model %s into %s", path, out)
    return out
