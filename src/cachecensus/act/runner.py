"""The one place cachecensus forks: a child that acts as another user, or a plain worker.

When root acts for a user (deletes in her cache, links her duplicates, runs her pip), it
acts *as* her, so that the kernel's permissions, not our checks, bound what she can make
happen:

- :func:`run` forks one child per task. A child given an :class:`Identity` drops to it
  (``setgroups([])``, ``setgid``, ``setuid``; then every real, effective and saved id is
  checked) and gets her ``HOME``/``USER``/``LOGNAME``. Only then is ``PR_SET_PDEATHSIG``
  armed (the kernel clears it on a change of credentials, so it is armed after the drop):
  a child whose parent dies is killed, and one whose parent died before the signal was
  armed exits. The task runs and streams its values back over a pipe as JSON lines (bytes
  of file names survive as surrogate escapes); the parent relays them as they come.
- Everything a child needs is imported before the fork (``needs``, plus this module's own
  imports): the dropped child may be unable to read root's site-packages (a private venv
  under ``/root``), and any import after the drop is refused outright, builtin and frozen
  modules aside, so a forgotten lazy import fails on every machine, not only on those.
- A failure in a child (the drop, an exception in the task, a child killed) comes back as
  a value, ``"could not act as uid N (NAME): ..."``, never as an exception in the parent.
  A child runs as her, so she may signal it: one she stops (``SIGSTOP``) is found within a
  second of silence and killed, never waited for.
- :func:`start_program` runs a program (pip) as an :class:`Identity` with the same drop
  (``subprocess``'s ``user``/``group``/``extra_groups=[]``) and her environment.
"""

from __future__ import annotations

import _imp
import contextlib
import ctypes
import errno
import importlib
import json
import os
import selectors
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import IO, Any

from cachecensus.host import Host

#: What a task calls to send one value (anything JSON can carry) back to the parent.
Send = Callable[[Any], None]
#: A task: run in the child, sends its values, returns when done (raising is a failure).
Task = Callable[[Send], None]

_PR_SET_PDEATHSIG = 1
_VALUE, _DONE, _FATAL = 0, 1, 2


@dataclass(frozen=True)
class Identity:
    """Who a child becomes: ``uid``, ``gid`` (and no supplementary group); ``name`` and
    ``home`` when the account is known."""

    uid: int
    gid: int
    name: str | None = None
    home: str | None = None

    @property
    def label(self) -> str:
        """``uid 1001 (alice)``: how failures name it."""
        return f"uid {self.uid} ({self.name})" if self.name else f"uid {self.uid}"

    def __str__(self) -> str:
        return self.name or f"uid {self.uid}"

    def environ(self, base: Mapping[str, str]) -> dict[str, str]:
        """``base`` with this user's ``HOME``, ``USER`` and ``LOGNAME`` (no ``HOME`` at all
        when the account is unknown: never root's)."""
        env = dict(base)
        if self.home:
            env["HOME"] = self.home
        else:
            env.pop("HOME", None)
        env["USER"] = env["LOGNAME"] = self.name or str(self.uid)
        return env


def identity(host: Host, uid: int, gid: int | None = None) -> Identity:
    """The account ``uid`` (its primary group and home from the host's passwd); ``gid``
    (else ``uid``) for a uid with no account."""
    user = host.user_by_uid(uid)
    if user is not None:
        return Identity(uid, user.gid, user.name, user.home)
    return Identity(uid, uid if gid is None else gid)


def for_owner(host: Host, uid: int, gid: int | None = None) -> Identity | None:
    """Who we must act as on something ``uid`` owns (``gid``: its group, for a uid with no
    account): that user when we are root and ``uid`` is another user's; None (act as
    ourselves) otherwise."""
    if os.geteuid() != 0 or uid == 0:
        return None
    return identity(host, uid, gid)


def owner_of(host: Host, st: os.stat_result) -> Identity | None:
    """:func:`for_owner` of what ``st`` describes."""
    return for_owner(host, st.st_uid, st.st_gid)


# ---------------------------------------------------------------------- the child


