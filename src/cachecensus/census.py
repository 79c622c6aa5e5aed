"""The census: who uses which cache.

Pairs every user with the environments they can use (their own, plus shared ones: owned by
root or nobody we know, outside root's home: system, /opt, a shared pyenv...) and with "no
environment" (``environment == ""``: their plain ``pip``), resolves each pair's pip cache
for installs, and groups the pairs by *physical* directory (symlinks resolved), so a cache
shared by ten environments is one row with ten users of it. Where ``pip cache`` (the
``[cache]`` view) would name another directory than installs use, the pair is flagged:
``pip cache purge`` there cleans the wrong place.

The other tools (uv, poetry, pdm, pipenv, conda: :mod:`cachecensus.resolve`) are resolved
per user, and again per environment of theirs (a conda env's own ``.condarc``, a poetry or
uv-tool venv); their caches join the census where the directory exists (every user has a
default location for every tool; only the ones in use are caches).

Each user's variables are the invoking user's own environment for them; for another user,
the login view *and* each distinct environment of their running processes (see
:mod:`cachecensus.discover.variables`): a process's ``PIP_CACHE_DIR`` adds a cache, labelled
with the process, and never hides the one her logins use. Broken environments (``problem``
set) are not paired: no pip runs there.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from cachecensus import tools as registry
from cachecensus.discover.processes import shared_snapshot
from cachecensus.discover.variables import (
    LOGIN,
    MAX_PROCESS_VIEWS,
    VariableView,
    attributed,
    origin_of,
    user_views,
)
from cachecensus.host import Host
from cachecensus.models import (
    UNREADABLE,
    CacheDir,
    Census,
    Environment,
    Problem,
    Resolution,
    Usage,
    User,
)
from cachecensus.resolve import resolve_tool
from cachecensus.tools import Tool

#: ``resolve_pip``'s shape: ``(host, *, user, env, prefix, view, cwd, euid, pip_version)``.
Resolver = Callable[..., Resolution]
#: Views resolved per pair: the first is the one installs use (the census's cache).
VIEWS = ("install", "cache")


def environments_of(
    user: User, environments: Sequence[Environment], root_home: str
) -> list[Environment]:
    """The environments ``user`` would run: their own, and shared ones (owned by root or an
    unknown owner) outside root's home; never a broken one."""
    inside_root = root_home.rstrip("/") + "/"
    mine = []
    for env in environments:
        if env.problem is not None:
            continue
        shared = env.owner in ("root", None) and (
            user.uid == 0 or not (env.prefix + "/").startswith(inside_root)
        )
        if shared or env.owner == user.name:
            mine.append(env)
    return mine


def _owner(host: Host, path: str) -> str | None:
    try:
        uid = host.stat(path).st_uid
    except (OSError, ValueError):
        return None
    found = host.user_by_uid(uid)
    return found.name if found else str(uid)


