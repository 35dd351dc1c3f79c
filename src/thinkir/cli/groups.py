"""Command groups that several modules add commands to (``thinkir eval …``, ``thinkir train …``)."""

from __future__ import annotations

import logging

import typer

from thinkir.cli import app

eval_app = typer.Typer(
    help="Evaluate pipelines on BEIR/TREC data; every command ends with one JSON line.", no_args_is_help=True
)
train_app = typer.Typer(help="Train models from a config file (dataclass arguments).", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
app.add_typer(train_app, name="train")


@train_app.callback()
def _train_logs() -> None:
    """Training is long work: its steps, losses and time budget are logged (INFO) without ``-v``."""
    logging.getLogger("thinkir").setLevel(logging.INFO)
