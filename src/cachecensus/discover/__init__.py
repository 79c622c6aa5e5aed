"""Discovery: every Python environment on the machine, found without running any.

One module per source (``path``, ``pyenv``, ``uv``, ``pipx``, ``conda``, ``venvhomes``,
``processes``, ``scan``), each a ``find(ctx)`` yielding :class:`~.base.Candidate`
interpreter paths; this module runs them for each user, inspects every candidate once
(:func:`~.interpreter.inspect_interpreter`) and merges the names of one interpreter
(``python3`` -> ``python3.11``, a venv's ``bin/python`` and ``bin/python3``) into one
:class:`~cachecensus.models.Environment` with ``aliases``.
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from cachecensus.discover import conda, path, pipx, processes, pyenv, scan, uv, venvhomes
from cachecensus.discover.base import Candidate, Context
from cachecensus.discover.interpreter import inspect_interpreter
from cachecensus.host import Host
from cachecensus.models import Environment, Problem, User

#: Per-user sources (the system-wide ``path`` source runs once, for the invoking user).
USER_SOURCES: tuple[Callable[[Context], Iterator[Candidate]], ...] = (
    pyenv.find,
    uv.find,
    pipx.find,
    conda.find,
    venvhomes.find,
    processes.find,
)
SCAN_DEPTH = 4
SCAN_BUDGET_S = 3.0


def user_variables(host: Host, user: User) -> Mapping[str, str]:
    """The variables ``user``'s tools see: ours for the invoking user, else those of their
    running processes, else the login defaults."""
    found = host.user_env(user)
    if found is not None:
        return found
    return {"HOME": user.home, "USER": user.name, "LOGNAME": user.name}


def _candidates(
    host: Host, users: Sequence[User], scan_dirs: Sequence[str], max_depth: int, budget_s: float
) -> Iterator[Candidate]:
    me = host.current_user()
    invoking = Context(host, me, host.env if host.live else user_variables(host, me))
    yield from path.find(invoking)
    for user in users:
        ctx = Context(host, user, user_variables(host, user))
        for source in USER_SOURCES:
            yield from source(ctx)
    tops = [u.home for u in users if host.is_dir(u.home)] + list(scan_dirs)
    yield from scan.find_under(invoking, tops, max_depth=max_depth, budget_s=budget_s)


def _canonical(env: Environment, names: list[str]) -> str:
    """The name to show for one interpreter: bin/python in a venv, else the versioned one."""
    if env.is_venv:
        for name in names:
            if posixpath.basename(name) == "python":
                return name
    return sorted(names, key=lambda n: (-len(posixpath.basename(n)), -len(n), n))[0]


def _merge(inspected: Iterable[tuple[Candidate, Environment]]) -> list[Environment]:
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
        first = members[0][1]
        canonical = _canonical(first, names)
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
    seen: dict[str, int] = {}
    out = []
    for env in envs:
        count = seen.get(env.name, 0)
        seen[env.name] = count + 1
        if count:
            env = Environment(**{**env.__dict__, "name": f"{env.name}~{count + 1}"})
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
    """Every environment reachable for ``users`` (and the invoking user's PATH)."""
    problems: list[Problem] = []
    for top in scan_dirs:
        if not host.is_dir(top):
            problems.append(Problem(path=top, message="--scan: not a directory"))
    started = time.monotonic()
    inspected: list[tuple[Candidate, Environment]] = []
    seen: dict[str, Environment] = {}
    for cand in _candidates(host, users, scan_dirs, max_depth, scan_budget_s):
        key = posixpath.normpath(cand.path)
        env = seen.get(key)
        if env is None:
            env = inspect_interpreter(host, key, found_by=cand.found_by, kind=cand.kind)
            seen[key] = env
        if env.problem and env.problem.startswith(("a script", "no such file")):
            continue  # shims and wrappers are not environments; vanished files are nothing
        inspected.append((cand, env))
    if time.monotonic() - started > scan_budget_s:
        problems.append(
            Problem(path="", message=f"the pyvenv.cfg scan stopped at its {scan_budget_s}s budget")
        )
    envs = sorted(_merge(inspected), key=lambda e: (e.kind.value, e.prefix, e.interpreter))
    return tuple(_unique_names(envs)), tuple(problems)
