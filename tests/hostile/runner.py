"""Run ``python -m cachecensus ARGS`` as a subprocess and check what every run owes:
an exit code in {0, 1, 2}, no traceback, one-line messages on stderr, a JSON document
where ``--json`` was asked and the run did not fail on its input, and an end within a
timeout (a hang is killed with its whole process group and reported)."""

from __future__ import annotations

import json
import os
import resource
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"

#: Seconds any one command may take on the fake machine before it counts as a hang
#: (a scan of it takes well under one; 2 cores shared by many jobs are slow).
TIMEOUT = float(os.environ.get("CACHECENSUS_HOSTILE_TIMEOUT", "20"))

#: Address space each run may use: an unbounded read of /dev/zero fails with MemoryError
#: (reported as a traceback) instead of eating the machine's memory until the timeout.
MEMORY_LIMIT = 3 << 30

#: What a line on stderr may start with: the one-line messages of every command.
STDERR_PREFIXES = ("cachecensus: ", "skipped ", "Nothing deleted.")

Arg = str | bytes


@dataclass
class Run:
    argv: list[bytes]
    rc: int | None
    stdout: bytes
    stderr: bytes
    seconds: float
    shown: str = ""
    doc: Any = field(default=None)
    not_run: bool = False  # left out after earlier hangs (see Cli.max_hangs)
    shorten: Mapping[str, str] = field(default_factory=dict)

    def short(self, text: str) -> str:
        """``text`` with the long temporary paths given their short names."""
        for long, short in self.shorten.items():
            text = text.replace(long, short)
        return text

    @property
    def timed_out(self) -> bool:
        return self.rc is None

    def problems(self) -> list[str]:
        """Every way this run broke the rules every command keeps (empty: none)."""
        out: list[str] = []
        if self.not_run:
            return ["not run: earlier commands of this test hung"]
        if self.rc is None:
            return [f"no exit within {TIMEOUT:.0f}s (killed)"]
        if self.rc not in (0, 1, 2):
            out.append(f"exit code {self.rc}" + (" (a signal)" if self.rc < 0 else ""))
        err = self.stderr.decode("utf-8", "replace")
        if "Traceback" in err:
            last = [line for line in err.splitlines() if line.strip()][-1:]
            out.append(f"traceback on stderr: {last[0] if last else ''}")
        else:
            for line in err.splitlines():
                if line.strip() and not line.startswith(STDERR_PREFIXES):
                    out.append(f"stderr line not one of cachecensus's one-line messages: {line!r}")
                    break
        if b"--json" in self.argv and self.rc in (0, 1):
            try:
                self.doc = json.loads(self.stdout)
            except ValueError as exc:
                out.append(f"--json printed no JSON document: {exc}")
            else:
                if not isinstance(self.doc, dict) or self.doc.get("schema") != 1:
                    out.append('--json document without "schema": 1')
        return out


def invoker_env(home: Path, extra: Mapping[Arg, Arg] | None = None) -> dict[bytes, bytes]:
    """The environment cachecensus runs with: this machine's PATH, a private HOME and
    XDG_CACHE_HOME (its memo and completion candidates), no PIP_/UV_/XDG_... of ours."""
    home.mkdir(parents=True, exist_ok=True)
    env: dict[bytes, bytes] = {
        b"PATH": os.environb.get(b"PATH", b"/usr/bin:/bin"),
        b"PYTHONPATH": os.fsencode(SRC),
        b"HOME": os.fsencode(home),
        b"XDG_CACHE_HOME": os.fsencode(home / ".cache"),
        b"LANG": b"C.UTF-8",
        b"COLUMNS": b"120",
    }
    for key, value in (extra or {}).items():
        env[os.fsencode(key)] = os.fsencode(value)
    return env


def run(
    args: Sequence[Arg],
    env: Mapping[bytes, bytes],
    *,
    timeout: float = TIMEOUT,
    cwd: str | os.PathLike[str] | None = None,
    shorten: Mapping[str, str] | None = None,
) -> Run:
    """Run the CLI once (stdin from /dev/null: no terminal to ask on)."""
    argv = [os.fsencode(sys.executable), b"-m", b"cachecensus", *map(os.fsencode, args)]
    started = time.monotonic()
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,  # its own process group: a hang is killed whole
        preexec_fn=_limit_memory,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
        rc: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        rc = None
    result = Run(argv[1:], rc, out, err, time.monotonic() - started)
    result.shown = command_line(args, shorten)
    result.shorten = shorten or {}
    return result


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def command_line(args: Sequence[Arg], shorten: Mapping[str, str] | None = None) -> str:
    """``cachecensus ARGS`` for a report, with long temporary paths given short names."""
    words = []
    for arg in args:
        word = shlex.quote(os.fsdecode(arg)) if isinstance(arg, bytes) else shlex.quote(arg)
        for long, short in (shorten or {}).items():
            word = word.replace(long, short)
        words.append(word.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace"))
    return "cachecensus " + " ".join(words)


@dataclass
class Cli:
    """Runs cachecensus as the invoking user with a private HOME (its memo and completion
    candidates go there); long paths in reports are shortened (the world to ``$W``), so
    a failure reads as a command to retype."""

    home: Path
    shorten: dict[str, str] = field(default_factory=dict)
    #: after this many hangs in one test the rest of its commands are not run (each hang
    #: costs a whole timeout; the ones that ran are reported)
    max_hangs: int = 1
    hangs: int = 0

    def __call__(self, *args: Arg, env: Mapping[Arg, Arg] | None = None) -> Run:
        if self.hangs >= self.max_hangs:
            skipped = Run([os.fsencode(a) for a in args], None, b"", b"", 0.0, not_run=True)
            skipped.shown = command_line(args, self.shorten)
            skipped.shorten = self.shorten
            return skipped
        result = run(args, invoker_env(self.home, env), cwd=self.home, shorten=self.shorten)
        self.hangs += result.timed_out
        return result
