"""The Typer application: global wiring and exit codes.

Each command family lives in its own module and exposes ``register(app)``; this module only
assembles them, so adding a command never touches another family's code.
"""

from __future__ import annotations

import importlib
import sys

import typer

from cachecensus import __version__

#: Command-family modules under ``cachecensus.cli``, in ``--help`` order.
FAMILIES: tuple[str, ...] = ("envs", "dirs", "audit", "remove", "install", "completion")
#: Which family registers each command: a run imports only its command's family (the
#: others cost ~20 ms of start-up); ``tests/test_cli_envs.py`` keeps this map true.
COMMAND_FAMILY: dict[str, str] = {
    "envs": "envs",
    "dir": "dirs",
    "audit": "audit",
    "list": "audit",
    "info": "audit",
    "remove": "remove",
    "purge": "remove",
    "prune": "remove",
    "dedupe": "remove",
    "install": "install",
    "pip": "install",
    "completion": "completion",
}
_HELP = "Find every package cache on this machine; see, trim and bypass them safely."


def _version(value: bool) -> None:
    if value:
        print(f"cachecensus {__version__}")
        raise typer.Exit(0)


def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Find every package cache on this machine; see, trim and bypass them safely."""


def build(families: tuple[str, ...] = FAMILIES) -> typer.Typer:
    """The application with the commands of ``families``."""
    built = typer.Typer(
        name="cachecensus",
        help=_HELP,
        no_args_is_help=True,
        add_completion=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        pretty_exceptions_enable=False,
        suggest_commands=False,  # click itself says "Did you mean ...?" (else it is said twice)
    )
    built.callback()(_root)
    for family in families:
        importlib.import_module(f"cachecensus.cli.{family}").register(built)
    return built


def families_for(argv: list[str]) -> tuple[str, ...]:
    """The families a run with ``argv`` needs: its command's, or all of them (no command,
    an unknown one: the full help and typo suggestions)."""
    command = next((a for a in argv if not a.startswith("-")), None)
    family = COMMAND_FAMILY.get(command) if command is not None else None
    return (family,) if family is not None else FAMILIES


def __getattr__(name: str) -> typer.Typer:
    """``app``: the whole application, built on first use (importers, tests)."""
    if name == "app":
        whole = build()
        globals()["app"] = whole
        return whole
    raise AttributeError(name)


def main() -> None:
    # paths are bytes: one that is not UTF-8 is printed as those bytes (as ls and find
    # do), never an encoding error (tables and notes escape them: report.shown)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="surrogateescape")
    build(families_for(sys.argv[1:]))()
