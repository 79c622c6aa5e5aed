"""Options and steps shared by every command that reads caches (audit, list, info, remove...)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING, Any

import typer

from cachecensus import tools as registry
from cachecensus.cli.common import fail, make_host, not_empty, warn
from cachecensus.host import Host

if TYPE_CHECKING:
    from cachecensus.discover.uvbin import UvBinary
from cachecensus.models import CacheDir, CacheScan, Problem

CacheDirOption = typer.Option(
    [],
    "--cache-dir",
    metavar="DIR",
    help="Only these cache dirs, no discovery (repeatable).",
    callback=not_empty,
)
PythonOption = typer.Option(
    None,
    "--python",
    metavar="PY",
    help="Only the cache of this interpreter's environment.",
    callback=not_empty,
)
UserOption = typer.Option(
    [],
    "--user",
    metavar="NAME",
    help="Caches of this user (repeatable; another's: root).",
    callback=not_empty,
)
AllUsersOption = typer.Option(
    False, "--all-users", help="Caches of every user with a real home, root included."
)


if TYPE_CHECKING:

    class ToolChoice(str, Enum):
        """``--tool``'s choices: every tool of the registry, spelled by its name."""

else:
    ToolChoice = Enum("ToolChoice", [(name, name) for name in registry.names()], type=str)


ToolOption = typer.Option(
    [],
    "--tool",
    help="Only caches of these tools (repeatable); with --cache-dir, read DIR as this tool's.",
)
RescanOption = typer.Option(
    False,
    "--rescan",
    help="Look at every file again, even in a pip cache whose directories are unchanged "
    "since the last scan (see README: snapshots).",
)
ScanOption = typer.Option(
    [],
    "--scan",
    metavar="DIR",
    help="Also look for venvs under DIR (repeatable).",
    callback=not_empty,
)


@dataclass
class Scanned:
    host: Host
    caches: list[tuple[CacheDir, CacheScan]]
    problems: list[Problem]
    environments: tuple[str, ...]
    prefixes: tuple[str, ...] = ()


def scan_selected(
    *,
    root: str | None,
    cache_dirs: list[str],
    python: str | None,
    user: str | list[str] | None,
    all_users: bool,
    scan_dirs: list[str],
    json_output: bool,
    identify: bool = True,
    tools: list[ToolChoice] | None = None,
    snapshots: bool = False,
    acting: bool = False,
) -> Scanned:
    """Select caches (cachecensus.targets), then scan each once, with the memo and a
    progress bar on long runs. ``snapshots``: a read-only command may be answered from
    each unchanged cache's last scan, and stores its own scans as snapshots
    (:mod:`cachecensus.snapshot`). A cache the selection ``refused`` (a user's claim on a
    directory not theirs) is a problem, never scanned; ``acting`` (the command removes or
    links): so is a cache without its tool's marker (``caches.unmarked``)."""
    import time

    from cachecensus import snapshot
    from cachecensus.caches import format_for, with_trash
    from cachecensus.caches.base import DirStamp
    from cachecensus.cli.progress import progress
    from cachecensus.memo import open_memo
    from cachecensus.targets import TargetError, select_caches

    if user and all_users:
        fail("--user and --all-users exclude each other")
    host = make_host(root)
    try:
        selection = select_caches(
            host,
            cache_dirs=cache_dirs,
            python=python,
            user=user,
            all_users=all_users,
            scan_dirs=scan_dirs,
            tools=[t.value for t in tools] if tools else None,
        )
    except TargetError as exc:
        fail(str(exc))
    targets, problems = _usable(host, selection.caches, acting)
    selection = replace(selection, caches=tuple(targets))
    memo = open_memo() if identify else None
    if memo is not None and memo.warning:
        warn(memo.warning)
    results: list[tuple[CacheDir, CacheScan] | None] = [None] * len(selection.caches)
    uvs: tuple[UvBinary, ...] | None = None
    remember = snapshots and memo is not None and memo.conn is not None
    try:
        if remember:
            assert memo is not None
            # before any progress thread starts: a large check forks
            for index, cache in enumerate(selection.caches):
                if snapshot.applies(cache.tool):

                    def rescan(tool: str = cache.tool, path: str = cache.path) -> CacheScan:
                        return with_trash(format_for(tool).scan(host, path, identify=identify))

                    real = host.real(cache.path)
                    kept = snapshot.load(memo, cache.tool, cache.path, real, rescan)
                    if kept is not None:
                        results[index] = (cache, kept)
        with progress("identifying cache entries", json_output=json_output) as bar:
            for index, cache in enumerate(selection.caches):
                if results[index] is not None:
                    continue
                bar.relabel(f"scanning {cache.path}")
                fmt = format_for(cache.tool)
                # a snapshot-taking format also stamps every directory it walks
                dirs: list[DirStamp] | None = (
                    [] if remember and snapshot.applies(cache.tool) else None
                )
                stamps: dict[str, Any] = {} if dirs is None else {"dirs": dirs}
                if fmt.SCAN_TAKES_INSTALLED:  # which buckets are old: the uvs installed here
                    stamps["installed"] = uvs = (
                        uvs if uvs is not None else _installed(host, selection.prefixes)
                    )
                started = time.time_ns()
                found = with_trash(
                    fmt.scan(
                        host,
                        cache.path,
                        memo=memo,
                        identify=identify,
                        progress=bar.advance,
                        **stamps,
                    )
                )
                if dirs is not None:
                    assert memo is not None
                    real = host.real(cache.path)
                    found = snapshot.save(memo, cache.tool, cache.path, real, found, dirs, started)
                results[index] = (cache, found)
    finally:
        if memo is not None:
            memo.close()
    done = [r for r in results if r is not None]
    problems = [*selection.problems, *problems]
    for _, result in done:
        problems.extend(result.problems)
    return Scanned(host, done, problems, selection.environments, selection.prefixes)


def _installed(host: Host, prefixes: tuple[str, ...]) -> tuple[UvBinary, ...]:
    """The uv binaries on the machine, in the discovered environments too (read once per
    run: a uv cache's old buckets are the ones none of them uses)."""
    from cachecensus.discover.uvbin import installed_uvs

    return installed_uvs(host, prefixes=prefixes)


def _usable(
    host: Host, caches: tuple[CacheDir, ...], acting: bool
) -> tuple[list[CacheDir], list[Problem]]:
    """The caches to scan, and a problem for each one left out: refused claims always;
    with ``acting``, homes, system directories and directories without their tool's marker
    (the delete engine would refuse them: nothing is removed there)."""
    kept: list[CacheDir] = []
    problems: list[Problem] = []
    for cache in caches:
        if cache.refused is not None:
            problems.append(Problem(cache.path, cache.refused))
            continue
        if acting and cache.exists:
            from cachecensus.act.delete import Refused, _open_cache_dir

            try:
                os.close(_open_cache_dir(host, cache.path, tool=cache.tool))
            except Refused as exc:
                problems.append(Problem(cache.path, str(exc)))
                continue
            except OSError:
                pass  # the scan says what is wrong with it
        kept.append(cache)
    return kept, problems


def remember_projects(scanned: Scanned) -> None:
    """Refresh the completion candidates with the project names just seen."""
    if not scanned.host.live:
        return
    from cachecensus.complete import write_candidates

    names: set[str] = set()
    for _, scan in scanned.caches:
        if scan.summary is not None:
            names.update(scan.summary.projects)
        else:
            names.update(e.project for e in scan.entries if e.project)
    write_candidates(sorted(names), None)
