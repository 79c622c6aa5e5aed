"""What every discovery source shares: its context, its shape, and what it yields.

A source is a small class (findpython's providers are the model): ``create(host, user,
env)`` returns None when the source is absent for that user (no pyenv root, no pipx home...),
otherwise an instance whose ``find()`` yields :class:`Candidate` interpreter paths. Adding a
source is one new module and one line in :data:`cachecensus.discover.PROVIDERS`.
"""

from __future__ import annotations

import posixpath
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

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
        """An XDG base directory: the variable when absolute (as the spec says), else
        ``~/default``."""
        value = self.env.get(name, "").strip()
        return value if posixpath.isabs(value) else self.home(default)

    def var_path(self, name: str) -> str | None:
        value = self.env.get(name, "").strip()
        return self.host.expanduser(value, self.user) if value else None


class Candidate(NamedTuple):
    """An interpreter path one source found; ``kind`` None lets inspection classify it."""

    path: str
    kind: EnvKind | None
    found_by: str


class Provider(ABC):
    """One source of interpreters, for one user (or, ``per_user`` False, for the machine,
    seen through the invoking user's variables)."""

    #: Short name of the source (used in ``found_by`` and documentation).
    name: ClassVar[str] = ""
    #: False: run once, for the invoking user (PATH, /usr/bin, /opt).
    per_user: ClassVar[bool] = True

    def __init__(self, ctx: Context, roots: Sequence[str] = ()) -> None:
        self.ctx = ctx
        self.roots = tuple(roots)

    @classmethod
    def create(cls, host: Host, user: User, env: Mapping[str, str]) -> Provider | None:
        """The source for ``user`` on ``host``, or None when it is absent there."""
        ctx = Context(host, user, env)
        roots = [r for r in dict.fromkeys(cls.roots_of(ctx)) if host.is_dir(r)]
        return cls(ctx, roots) if roots else None

    @classmethod
    def roots_of(cls, ctx: Context) -> Iterator[str]:
        """Directories this source looks in (only existing ones are kept)."""
        return iter(())

    @abstractmethod
    def find(self) -> Iterator[Candidate]:
        """The interpreters this source knows of (inspection judges them)."""


class VenvDirProvider(Provider):
    """A source whose roots hold one environment per child directory (``ROOT/*``)."""

    kind: ClassVar[EnvKind | None] = None

    def find(self) -> Iterator[Candidate]:
        for root in self.roots:
            yield from venvs_under(self.ctx.host, root, self.kind, self.name)


def subdirs(host: Host, path: str) -> list[str]:
    """Child directories of ``path`` (sorted; symlinked dirs included, broken ones not)."""
    try:
        names = sorted(host.listdir(path))
    except (OSError, ValueError):
        return []
    return [posixpath.join(path, n) for n in names if host.is_dir(posixpath.join(path, n))]


def interpreters_in(host: Host, bindir: str) -> Iterator[str]:
    """``python``, ``python3``, ``python3.X`` names in a bin directory (dangling links too:
    inspection reports them as broken)."""
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


def venvs_under(host: Host, root: str, kind: EnvKind | None, found_by: str) -> Iterator[Candidate]:
    """Every ``root/*`` that is an environment (has a ``bin/python*``)."""
    for prefix in subdirs(host, root):
        exe = env_interpreter(host, prefix)
        if exe is not None:
            yield Candidate(exe, kind, found_by)
