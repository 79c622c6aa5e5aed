"""``remove``, ``purge``, ``prune`` and ``dedupe``: every one plans first, shows the plan,
asks, and only then deletes (``--dry-run`` stops after the plan; ``--yes`` skips the
question; with no terminal to ask on and no ``--yes`` it refuses)."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from cachecensus.cli.audit import KindChoice, OldSpecOption, SpecOption, spec_of
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
    Scanned,
    ScanOption,
    ToolChoice,
    ToolOption,
    UserOption,
    remember_projects,
    scan_selected,
)
from cachecensus.models import SCHEMA, Entry, Kind

if TYPE_CHECKING:
    from cachecensus.select import Clock

DryRunOption = typer.Option(False, "--dry-run", "-n", help="Show the plan; delete nothing.")
YesOption = typer.Option(False, "--yes", "-y", help="Do not ask (needed without a terminal).")
ForceOption = typer.Option(
    False, "--force", help="Even when a running installer uses the cache or holds its lock."
)

_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "m": 10**6,
    "g": 10**9,
    "t": 10**12,
    "ki": 2**10,
    "mi": 2**20,
    "gi": 2**30,
    "ti": 2**40,
}
_T = TypeVar("_T")
#: Age units, lower case only: ``m`` is minutes (a size's ``M`` is megabytes).
_AGES = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
AGE_UNITS = "s, m (minutes), h, d or w"


def parse_size(text: str) -> int:
    """``500M``, ``5G``, ``1.5Gi``: powers of 1000 (``Ki``... of 1024), any case; a bare
    number is bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]i?)?b?\s*", text.lower())
    if not match:
        raise ValueError(f"not a size: {text!r} (try 500M or 5G; units k, M, G, T, Ki, Mi...)")
    return int(float(match.group(1)) * _UNITS[match.group(2) or ""])


def parse_age(text: str) -> float:
    """``30d``, ``12h``, ``90m``: a number and its unit, always (a bare ``90`` could be
    days or minutes, so it is refused)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text)
    if not match:
        raise ValueError(f"not an age: {text!r} (a number and a unit: {AGE_UNITS}; e.g. 30d)")
    return float(match.group(1)) * _AGES[match.group(2)]


def _parsed(option: str, text: str | None, parse: Callable[[str], _T]) -> _T | None:
    """``parse(text)``, None for no ``text``; a bad value is ``option``'s usage error."""
    try:
        return parse(text) if text else None
    except ValueError as exc:
        fail(f"{option}: {exc}")


def _plan_rows(plan: Any) -> list[list[str]]:
    from cachecensus.report import human_bytes
    from cachecensus.select import entry_order

    return [
        [
            item.entry.project or "-",
            item.entry.version or "-",
            item.entry.kind.value,
            human_bytes(item.entry.size),
            human_bytes(item.freed),
            item.reason,
            item.entry.cache_dir,
        ]
        for item in sorted(plan.items, key=lambda i: entry_order(i.entry))
    ]


#: Plans longer than this are shown summed per cache and kind (nobody reads 10 000 rows).
PLAN_ROWS = 200


def _summary_rows(plan: Any) -> list[list[str]]:
    from cachecensus.report import human_bytes

    sums: dict[tuple[str, str], list[Any]] = {}
    for item in plan.items:
        row = sums.setdefault((item.entry.cache_dir, item.entry.kind.value), [0, set(), 0, 0])
        row[0] += 1
        if item.entry.project:
            row[1].add(item.entry.project)
        row[2] += item.entry.size
        row[3] += item.freed
    return [
        [cache, kind, str(n), str(len(projects)), human_bytes(size), human_bytes(freed)]
        for (cache, kind), (n, projects, size, freed) in sorted(sums.items())
    ]


def _plan_doc(plan: Any) -> dict[str, Any]:
    return {
        "entries": len(plan.items),
        "files": plan.files,
        "bytes": plan.size,
        "freed_bytes": plan.freed,
        "caches": list(plan.caches),
        "clocks": dict(plan.clocks),  # per cache: the file time that said "last used"
        "items": [
            {
                "project": i.entry.project,
                "version": i.entry.version,
                "kind": i.entry.kind.value,
                "cache_dir": i.entry.cache_dir,
                "files": [f.path for f in i.entry.files],
                "bytes": i.entry.size,
                "freed_bytes": i.freed,
                "reason": i.reason,
            }
            for i in plan.items
        ],
    }


