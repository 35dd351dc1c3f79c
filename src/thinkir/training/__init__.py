"""Training: ranking losses and trainers configured by dataclass arguments loadable from JSON/YAML.

Heavy modules (torch, transformers, peft) are imported by the trainer modules, not here.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def load_config(cls: type[T], path: str | Path, **overrides: Any) -> T:
    """Build the dataclass ``cls`` from a JSON or YAML file; unknown keys are an error.

    Raises:
        thinkir.errors.InputError: missing file, bad syntax or unknown keys.
    """
    from thinkir.errors import InputError

    path = Path(path)
    if not path.is_file():
        raise InputError(f"config file not found: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            raw = yaml.safe_load(text) or {}
        else:
            raw = json.loads(text)
    except Exception as err:  # json and yaml raise different types
        raise InputError(f"cannot parse config {path}: {err}") from err
    if not isinstance(raw, dict):
        raise InputError(f"config {path} must hold a mapping")
    raw = {k: v for k, v in raw.items() if not k.startswith("_")}  # "_comment" keys
    raw.update({k: v for k, v in overrides.items() if v is not None})
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(raw) - names)
    if unknown:
        raise InputError(f"unknown keys in {path}: {unknown}; valid: {sorted(names)}")
    return cls(**raw)


def save_config(cfg: Any, path: Path) -> None:
    """Write a dataclass config as JSON (the run's record)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dataclasses.asdict(cfg), indent=2, sort_keys=True, default=str))


__all__ = ["load_config", "save_config"]
