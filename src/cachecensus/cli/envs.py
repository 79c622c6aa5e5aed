"""``cachecensus envs``: every environment and user, and the caches each one uses (pip's,
and the uv/poetry/pdm/pipenv/conda caches in use)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from cachecensus.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    JsonOption,
    RootOption,
    fail,
    make_host,
)
from cachecensus.cli.scanning import ToolChoice, ToolOption
from cachecensus.models import SCHEMA, UNREADABLE

if TYPE_CHECKING:
    from cachecensus.models import Census, Problem

UserOption = typer.Option(
    [], "--user", metavar="NAME", help="Only this user (repeatable; default: you)."
)
AllUsersOption = typer.Option(
    False, "--all-users", help="Every user with a real home, root included."
)
ScanOption = typer.Option(
    [], "--scan", metavar="DIR", help="Also look for venvs (pyvenv.cfg) under DIR (repeatable)."
)


def envs_command(
    user: list[str] = UserOption,
    all_users: bool = AllUsersOption,
    scan: list[str] = ScanOption,
    root: str | None = RootOption,
    tool: list[ToolChoice] = ToolOption,
    json_output: bool = JsonOption,
) -> None:
    """List every Python environment and user, and the caches each pair uses."""
    from cachecensus.census import build_census
    from cachecensus.complete import write_candidates
    from cachecensus.discover import discover
    from cachecensus.discover.processes import shared_snapshot
    from cachecensus.targets import TargetError, users_for

    host = make_host(root)
    try:
        users = users_for(host, user, all_users)
    except TargetError as exc:
        fail(str(exc))
    with shared_snapshot(host):  # discovery and the census list processes once
        environments, problems = discover(host, users, scan_dirs=scan)
        census = build_census(host, users, environments, tools=[t.value for t in tool] or None)
    if host.live:
        write_candidates(None, environments)
    all_problems = (*problems, *census.problems)
    if json_output:
        from cachecensus.report import print_json

        print_json(
            {
                "schema": SCHEMA,
                "users": census.users,
                "environments": census.environments,
                "caches": census.caches,
                "resolutions": [
                    {
                        "tool": res.tool,
                        "user": usage.user,
                        "environment": usage.environment,
                        "view": usage.view,
                        "origin": usage.origin,
                        "cache_dir": res.cache_dir,
                        "disabled": res.disabled,
                        "reason": res.reason,
                        "decided_by": res.decided_by,
                        "error": res.error,
                    }
                    for usage, res in census.resolutions
                ],
                "problems": all_problems,
                "notes": census.notes,
            }
        )
    else:
        _render(census, (*all_problems, *census.notes))
    raise typer.Exit(EXIT_PARTIAL if all_problems else EXIT_OK)


ENV_COLUMNS = (
    "name",
    "kind",
    "version",
    "pip",
    "owner",
    "interpreter",
    "pip cache (install)",
    "other caches",
    "found by",
)


def _render(census: Census, problems: tuple[Problem, ...]) -> None:
    from cachecensus.report import Cell, plural, print_table
    from cachecensus.report import shown as escaped

    caches_of: dict[str, list[str]] = {}
    others_of: dict[str, list[str]] = {}
    for usage, res in census.resolutions:
        if res.tool != "pip":
            if usage.environment and res.cache_dir:
                shown = f"{res.tool}: {res.cache_dir}"
                known = others_of.setdefault(usage.environment, [])
                if shown not in known:
                    known.append(shown)
            continue
        reason = res.reason if res.reason.startswith("disabled") else f"disabled: {res.reason}"
        shown = res.cache_dir or reason
        known = caches_of.setdefault(usage.environment, [])
        if shown not in known:
            known.append(shown)

    def cache_cell(interpreter: str) -> str:
        known = caches_of.get(interpreter, [])
        if not known:
            return "-"
        return known[0] if len(known) == 1 else f"{len(known)} (per user or process; see --json)"

    rows: list[list[Cell]] = [
        [
            env.name,
            env.kind.value,
            env.version or "?",
            env.pip_version or "-",
            env.owner or "?",
            env.interpreter + (f"  [broken: {env.problem}]" if env.problem else ""),
            cache_cell(env.interpreter),
            tuple(others_of.get(env.interpreter, [])) or "-",
            ", ".join(env.found_by),
        ]
        for env in census.environments
    ]
    print_table(
        plural(len(census.environments), "environment"),
        ENV_COLUMNS,
        rows,
    )
    unreadable = {p.path for p in problems if p.message == UNREADABLE}
    cache_rows = [
        [
            c.tool,
            c.path,
            c.owner or "?",
            "unreadable" if c.path in unreadable else "yes" if c.exists else "no",
            ", ".join(sorted({u.user for u in c.used_by})),
            str(len({u.environment for u in c.used_by if u.environment})),
        ]
        for c in census.caches
    ]
    print_table(
        plural(len(census.caches), "distinct cache"),
        ["tool", "cache", "owner", "exists", "users", "environments"],
        cache_rows,
    )
    for problem in problems:
        where = f"{problem.path}: " if problem.path else ""
        print(escaped(f"note: {where}{problem.message}"))
    for cache in census.caches:
        if cache.refused is not None:
            print(escaped(f"note: {cache.path}: {cache.refused}"))


def register(app: typer.Typer) -> None:
    app.command("envs")(envs_command)
