"""``cachecensus completion show|install|uninstall``: the shell completion scripts.

Where ``install`` puts the script (``--system``: for every user; with ``--root DIR``, inside a
mounted image):

- bash: ``${XDG_DATA_HOME:-~/.local/share}/bash-completion/completions/cachecensus``
  (bash-completion loads it on first TAB); ``--system``:
  ``/usr/share/bash-completion/completions/cachecensus``.
- zsh: ``~/.zfunc/_cachecensus`` (we say when ``~/.zfunc`` is not on ``fpath`` yet, with the
  line to add); ``--system``: ``/usr/local/share/zsh/site-functions/_cachecensus``.
- fish: ``${XDG_CONFIG_HOME:-~/.config}/fish/completions/cachecensus.fish``; ``--system``:
  ``/usr/share/fish/vendor_completions.d/cachecensus.fish``.

``install`` writes exactly one file (creating missing parent directories) and is idempotent;
``uninstall`` removes that file, and only when it is ours.
"""

from __future__ import annotations

import json
import os
import posixpath
from dataclasses import asdict, dataclass
from enum import Enum

import typer

from cachecensus import userfile
from cachecensus.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    JsonOption,
    RootOption,
    fail,
    make_host,
)
from cachecensus.cli.completion_scripts import FILE_NAMES, render
from cachecensus.models import SCHEMA

#: A line every generated script carries: how ``uninstall`` knows a file is ours.
MARKER = "completion for cachecensus."


class Shell(str, Enum):
    BASH = "bash"
    ZSH = "zsh"
    FISH = "fish"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Outcome:
    shell: str
    path: str  # where the script is (on this machine)
    action: str  # installed | updated | unchanged | removed | absent
    notes: tuple[str, ...] = ()


app = typer.Typer(
    help="Shell completion for bash, zsh and fish (fast: no Python at TAB).",
    no_args_is_help=True,
)


def _home() -> str:
    return os.environ.get("HOME") or os.path.expanduser("~")


def _xdg(var: str, default: str) -> str:
    value = os.environ.get(var, "")
    return value if value.startswith("/") else posixpath.join(_home(), default)


def target_path(shell: Shell, system: bool, root: str | None = None) -> str:
    """Where ``install`` puts the script for ``shell``."""
    name = FILE_NAMES[shell.value]
    if system:
        directory = {
            Shell.BASH: "/usr/share/bash-completion/completions",
            Shell.ZSH: "/usr/local/share/zsh/site-functions",
            Shell.FISH: "/usr/share/fish/vendor_completions.d",
        }[shell]
        if root:
            directory = posixpath.join(os.path.realpath(root), directory.lstrip("/"))
        return posixpath.join(directory, name)
    if shell is Shell.BASH:
        directory = posixpath.join(
            _xdg("XDG_DATA_HOME", ".local/share"), "bash-completion", "completions"
        )
    elif shell is Shell.ZSH:
        directory = posixpath.join(_home(), ".zfunc")
    else:
        directory = posixpath.join(_xdg("XDG_CONFIG_HOME", ".config"), "fish", "completions")
    return posixpath.join(directory, name)


def _notes(shell: Shell, system: bool, path: str) -> tuple[str, ...]:
    """What the user still has to do for the shell to find the script, if anything."""
    if shell is Shell.ZSH and not system:
        zshrc = posixpath.join(os.environ.get("ZDOTDIR") or _home(), ".zshrc")
        try:
            on_fpath = ".zfunc" in userfile.read_text(zshrc, errors="replace")
        except OSError:
            on_fpath = False
        if not on_fpath:
            return (
                f"~/.zfunc is not on zsh's fpath: add `fpath=(~/.zfunc $fpath)` to {zshrc} "
                "before `compinit`, then start a new shell",
            )
    if shell is Shell.BASH and not os.path.exists("/usr/share/bash-completion/bash_completion"):
        return (f"bash-completion is not installed: add `source {path}` to ~/.bashrc",)
    if shell is Shell.ZSH:
        return ("start a new shell (or run `compinit`) to pick it up",)
    return ()


