"""``cachecensus envs``: every environment and user, and the pip cache each one uses."""

from __future__ import annotations

import typer

from cachecensus.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    JsonOption,
    RootOption,
    fail,
    make_host,
)
from cachecensus.models import SCHEMA

UserOption = typer.Option(None, "--user", metavar="NAME", help="Only this user (default: you).")
AllUsersOption = typer.Option(
    False, "--all-users", help="Every user with a real home, root included."
)
ScanOption = typer.Option(
    [], "--scan", metavar="DIR", help="Also look for venvs (pyvenv.cfg) under DIR (repeatable)."
)


def envs_command(
    user: str | None = UserOption,
    all_users: bool = AllUsersOption,
    scan: list[str] = ScanOption,
    root: str | None = RootOption,
    json_output: bool = JsonOption,
) -> None:
    """List every Python environment and user, and the pip cache each pair uses."""
    from cachecensus.census import build_census
    from cachecensus.complete import write_candidates
    from cachecensus.discover import discover
    from cachecensus.targets import TargetError, users_for

    host = make_host(root)
    try:
        users = users_for(host, user, all_users)
    except TargetError as exc:
        fail(str(exc))
    environments, problems = discover(host, users, scan_dirs=scan)
    census = build_census(host, users, environments)
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
                        "user": usage.user,
                        "environment": usage.environment,
                        "view": usage.view,
                        "cache_dir": res.cache_dir,
                        "disabled": res.disabled,
                        "reason": res.reason,
                        "decided_by": res.decided_by,
                        "error": res.error,
                    }
                    for usage, res in census.resolutions
                ],
                "problems": all_problems,
            }
        )
    else:
        _render(census, all_problems)
    raise typer.Exit(EXIT_PARTIAL if all_problems else EXIT_OK)


def _render(census: object, problems: tuple[object, ...]) -> None:
    from cachecensus.models import Census, Problem
    from cachecensus.report import print_table

    assert isinstance(census, Census)
    cache_of: dict[str, str] = {}
    for usage, res in census.resolutions:
        if usage.environment and usage.environment not in cache_of:
            cache_of[usage.environment] = res.cache_dir or f"disabled ({res.reason})"
    rows = [
        [
            env.name,
            env.kind.value,
            env.version or "?",
            env.pip_version or "-",
            env.owner or "?",
            env.interpreter + (f"  [broken: {env.problem}]" if env.problem else ""),
            cache_of.get(env.interpreter, "-"),
            ", ".join(env.found_by),
        ]
        for env in census.environments
    ]
    print_table(
        f"{len(census.environments)} environments",
        ["name", "kind", "python", "pip", "owner", "interpreter", "pip cache (installs)", "found"],
        rows,
    )
    cache_rows = [
        [
            c.path,
            c.owner or "?",
            "yes" if c.exists else "no",
            ", ".join(sorted({u.user for u in c.used_by})),
            str(len({u.environment for u in c.used_by if u.environment})),
        ]
        for c in census.caches
    ]
    print_table(
        f"{len(census.caches)} distinct pip caches",
        ["cache", "owner", "exists", "users", "environments"],
        cache_rows,
    )
    for problem in problems:
        assert isinstance(problem, Problem)
        where = f"{problem.path}: " if problem.path else ""
        print(f"note: {where}{problem.message}")


def register(app: typer.Typer) -> None:
    app.command("envs")(envs_command)