def run_plan(
    scanned: Scanned,
    chosen: list[tuple[Entry, str]],
    *,
    what: str,
    dry_run: bool,
    yes: bool,
    force: bool,
    json_output: bool,
    then_exit: bool = True,
    clocks: dict[str, Clock] | None = None,
) -> int:
    """Show the plan, confirm, execute, report; exits with 0 (done), 1 (partial), or with
    ``then_exit=False`` returns that code (``install --refresh`` goes on to install).
    ``clocks``: per cache, which file time the plan's rules took as last use (named)."""
    from cachecensus.act.delete import execute
    from cachecensus.cli.progress import progress
    from cachecensus.report import human_bytes, plural, print_json, print_table, shown
    from cachecensus.select import make_plan

    plan = make_plan(chosen, clocks=clocks)
    entries = plural(len(plan.items), "entry", "entries")
    counted = f"{entries}, {plural(plan.files, 'file')}"
    remember_projects(scanned)
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "command": what,
        "dry_run": dry_run,
        "plan": _plan_doc(plan) if json_output else None,  # only --json prints it
        "problems": scanned.problems,
    }
    if not json_output:
        if len(plan.items) > PLAN_ROWS:
            print_table(
                f"{what}: {counted} (--dry-run --json lists each one)",
                ["cache", "kind", "entries", "projects", "size", "frees"],
                _summary_rows(plan),
            )
        elif plan.items:
            print_table(
                f"{what}: {counted}",
                ["project", "version", "kind", "size", "frees", "why", "cache"],
                _plan_rows(plan),
            )
        for clock in ("atime", "mtime"):
            named = [cache for cache, used in plan.clocks if used == clock]
            if named:
                why = " (mounted noatime)" if clock == "mtime" else ""
                print(f"{what}: last use by {clock}{why}: {', '.join(named)}")
        print(
            f"{what}: {entries}, {human_bytes(plan.size)}; frees "
            f"{human_bytes(plan.freed)} (files linked elsewhere free nothing)"
        )
        for problem in scanned.problems:  # a cache left out (refused, unmarked...) says why
            where = f"{problem.path}: " if problem.path else ""
            print(shown(f"note: {where}{problem.message}"), file=sys.stderr)
    if dry_run or not plan.items:
        if json_output:
            print_json({**doc, "removed": [], "freed_bytes": 0, "skipped": []})
        code = EXIT_PARTIAL if scanned.problems else EXIT_OK
        if then_exit:
            raise typer.Exit(code)
        return code
    if not yes:
        if not sys.stdin.isatty():
            fail(
                "refusing to delete without --yes: no terminal to confirm on "
                "(see the plan with --dry-run)"
            )
        these = "this entry" if len(plan.items) == 1 else f"these {len(plan.items)} entries"
        if not typer.confirm(f"Delete {these}?", default=False):
            print("Nothing deleted.", file=sys.stderr)
            if then_exit:
                raise typer.Exit(EXIT_OK)
            return EXIT_OK
    with progress(f"{what}: deleting", json_output=json_output, total=len(plan.items)) as bar:
        owners = {c.path: c.uid for c, _ in scanned.caches if c.uid is not None}
        result = execute(scanned.host, plan, force=force, progress=bar.advance, owners=owners)
    doc.update(
        removed=result.removed,
        freed_bytes=result.freed,
        skipped=[{"path": p, "reason": r} for p, r in result.skipped],
    )
    if json_output:
        print_json(doc)
    else:
        print(f"Removed {plural(len(result.removed), 'file')}, freed {human_bytes(result.freed)}.")
        for path, reason in result.skipped:
            print(shown(f"skipped {path}: {reason}"), file=sys.stderr)
    code = EXIT_PARTIAL if (result.skipped or scanned.problems) else EXIT_OK
    if then_exit:
        raise typer.Exit(code)
    return code


def _scan(**kw: Any) -> Scanned:
    # these commands change caches: only accepted targets that carry their tool's marker
    return scan_selected(acting=True, **kw)


