"""``audit``, ``list`` and ``info``: what every cache holds."""

from __future__ import annotations

import enum
from typing import Any

import typer

from cachecensus.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    JsonOption,
    RootOption,
    fail,
    not_empty,
)
from cachecensus.cli.scanning import (
    AllUsersOption,
    CacheDirOption,
    PythonOption,
    RescanOption,
    ScanOption,
    ToolChoice,
    ToolOption,
    UserOption,
    remember_projects,
    scan_selected,
)
from cachecensus.models import SCHEMA, UNREADABLE, Entry, Kind


class KindChoice(str, enum.Enum):
    wheel = "wheel"
    sdist = "sdist"
    index_page = "index-page"
    built_wheel = "built-wheel"
    unknown = "unknown"
    corrupt = "corrupt"
    orphan = "orphan"
    selfcheck = "selfcheck"
    stray = "stray"
    archive = "archive"
    package = "package"
    metadata = "metadata"
    environment = "environment"
    source = "source"
    control = "control"


SpecOption = typer.Option(
    None,
    "--spec",
    metavar="SPEC",
    help="Only versions matching this PEP 440 specifier, e.g. '>=1.16,<2'.",
    callback=not_empty,
)
#: ``--spec``'s first name, still accepted but not shown: beside the global ``--version``
#: (print cachecensus's version) it read as the same option.
OldSpecOption = typer.Option(None, "--version", metavar="SPEC", hidden=True, callback=not_empty)


def spec_of(spec: str | None, old: str | None) -> Any:
    """The ``--spec`` (or its old name ``--version``) of a command, parsed; a usage error
    when it is not a specifier or both names are given."""
    from cachecensus.select import parse_spec

    if spec is not None and old is not None:
        fail("--spec and --version are one option (--version is its old name): give one")
    try:
        return parse_spec(spec if spec is not None else old)
    except ValueError as exc:
        fail(str(exc))


def audit_command(
    cache_dir: list[str] = CacheDirOption,
    python: str | None = PythonOption,
    user: list[str] = UserOption,
    all_users: bool = AllUsersOption,
    scan: list[str] = ScanOption,
    tool: list[ToolChoice] = ToolOption,
    root: str | None = RootOption,
    json_output: bool = JsonOption,
    toml_output: bool = typer.Option(False, "--toml", help="Print TOML (same layout as --json)."),
    stale_days: float = typer.Option(
        90, "--stale-days", min=0, help="Downloads unused this many days count as stale."
    ),
    rescan: bool = RescanOption,
) -> None:
    """One row per physical cache: size, contents, users, stale, duplicated, reclaimable."""
    from dataclasses import replace

    from cachecensus.artifacts import sha256_of
    from cachecensus.audit import audit, summarize
    from cachecensus.links import environments_linking
    from cachecensus.memo import open_memo
    from cachecensus.snapshot import save_summary

    if json_output and toml_output:
        fail("--json and --toml exclude each other")
    scanned = scan_selected(
        root=root,
        cache_dirs=cache_dir,
        python=python,
        user=user,
        all_users=all_users,
        scan_dirs=scan,
        tools=tool,
        json_output=json_output or toml_output,
        snapshots=not rescan,
    )
    host = scanned.host
    memo = open_memo()  # artifacts hashed once are not hashed again while unchanged

    def digest(entry: Entry) -> str | None:
        return sha256_of(host, entry, memo)

    try:
        caches = []
        for cache, result in scanned.caches:
            if result.snapshot is not None and result.summary is None:
                result = replace(result, summary=summarize(result, digest))
                save_summary(memo, result)  # the next audit reads no entries
            caches.append((cache, result))
        scans = [result for _, result in caches]
        report = audit(
            [(result, cache.used_by, cache.owner) for cache, result in caches],
            sha256_of=digest,
            disk_usage=host.disk_usage,
            stale_days=stale_days,
            linked_into=environments_linking(host, scans, scanned.prefixes),
        )
    finally:
        memo.close()
    remember_projects(scanned)
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "caches": report.caches,
        "totals": report.totals,
        "problems": scanned.problems,
    }
    if json_output or toml_output:
        from cachecensus.report import print_json, print_toml

        (print_toml if toml_output else print_json)(doc)
    else:
        _render_audit(report, scanned.problems)
    raise typer.Exit(EXIT_PARTIAL if scanned.problems else EXIT_OK)


