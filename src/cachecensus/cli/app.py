"""The Typer application: global wiring and exit codes.

Each command family lives in its own module and exposes ``register(app)``; this module only
assembles them, so adding a command never touches another family's code.
"""

from __future__ import annotations

import importlib

import typer

from cachecensus import __version__

#: Command-family modules under ``cachecensus.cli``, in ``--help`` order.
FAMILIES: tuple[str, ...] = ("envs", "dirs", "audit", "remove", "install", "completion")

app = typer.Typer(
    name="cachecensus",
    help="Find every package cache on this machine; see, trim and bypass them safely.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"cachecensus {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Find every package cache on this machine; see, trim and bypass them safely."""


for _family in FAMILIES:
    importlib.import_module(f"cachecensus.cli.{_family}").register(app)


def main() -> None:
    app()