class _NoImports:
    """A ``sys.meta_path`` finder, first in line in a child: every import of a module not
    yet loaded fails (builtin and frozen modules need no file and pass)."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
        /,
    ) -> ModuleSpec | None:
        if fullname in sys.builtin_module_names or _imp.is_frozen(fullname):
            return None
        raise ImportError(f"{fullname} imported after the fork (import it before forking)")


def _drop(who: Identity) -> None:
    os.setgroups([])
    os.setgid(who.gid)
    os.setuid(who.uid)
    if (
        os.getresuid() != (who.uid,) * 3
        or os.getresgid() != (who.gid,) * 3
        or os.getgroups() not in ([], [who.gid])
    ):
        raise OSError(errno.EPERM, "privileges not dropped")
    for key in ("HOME", "USER", "LOGNAME"):
        os.environ.pop(key, None)
    os.environ.update(who.environ({}))


def _die_with(parent: int, libc: Any) -> None:
    """Have the kernel kill this child when ``parent`` dies (Linux ``PR_SET_PDEATHSIG``);
    exit now if it died already."""
    if libc is not None:
        with contextlib.suppress(OSError, AttributeError):
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _child(
    task: Task, who: Identity | None, parent: int, write_fd: int, flush_every: int, libc: Any
) -> None:  # pragma: no cover - runs in the child; tests check its effects
    code = 1
    try:
        out: IO[str] = os.fdopen(
            write_fd, "w", buffering=1 << 16, encoding="utf-8", errors="surrogateescape"
        )
        try:
            if who is not None:
                _drop(who)
            _die_with(parent, libc)
            sys.meta_path.insert(0, _NoImports())
            sent = 0

            def send(value: Any) -> None:
                nonlocal sent
                out.write(json.dumps([_VALUE, value]) + "\n")
                sent += 1
                if sent % flush_every == 0:
                    out.flush()
                    if os.getppid() != parent:  # the command was killed: stop here
                        os._exit(1)

            task(send)
            out.write(json.dumps([_DONE]) + "\n")
            code = 0
        except Exception as exc:  # reported to the parent as a value
            out.write(json.dumps([_FATAL, _one_line(exc)]) + "\n")
        out.flush()
    finally:
        os._exit(code)


_LIBC: list[Any] = []


def _libc() -> Any:
    """libc, loaded once before any fork (``prctl``); None where there is none."""
    if not _LIBC:
        try:
            _LIBC.append(ctypes.CDLL(None, use_errno=True))
        except OSError:
            _LIBC.append(None)
    return _LIBC[0]


def _spawn(task: Task, who: Identity | None, flush_every: int, libc: Any) -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read_fd)
        _child(task, who, parent, write_fd, flush_every, libc)
    os.close(write_fd)
    return pid, read_fd


def run(
    tasks: Sequence[Task],
    who: Identity | None,
    on_value: Callable[[Any], None],
    *,
    needs: Iterable[str] = (),
    flush_every: int = 1,
) -> str | None:
    """Run each task in its own child (as ``who`` when given: module doc), relaying every
    value they send to ``on_value`` as it comes. ``needs``: modules the tasks use, imported
    here before forking. None when every child finished its task; else why not, one line.

    A child sends through a buffer flushed every ``flush_every`` values."""
    for name in needs:
        importlib.import_module(name)
    libc = _libc()
    label = who.label if who is not None else "a worker"
    children: dict[int, int] = {}  # read end -> pid
    statuses: dict[int, int] = {}  # pid -> wait status, once reaped
    sel = selectors.DefaultSelector()
    done, fatal = 0, None
    finished = False
    try:
        for task in tasks:
            pid, fd = _spawn(task, who, max(1, flush_every), libc)
            children[fd] = pid
            sel.register(fd, selectors.EVENT_READ)
        buffers = dict.fromkeys(children, b"")
        open_fds = len(children)
        while open_fds:
            ready = sel.select(timeout=_WATCH_S)
            if not ready:  # quiet: a child stopped (SIGSTOP by its user) would hang us
                stopped = _kill_stopped(children, statuses)
                if stopped:
                    fatal = stopped
                continue
            for key, _ in ready:
                fd = int(key.fd)
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    sel.unregister(fd)
                    open_fds -= 1
                    continue
                *lines, buffers[fd] = (buffers[fd] + chunk).split(b"\n")
                for line in lines:
                    try:
                        tag, *body = json.loads(line.decode("utf-8", "surrogateescape"))
                        if tag == _VALUE:
                            on_value(body[0])
                        elif tag == _DONE:
                            done += 1
                        elif tag == _FATAL:
                            fatal = str(body[0])
                    except (ValueError, TypeError, KeyError, IndexError) as exc:
                        fatal = f"a malformed report ({_one_line(exc)})"
        finished = True
    finally:
        sel.close()
        for fd, pid in children.items():
            with contextlib.suppress(OSError):
                os.close(fd)
            if pid in statuses:
                continue
            if not finished:  # interrupted (Ctrl-C): no child outlives the run
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            statuses[pid] = os.waitpid(pid, 0)[1]
    if fatal is not None:
        return f"could not act as {label}: {fatal}"
    if done != len(children):
        return f"{label} ended early (wait status {max(statuses.values())})"
    return None


#: Seconds without a word from any child before the children are checked for being stopped.
_WATCH_S = 1.0


def _kill_stopped(children: Mapping[int, int], statuses: dict[int, int]) -> str | None:
    """Kill every child that is stopped (its user may SIGSTOP it: it runs as her) and say
    so; reap those that ended (into ``statuses``)."""
    found = None
    for pid in children.values():
        if pid in statuses:
            continue
        try:
            got, status = os.waitpid(pid, os.WNOHANG | os.WUNTRACED)
        except ChildProcessError:
            continue
        if got == 0:
            continue
        if os.WIFSTOPPED(status):
            os.kill(pid, signal.SIGKILL)
            found = f"stopped by signal {os.WSTOPSIG(status)}: killed"
            continue
        statuses[pid] = status
    return found


# ---------------------------------------------------------------------- programs


def start_program(
    argv: Sequence[str],
    who: Identity | None,
    *,
    env: Mapping[str, str] | None = None,
    stdout: IO[str] | int | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` with our stdin/stderr (and stdout unless redirected), as ``who`` when
    given: no supplementary groups, her gid and uid, her ``HOME``/``USER``/``LOGNAME`` in
    ``env`` (default: ours). Raises OSError when it cannot be started."""
    if who is None:
        return subprocess.Popen(
            list(argv), env=dict(env) if env is not None else None, stdout=stdout
        )
    return subprocess.Popen(
        list(argv),
        env=who.environ(os.environ if env is None else env),
        stdout=stdout,
        user=who.uid,
        group=who.gid,
        extra_groups=[],
    )
