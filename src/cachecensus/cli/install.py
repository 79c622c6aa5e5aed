"""``cachecensus install`` and ``cachecensus pip``: an environment's pip, cache disabled.

Our own options (``--python``, ``--env``, ``--use-uv``, ``--json``, ``-h``) are recognised
before ``--``; every other word, and everything after ``--``, goes to pip unchanged and in
order (``-v``, ``--index-url URL``, ``-r FILE``...).
"""

from __future__ import annotations

import importlib
import json
import os
import shlex
import shutil
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import typer

from cachecensus.act import install as act
from cachecensus.cli.common import EXIT_USAGE, JsonOption, fail, make_host, not_empty, warn
from cachecensus.discover.interpreter import not_an_interpreter
from cachecensus.host import Host
from cachecensus.models import SCHEMA, Environment

#: Unknown options are pip's: keep them (in order) among the arguments.
PASSTHROUGH = {"ignore_unknown_options": True, "allow_extra_args": True}

PythonOption = typer.Option(
    None,
    "--python",
    metavar="PY",
    help="The interpreter whose pip runs (a path or a name on PATH). "
    "Default: your python3 (a pyenv/asdf shim resolved to the version it would run).",
    callback=not_empty,
)
EnvOption = typer.Option(
    None,
    "--env",
    metavar="NAME",
    help="An environment: a discovered one's name (see `cachecensus envs`), or any "
    "environment prefix or interpreter path.",
    callback=not_empty,
)
UseUvOption = typer.Option(
    False,
    "--use-uv",
    help="Run `uv pip ... --no-cache --python PY` instead (for environments without pip).",
)


def _find_env(host: Host, name: str) -> act.Target:
    """``--env NAME``: an environment discovery found, by name, prefix or interpreter; or
    any environment prefix or interpreter path (discovered or not)."""
    path = os.path.abspath(host.expanduser(name))
    if name.startswith(("/", "~")) and (found := act.target_at(host, path)) is not None:
        return replace(found, chosen_by=f"--env {name}")
    discovery = importlib.import_module("cachecensus.discover")
    discover: Any = getattr(discovery, "discover", None)
    if discover is None:
        fail("--env needs environment discovery, which this build lacks; pass --python PY")
    environments, _problems = discover(host, [host.current_user()])
    envs: list[Environment] = list(environments)
    matches = act.match_environments(envs, name)
    if not matches and (found := act.target_at(host, path)) is not None:
        return replace(found, chosen_by=f"--env {name}")
    if not matches:
        fail(f"--env {name}: no such environment or path (see `cachecensus envs`)")
    if len(matches) > 1:
        listed = ", ".join(sorted(env.interpreter for env in matches))
        fail(f"--env {name}: ambiguous ({listed}); pass --python PY")
    return replace(act.target_of(matches[0]), chosen_by=f"--env {name}")


def choose_target(host: Host, python: str | None, env: str | None) -> act.Target:
    """The interpreter to run, from ``--python``/``--env`` or the default, and why."""
    if python and env:
        fail("--python and --env are mutually exclusive")
    if env:
        return _find_env(host, env)
    if python:
        path = act.which(python, host.env.get("PATH"))
        if path is None:
            fail(f"--python {python}: not found")
        problem = not_an_interpreter(host, path)
        if problem is not None:
            fail(f"--python {python}: {problem}")
        why = f"--python {python}"
    else:
        choice = act.choose_python(host)
        if choice.python is None:
            fail(f"{choice.why}; pass --python PY or --env NAME")
        path, why = choice.python, choice.why
    return replace(act.inspect_target(host, path), chosen_by=why)


