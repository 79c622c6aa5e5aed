"""A user's variables: the login view, plus each distinct environment of their processes.

A process environment only *adds* caches: alice running ``PIP_CACHE_DIR=~/alt sleep 300``
uses ``~/alt`` in that process, and ``~/.cache/pip`` everywhere else. So another user's
census holds the union of

- the **login view**: her variables as a login would have them (``HOME``, ``USER``,
  ``LOGNAME`` from passwd; config files are read by the resolvers as usual), and
- one **process view** per distinct set of cache-relevant variables among her running
  processes (the login view overlaid with them; many shells with the same variables are one
  view), at most :data:`MAX_PROCESS_VIEWS`, each named for the process it came from.

The invoking user has one view, this process's own environment (what they asked for).
"""

from __future__ import annotations

import functools
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from cachecensus import tools as registry
from cachecensus.discover.processes import processes_of
from cachecensus.host import Host, ProcessInfo
from cachecensus.models import Decision, Resolution, User

#: Distinct process environments read per user; the rest are counted in ``omitted``.
MAX_PROCESS_VIEWS = 16

#: Variables that can move a cache or a config file (or where environments live): each
#: tool's own (its ``variables`` in :mod:`cachecensus.tools`), and these, of no one tool
#: (the XDG base directories...); per-shell noise (``PWD``, ``XDG_SESSION_ID``,
#: ``PYENV_VERSION``, ``CONDA_SHLVL``...) stays out, so it cannot split one user's shells
#: into many views.
_SHARED = (
    r"PIPX_\w+|XDG_(CACHE_HOME|CONFIG_HOME|CONFIG_DIRS|DATA_HOME|DATA_DIRS)"
    r"|HOME|TMPDIR|PYENV_ROOT|WORKON_HOME|ASDF_DATA_DIR"
)


def _relevant_pattern() -> re.Pattern[str]:
    """Every variable that can move a cache or a config file (see above)."""
    return _compiled(tuple(p for t in registry.REGISTRY for p in t.variables))


@functools.cache
def _compiled(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join((*patterns, _SHARED)), re.ASCII)


_NOISE = frozenset({"CONDA_SHLVL", "CONDA_PROMPT_MODIFIER", "CONDA_DEFAULT_ENV"})

LOGIN = "login"
OWN = "own environment"


@dataclass(frozen=True)
class VariableView:
    """One set of variables a user's tools run with, and where it came from.

    ``origin``: :data:`LOGIN`, :data:`OWN`, or ``PID 12215 (bash)`` (``and N others`` when
    more processes share these variables); ``pid`` is set for a process view. ``omitted``
    (on the first view): distinct process environments left unread past the limit.
    """

    origin: str
    variables: Mapping[str, str] = field(hash=False)
    pid: int | None = None
    omitted: int = 0


def login_variables(user: User) -> dict[str, str]:
    """``user``'s variables as a login gives them (passwd's home and name, nothing else)."""
    return {"HOME": user.home, "USER": user.name, "LOGNAME": user.name}


def relevant(name: str) -> bool:
    return _relevant_pattern().fullmatch(name) is not None and name not in _NOISE


def _own_home(host: Host, path: str, user: User) -> bool:
    """A ``HOME`` other than passwd's counts only where it is a directory ``user`` owns (a
    ``sudo -u`` that kept root's ``HOME`` says nothing about her caches)."""
    try:
        st = host.stat(path)
    except (OSError, ValueError):
        return False
    return path.startswith("/") and stat.S_ISDIR(st.st_mode) and st.st_uid == user.uid


def _overlay(host: Host, user: User, environ: Mapping[str, str]) -> dict[str, str]:
    """The login view with a process's cache-relevant variables."""
    found = login_variables(user)
    for name, value in environ.items():
        if not relevant(name):
            continue
        if name == "HOME" and value != user.home and not _own_home(host, value, user):
            continue
        found[name] = value
    return found


def user_views(host: Host, user: User) -> tuple[VariableView, ...]:
    """Every view of ``user``'s variables; the first is the base (login or own)."""
    if host.live and user.uid == host.euid:
        return (VariableView(OWN, host.env),)
    login = login_variables(user)
    seen: dict[tuple[tuple[str, str], ...], list[ProcessInfo]] = {}
    views: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
    base_key = tuple(sorted(login.items()))
    procs = sorted(processes_of(host), key=lambda p: (p.create_time, p.pid))
    for proc in procs:
        if proc.uid != user.uid or not proc.environ:
            continue
        variables = _overlay(host, user, proc.environ)
        key = tuple(sorted(variables.items()))
        if key == base_key:
            continue
        seen.setdefault(key, []).append(proc)
        views.setdefault(key, variables)
    keys = list(seen)
    kept, omitted = keys[:MAX_PROCESS_VIEWS], len(keys) - MAX_PROCESS_VIEWS
    found = [VariableView(LOGIN, login, omitted=max(0, omitted))]
    for key in kept:
        first, *others = seen[key]
        name = "".join(c if c.isprintable() else "?" for c in first.name) or "?"
        origin = f"PID {first.pid} ({name})"  # the name is the user's: no escapes printed
        if others:
            origin += f" and {len(others)} other{'s' if len(others) > 1 else ''}"
        found.append(VariableView(origin, views[key], pid=first.pid))
    return tuple(found)


def attributed(res: Resolution, view: VariableView) -> Resolution:
    """``res`` with each variable's provenance naming the process it came from
    (``PIP_CACHE_DIR of PID 12215 (bash)``); a base view's resolution is unchanged."""
    if view.pid is None:
        return res
    marked = tuple(
        Decision(d.source, f"{d.where} of {view.origin}", d.key, d.value, d.effective)
        if d.source == "env"
        else d
        for d in res.decided_by
    )
    return replace(res, decided_by=marked)


def origin_of(res: Resolution, view: VariableView) -> str:
    """Where ``res``'s cache came from: the view's origin, or the variable that decided
    (``PIP_CACHE_DIR of PID 12215 (bash)``) when a process's variable did."""
    if view.pid is None:
        return view.origin
    decisive = next((d for d in res.decided_by if d.effective and d.source == "env"), None)
    if decisive is not None:
        return decisive.where  # already attributed
    return f"the variables of {view.origin}"
