"""The Typer application: global wiring and exit codes.

Each command family lives in its own module and exposes ``register(app)``; this module only
assembles them, so adding a command never touches another family's code.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any

import click
import typer
from typer.core import TyperGroup

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


class OneLineErrors(TyperGroup):
    """The application's group: every usage error (unknown option, bad value, missing
    argument, in any command) is one line on stderr and exit 2, as ``fail`` says it; click and
    Typer would draw a multi-line box (also with ``--json``: stdout stays empty)."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:  # bare `cachecensus`: the help
            print(exc.ctx.get_help(), file=sys.stderr)
            code = exc.exit_code
        except click.ClickException as exc:
            words = list(sys.argv[1:] if args is None else args)
            print(f"cachecensus: error: {self.usage_message(exc, words)}", file=sys.stderr)
            code = exc.exit_code
        except click.Abort:
            print("cachecensus: error: aborted", file=sys.stderr)
            code = 1
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)

    def usage_message(self, exc: click.ClickException, args: list[str]) -> str:
        """One line: the command it is about, click's message, and where its help is."""
        message = " ".join(exc.format_message().split())
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            path = ctx.command_path.split()[1:]
        else:  # the parser's errors (a missing option value) carry no context
            first = next((a for a in args if not a.startswith("-")), None)
            path = [first] if first in self.commands else []
        if not path:
            return message
        command = " ".join(path)
        return f"{command}: {message.removesuffix('.')} (see 'cachecensus {command} --help')"


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
        rich_markup_mode=None,  # help text is plain: '[cache]' in a help is not a style tag
        cls=OneLineErrors,
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
    build(families_for(sys.argv[1:]))(prog_name="cachecensus")