def _run(
    host: Host,
    *,
    command: str,
    target: act.Target,
    argv: list[str],
    uv_argv: list[str] | None,
    use_uv: bool,
    as_json: bool,
) -> None:
    """Say what runs, run it (pip's output streaming through), exit with its code."""
    runner = "pip"
    if use_uv:
        uv = shutil.which("uv")
        if uv is None:
            fail("--use-uv: uv is not on PATH")
        if uv_argv is None:
            fail("--use-uv: uv has no equivalent of these pip options")
        argv = [uv, *uv_argv[1:]]
        runner = "uv"
    elif not target.has_pip and target.problem is None:
        where = target.name or target.prefix
        hint = f"`{shlex.join(uv_argv)}`" if uv_argv else "uv pip"
        fail(
            f"{where} has no pip (no pip-*.dist-info; a uv-made venv?): "
            f"run {hint}, or pass --use-uv to have cachecensus run it",
            EXIT_USAGE,
        )
    elif target.problem is not None:
        warn(f"{target.python}: {target.problem}; running it anyway")
    print(f"cachecensus: python: {target.python} ({target.chosen_by})", file=sys.stderr)
    who = act.environment_owner(host, target)
    if who is not None:
        print(f"cachecensus: running as {who}, the environment's owner", file=sys.stderr)
    print(f"cachecensus: running: {shlex.join(argv)}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    code = act.run(argv, stdout=2 if as_json else None, who=who)
    if who is not None and code in (126, 127):
        warn(f"{who} could not run {argv[0]} (exit {code})")
    if as_json:
        document = {
            "schema": SCHEMA,
            "command": command,
            "python": target.python,
            "python_chosen_by": target.chosen_by,
            "environment": target.name,
            "runner": runner,
            "user": str(who) if who is not None else None,
            "argv": argv,
            "exit_code": code,
        }
        print(json.dumps(document, indent=2))
    raise typer.Exit(code)


def install(
    pip_args: list[str] | None = typer.Argument(
        None, metavar="[--] PIP_ARGS...", help="Requirements and pip install options."
    ),
    python: str | None = PythonOption,
    env: str | None = EnvOption,
    refresh: bool = typer.Option(
        False,
        "--refresh",
        help="First remove the named requirements from this "
        "environment's caches (the plan of `remove`, confirmed).",
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="With --refresh: do not ask."),
    use_uv: bool = UseUvOption,
    as_json: bool = JsonOption,
) -> None:
    """Install with pip's cache disabled: `PY -m pip install --no-cache-dir PIP_ARGS...`.

    pip's output streams through and its exit code is ours.
    """
    if not pip_args:
        fail("install: nothing to install: name a requirement (six, 'six>=1.16', -r FILE...)")
    host = make_host(None)
    target = choose_target(host, python, env)
    args: Sequence[str] = pip_args or []
    if refresh:
        _refresh(host, target.python, args, yes=yes, as_json=as_json)
    _run(
        host,
        command="install",
        target=target,
        argv=act.install_argv(target.python, args),
        uv_argv=act.uv_equivalent(target.python, args, install=True),
        use_uv=use_uv,
        as_json=as_json,
    )


def _refresh(host: Host, python: str, args: Sequence[str], *, yes: bool, as_json: bool) -> None:
    """Remove the requirements' cached entries from the environment's caches: the versions
    each specifier allows (every version for a bare name) and the project's index pages."""
    from cachecensus.cli.remove import run_plan, with_closure
    from cachecensus.cli.scanning import scan_selected
    from cachecensus.select import by_requirement

    wanted = act.requirements(args)
    if not wanted:
        fail("--refresh: no requirement names among the pip arguments")
    scanned = scan_selected(
        root=None,
        cache_dirs=[],
        python=python,
        user=None,
        all_users=False,
        scan_dirs=[],
        json_output=as_json,
        acting=True,
    )
    chosen = [
        pair
        for _, result in scanned.caches
        for requirement in wanted
        for pair in by_requirement(result.entries, requirement)
    ]
    code = run_plan(
        scanned,
        with_closure(scanned, chosen),
        what="refresh",
        dry_run=False,
        yes=yes,
        force=False,
        json_output=False,
        then_exit=False,
    )
    if code not in (0, 1):
        raise typer.Exit(code)


def pip(
    pip_args: list[str] | None = typer.Argument(
        None, metavar="[--] ARGS...", help="A pip command line (download, wheel, install...)."
    ),
    python: str | None = PythonOption,
    env: str | None = EnvOption,
    use_uv: bool = UseUvOption,
    as_json: bool = JsonOption,
) -> None:
    """Run any pip command with its cache disabled (`--no-cache-dir` after the subcommand)."""
    host = make_host(None)
    target = choose_target(host, python, env)
    args: Sequence[str] = pip_args or []
    _run(
        host,
        command="pip",
        target=target,
        argv=act.pip_argv(target.python, args),
        uv_argv=act.uv_equivalent(target.python, args, install=False),
        use_uv=use_uv,
        as_json=as_json,
    )


def register(app: typer.Typer) -> None:
    app.command("install", context_settings=PASSTHROUGH)(install)
    app.command("pip", context_settings=PASSTHROUGH)(pip)
