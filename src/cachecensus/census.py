"""The census: who uses which cache.

Pairs every user with the environments they can use (their own, plus shared ones: owned by
root or nobody we know, outside root's home: system, /opt, a shared pyenv...) and with "no
environment" (``environment == ""``: their plain ``pip``), resolves each pair's pip cache
for installs, and groups the pairs by *physical* directory (symlinks resolved), so a cache
shared by ten environments is one row with ten users of it. Where ``pip cache`` (the
``[cache]`` view) would name another directory than installs use, the pair is flagged:
``pip cache purge`` there cleans the wrong place.

Each user's variables are the invoking user's own environment for them, another user's
running processes' environment, or the login defaults (see
:func:`cachecensus.discover.user_variables`). Broken environments (``problem`` set) are not
paired: no pip runs there.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping, Sequence

from cachecensus.discover import user_variables
from cachecensus.host import Host
from cachecensus.models import CacheDir, Census, Environment, Problem, Resolution, Usage, User

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
    variables: Callable[[Host, User], Mapping[str, str]] = user_variables,
    cwd: str | None = None,
) -> Census:
    """Resolve every (user, environment) pair and group them into physical caches.

    ``resolve`` defaults to :func:`cachecensus.resolve.pip.resolve_pip`; ``variables`` gives
    a user's environment variables; ``cwd`` (default: the user's home) is where relative
    config paths are taken from.
    """
    if resolve is None:
        from cachecensus.resolve.pip import resolve_pip

        resolve = resolve_pip
    root = host.user_by_uid(0)
    root_home = root.home if root else "/root"
    pairs: list[tuple[Usage, Resolution]] = []
    problems: list[Problem] = []
    for user in users:
        env_vars = variables(host, user)
        targets: list[Environment | None] = [None, *environments_of(user, environments, root_home)]
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
                            f" but 'pip cache' works on {cache.cache_dir or 'no cache'}"
                        ),
                    )
                )
    caches, grouping_problems = group_caches(host, pairs)
    return Census(
        users=tuple(users),
        environments=tuple(environments),
        caches=caches,
        resolutions=tuple(pairs),
        problems=tuple(dict.fromkeys([*problems, *grouping_problems])),
    )


def group_caches(
    host: Host, pairs: Sequence[tuple[Usage, Resolution]]
) -> tuple[tuple[CacheDir, ...], tuple[Problem, ...]]:
    """One :class:`CacheDir` per physical directory the pairs use (disabled ones use none)."""
    grouped: dict[str, tuple[list[Usage], list[str], str]] = {}
    problems: list[Problem] = []
    for usage, res in pairs:
        if res.cache_dir is None:
            continue
        try:
            physical = host.realpath(res.cache_dir)
        except OSError as exc:
            problems.append(Problem(path=res.cache_dir, message=f"cannot resolve: {exc}"))
            continue
        usages, names, _tool = grouped.setdefault(physical, ([], [], res.tool))
        if usage not in usages:
            usages.append(usage)
        # pip resolves symlinks; the spelling the user wrote lives in the deciding layer
        spelled = next((d.value for d in res.decided_by if d.effective), res.cache_dir)
        for name in (spelled, res.cache_dir):
            if name not in names:
                names.append(name)
    caches = tuple(
        CacheDir(
            tool=tool,
            path=path,
            exists=host.is_dir(path),
            owner=_owner(host, path) or _owner(host, posixpath.dirname(path)),
            used_by=tuple(usages),
            names=tuple(names),
        )
        for path, (usages, names, tool) in sorted(grouped.items())
    )
    return caches, tuple(problems)