def with_closure(scanned: Scanned, chosen: list[tuple[Entry, str]]) -> list[tuple[Entry, str]]:
    """``chosen`` plus what each tool's own removal takes with it (uv: the archives only the
    chosen pointers referenced), minus what removing would break (uv: an archive a pointer
    that stays still references), each entry once."""
    from cachecensus.caches import format_for, guard

    out: list[tuple[Entry, str]] = []
    seen: set[tuple[str, str]] = set()
    for cache, result in scanned.caches:
        mine = [(e, why) for e, why in chosen if e.cache_dir == result.cache_dir]
        if not mine:
            continue
        extra = format_for(cache.tool).closure(result.entries, [e for e, _ in mine])
        for entry, why in guard(cache.tool, result.entries, [*mine, *extra]):
            if (entry.cache_dir, entry.key) not in seen:
                seen.add((entry.cache_dir, entry.key))
                out.append((entry, why))
    return out


def bounded_by_own_prune(
    scanned: Scanned, chosen: list[tuple[Entry, str]]
) -> list[tuple[Entry, str]]:
    """For a tool whose own prune is the bound of any prune (its format sets
    ``PRUNE_BOUNDED``: uv), only the chosen entries that prune would remove too: a rule never
    takes what ``uv cache prune`` keeps (a live wheel, an archive a pointer references)."""
    from cachecensus.caches import format_for

    allowed: dict[str, set[str] | None] = {}
    for cache, result in scanned.caches:
        fmt = format_for(cache.tool)
        allowed[result.cache_dir] = (
            {e.key for e, _ in fmt.prune(result.entries)} if fmt.PRUNE_BOUNDED else None
        )
    return [
        (e, why) for e, why in chosen if (keys := allowed.get(e.cache_dir)) is None or e.key in keys
    ]


