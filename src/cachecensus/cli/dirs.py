"""``cachecensus dir``: where pip's cache is, for any environment and user, and why; with
``--tool``, where uv's, poetry's, pdm's, pipenv's or conda's is."""

from __future__ import annotations

import enum
import os
import sys
from typing import Any

import typer

from cachecensus import tools as registry
from cachecensus.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    JsonOption,
    RootOption,
    fail,
    make_host,
)
from cachecensus.cli.scanning import ToolChoice
from cachecensus.models import SCHEMA, Resolution
from cachecensus.report import shown

#: The tools resolved per user (every registered one but pip).
_PER_USER = ", ".join(t.name for t in registry.REGISTRY if t.resolver is not None)


class View(str, enum.Enum):
    install = "install"
    cache = "cache"
    download = "download"
    wheel = "wheel"


def dir_command(
    python: str | None = typer.Option(
        None,
        "--python",
        metavar="PY",
        help="The environment's interpreter (default: your python3, a pyenv/asdf shim resolved).",
    ),
    user: list[str] = typer.Option(
        [],
        "--user",
        metavar="NAME",
        help="Resolve as NAME would (their variables, uid); repeatable: one line each.",
    ),
    view: View = typer.Option(
        View.cache,
        "--for",
        help="The pip command whose config section applies ([cache] is what 'pip cache dir' "
        "reads; installs read [install]).",
    ),
    tool: ToolChoice = typer.Option(
        ToolChoice("pip"),
        "--tool",
        help=f"Whose cache: pip (per environment), or {_PER_USER} "
        "(per user and working directory, as 'uv cache dir' and the like answer).",
    ),
    root: str | None = RootOption,
    json_output: bool = JsonOption,
) -> None:
    """Print the pip cache directory exactly as 'PY -m pip cache dir' would, and why."""
    from cachecensus.act.install import default_python
    from cachecensus.targets import TargetError, inspect_python, users_for

    host = make_host(root)
    try:
        users = users_for(host, user, False)
    except TargetError as exc:
        fail(str(exc))
    if registry.tool(tool.value).resolver is not None:  # not pip's (per environment)
        if python is not None or view != View.cache:
            fail("--python and --for are pip's; other tools' caches are per user")
        _other_tool(host, users, tool.value, not user, json_output)
    if python is None:
        python = default_python(host) if host.live else None
        if python is None:
            fail("no python3 found on PATH; name one with --python")
    try:
        env = inspect_python(host, python)
    except TargetError as exc:
        fail(str(exc))
    answers = [(who.name, *_pip_answer(host, who, env, view.value, not user)) for who in users]
    several = len(answers) > 1
    if json_output:
        from cachecensus.report import print_json, to_jsonable

        docs = [
            # pip_version: the pip that ``python -m pip`` runs (a user-site pip can shadow)
            {
                "schema": SCHEMA,
                "python": env.interpreter,
                "pip_version": res.tool_version or env.pip_version,
            }
            | ({"user": name} if several else {})
            | to_jsonable(res)
            | {"elsewhere": elsewhere}
            for name, res, elsewhere in answers
        ]
        print_json(docs[0] if not several else {"schema": SCHEMA, "answers": docs})
    else:
        for name, res, elsewhere in answers:
            whose = f"{name}: " if several else ""
            for problem in res.problems:
                print(f"cachecensus: warning: {whose}{problem}", file=sys.stderr)
            if res.error:  # pip prints no directory at all: it exits with this error
                print(f"cachecensus: error: {whose}pip would fail: {res.error}", file=sys.stderr)
                if res.cache_dir is not None:
                    print(f"cachecensus: (without that: {res.cache_dir})", file=sys.stderr)
            elif res.cache_dir is not None:
                print(f"{name}\t{res.cache_dir}" if several else res.cache_dir)
            else:
                print(f"cachecensus: {whose}pip's cache is {res.reason}", file=sys.stderr)
            for other in elsewhere:
                where = other["cache_dir"] or "no cache"
                print(
                    shown(f"cachecensus: note: {whose}with {other['origin']}, pip uses {where}"),
                    file=sys.stderr,
                )
    failed = any(res.cache_dir is None or res.error is not None for _, res, _ in answers)
    raise typer.Exit(EXIT_PARTIAL if failed else EXIT_OK)


def _pip_answer(
    host: Any, who: Any, env: Any, view: str, myself: bool
) -> tuple[Resolution, list[dict[str, Any]]]:
    """Where pip in ``env`` puts its cache for ``who`` (``myself``: the invoking user, with
    this process's variables), and where a process of theirs with its own variables would."""
    from cachecensus.discover.variables import OWN, VariableView, attributed, origin_of, user_views
    from cachecensus.resolve.pip import resolve_pip

    views = (VariableView(OWN, host.env),) if (myself and host.live) else user_views(host, who)
    cwd = os.getcwd() if host.live else who.home
    res, *others = (
        resolve_pip(
            host,
            user=who,
            env=dict(v.variables),
            prefix=env.prefix,
            view=view,
            cwd=cwd,
            euid=who.uid,
            pip_version=env.pip_version,
        )
        for v in views
    )
    # a process of theirs with its own variables: its pip may use another cache
    elsewhere = [
        {"origin": origin_of(attributed(r, v), v), "cache_dir": r.cache_dir}
        for r, v in zip(others, views[1:], strict=True)
        if r.cache_dir != res.cache_dir
    ]
    return res, elsewhere


def _other_tool(host: Any, users: list[Any], tool: str, myself: bool, json_output: bool) -> None:
    """``dir --tool TOOL``: every directory that tool uses for each of ``users`` (conda:
    each package dir, the one it writes to first), and why; exits."""
    from cachecensus.resolve import resolve_tool
    from cachecensus.targets import _user_env

    answers: list[tuple[str, tuple[Resolution, ...]]] = []
    for who in users:
        variables = dict(host.env) if (myself and host.live) else _user_env(host, who)
        cwd = os.getcwd() if host.live else who.home
        found = resolve_tool(tool, host, user=who, env=variables, project_dir=cwd)
        answers.append((who.name, found))
    several = len(answers) > 1
    if json_output:
        from cachecensus.report import print_json

        docs = [
            {"schema": SCHEMA, "tool": tool}
            | ({"user": name} if several else {})
            | {"resolutions": found}
            for name, found in answers
        ]
        print_json(docs[0] if not several else {"schema": SCHEMA, "answers": docs})
    else:
        for name, found in answers:
            whose = f"{name}: " if several else ""
            for res in found:
                for problem in res.problems:
                    print(f"cachecensus: warning: {whose}{problem}", file=sys.stderr)
                if res.error:
                    print(
                        f"cachecensus: error: {whose}{tool} would fail: {res.error}",
                        file=sys.stderr,
                    )
                elif res.cache_dir is not None:
                    line = res.cache_dir if len(found) == 1 else f"{res.cache_dir}\t{res.reason}"
                    print(f"{name}\t{line}" if several else line)
                else:
                    print(f"cachecensus: {whose}{tool}'s cache is {res.reason}", file=sys.stderr)
    failed = any(
        not found or all(r.cache_dir is None or r.error is not None for r in found)
        for _, found in answers
    )
    raise typer.Exit(EXIT_PARTIAL if failed else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command("dir")(dir_command)
