"""``thinkir train reranker-pointwise|reranker-listwise`` (the DeAR rerankers are in the registry)."""

from __future__ import annotations

from pathlib import Path

import typer

from thinkir.cli.groups import train_app


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
