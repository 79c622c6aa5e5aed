"""Which caches a command works on: named directories, one interpreter's, or the census.

Every command that reads or changes caches (``audit``, ``list``, ``info``, ``remove``,
``purge``, ``prune``, ``dedupe``) takes the same selection options; this module turns them
into a list of distinct physical caches (symlinks resolved where root or the cache's user
owns them, see :mod:`cachecensus.claims`; so one cache reached under two names, or shared
by ten environments, is one target).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from cachecensus.host import Host
from cachecensus.models import CacheDir, Environment, Problem, Resolution, Usage, User


class TargetError(ValueError):
    """Bad selection input (unknown user, unusable interpreter): a usage error."""


@dataclass(frozen=True)
class Selection:
    caches: tuple[CacheDir, ...]
    problems: tuple[Problem, ...] = ()
    environments: tuple[str, ...] = ()  # names of the environments discovered (completion)
    prefixes: tuple[str, ...] = ()  # their prefixes (where cache files may be linked into)


def users_for(host: Host, user: str | Sequence[str] | None, all_users: bool) -> list[User]:
    """The invoking user, the named users (``--user``, repeatable: each once, in order), or
    every user with a real home (root first)."""
    names = [user] if isinstance(user, str) else list(dict.fromkeys(user or ()))
    if names and all_users:
        raise TargetError("--user and --all-users exclude each other")
    if all_users:
        return host.users()
    found: list[User] = []
    for name in names:
        one = host.user_by_name(name)
        if one is None:
            raise TargetError(f"no such user: {name}")
        found.append(one)
    return found or [host.current_user()]


def _owner(host: Host, path: str) -> str | None:
    try:
        uid = host.stat(path).st_uid
    except (OSError, ValueError):
        return None
    found = host.user_by_uid(uid)
    return found.name if found else str(uid)


def named_caches(host: Host, paths: Sequence[str], tool: str | None = None) -> Selection:
    """``--cache-dir DIR ...``: exactly these directories (no discovery), each read as
    ``tool``'s cache, or as the tool whose layout it has (pip's when none claims it).

    A DIR that does not exist, or is not a directory, is a usage error (a typo must not
    read as an empty cache); one this user may not look into is there, unreadable (the scan
    says so); one with files but no tool's layout is a problem: its files count as strays.
    A home, ``/``, ``/etc``... is never guessed to be a cache (a problem says so); a path
    through a symlink owned by someone other than root or the invoking user is listed
    ``refused`` (see :mod:`cachecensus.claims`)."""
    from cachecensus.caches import detect, never_a_cache
    from cachecensus.claims import claim

    seen: dict[str, CacheDir] = {}
    problems: list[Problem] = []
    for raw in paths:
        found = claim(host, host.expanduser(raw), None)
        path = found.path
        if path in seen:
            old = seen[path]
            seen[path] = replace(old, names=tuple(dict.fromkeys((*old.names, raw))))
            continue
        presence = host.dir_presence(path)
        if presence is False:
            what = "not a directory" if host.lexists(path) else "no such directory"
            raise TargetError(f"--cache-dir {raw}: {what}")
        readable = presence is True
        chosen = tool or (detect(host, path) if readable else "pip")
        if chosen is None:
            why = never_a_cache(host, path) or "no tool's layout"
            problems.append(
                Problem(
                    path,
                    f"--cache-dir {raw}: {why}, not any tool's cache: not guessing "
                    "(name its tool with --tool)",
                )
            )
            continue
        if readable and not _cache_shaped(host, path, tool):
            problems.append(
                Problem(path, _UNSHAPED.format(whose=f"{tool}'s" if tool else "any tool's"))
            )
        seen[path] = CacheDir(
            tool=chosen,
            path=path,
            exists=True,
            owner=_owner(host, path),
            names=(raw,),
            refused=f"--cache-dir {raw} {found.refused}: never removed" if found.refused else None,
            uid=found.uid,
        )
    return Selection(caches=tuple(seen.values()), problems=tuple(problems))


_UNSHAPED = (
    "does not look like {whose} cache (none of its marker files or directories at the top); "
    "its files are counted as strays"
)


def _cache_shaped(host: Host, path: str, tool: str | None) -> bool:
    """``path`` has the top-level layout of ``tool``'s cache (any tool's for None), or is
    empty (a cache before its first download)."""
    from cachecensus.caches import format_for
    from cachecensus.tools import with_own_format

    try:
        if not host.listdir(path):
            return True
    except (OSError, ValueError):
        return True  # unreadable inside: the scan says so
    return any(
        format_for(t).looks_like(host, path) for t in ([tool] if tool else with_own_format())
    )


def inspect_python(host: Host, python: str) -> Environment:
    """The environment of ``--python PY``; :class:`TargetError` when PY is no interpreter
    (a program that is not Python, a data file, a shim, nothing)."""
    from cachecensus.discover.interpreter import inspect_interpreter, not_an_interpreter

    env = inspect_interpreter(host, host.expanduser(python), found_by="--python")
    why = not_an_interpreter(host, env.interpreter)
    if why is None and env.problem and env.version is None:
        why = env.problem
    if why is not None:
        raise TargetError(f"--python {python}: {why}")
    return env


def interpreter_caches(host: Host, python: str, users: Sequence[User]) -> Selection:
    """``--python PY``: the cache pip in that environment uses (install view) per user."""
    from cachecensus.census import group_caches
    from cachecensus.discover.variables import attributed, origin_of, user_views
    from cachecensus.resolve.pip import resolve_pip

    env = inspect_python(host, python)
    pairs: list[tuple[Usage, Resolution]] = []
    problems: list[Problem] = []
    for user in users:
        base: set[str | None] = set()
        for view in user_views(host, user):  # a process's variables add, never replace
            res = resolve_pip(
                host, user=user, env=view.variables, prefix=env.prefix, pip_version=env.pip_version
            )
            if view.pid is None:
                base.add(res.cache_dir)
            elif res.cache_dir in base:
                continue
            res = attributed(res, view)
            for p in res.problems:
                problems.append(Problem(path=env.interpreter, message=p))
            if res.cache_dir is None:
                problems.append(Problem(path=env.interpreter, message=f"pip cache {res.reason}"))
                continue
            pairs.append((Usage(user.name, env.interpreter, origin=origin_of(res, view)), res))
    caches, trouble = group_caches(host, pairs, users)
    return Selection(caches=caches, problems=(*problems, *trouble))


def _user_env(host: Host, user: User) -> dict[str, str]:
    """``user``'s base view: the invoking user's own variables, another user's login ones
    (their processes' variables are further views: ``user_views``)."""
    from cachecensus.discover.variables import user_views

    return dict(user_views(host, user)[0].variables)


def census_caches(
    host: Host,
    users: Sequence[User],
    scan_dirs: Sequence[str] = (),
    tools: Sequence[str] | None = None,
) -> Selection:
    """Every cache the census finds for ``users`` (discovery + resolution), of ``tools``."""
    from cachecensus.census import build_census
    from cachecensus.discover import discover
    from cachecensus.discover.processes import shared_snapshot

    with shared_snapshot(host):  # discovery and the census list processes once
        environments, problems = discover(host, list(users), scan_dirs=tuple(scan_dirs))
        census = build_census(host, list(users), environments, tools=tools)
    return Selection(
        caches=tuple(census.caches),
        problems=(*problems, *census.problems),
        environments=tuple(e.name for e in environments),
        prefixes=tuple(e.prefix for e in environments if e.problem is None),
    )


def select_caches(
    host: Host,
    *,
    cache_dirs: Sequence[str] = (),
    python: str | None = None,
    user: str | Sequence[str] | None = None,
    all_users: bool = False,
    scan_dirs: Sequence[str] = (),
    tools: Sequence[str] | None = None,
) -> Selection:
    """The caches the selection options name; raises :class:`TargetError` on bad input.

    ``tools`` narrows to those tools' caches; with ``cache_dirs`` a single tool says how to
    read them (several: each directory is read as the tool whose layout it has and kept if
    that tool is among them)."""
    if cache_dirs:
        if tools and len(set(tools)) == 1:
            return named_caches(host, cache_dirs, tool=tools[0])
        found = named_caches(host, cache_dirs)
        if tools:
            found = Selection(tuple(c for c in found.caches if c.tool in tools), found.problems)
        return found
    users = users_for(host, user, all_users)
    if python is not None:
        if tools and "pip" not in tools:
            raise TargetError("--python selects a pip cache; it cannot be combined with --tool")
        return interpreter_caches(host, python, users)
    return census_caches(host, users, scan_dirs, tools)
