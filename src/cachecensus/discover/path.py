"""Interpreters on the invoking user's ``PATH``."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from cachecensus.discover.base import Candidate, Context, Provider, interpreters_in


class PathProvider(Provider):
    name = "PATH"
    per_user = False

    @classmethod
    def roots_of(cls, ctx: Context) -> Iterator[str]:
        for entry in ctx.env.get("PATH", "").split(":"):
            if posixpath.isabs(entry):
                yield posixpath.normpath(entry)

    def find(self) -> Iterator[Candidate]:
        for bindir in self.roots:
            for exe in interpreters_in(self.ctx.host, bindir):
                yield Candidate(exe, None, self.name)