#: How a cache row says that this user may not look into the cache.
UNREADABLE_NOTE = " (unreadable: permission denied)"


def _render_audit(report: Any, problems: list[Any]) -> None:
    from cachecensus.report import Cell, human_bytes, plural, print_table, shown

    rows: list[list[Cell]] = []
    for c in report.caches:
        kinds = ", ".join(f"{k}: {b.entries}" for k, b in c.by_kind.items() if b.entries)
        users = sorted({u.user for u in c.used_by})
        envs = len({u.environment for u in c.used_by if u.environment})
        linked = tuple(
            f"linked into {le.environment}: {plural(le.files, 'file')}, {human_bytes(le.bytes)}"
            for le in c.linked_into
        )
        unreadable = any(p.path == c.path and p.message == UNREADABLE for p in c.problems)
        rows.append(
            [
                (
                    f"{c.tool}: {c.path}"
                    + (" (absent)" if not c.exists else UNREADABLE_NOTE if unreadable else ""),
                )
                + ((kinds,) if kinds else ())
                + linked,
                human_bytes(c.size),
                f"{c.entries} / {c.projects}",
                (", ".join(users) + (f" ({plural(envs, 'env')})" if envs else "")) or "-",
                human_bytes(c.stale.bytes + c.orphaned.bytes),
                human_bytes(c.duplicated.bytes),
                human_bytes(c.reclaimable),
            ]
        )
    print_table(
        "caches",
        [
            "cache / contents",
            "size",
            "entries / projects",
            "used by",
            "stale+orphaned",
            "duplicated",
            "reclaimable",
        ],
        rows,
    )
    t = report.totals
    print(
        f"{plural(t.caches, 'cache')}, {human_bytes(t.size)} in {plural(t.files, 'file')} "
        f"(each inode once), {plural(t.entries, 'entry', 'entries')}; reclaimable "
        f"{human_bytes(t.reclaimable)}, duplicated {human_bytes(t.duplicated.bytes)}, "
        f"stale {human_bytes(t.stale.bytes)}"
    )
    for problem in problems:
        print(
            shown(f"note: {problem.path}: {problem.message}" if problem.path else problem.message)
        )


def list_command(
    pattern: str | None = typer.Argument(
        None, metavar="[PATTERN]", help="Project glob; 'name-1.2' also matches versions."
    ),
    spec_text: str | None = SpecOption,
    old_spec: str | None = OldSpecOption,
    kind: list[KindChoice] = typer.Option([], "--kind", help="Only entries of these kinds."),
    cache_dir: list[str] = CacheDirOption,
    python: str | None = PythonOption,
    user: list[str] = UserOption,
    all_users: bool = AllUsersOption,
    scan: list[str] = ScanOption,
    tool: list[ToolChoice] = ToolOption,
    root: str | None = RootOption,
    json_output: bool = JsonOption,
    rescan: bool = RescanOption,
) -> None:
    """Every cached entry (downloads, index pages, built wheels...) matching PATTERN."""
    from cachecensus.select import select

    if pattern is not None and not pattern.strip():
        fail("PATTERN is empty (an unset variable?); leave it out to list every entry")
    spec = spec_of(spec_text, old_spec)
    scanned = scan_selected(
        root=root,
        cache_dirs=cache_dir,
        python=python,
        user=user,
        all_users=all_users,
        scan_dirs=scan,
        tools=tool,
        json_output=json_output,
        snapshots=not rescan,
    )
    kinds = [Kind(k.value) for k in kind] or None
    entries = [
        e
        for _, result in scanned.caches
        for e in select(result.entries, pattern, spec=spec, kinds=kinds)
    ]
    from cachecensus.caches import format_for

    for cache, result in scanned.caches:  # pdm keeps its downloads inside one database
        if result.exists:
            rows = format_for(cache.tool).listed_rows(scanned.host, cache.path)
            entries += select(rows, pattern, spec=spec, kinds=kinds)
    remember_projects(scanned)
    if json_output:
        from cachecensus.caches import entry_path
        from cachecensus.links import entries_linked
        from cachecensus.report import print_json

        linked = entries_linked(
            scanned.host, [result for _, result in scanned.caches], scanned.prefixes
        )
        print_json(
            {
                "schema": SCHEMA,
                "entries": [
                    {
                        "project": e.project,
                        "version": e.version,
                        "kind": e.kind.value,
                        "size": e.size,
                        "physical": e.physical,
                        "filename": e.filename,
                        "path": entry_path(e),
                        "files": [f.path for f in e.files],
                        "cache_dir": e.cache_dir,
                        "area": e.area,
                        "date": e.date,
                        "detail": e.detail,
                        "last_used": e.last_used_ns // 1_000_000_000,
                        "linked_into": list(linked.get((e.cache_dir, e.key), ())),
                    }
                    for e in entries
                ],
                "problems": scanned.problems,
            }
        )
    else:
        from cachecensus.report import shown

        _render_list(entries)
        for problem in scanned.problems:
            print(shown(f"note: {problem.path}: {problem.message}"))
    raise typer.Exit(EXIT_PARTIAL if scanned.problems else EXIT_OK)