def build_census(
    host: Host,
    users: Sequence[User],
    environments: Sequence[Environment],
    *,
    resolve: Resolver | None = None,
    variables: Callable[[Host, User], Mapping[str, str]] | None = None,
    views: Callable[[Host, User], Sequence[VariableView]] = user_views,
    cwd: str | None = None,
    tools: Sequence[str] | None = None,
) -> Census:
    """Resolve every (user, environment) pair and group them into physical caches.

    ``resolve`` defaults to :func:`cachecensus.resolve.pip.resolve_pip`; ``views`` gives
    the views of a user's variables (the base first: login or own, then one per distinct
    process environment; ``variables``, when given, is the one view instead); ``cwd``
    (default: the user's home) is where relative config paths are taken from; ``tools``
    (default: all) which tools' caches to include.

    A process view only *adds*: its pairs are kept where they name another cache than the
    base view's pair for the same tool, environment and command, labelled with where the
    variable came from (``Usage.origin``).
    """
    if resolve is None:
        from cachecensus.resolve.pip import resolve_pip

        resolve = resolve_pip
    if variables is not None:
        given = variables
        views = lambda h, u: (VariableView(LOGIN, given(h, u)),)  # noqa: E731
    root = host.user_by_uid(0)
    root_home = root.home if root else "/root"
    pairs: list[tuple[Usage, Resolution]] = []
    problems: list[Problem] = []
    wanted = set(tools) if tools is not None else set(registry.names())
    with shared_snapshot(host):
        for user in users:
            targets = [None, *environments_of(user, environments, root_home)]
            found = views(host, user)
            if found[0].omitted:
                problems.append(
                    Problem(
                        path=user.home,
                        message=f"{found[0].omitted} more distinct process environments of "
                        f"{user.name} not read (at most {MAX_PROCESS_VIEWS})",
                    )
                )
            base: dict[tuple[str, str, str], set[str | None]] = {}
            base_problems: set[Problem] = set()
            for view in found:
                got, trouble = _user_pairs(
                    host, user, view.variables, targets, wanted, resolve, cwd
                )
                for usage, res in got:
                    key = (res.tool, usage.environment, usage.view)
                    if view is found[0]:
                        base.setdefault(key, set()).add(res.cache_dir)
                    elif res.cache_dir in base.get(key, ()):
                        continue
                    res = attributed(res, view)
                    pairs.append((replace(usage, origin=origin_of(res, view)), res))
                if view is found[0]:
                    base_problems.update(trouble)
                    problems.extend(trouble)
                    continue
                for problem in trouble:
                    if problem not in base_problems:
                        message = f"{problem.message} (with the variables of {view.origin})"
                        problems.append(Problem(path=problem.path, message=message))
    caches, grouping_problems = group_caches(host, pairs, users)
    notes = [p for p in problems if VIEWS_DIFFER in p.message]  # advice, not a failure
    return Census(
        users=tuple(users),
        environments=tuple(environments),
        caches=caches,
        resolutions=tuple(pairs),
        problems=tuple(dict.fromkeys(p for p in [*problems, *grouping_problems] if p not in notes)),
        notes=tuple(dict.fromkeys(notes)),
    )


#: How the note that ``pip cache`` works on another directory than installs use reads: a
#: working setup, said as a :attr:`Census.notes` entry (not a problem).
VIEWS_DIFFER = "but 'pip cache' works on"


def _user_pairs(
    host: Host,
    user: User,
    env_vars: Mapping[str, str],
    targets: Sequence[Environment | None],
    wanted: set[str],
    resolve: Resolver,
    cwd: str | None,
) -> tuple[list[tuple[Usage, Resolution]], list[Problem]]:
    """Every tool's pairs for ``user`` with the variables ``env_vars``, and their problems."""
    pairs: list[tuple[Usage, Resolution]] = []
    problems: list[Problem] = []
    for tool in registry.REGISTRY:
        if tool.resolver is not None and tool.name in wanted:
            found, trouble = _other_tool(host, tool, user, env_vars, targets)
            pairs.extend(found)
            problems.extend(trouble)
    if "pip" not in wanted:
        return pairs, problems
    for env in targets:
        name = env.interpreter if env else ""
        install, cache = (
            resolve(
                host,
                user=user,
                env=env_vars,
                prefix=env.prefix if env else None,
                view=view,
                cwd=cwd or user.home,
                euid=user.uid,
                pip_version=env.pip_version if env else None,
            )
            for view in VIEWS
        )
        pairs.append((Usage(user.name, name, "install"), install))
        where = name or user.home
        for message in install.problems:
            problems.append(Problem(path=where, message=message))
        if install.error:
            problems.append(Problem(path=where, message=f"pip would fail: {install.error}"))
        if install.cache_dir != cache.cache_dir:
            problems.append(
                Problem(
                    path=name or user.name,
                    message=(
                        f"for {user.name}, installs use {install.cache_dir or 'no cache'}"
                        f" {VIEWS_DIFFER} {cache.cache_dir or 'no cache'}"
                    ),
                )
            )
    return pairs, problems


