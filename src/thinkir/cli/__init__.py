"""The ``thinkir`` command line. Thin: parse options, build settings, call the library.

Each command group lives in its own module and registers itself on :data:`app`. Errors a user can act
on (:class:`~thinkir.errors.ThinkirError`) print one line to stderr and exit with the error's code.
"""

from __future__ import annotations

import logging
import sys

import typer

from thinkir.errors import ThinkirError

app = typer.Typer(
    name="thinkir",
    help="thinkir: think, then retrieve. Build indexes, search, serve, evaluate and train.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details (INFO level)."),
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _register() -> None:
    # imported for their side effect of adding commands to ``app``
    from thinkir.cli import demo, groups, index, search  # noqa: F401

    # modules of the later subsystems; each registers its own commands when present
    for optional in ("eval", "serve", "rerank", "reason", "classify"):
        try:
            __import__(f"thinkir.cli.{optional}")
        except ModuleNotFoundError as err:
            if err.name != f"thinkir.cli.{optional}":
                raise


_register()


def main() -> None:
    """Console entry point: run the app, turning library errors into one-line messages."""
    try:
        app()
    except ThinkirError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
