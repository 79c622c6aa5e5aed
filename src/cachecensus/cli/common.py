"""Pieces every command family shares: exit codes, common options, error handling."""

from __future__ import annotations

import sys
from typing import NoReturn, TypeVar

import typer

from cachecensus.host import Host

#: Exit codes, the same for every command.
EXIT_OK = 0
EXIT_PARTIAL = 1  # done, but something could not be read/removed; or pip's cache is disabled
EXIT_USAGE = 2  # bad input: unknown user, bad path, bad option value

T = TypeVar("T")


def not_empty(param: typer.CallbackParam, value: T) -> T:
    """Option callback: an empty or blank value is a usage error, never "not given".

    ``--cache-dir "$DIR"``, ``--version "$SPEC"``, ``--older-than "$AGE"`` with the variable
    unset must not widen what a command reads or removes (all caches, every version, the
    tool's own prune): each such option takes ``callback=not_empty``."""
    values = value if isinstance(value, (list, tuple)) else (value,)
    if any(isinstance(v, str) and not v.strip() for v in values):
        name = param.opts[0] if param.opts else (param.name or "value")
        fail(f"{name}: empty value (an unset variable?); leave the option out instead")
    return value


RootOption = typer.Option(
    None,
    "--root",
    metavar="DIR",
    help="Treat DIR as the machine's root (a mounted disk image or container rootfs).",
    callback=not_empty,
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
