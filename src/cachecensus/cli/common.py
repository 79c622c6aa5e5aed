"""Pieces every command family shares: exit codes, common options, error handling."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

from cachecensus.host import Host

#: Exit codes, the same for every command.
EXIT_OK = 0
EXIT_PARTIAL = 1  # done, but something could not be read/removed; or pip's cache is disabled
EXIT_USAGE = 2  # bad input: unknown user, bad path, bad option value

RootOption = typer.Option(
    None,
    "--root",
    metavar="DIR",
    help="Treat DIR as the machine's root (a mounted disk image or container rootfs).",
)
JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON (see README).")


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print a one-line error on stderr and exit (never a traceback for bad input)."""
    from cachecensus.report import shown

    print(f"cachecensus: error: {shown(message)}", file=sys.stderr)
    raise typer.Exit(code)


def warn(message: str) -> None:
    from cachecensus.report import shown

    print(f"cachecensus: warning: {shown(message)}", file=sys.stderr)


def make_host(root: str | None) -> Host:
    try:
        return Host.local(root)
    except OSError as exc:
        fail(str(exc))
