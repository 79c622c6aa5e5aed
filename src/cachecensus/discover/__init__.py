"""Discovery: every Python environment on the machine, found without running any.

One module per source, each a small :class:`~.base.Provider` class (``create(host, user,
env)`` -> None when the source is absent, ``find()`` -> :class:`~.base.Candidate`
interpreter paths), plus the bounded ``pyvenv.cfg`` walk (:mod:`.scan`). :func:`discover`
runs them for each user, inspects every candidate once
(:func:`~.interpreter.inspect_interpreter`, files only) and merges the names of one
interpreter (``python3`` -> ``python3.11``, a venv's ``bin/python`` and ``bin/python3``)
into one :class:`~cachecensus.models.Environment` with ``aliases``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator, Sequence

from cachecensus.discover.base import Candidate, Provider
from cachecensus.discover.conda import CondaProvider
from cachecensus.discover.interpreter import inspect_interpreter
from cachecensus.discover.path import PathProvider
from cachecensus.discover.pipx import PipxProvider
from cachecensus.discover.processes import ProcessProvider, shared_snapshot
from cachecensus.discover.pyenv import PyenvProvider
from cachecensus.discover.scan import PyvenvScan
from cachecensus.discover.system import OptProvider, SystemProvider
from cachecensus.discover.uv import UvPythonProvider, UvToolProvider
from cachecensus.discover.variables import user_views
from cachecensus.discover.venvhomes import (
    PipenvProvider,
    PoetryProvider,
    VirtualenvwrapperProvider,
)
from cachecensus.host import Host
from cachecensus.models import Environment, Problem, User

__all__ = ["PROVIDERS", "discover", "user_views"]

#: Every source, in the order their findings are reported (the first kind given wins).
PROVIDERS: tuple[type[Provider], ...] = (
    PathProvider,
    SystemProvider,
    OptProvider,
    PyenvProvider,
    UvPythonProvider,
    UvToolProvider,
    PipxProvider,
    CondaProvider,
    VirtualenvwrapperProvider,
    PipenvProvider,
    PoetryProvider,
    ProcessProvider,
)
SCAN_DEPTH = 4
SCAN_BUDGET_S = 2.0


def _providers(host: Host, users: Sequence[User]) -> Iterator[Provider]:
    """The machine's sources (seen through the invoking user's variables), then each user's,
    once per view of their variables (login, and each distinct process environment: a
    ``WORKON_HOME`` set in one shell adds that directory; it hides no other)."""
    me = host.current_user()
    (mine, *_) = user_views(host, me)
    for cls in PROVIDERS:
        if cls.per_user:
            continue
        found = cls.create(host, me, mine.variables)
        if found is not None:
            yield found
    made: set[tuple[type[Provider], int, tuple[str, ...]]] = set()
    for user in users:
        for view in user_views(host, user):
            for cls in PROVIDERS:
                if not cls.per_user:
                    continue
                found = cls.create(host, user, view.variables)
                if found is None or (cls, user.uid, found.roots) in made:
                    continue
                made.add((cls, user.uid, found.roots))
                yield found


def _canonical(env: Environment, names: list[str]) -> str:
    """The name to show for one interpreter: bin/python in a venv, else the versioned one."""
    if env.is_venv:
        for name in names:
            if posixpath.basename(name) == "python":
                return name
    return sorted(names, key=lambda n: (-len(posixpath.basename(n)), -len(n), n))[0]


def _merge(inspected: Iterable[tuple[Candidate, Environment]]) -> list[Environment]:
    """One Environment per (prefix, base, version); a broken interpreter stays alone."""
    groups: dict[tuple[str, ...], list[tuple[Candidate, Environment]]] = {}
    key: tuple[str, ...]
    for cand, env in inspected:
        key = (env.prefix, env.base_interpreter or "", env.version or "", env.problem or "")
        if env.problem:
            key = (env.interpreter,)
        groups.setdefault(key, []).append((cand, env))
    merged: list[Environment] = []
    for members in groups.values():
        names = list(dict.fromkeys(e.interpreter for _, e in members))
        canonical = _canonical(members[0][1], names)
        found_by = tuple(dict.fromkeys(c.found_by for c, _ in members))
        kinds = [c.kind for c, _ in members if c.kind is not None]
        env = next(e for _, e in members if e.interpreter == canonical)
        merged.append(
            Environment(
                interpreter=canonical,
                prefix=env.prefix,
                kind=kinds[0] if kinds else env.kind,
                name=env.name,
                version=env.version,
                owner=env.owner,
                base_interpreter=env.base_interpreter,
                pip_version=env.pip_version,
                found_by=found_by,
                aliases=tuple(n for n in names if n != canonical),
                problem=env.problem,
            )
        )
    return merged


def _unique_names(envs: list[Environment]) -> list[Environment]:
    """``name``s made unique (``--env NAME`` must name one): later ones get ``~2``, ``~3``."""
    taken = {e.name for e in envs}
    seen: set[str] = set()
    out = []
    for env in envs:
        name, count = env.name, 1
        while name in seen or (name != env.name and name in taken):
            count += 1
            name = f"{env.name}~{count}"
        seen.add(name)
        if name != env.name:
            env = Environment(**{**env.__dict__, "name": name})
        out.append(env)
    return out


def discover(
    host: Host,
    users: Sequence[User],
    *,
    scan_dirs: Sequence[str] = (),
    scan_budget_s: float = SCAN_BUDGET_S,
    max_depth: int = SCAN_DEPTH,
) -> tuple[tuple[Environment, ...], tuple[Problem, ...]]:
    """Every environment reachable for ``users`` (plus the invoking user's PATH, the system
    bin directories and /opt), and what could not be searched."""
    problems: list[Problem] = []
    for top in scan_dirs:
        if not host.is_dir(top):
            problems.append(Problem(path=top, message="--scan: not a directory"))
    tops = [u.home for u in users if host.is_dir(u.home)]
    tops += [d for d in scan_dirs if host.is_dir(d)]
    walker = PyvenvScan(host, tops, max_depth=max_depth, budget_s=scan_budget_s)
    inspected: list[tuple[Candidate, Environment]] = []
    seen: dict[str, Environment] = {}
    with shared_snapshot(host):
        sources: list[Iterable[Candidate]] = [p.find() for p in _providers(host, users)]
        for cand in (c for source in [*sources, walker.find()] for c in source):
            path = posixpath.normpath(cand.path)
            env = seen.get(path)
            if env is None:
                env = inspect_interpreter(host, path, found_by=cand.found_by, kind=cand.kind)
                seen[path] = env
            if env.problem and env.problem.startswith(("a script", "no such file")):
                continue  # shims and wrappers are not environments; vanished files are nothing
            inspected.append((cand, env))
    if walker.stopped:
        problems.append(
            Problem(
                path=", ".join(walker.roots),
                message=f"the pyvenv.cfg scan stopped at its {scan_budget_s:g}s budget",
            )
        )
    envs = sorted(_merge(inspected), key=lambda e: (e.kind.value, e.prefix, e.interpreter))
    return tuple(_unique_names(envs)), tuple(problems)