def _render_list(entries: list[Any]) -> None:
    from cachecensus.report import human_bytes, plural, print_table

    if not entries:
        print("No matching cache entries.")
        return
    from cachecensus.select import entry_order

    order = sorted(entries, key=entry_order)
    rows = [
        [
            e.project or "-",
            e.version or "-",
            e.kind.value,
            human_bytes(e.size),
            e.filename or e.detail or "",
            e.cache_dir,
        ]
        for e in order
    ]
    print_table(
        plural(len(entries), "entry", "entries"),
        ["project", "version", "kind", "size", "file", "cache"],
        rows,
    )


def info_command(
    python: str | None = PythonOption,
    cache_dir: list[str] = CacheDirOption,
    user: list[str] = UserOption,
    root: str | None = RootOption,
    json_output: bool = JsonOption,
    rescan: bool = RescanOption,
) -> None:
    """pip's 'cache info' for any environment, with the counts pip gets wrong put right."""
    from cachecensus.act.install import default_python
    from cachecensus.caches.pip import pip_info, pip_info_lines
    from cachecensus.cli.common import make_host
    from cachecensus.discover.interpreter import inspect_interpreter
    from cachecensus.report import shown

    host = make_host(root)
    if not cache_dir and python is None:
        python = default_python(host)
        if python is None:
            fail("no python3 on PATH; name one with --python or --cache-dir")
    # pip's own words are those of the environment's pip (None: the newest pip's)
    pip_version = None
    if not cache_dir and python is not None:
        pip_version = inspect_interpreter(host, host.expanduser(python)).pip_version
    scanned = scan_selected(
        root=root,
        cache_dirs=cache_dir,
        python=python,
        user=user,
        all_users=False,
        scan_dirs=[],
        json_output=json_output,
        tools=[ToolChoice("pip")],
        snapshots=not rescan,
    )
    infos = [pip_info(result, pip_version) for _, result in scanned.caches]
    if json_output:
        from cachecensus.report import print_json

        print_json({"schema": SCHEMA, "caches": infos, "problems": scanned.problems})
    else:
        for info in infos:
            lines = pip_info_lines(info)
            if lines is None:
                print(f"note: pip {pip_version} has no 'pip cache' (added in pip 20.1)")
                lines = pip_info_lines({**info, "pip_version": None}) or []
            for line in lines:  # a location's control characters escaped: one line each
                print(shown(line))
        for problem in scanned.problems:
            print(shown(f"note: {problem.path}: {problem.message}"))
    if not infos:
        fail("that environment's pip cache is disabled", EXIT_PARTIAL)
    raise typer.Exit(EXIT_PARTIAL if scanned.problems else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command("audit")(audit_command)
    app.command("list")(list_command)
    app.command("info")(info_command)
