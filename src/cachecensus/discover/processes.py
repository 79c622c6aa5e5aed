"""Running Python processes: their executable and the ``VIRTUAL_ENV`` they run in."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from cachecensus.discover.base import Candidate, Context, env_interpreter


def find(ctx: Context) -> Iterator[Candidate]:
    for proc in ctx.host.processes():
        if proc.uid != ctx.user.uid:
            continue
        how = f"process {proc.pid}"
        venv = (proc.environ or {}).get("VIRTUAL_ENV")
        if venv and posixpath.isabs(venv):
            exe = env_interpreter(ctx.host, venv)
            if exe is not None:
                yield Candidate(exe, how)
        if proc.exe and posixpath.basename(proc.exe).startswith("python"):
            # the exe psutil reports is resolved; argv[0] keeps a venv's own bin/python
            argv0 = proc.cmdline[0] if proc.cmdline else ""
            if "/" in argv0 and not argv0.startswith("/") and proc.cwd:
                argv0 = posixpath.normpath(posixpath.join(proc.cwd, argv0))
            if argv0.startswith("/") and posixpath.basename(argv0).startswith("python"):
                yield Candidate(argv0, how)
            else:
                yield Candidate(proc.exe, how)
