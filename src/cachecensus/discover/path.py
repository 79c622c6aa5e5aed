"""Interpreters on the user's PATH, in the system bin directories and under /opt."""

from __future__ import annotations

from collections.abc import Iterator

from cachecensus.discover.base import Candidate, Context, interpreters_in, subdirs

SYSTEM_BINS = ("/usr/bin", "/usr/local/bin", "/bin")


def find(ctx: Context) -> Iterator[Candidate]:
    for entry in ctx.env.get("PATH", "").split(":"):
        if entry.startswith("/"):
            for exe in interpreters_in(ctx.host, entry):
                yield Candidate(exe, "PATH")
    for bindir in SYSTEM_BINS:
        for exe in interpreters_in(ctx.host, bindir):
            yield Candidate(exe, bindir)
    for top in subdirs(ctx.host, "/opt"):  # /opt/X/bin and /opt/X/Y/bin
        for base in (top, *subdirs(ctx.host, top)):
            for exe in interpreters_in(ctx.host, base + "/bin"):
                yield Candidate(exe, "/opt")
