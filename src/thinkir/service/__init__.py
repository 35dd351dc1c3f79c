"""The HTTP gateway: a FastAPI app built by :func:`create_app` over the same library objects as the CLI.

Imports FastAPI lazily so ``import thinkir.service`` stays cheap where the ``service`` extra is absent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from thinkir.service.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from thinkir._optional import require

        require("fastapi", "service")
        from thinkir.service.app import create_app

        return create_app
    raise AttributeError(f"module 'thinkir.service' has no attribute {name!r}")
