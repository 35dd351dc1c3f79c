"""DeAR rerankers in the registry, and ``thinkir train reranker-pointwise|reranker-listwise``.

Importing this module (``thinkir.cli`` does) adds ``dear-pointwise``, ``dear-listwise`` and ``dear`` to
:data:`thinkir.rerank.RERANKERS`. Their adapters come from ``THINKIR_DEAR_POINTWISE_ADAPTER`` /
``THINKIR_DEAR_LISTWISE_ADAPTER`` (a path or hub id, e.g. ``abdoelsayed/dear-8b-reranker-ce-lora-v1``)
or from the adapters committed in ``thinkir/rerank/adapters/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from thinkir.cli.groups import train_app
from thinkir.rerank import RERANKERS, Reranker


def _dear_pointwise(
    adapter: str | None = None, base_model: str | None = None, device: str | None = None, **kw: Any
) -> Reranker:
    from thinkir.rerank.dear import default_adapter
    from thinkir.rerank.pointwise import DearPointwiseReranker

    return DearPointwiseReranker.from_pretrained(
        adapter or default_adapter("pointwise"), base_model, device, batch_size=kw.get("batch_size")
    )


def _dear_listwise(
    adapter: str | None = None, base_model: str | None = None, device: str | None = None, **kw: Any
) -> Reranker:
    from thinkir.rerank.dear import default_adapter
    from thinkir.rerank.listwise import ListwiseReranker

    return ListwiseReranker.from_pretrained(adapter or default_adapter("listwise"), base_model, device)


def _dear(
    pointwise_adapter: str | None = None,
    listwise_adapter: str | None = None,
    base_model: str | None = None,
    device: str | None = None,
    listwise_depth: int = 30,
    **kw: Any,
) -> Reranker:
    from thinkir.rerank.dear import load_dear

    return load_dear(pointwise_adapter, listwise_adapter, base_model, device, listwise_depth, **kw)


RERANKERS.setdefault("dear-pointwise", _dear_pointwise)
RERANKERS.setdefault("dear-listwise", _dear_listwise)
RERANKERS.setdefault("dear", _dear)


@train_app.command("reranker-pointwise")
def train_pointwise(
    config: Path = typer.Option(..., "--config", help="JSON/YAML file with PointwiseTrainConfig keys."),
    output_dir: str = typer.Option(None, "--output-dir", help="Overrides output_dir of the config."),
) -> None:
    """Train the DeAR stage-1 adapter (LoRA + score head, distilled); resumes from output_dir/checkpoint."""
    from thinkir.training import load_config
    from thinkir.training.pointwise import PointwiseTrainConfig, train

    path = train(load_config(PointwiseTrainConfig, config, output_dir=output_dir))
    typer.echo(str(path))


@train_app.command("reranker-listwise")
def train_listwise(
    config: Path = typer.Option(..., "--config", help="JSON/YAML file with ListwiseTrainConfig keys."),
    output_dir: str = typer.Option(None, "--output-dir", help="Overrides output_dir of the config."),
) -> None:
    """Train the DeAR stage-2 adapter (listwise SFT on reasoning rankings); resumes from a checkpoint."""
    from thinkir.training import load_config
    from thinkir.training.listwise import ListwiseTrainConfig, train

    path = train(load_config(ListwiseTrainConfig, config, output_dir=output_dir))
    typer.echo(str(path))
