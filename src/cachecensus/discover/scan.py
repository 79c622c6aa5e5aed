"""A bounded, pruned walk for ``pyvenv.cfg`` under a user's home (and ``--scan`` dirs).

Bounded in depth and time; never follows a symlinked directory; skips trees that cannot
hold a venv worth listing (VCS metadata, node_modules, caches, site-packages, hidden dirs
other than the usual venv names).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from cachecensus.discover.base import Candidate, Context, env_interpreter

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
        "proc",
    }
)
KEEP_HIDDEN = frozenset({".venv", ".virtualenvs", ".local", ".env", ".pyenv"})


def walk(ctx: Context, top: str, *, max_depth: int, deadline: float) -> Iterator[Candidate]:
    stack = [(top, 0)]
    host = ctx.host
    while stack:
        if time.monotonic() > deadline:
            return
        path, depth = stack.pop()
        try:
            entries = sorted(host.scandir(path), key=lambda e: e.name)
        except (OSError, ValueError):
            continue
        if any(e.name == "pyvenv.cfg" and e.is_file(follow_symlinks=False) for e in entries):
            exe = env_interpreter(host, path)
            if exe is not None:
                yield Candidate(exe, f"scan of {top}")
            continue  # nothing worth finding inside a venv
        if depth >= max_depth:
            continue
        for entry in reversed(entries):
            name = entry.name
            if name in PRUNE or (name.startswith(".") and name not in KEEP_HIDDEN):
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append((os.path.join(path, name), depth + 1))


def find_under(
    ctx: Context, tops: list[str], *, max_depth: int, budget_s: float
) -> Iterator[Candidate]:
    deadline = time.monotonic() + budget_s
    for top in tops:
        yield from walk(ctx, top, max_depth=max_depth, deadline=deadline)
