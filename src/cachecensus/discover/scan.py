"""A bounded, pruned walk for ``pyvenv.cfg`` under users' homes (and ``--scan`` dirs).

Bounded in depth and time; never follows a symlinked directory; skips trees that cannot
hold a venv worth listing (VCS metadata, node_modules, caches, site-packages, hidden dirs
other than the usual venv homes). One walk serves every root, under one time budget;
``stopped`` tells afterwards whether the budget cut it short.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence

from cachecensus.discover.base import Candidate, env_interpreter
from cachecensus.host import Host

PRUNE = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        "site-packages",
        "dist-packages",
        ".cache",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
    }
)
KEEP_HIDDEN = frozenset({".venv", ".virtualenvs", ".local", ".env", ".pyenv"})


class PyvenvScan:
    """Walk ``roots`` for directories holding a ``pyvenv.cfg`` (a venv's prefix)."""

    def __init__(
        self,
        host: Host,
        roots: Sequence[str],
        *,
        max_depth: int,
        budget_s: float,
    ) -> None:
        self.host = host
        self.roots = tuple(dict.fromkeys(roots))
        self.max_depth = max_depth
        self.budget_s = budget_s
        self.stopped = False

    def find(self) -> Iterator[Candidate]:
        deadline = time.monotonic() + self.budget_s
        for root in self.roots:
            yield from self._walk(root, deadline)
            if self.stopped:
                return

    def _walk(self, top: str, deadline: float) -> Iterator[Candidate]:
        host = self.host
        found_by = f"scan of {top}"
        stack = [(top, 0)]
        while stack:
            if time.monotonic() > deadline:
                self.stopped = True
                return
            path, depth = stack.pop()
            try:
                entries = sorted(host.scandir(path), key=lambda e: e.name)
            except (OSError, ValueError):
                continue
            if any(e.name == "pyvenv.cfg" and e.is_file(follow_symlinks=False) for e in entries):
                exe = env_interpreter(host, path)
                if exe is not None:
                    yield Candidate(exe, None, found_by)
                continue  # nothing worth finding inside a venv
            if depth >= self.max_depth:
                continue
            for entry in reversed(entries):
                name = entry.name
                if name in PRUNE or (name.startswith(".") and name not in KEEP_HIDDEN):
                    continue
                if entry.is_dir(follow_symlinks=False):  # never a symlinked directory
                    stack.append((os.path.join(path, name), depth + 1))
