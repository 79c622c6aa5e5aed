"""Running Python processes (live host only): their executable and their ``VIRTUAL_ENV``.

Listing processes is the slow part of discovery (psutil reads every process's environment),
so :func:`shared_snapshot` lets one discovery run list them once for all its users.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from cachecensus.discover.base import Candidate, Context, Provider, env_interpreter
from cachecensus.host import Host, ProcessInfo
from cachecensus.models import User

_active: dict[int, list[tuple[ProcessInfo, ...]]] = {}


@contextmanager
def shared_snapshot(host: Host) -> Iterator[None]:
    """Within this block, :class:`ProcessProvider` lists ``host``'s processes only once."""
    key = id(host)
    if key in _active:  # nested: the outer block owns the snapshot
        yield
        return
    _active[key] = []
    try:
        yield
    finally:
        del _active[key]


def processes_of(host: Host) -> Sequence[ProcessInfo]:
    """``host.processes()``, listed once per :func:`shared_snapshot` block."""
    held = _active.get(id(host))
    if held is None:
        return host.processes()
    if not held:
        held.append(tuple(host.processes()))
    return held[0]


class ProcessProvider(Provider):
    name = "process"

    def __init__(self, ctx: Context, procs: Sequence[ProcessInfo]) -> None:
        super().__init__(ctx)
        self.procs = tuple(procs)

    @classmethod
    def create(cls, host: Host, user: User, env: Mapping[str, str]) -> ProcessProvider | None:
        if not host.live:
            return None
        mine = [p for p in processes_of(host) if p.uid == user.uid]
        return cls(Context(host, user, env), mine) if mine else None

    def find(self) -> Iterator[Candidate]:
        host = self.ctx.host
        for proc in self.procs:
            how = f"process {proc.pid}"
            venv = (proc.environ or {}).get("VIRTUAL_ENV")
            if venv and posixpath.isabs(venv):
                exe = env_interpreter(host, venv)
                if exe is not None:
                    yield Candidate(exe, None, how)
            if proc.exe and posixpath.basename(proc.exe).startswith("python"):
                # psutil's exe is resolved; argv[0] keeps a venv's own bin/python
                argv0 = proc.cmdline[0] if proc.cmdline else ""
                if "/" in argv0 and not argv0.startswith("/") and proc.cwd:
                    argv0 = posixpath.normpath(posixpath.join(proc.cwd, argv0))
                if argv0.startswith("/") and posixpath.basename(argv0).startswith("python"):
                    yield Candidate(argv0, None, how)
                else:
                    yield Candidate(proc.exe, None, how)
