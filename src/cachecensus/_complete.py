"""``python -m cachecensus._complete KIND [PREFIX]``: the completion scripts' fallback.

The generated shell scripts read dynamic candidates from the candidates file themselves
(:mod:`cachecensus.complete`); they run this only when the file is missing or the kind's
stamp is stale.  It prints the matching names, one a line, and gets the file refreshed:

- stale data for the kind: answered at once from the file, and a refresh is started in the
  background (detached, at most one per kind at a time) so the next TAB is fresh and fast;
- no data for the kind at all: the refresh runs first (bounded by :data:`FOREGROUND_TIMEOUT`)
  and its result is the answer.

The refresh is the command that feeds the file anyway: ``cachecensus envs --json`` for
environment names and interpreters (discovery), ``cachecensus list --json`` for cached
project names (a scan that the memo keeps to stats when warm).  Reusing them keeps one
source of truth for what those names are; the cost lands on a background process, never
on a TAB that has something to answer with.

This module imports neither Typer nor rich: only the standard library and
:mod:`cachecensus.complete`.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time

from cachecensus import complete, selfrun

#: How long a TAB with nothing to answer waits for the first refresh (seconds).
FOREGROUND_TIMEOUT = 10.0
#: A background refresh marker older than this is considered dead (seconds).
MARKER_TTL = 120
#: The cachecensus command whose run refreshes each kind.
REFRESH_COMMAND = {complete.PROJECT: "list", complete.ENV: "envs", complete.PYTHON: "envs"}
_ALIASES = {"projects": complete.PROJECT, "envs": complete.ENV, "pythons": complete.PYTHON}
USAGE = "usage: python -m cachecensus._complete project|env|python [PREFIX]"


def refresh_argv(kind: str) -> list[str]:
    """The command that refreshes ``kind`` (run with the interpreter running us)."""
    return selfrun.module_argv("cachecensus", REFRESH_COMMAND[kind], "--json")


def _marker(path: str, kind: str) -> str:
    return f"{path}.refreshing-{complete.STAMP_OF[kind]}"


def run_refresh(kind: str, timeout: float | None = None) -> int | None:
    """Run the refresh command of ``kind`` (output discarded); its exit code, None on
    timeout or when it cannot start."""
    try:
        return subprocess.run(
            refresh_argv(kind),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        ).returncode
    except (OSError, subprocess.TimeoutExpired):
        return None


#: The detached refreshes this process started (their Popen objects are never waited for).
_DETACHED: list[subprocess.Popen[bytes]] = []


def start_background_refresh(kind: str, path: str) -> bool:
    """Start a detached refresh of ``kind`` unless one is already running; True if started."""
    marker = _marker(path, kind)
    try:
        age = time.time() - os.stat(marker).st_mtime
    except OSError:
        age = None
    if age is not None and age < MARKER_TTL:
        return False
    try:
        os.makedirs(os.path.dirname(marker) or ".", exist_ok=True)
        # never through a symlink, never blocking on a FIFO planted there
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_NONBLOCK
        fd = os.open(marker, flags | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\n")
        _DETACHED.append(  # kept: it outlives this process by design, never waited for
            subprocess.Popen(
                selfrun.module_argv("cachecensus._complete", "--refresh", kind, path),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, complete.FILE_ENV: path},
            )
        )
    except OSError:
        return False
    return True


def candidates(kind: str, prefix: str, path: str | None = None) -> list[str]:
    """The names of ``kind`` starting with ``prefix``, refreshing the file as described."""
    path = path or complete.candidates_path()
    names, stamps = complete.read_candidates(path)
    if complete.is_fresh(stamps, kind):
        return complete.matching(names[kind], prefix)
    if complete.STAMP_OF[kind] in stamps:  # stale: answer now, refresh for next time
        start_background_refresh(kind, path)
        return complete.matching(names[kind], prefix)
    run_refresh(kind, timeout=FOREGROUND_TIMEOUT)
    names, _ = complete.read_candidates(path)
    return complete.matching(names[kind], prefix)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 3 and args[0] == "--refresh":  # the detached background refresh
        kind, path = _ALIASES.get(args[1], args[1]), args[2]
        if kind not in complete.KINDS:
            return 2
        try:
            run_refresh(kind)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(_marker(path, kind))
        return 0
    if not args or len(args) > 2:
        print(USAGE, file=sys.stderr)
        return 2
    kind = _ALIASES.get(args[0], args[0])
    if kind not in complete.KINDS:
        print(USAGE, file=sys.stderr)
        return 2
    return emit(candidates(kind, args[1] if len(args) > 1 else ""))


def emit(names: list[str]) -> int:
    """Print ``names`` one a line; a reader that stops early (``| head``) is no error."""
    try:
        sys.stdout.write("".join(name + "\n" for name in names))
        sys.stdout.flush()
    except BrokenPipeError:
        # nothing more to say to a closed pipe, and nothing for the interpreter to flush
        # (and complain about) at exit either
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return 0


if __name__ == "__main__":
    sys.exit(main())
