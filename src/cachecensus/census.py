"""The census: who uses which cache.

Pairs every user with the environments they can use (their own, plus root-owned ones
outside root's home: system, /opt, shared pyenv...) and with "no environment" (their plain
``pip``), resolves each pair's pip cache for installs, and groups the pairs by *physical*
directory (symlinks resolved), so a cache shared by ten environments is one row with ten
users of it. Where ``pip cache`` (the ``[cache]`` view) would name another directory than
installs use, the pair is flagged: ``pip cache purge`` there cleans the wrong place.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping, Sequence

from cachecensus.discover import user_variables
from cachecensus.host import Host
from cachecensus.models import CacheDir, Census, Environment, Problem, Resolution, Usage, User

Resolver = Callable[..., Resolution]


def environments_of(
    user: User, environments: Sequence[Environment], root_home: str
) -> list[Environment]:
    """The environments ``user`` would run: their own, and root's outside root's home."""
    mine = []
    for env in environments:
        if env.owner == user.name or (
            env.owner in ("root", None)
            and not (user.uid != 0 and (env.prefix + "/").startswith(root_home.rstrip("/") + "/"))
        ):
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
    """Resolve every (user, environment) pair and group them into physical caches."""
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
                for view in ("install", "cache")
            )
            pairs.append((Usage(user.name, name, "install"), install))
            for message in install.problems:
                problems.append(Problem(path=name or user.home, message=message))
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
    return Census(
        users=tuple(users),
        environments=tuple(environments),
        caches=_group(host, pairs),
        resolutions=tuple(pairs),
        problems=tuple(dict.fromkeys(problems)),
    )


def _group(host: Host, pairs: Sequence[tuple[Usage, Resolution]]) -> tuple[CacheDir, ...]:
    grouped: dict[str, tuple[list[Usage], list[str]]] = {}
    for usage, res in pairs:
        if res.cache_dir is None:
            continue
        physical = host.realpath(res.cache_dir)
        usages, names = grouped.setdefault(physical, ([], []))
        usages.append(usage)
        # pip resolves symlinks; the spelling the user wrote lives in the deciding layer
        spelled = next((d.value for d in res.decided_by if d.effective), res.cache_dir)
        if spelled not in names:
            names.append(spelled)
    return tuple(
        CacheDir(
            tool="pip",
            path=path,
            exists=host.is_dir(path),
            owner=_owner(host, path) or _owner(host, posixpath.dirname(path)),
            used_by=tuple(usages),
            names=tuple(names),
        )
        for path, (usages, names) in sorted(grouped.items())
    )
