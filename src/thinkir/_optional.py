"""Imports of optional dependencies that fail with the ``pip install`` line to run."""

from __future__ import annotations

import importlib
from types import ModuleType

from thinkir.errors import MissingExtraError


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingExtraError(f"{module!r} is not installed; run: pip install 'thinkir[{extra}]'") from err
