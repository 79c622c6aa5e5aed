"""The system's own bin directories and ``/opt`` (``/opt/*/bin``, ``/opt/*/*/bin``)."""

from __future__ import annotations

from collections.abc import Iterator

from cachecensus.discover.base import Candidate, Context, Provider, interpreters_in, subdirs

SYSTEM_BINS = ("/usr/bin", "/usr/local/bin", "/bin")


class SystemProvider(Provider):
    name = "system"
    per_user = False

    @classmethod
    def roots_of(cls, ctx: Context) -> Iterator[str]:
        yield from SYSTEM_BINS

    def find(self) -> Iterator[Candidate]:
        for bindir in self.roots:
            for exe in interpreters_in(self.ctx.host, bindir):
                yield Candidate(exe, None, bindir)


class OptProvider(Provider):
    name = "/opt"
    per_user = False

    @classmethod
    def roots_of(cls, ctx: Context) -> Iterator[str]:
        yield "/opt"

    def find(self) -> Iterator[Candidate]:
        host = self.ctx.host
        for top in subdirs(host, "/opt"):  # bounded: two levels, never a walk
            for base in (top, *subdirs(host, top)):
                for exe in interpreters_in(host, base + "/bin"):
                    yield Candidate(exe, None, self.name)
