"""What every discovery source shares: its context and what it yields."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from cachecensus.host import Host
from cachecensus.models import EnvKind, User

_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")


@dataclass(frozen=True)
class Context:
    """One user's view of the machine: the variables their tools would see."""

    host: Host
    user: User
    env: Mapping[str, str]

    def home(self, *parts: str) -> str:
        return posixpath.join(self.user.home, *parts)

    def xdg(self, name: str, default: str) -> str:
        value = self.env.get(name, "").strip()
        return value if posixpath.isabs(value) else self.home(default)

    def var_path(self, name: str) -> str | None:
        value = self.env.get(name, "").strip()
        return self.host.expanduser(value, self.user) if value else None


@dataclass(frozen=True)
class Candidate:
    """An interpreter path one source found; ``kind`` None lets inspection classify it."""

    path: str
    found_by: str
    kind: EnvKind | None = None


def subdirs(host: Host, path: str) -> list[str]:
    """Child directories of ``path`` (sorted; symlinked dirs included, broken ones not)."""
    try:
        names = sorted(host.listdir(path))
    except (OSError, ValueError):
        return []
    return [posixpath.join(path, n) for n in names if host.is_dir(posixpath.join(path, n))]


def interpreters_in(host: Host, bindir: str) -> Iterator[str]:
    """``python``, ``python3``, ``python3.X`` executables in a bin directory."""
    try:
        names = sorted(host.listdir(bindir))
    except (OSError, ValueError):
        return
    for name in names:
        if _PYTHON.match(name):
            yield posixpath.join(bindir, name)


def env_interpreter(host: Host, prefix: str) -> str | None:
    """The interpreter of an environment prefix (``bin/python``, ``bin/python3``...)."""
    for name in ("python", "python3"):
        path = posixpath.join(prefix, "bin", name)
        if host.lexists(path):
            return path
    found = list(interpreters_in(host, posixpath.join(prefix, "bin")))
    return found[0] if found else None


def venvs_under(ctx: Context, root: str, kind: EnvKind, found_by: str) -> Iterator[Candidate]:
    """Every ``root/*`` that is an environment (has a ``pyvenv.cfg`` or a bin/python)."""
    for prefix in subdirs(ctx.host, root):
        exe = env_interpreter(ctx.host, prefix)
        if exe is not None:
            yield Candidate(exe, found_by, kind)