def remove_command(
    pattern: str = typer.Argument(
        ..., metavar="PATTERN", help="Project glob; 'name-1.2' also matches versions."
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
    dry_run: bool = DryRunOption,
    yes: bool = YesOption,
    force: bool = ForceOption,
    json_output: bool = JsonOption,
) -> None:
    """Remove every cached file of PATTERN: downloads, index pages and built wheels."""
    from cachecensus.caches import named
    from cachecensus.select import pattern_refusal, select

    refusal = pattern_refusal(pattern)
    if refusal is not None:
        fail(f"{refusal}; to empty the caches use `cachecensus purge`")
    spec = spec_of(spec_text, old_spec)
    kinds = [Kind(k.value) for k in kind] or None
    if kinds and ({Kind.STRAY, Kind.SELFCHECK, Kind.CONTROL} & set(kinds)):
        fail("strays, pip's selfcheck state and the tools' own bookkeeping are never removed")
    scanned = _scan(
        root=root,
        cache_dirs=cache_dir,
        python=python,
        user=user,
        all_users=all_users,
        scan_dirs=scan,
        tools=tool,
        json_output=json_output,
    )
    chosen: list[tuple[Entry, str]] = []
    for cache, result in scanned.caches:
        matched = select(result.entries, pattern, spec=spec, kinds=kinds)
        if spec is None and kinds is None:  # the tool's own "remove this package"
            pairs = named(cache.tool, result.entries, matched)
        else:
            pairs = [(e, "matches") for e in matched]
        chosen += [(e, f"matches {pattern}" if why == "matches" else why) for e, why in pairs]
    run_plan(
        scanned,
        with_closure(scanned, chosen),
        what="remove",
        dry_run=dry_run,
        yes=yes,
        force=force,
        json_output=json_output,
    )


def purge_command(
    cache_dir: list[str] = CacheDirOption,
    python: str | None = PythonOption,
    user: list[str] = UserOption,
    all_users: bool = AllUsersOption,
    scan: list[str] = ScanOption,
    tool: list[ToolChoice] = ToolOption,
    root: str | None = RootOption,
    dry_run: bool = DryRunOption,
    yes: bool = YesOption,
    force: bool = ForceOption,
    json_output: bool = JsonOption,
) -> None:
    """Remove everything pip would rebuild (http/, http-v2/, wheels/); keep the cache dir,
    selfcheck/ and any file pip did not write."""
    from cachecensus.select import purge

    scanned = _scan(
        root=root,
        cache_dirs=cache_dir,
        python=python,
        user=user,
        all_users=all_users,
        scan_dirs=scan,
        tools=tool,
        json_output=json_output,
        identify=False,
    )
    chosen = [pair for _, s in scanned.caches for pair in purge(s.entries)]
    run_plan(
        scanned,
        chosen,
        what="purge",
        dry_run=dry_run,
        yes=yes,
        force=force,
        json_output=json_output,
    )


def prune_command(
    older_than: str | None = typer.Option(
        None,
        "--older-than",
        metavar="AGE",
        help=f"Entries unused for AGE: a number and a unit, {AGE_UNITS} (30d, 12h, 2w).",
        callback=not_empty,
    ),
    max_size: str | None = typer.Option(
        None,
        "--max-size",
        metavar="SIZE",
        help="Drop least recently used entries until each "
        "cache (or all, with --machine-wide) fits SIZE (500M, 5G: M is megabytes, any case).",
        callback=not_empty,
    ),
    machine_wide: bool = typer.Option(
        False, "--machine-wide", help="--max-size is one budget for all caches."
    ),
    keep_latest: int | None = typer.Option(
        None,
        "--keep-latest",
        metavar="N",
        min=1,
        help="Keep the N newest versions of each project.",
    ),
    index_pages_older_than: str | None = typer.Option(
        None,
        "--index-pages-older-than",
        metavar="AGE",
        help="Index pages fetched longer than AGE ago (as --older-than: 7d, 90m).",
        callback=not_empty,
    ),
    cache_dir: list[str] = CacheDirOption,
    python: str | None = PythonOption,
    user: list[str] = UserOption,
    all_users: bool = AllUsersOption,
    scan: list[str] = ScanOption,
    tool: list[ToolChoice] = ToolOption,
    root: str | None = RootOption,
    dry_run: bool = DryRunOption,
    yes: bool = YesOption,
    force: bool = ForceOption,
    json_output: bool = JsonOption,
) -> None:
    """Trim caches by age, size budget (least recently used first) or versions kept;
    with no rule, each tool's own prune (uv cache prune; pip: half and corrupt entries).
    Corrupt entries go with any rule too.

    Age is last use: atime where the filesystem records it, else mtime (noatime mounts
    never update atime; the plan says which it used, per cache)."""
    from cachecensus import select as sel

    own = not any((older_than, max_size, keep_latest, index_pages_older_than))
    age = _parsed("--older-than", older_than, parse_age)
    budget = _parsed("--max-size", max_size, parse_size)
    page_age = _parsed("--index-pages-older-than", index_pages_older_than, parse_age)
    scanned = _scan(
        root=root,
        cache_dirs=cache_dir,
        python=python,
        user=user,
        all_users=all_users,
        scan_dirs=scan,
        tools=tool,
        json_output=json_output,
    )
    if own:  # no rule given: each tool's own prune
        from cachecensus.caches import format_for, is_trash

        chosen_own = [
            pair for c, s in scanned.caches for pair in format_for(c.tool).prune(s.entries)
        ]
        taken = {(e.cache_dir, e.key) for e, _ in chosen_own}
        chosen_own += [
            (e, "left by an interrupted removal")
            for _, s in scanned.caches
            for e in s.entries
            if e.kind == Kind.ORPHAN and is_trash(e) and (e.cache_dir, e.key) not in taken
        ]
        run_plan(
            scanned,
            chosen_own,
            what="prune",
            dry_run=dry_run,
            yes=yes,
            force=force,
            json_output=json_output,
        )
    now = time.time()
    chosen: list[tuple[Entry, str]] = []
    every = [e for _, s in scanned.caches for e in s.entries]
    # last use by atime, or by mtime where the filesystem keeps no atime (noatime)
    clocks = (
        sel.clocks_for(scanned.host, [s.cache_dir for _, s in scanned.caches])
        if age is not None or budget is not None
        else None
    )
    rules: list[Callable[[list[Entry]], list[tuple[Entry, str]]]] = []
    if age is not None:
        rules.append(lambda es: sel.older_than(es, age, now, clocks=clocks))
    if page_age is not None:
        rules.append(lambda es: sel.index_pages_older_than(es, page_age, now))
    if keep_latest is not None:
        rules.append(lambda es: sel.keep_latest(es, keep_latest))
    for rule in rules:
        chosen.extend(rule(every))
    if budget is not None:
        gone = {(e.cache_dir, e.key) for e, _ in chosen}
        left = [e for e in every if (e.cache_dir, e.key) not in gone]
        chosen.extend(sel.max_size(left, budget, machine_wide=machine_wide, clocks=clocks))
    chosen.extend(_corrupt(scanned))  # whatever the rules: the tool can never use them
    run_plan(
        scanned,
        with_closure(scanned, bounded_by_own_prune(scanned, chosen)),
        what="prune",
        dry_run=dry_run,
        yes=yes,
        force=force,
        json_output=json_output,
        clocks=clocks,
    )


def _corrupt(scanned: Scanned) -> list[tuple[Entry, str]]:
    """The corrupt entries each tool's own prune takes (pip: every one: it can never use a
    truncated body), which a prune by rules takes too."""
    from cachecensus.caches import format_for

    return [
        (e, why)
        for c, s in scanned.caches
        for e, why in format_for(c.tool).prune(s.entries)
        if e.kind == Kind.CORRUPT
    ]


def dedupe_command(
    link: bool = typer.Option(
        False, "--link", help="Replace copies with hard links (same owner and filesystem only)."
    ),
    cache_dir: list[str] = CacheDirOption,
    user: list[str] = UserOption,
    all_users: bool = AllUsersOption,
    scan: list[str] = ScanOption,
    tool: list[ToolChoice] = ToolOption,
    root: str | None = RootOption,
    dry_run: bool = DryRunOption,
    yes: bool = YesOption,
    json_output: bool = JsonOption,
) -> None:
    """The same artifact (same sha256) stored more than once, in one cache or several:
    report it, or hard-link the copies one owner holds on one filesystem (never across
    owners)."""
    from cachecensus.act.dedupe import find_duplicates, link_duplicates
    from cachecensus.report import Cell, human_bytes, plural, print_json, print_table, shown

    scanned = _scan(
        root=root,
        cache_dirs=cache_dir,
        python=None,
        user=user,
        all_users=all_users,
        scan_dirs=scan,
        tools=tool,
        json_output=json_output,
    )
    groups = find_duplicates(scanned.host, [s for _, s in scanned.caches])
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "command": "dedupe",
        "dry_run": dry_run or not link,
        "groups": [g.as_json() for g in groups],
        "duplicated_bytes": sum(g.wasted for g in groups),
        "linkable_bytes": sum(g.linkable for g in groups),
        "problems": scanned.problems,
    }
    if not json_output:
        rows: list[list[Cell]] = [
            [
                g.project or "-",
                g.version or "-",
                human_bytes(g.size),
                str(len(g.copies)),
                human_bytes(g.linkable),
                tuple(c.cache_dir for c in g.copies),
            ]
            for g in groups
        ]
        print_table(
            f"{plural(len(groups), 'artifact')} cached more than once",
            ["project", "version", "size", "copies", "linkable", "caches"],
            rows,
        )
        print(
            f"duplicated {human_bytes(doc['duplicated_bytes'])}; hard-linking would free "
            f"{human_bytes(doc['linkable_bytes'])}"
        )
    if not link or dry_run or not groups:
        if json_output:
            print_json({**doc, "linked": [], "freed_bytes": 0, "skipped": []})
        raise typer.Exit(EXIT_PARTIAL if scanned.problems else EXIT_OK)
    if not yes:
        if not sys.stdin.isatty():
            fail("refusing to link without --yes: no terminal to confirm on")
        if not typer.confirm("Replace these copies with hard links?", default=False):
            raise typer.Exit(EXIT_OK)
    result = link_duplicates(scanned.host, groups)
    if result.linked:  # the kept copies' link counts changed, their directories did not
        from cachecensus.memo import open_memo
        from cachecensus.snapshot import forget

        memo = open_memo()
        try:
            forget(memo, [s for _, s in scanned.caches], scanned.host.real)
        finally:
            memo.close()
    doc.update(
        linked=result.linked,
        freed_bytes=result.freed,
        skipped=[{"path": p, "reason": r} for p, r in result.skipped],
    )
    if json_output:
        print_json(doc)
    else:
        linked = plural(len(result.linked), "copy", "copies")
        print(f"Linked {linked}, freed {human_bytes(result.freed)}.")
        for path, reason in result.skipped:
            print(shown(f"skipped {path}: {reason}"), file=sys.stderr)
    raise typer.Exit(EXIT_PARTIAL if result.skipped else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command("remove")(remove_command)
    app.command("purge")(purge_command)
    app.command("prune")(prune_command)
    app.command("dedupe")(dedupe_command)
