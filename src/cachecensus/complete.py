"""The fast path of shell completion: the candidates file.

Shell TAB must feel native, so the generated completion scripts (``completions/``) never
start Python for commands, options and option values, and read *dynamic* candidates (cached
project names, environment names and interpreters) from a small plain-text file that the
commands which learn them (``envs``, ``audit``, ``list``, ``remove``) rewrite as they go:

    #cachecensus-candidates<TAB>1<TAB>1733000000        format version, written at (epoch s)
    #stamp<TAB>project<TAB>1733000000                   when each kind was last refreshed
    #stamp<TAB>env<TAB>1733000000
    project<TAB>requests
    env<TAB>myproject/.venv
    python<TAB>/home/me/myproject/.venv/bin/python

It lives at ``$CACHECENSUS_COMPLETION_FILE`` or, by default,
``platformdirs.user_cache_dir("cachecensus")/completion-candidates.txt``
(``${XDG_CACHE_HOME:-~/.cache}/cachecensus/...`` on Linux), which the shell scripts compute
the same way.  A kind whose stamp is missing or older than :data:`MAX_AGE` makes the shell
fall back to ``python -m cachecensus._complete KIND PREFIX``, which refreshes the file.

This module imports neither Typer nor rich (nor anything that does): it is what that
fallback runs.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Mapping
from typing import Protocol

from cachecensus import statedir, userfile

#: Environment variable naming the candidates file (tests, unusual setups).
FILE_ENV = "CACHECENSUS_COMPLETION_FILE"
FILE_NAME = "completion-candidates.txt"
HEADER = "#cachecensus-candidates"
STAMP = "#stamp"
FORMAT_VERSION = 1
#: A kind refreshed longer ago than this is stale: the shell asks Python instead (once,
#: since that refreshes the file).  Every ``envs``/``audit``/``list``/``remove`` refreshes.
MAX_AGE = 12 * 3600

#: Kinds of candidates: a cached project name, an environment name, an interpreter path.
PROJECT = "project"
ENV = "env"
PYTHON = "python"
KINDS = (PROJECT, ENV, PYTHON)
#: The stamp that covers each kind (env names and interpreters come from one discovery).
STAMP_OF = {PROJECT: PROJECT, ENV: ENV, PYTHON: ENV}


class _EnvLike(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def interpreter(self) -> str: ...


def candidates_path(env: Mapping[str, str] | None = None) -> str:
    """Where the candidates file is for the invoking user."""
    environ = os.environ if env is None else env
    explicit = environ.get(FILE_ENV, "")
    if explicit:
        return explicit
    return os.path.join(user_cache_dir(environ), FILE_NAME)


def user_cache_dir(env: Mapping[str, str] | None = None) -> str:
    """``platformdirs.user_cache_dir("cachecensus")``, computed without importing platformdirs.

    platformdirs costs ~30 ms to import (pathlib, re, enum...), twice the budget of a TAB;
    its rule is short: ``$XDG_CACHE_HOME`` when it is an absolute path, else
    ``~/Library/Caches`` on macOS and ``~/.cache`` elsewhere.  The generated shell scripts
    apply the same rule, and a test checks it against platformdirs itself.
    """
    environ = os.environ if env is None else env
    xdg = environ.get("XDG_CACHE_HOME", "")
    if xdg.startswith("/"):
        base = xdg
    else:
        home = environ.get("HOME") or os.path.expanduser("~")
        if sys.platform == "darwin":
            base = os.path.join(home, "Library", "Caches")
        else:
            base = os.path.join(home, ".cache")
    return os.path.join(base, "cachecensus")


def read_candidates(path: str | None = None) -> tuple[dict[str, list[str]], dict[str, int]]:
    """(names by kind, stamp by kind) of the candidates file; empty when missing/unreadable."""
    names: dict[str, list[str]] = {kind: [] for kind in KINDS}
    stamps: dict[str, int] = {}
    try:  # never through a symlink, never blocking on a FIFO, never more than a few MiB
        text = userfile.read_text(path or candidates_path(), follow=False, errors="surrogateescape")
    except OSError:
        return names, stamps
    lines = text.split("\n")
    if not lines or not lines[0].startswith(HEADER + "\t"):
        return names, stamps
    for line in lines[1:]:
        fields = line.split("\t")
        if len(fields) == 3 and fields[0] == STAMP:
            try:
                stamps[fields[1]] = int(fields[2])
            except ValueError:
                continue
        elif len(fields) == 2 and fields[0] in names and fields[1]:
            names[fields[0]].append(fields[1])
    return names, stamps


def is_fresh(stamps: Mapping[str, int], kind: str, now: float | None = None) -> bool:
    """True when ``kind``'s candidates were refreshed less than :data:`MAX_AGE` ago."""
    stamp = stamps.get(STAMP_OF.get(kind, kind))
    if stamp is None:
        return False
    return (time.time() if now is None else now) - stamp < MAX_AGE


def _clean(names: Iterable[str]) -> list[str]:
    """Unique names in first-seen order; nothing a line-based reader could misparse."""
    seen: dict[str, None] = {}
    for name in names:
        if name and "\t" not in name and "\n" not in name and "\r" not in name:
            seen.setdefault(name, None)
    return list(seen)


def write_candidates(
    projects: Iterable[str] | None,
    envs: Iterable[_EnvLike] | None,
    path: str | None = None,
    *,
    now: float | None = None,
) -> str | None:
    """Record the cached project names and/or environments completion should offer.

    ``None`` for either keeps what the file already holds for it (``envs`` knows no
    projects; ``list`` of one cache should not forget environments).  Project names are
    written as given (callers pass PEP 503-normalised names), sorted; environments give
    their ``name`` and ``interpreter``.  Written atomically (a reader never sees half a
    file), and only into a directory nobody but the invoking user (or root) controls
    (:mod:`cachecensus.statedir`: root with a user's ``HOME`` writes nothing there).
    Returns the path written, or None when it could not be written: completion is a
    convenience and never fails the command that feeds it.
    """
    target = path or candidates_path()
    old_names, old_stamps = read_candidates(target)
    stamp = int(time.time() if now is None else now)
    stamps = dict(old_stamps)
    if projects is not None:
        project_names = sorted(_clean(projects))
        stamps[PROJECT] = stamp
    else:
        project_names = old_names[PROJECT]
    if envs is not None:
        env_list = list(envs)
        env_names = _clean(e.name for e in env_list)
        pythons = _clean(e.interpreter for e in env_list)
        stamps[ENV] = stamp
    else:
        env_names, pythons = old_names[ENV], old_names[PYTHON]
    lines = [f"{HEADER}\t{FORMAT_VERSION}\t{stamp}"]
    lines += [f"{STAMP}\t{kind}\t{value}" for kind, value in sorted(stamps.items())]
    lines += [f"{PROJECT}\t{n}" for n in project_names]
    lines += [f"{ENV}\t{n}" for n in env_names]
    lines += [f"{PYTHON}\t{n}" for n in pythons]
    directory = os.path.dirname(target) or "."
    import tempfile  # only writers pay for it

    try:
        directory = statedir.trusted_dir(directory)
        fd, tmp = tempfile.mkstemp(prefix=".candidates-", dir=directory)
        target = os.path.join(directory, os.path.basename(target))
        try:
            with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as fh:
                fh.write("\n".join(lines) + "\n")
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        return None
    return target


def matching(names: Iterable[str], prefix: str) -> list[str]:
    """The names that start with ``prefix`` (what the shell would keep)."""
    return [n for n in names if n.startswith(prefix)]