def _other_tool(
    host: Host,
    tool: Tool,
    user: User,
    env_vars: Mapping[str, str],
    targets: Sequence[Environment | None],
) -> tuple[list[tuple[Usage, Resolution]], list[Problem]]:
    """``tool``'s caches for ``user``: their own (no environment; only when one of the
    tool's ``needs_variables`` is set, if it names any) and those of the environments that
    tool made; only directories that exist."""
    pairs: list[tuple[Usage, Resolution]] = []
    problems: list[Problem] = []
    for env in targets:
        if env is not None and env.kind not in tool.env_kinds:
            continue
        # conda's own installation is only known from the user's variables; the
        # installations discovery found are resolved through their environments
        needs = tool.needs_variables
        if env is None and needs and not any(v in env_vars for v in needs):
            continue
        try:
            found = resolve_tool(tool.name, host, user=user, env=env_vars, environment=env)
        except (OSError, ValueError) as exc:
            problems.append(Problem(path=user.home, message=f"{tool.name}: {exc}"))
            continue
        where = env.interpreter if env is not None else user.home
        for res in found:
            for message in res.problems:
                problems.append(Problem(path=where, message=f"{tool.name}: {message}"))
            if res.error:
                problems.append(Problem(path=where, message=f"{tool.name} would fail: {res.error}"))
            if res.cache_dir is None or not host.is_dir(res.cache_dir):
                continue
            name = env.interpreter if env is not None else ""
            pairs.append((Usage(user.name, name, res.view), res))
    return pairs, problems


def group_caches(
    host: Host, pairs: Sequence[tuple[Usage, Resolution]], users: Sequence[User] = ()
) -> tuple[tuple[CacheDir, ...], tuple[Problem, ...]]:
    """One :class:`CacheDir` per physical directory the pairs use (disabled ones use none).

    Each pair's directory is its user's claim (:mod:`cachecensus.claims`): symlinks are
    resolved only where root or that user owns them, so one cache reached through two
    trusted names is one row; a cache no pair's claim accepts is ``refused`` (listed, never
    removed)."""
    from cachecensus.claims import Claim, claim

    known = {u.name: u for u in users}
    grouped: dict[str, tuple[list[Usage], list[str], str, list[Claim], list[str]]] = {}
    for usage, res in pairs:
        if res.cache_dir is None:
            continue
        owner = known.get(usage.user) or host.user_by_name(usage.user)
        spelled = res.named or res.cache_dir
        if owner is None:
            found = Claim(spelled, "is named for an unknown user")
        else:
            found = claim(host, spelled, owner)
        usages, names, _tool, claims, wheres = grouped.setdefault(
            found.path, ([], [], res.tool, [], [])
        )
        if usage not in usages:
            usages.append(usage)
        claims.append(found)
        # pip resolves symlinks; the spelling the user wrote lives in the deciding layer
        decisive = next((d for d in res.decided_by if d.effective), None)
        effective = decisive.value if decisive is not None else res.cache_dir
        where = decisive.where if decisive is not None else res.reason
        wheres.append(where if spelled == found.path else f"{where}; reached as {spelled}")
        for name in (effective, spelled, res.cache_dir):
            if name not in names:
                names.append(name)
    caches = []
    problems: list[Problem] = []
    for path, (usages, names, tool, claims, wheres) in sorted(grouped.items()):
        accepted = next((c for c in claims if c.refused is None), None)
        refused = None
        if accepted is None:
            who = ", ".join(dict.fromkeys(u.user for u in usages))
            refused = f"{tool} cache of {who} ({wheres[0]}) {claims[0].refused}: never removed"
        presence = host.dir_presence(path)
        if presence is None:  # not ours to see: there as far as we know, and said so
            problems.append(Problem(path=path, message=UNREADABLE))
        caches.append(
            CacheDir(
                tool=tool,
                path=path,
                exists=presence is not False,
                owner=_owner(host, path) or _owner(host, posixpath.dirname(path)),
                used_by=tuple(usages),
                names=tuple(names),
                refused=refused,
                uid=accepted.uid if accepted is not None else None,
            )
        )
    return tuple(caches), tuple(problems)