def _detect_shell(shell: Shell | None, system: bool, root: str | None) -> Shell:
    if root and not system:
        fail("--root only applies to --system (a user's completion lives in their home)")
    if root:
        make_host(root)  # a --root that is not a directory is a usage error, as everywhere
    if shell is not None:
        return shell
    name = posixpath.basename(os.environ.get("SHELL", ""))
    try:
        return Shell(name)
    except ValueError:
        fail(f"cannot tell your shell from SHELL={name or '(unset)'}; pass --shell bash|zsh|fish")


def install_script(shell: Shell, system: bool, root: str | None = None) -> Outcome:
    """Write the script where ``shell`` looks; idempotent."""
    path = target_path(shell, system, root)
    text = render(shell.value)
    try:
        old: str | None = userfile.read_text(path, errors="replace")
    except OSError:
        old = None
    if old == text:
        return Outcome(shell.value, path, "unchanged", _notes(shell, system, path))
    if old is not None and MARKER not in old:
        raise OSError(f"{path} exists and is not a cachecensus completion script; left alone")
    os.makedirs(posixpath.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    action = "installed" if old is None else "updated"
    return Outcome(shell.value, path, action, _notes(shell, system, path))


def uninstall_script(shell: Shell, system: bool, root: str | None = None) -> Outcome:
    """Remove the script ``install`` wrote (only a cachecensus script); idempotent."""
    path = target_path(shell, system, root)
    try:
        text = userfile.read_text(path, errors="replace")
    except FileNotFoundError:
        return Outcome(shell.value, path, "absent")
    if MARKER not in text:
        raise OSError(f"{path} is not a cachecensus completion script; left alone")
    os.unlink(path)
    return Outcome(shell.value, path, "removed")


_SAID = {
    "installed": "installed {shell} completion: {path}",
    "updated": "updated {shell} completion: {path}",
    "unchanged": "{shell} completion already installed and up to date: {path}",
    "removed": "removed {shell} completion: {path}",
    "absent": "no {shell} completion installed at {path}: nothing to remove",
}


def _report(outcome: Outcome, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"schema": SCHEMA, **asdict(outcome)}, indent=2))
        return
    print(_SAID[outcome.action].format(shell=outcome.shell, path=outcome.path))
    for note in outcome.notes:
        print(f"note: {note}")


ShellOption = typer.Option(
    None, "--shell", help="bash, zsh or fish (default: your login shell, from $SHELL)."
)
SystemOption = typer.Option(
    False, "--system", help="For every user (a system directory; needs root)."
)


@app.command("show")
def show(shell: Shell = typer.Argument(..., help="bash, zsh or fish.")) -> None:
    """Print the completion script for SHELL."""
    print(render(shell.value), end="")


@app.command("install")
def install(
    shell: Shell | None = ShellOption,
    system: bool = SystemOption,
    root: str | None = RootOption,
    as_json: bool = JsonOption,
) -> None:
    """Put the completion script where your shell looks for it (idempotent)."""
    chosen = _detect_shell(shell, system, root)
    try:
        outcome = install_script(chosen, system, root)
    except OSError as exc:
        fail(str(exc), EXIT_PARTIAL)
    _report(outcome, as_json)
    raise typer.Exit(EXIT_OK)


@app.command("uninstall")
def uninstall(
    shell: Shell | None = ShellOption,
    system: bool = SystemOption,
    root: str | None = RootOption,
    as_json: bool = JsonOption,
) -> None:
    """Remove the completion script `install` wrote (idempotent)."""
    chosen = _detect_shell(shell, system, root)
    try:
        outcome = uninstall_script(chosen, system, root)
    except OSError as exc:
        fail(str(exc), EXIT_PARTIAL)
    _report(outcome, as_json)
    raise typer.Exit(EXIT_OK)


def register(root_app: typer.Typer) -> None:
    root_app.add_typer(app, name="completion")
