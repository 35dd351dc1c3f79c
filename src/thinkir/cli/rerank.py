"""``thinkir train reranker-pointwise|reranker-listwise|cross-encoder`` (the DeAR rerankers and their teacher)."""

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


@train_app.command("cross-encoder")
def train_cross_encoder(
    config: Path = typer.Option(..., "--config", help="JSON/YAML file with CrossEncoderTrainConfig keys."),
    output_dir: str = typer.Option(None, "--output-dir", help="Overrides output_dir of the config."),
) -> None:
    """Fine-tune a cross-encoder teacher for DeAR stage 1 (default: from MiniLM) and compare it with the
    bi-encoder teacher on the stage-1 dev split (output_dir/teacher_comparison.json)."""
    from thinkir.training import load_config
    from thinkir.training.cross_encoder import CrossEncoderTrainConfig, train

    path = train(load_config(CrossEncoderTrainConfig, config, output_dir=output_dir))
    typer.echo(str(path))
