"""The one seam between cachecensus and the machine it inspects.

Everything above this module speaks in *system paths*: absolute POSIX paths as seen from
inside the audited system.  Normally that system is this machine (root ``/``); with
``--root DIR`` it is a mounted disk image or container rootfs, and a system path ``/etc/pip.conf``
lives at ``DIR/etc/pip.conf`` on this machine.  :meth:`Host.real` maps one way,
:meth:`Host.system` the other, and :meth:`Host.realpath` resolves symlinks *inside* the root,
so an absolute link in an image never escapes to the host.

Tests build a fake machine in a temporary directory and hand ``Host(root=tmp)`` to the code
under test; nothing below the CLI touches ``os`` for machine facts without going through here.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

from cachecensus import userfile
from cachecensus.models import User

T = TypeVar("T")

#: Symlink hops followed before a path is declared a loop (Linux's own limit is 40).
MAX_SYMLINK_HOPS = 40


@dataclass(frozen=True)
class ProcessInfo:
    """A running process, as far as we may see it."""

    pid: int
    uid: int
    name: str
    exe: str | None
    cwd: str | None
    cmdline: tuple[str, ...]
    environ: Mapping[str, str] | None
    create_time: float


@dataclass
class Host:
    """The machine under inspection.

    ``root``: where the audited system's ``/`` is on this machine.
    ``env``: the environment of the invoking user (empty by default with a foreign root:
    the invoking shell's variables say nothing about a disk image).
    ``euid``: the effective uid pip would run as (decides pip's cache-ownership check).
    ``platform``: ``sys.platform`` of the audited system.
    """

    root: str = "/"
    env: Mapping[str, str] = field(default_factory=dict)
    euid: int = 0
    platform: str = "linux"

    @classmethod
    def local(cls, root: str | None = None) -> Host:
        """This machine (or, with ``root``, the system mounted there)."""
        if root is None or os.path.realpath(root) == "/":
            return cls(root="/", env=dict(os.environ), euid=os.geteuid(), platform=sys.platform)
        real_root = os.path.realpath(root)
        if not os.path.isdir(real_root):
            raise NotADirectoryError(f"--root {root}: not a directory")
        return cls(root=real_root, env={}, euid=0, platform="linux")

    # ---------------------------------------------------------------- paths

    @property
    def live(self) -> bool:
        """True when the audited system is the running one (processes can be inspected)."""
        return self.root == "/"

    def real(self, path: str) -> str:
        """Where the system path ``path`` lives on this machine."""
        if self.root == "/":
            return path
        norm = posixpath.normpath("/" + path.lstrip("/"))
        return self.root if norm == "/" else self.root + norm

    def system(self, real: str) -> str:
        """The system path of a path on this machine (inverse of :meth:`real`)."""
        if self.root == "/":
            return real
        if real == self.root:
            return "/"
        if real.startswith(self.root + "/"):
            return real[len(self.root) :]
        raise ValueError(f"{real} is outside the audited root {self.root}")

    def realpath(self, path: str) -> str:
        """Resolve every symlink in the system path ``path``, staying inside the root.

        Like ``os.path.realpath`` (non-strict): missing components are kept as they are.
        Raises :class:`OSError` (ELOOP) on a symlink loop.
        """
        if self.root == "/":
            return os.path.realpath(path)
        parts = [p for p in posixpath.normpath("/" + path).split("/") if p]
        resolved = "/"
        hops = 0
        while parts:
            name = parts.pop(0)
            if name == "..":
                resolved = posixpath.dirname(resolved)
                continue
            candidate = posixpath.join(resolved, name)
            try:
                st = os.lstat(self.real(candidate))
            except OSError:
                resolved = candidate
                continue
            if not stat.S_ISLNK(st.st_mode):
                resolved = candidate
                continue
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                raise OSError(40, "Too many levels of symbolic links", path)
            target = os.readlink(self.real(candidate))
            if target.startswith("/"):
                resolved = "/"
            parts = [p for p in target.split("/") if p and p != "."] + parts
        return posixpath.normpath(resolved)

    def expanduser(self, path: str, user: User | None = None) -> str:
        """``~`` / ``~name`` expansion against the audited system's passwd and ``HOME``."""
        if not path.startswith("~"):
            return path
        head, sep, tail = path[1:].partition("/")
        if head:
            found = self.user_by_name(head)
            if found is None:
                return path
            home = found.home
        elif user is not None:
            home = user.home
        else:
            home = self.env.get("HOME") or self.current_user().home
        return (home.rstrip("/") or "/") + (sep + tail if sep else "")

    # ---------------------------------------------------------------- files

    def lstat(self, path: str) -> os.stat_result:
        return os.lstat(self.real(path))

    def stat(self, path: str) -> os.stat_result:
        """``stat`` following symlinks inside the root."""
        return os.stat(self.real(self.realpath(path)))

    def exists(self, path: str) -> bool:
        try:
            self.stat(path)
        except (OSError, ValueError):
            return False
        return True

    def lexists(self, path: str) -> bool:
        try:
            self.lstat(path)
        except (OSError, ValueError):
            return False
        return True

    def is_dir(self, path: str) -> bool:
        try:
            return stat.S_ISDIR(self.stat(path).st_mode)
        except (OSError, ValueError):
            return False

    def dir_presence(self, path: str) -> bool | None:
        """True for a directory, False for nothing there (or not a directory), None when
        this user may not look: a directory on the way denies it (EACCES), so what is there
        is unknown, which is not the same as absent."""
        try:
            return stat.S_ISDIR(self.stat(path).st_mode)
        except PermissionError:
            return None
        except (OSError, ValueError):
            return False

    def is_file(self, path: str) -> bool:
        try:
            return stat.S_ISREG(self.stat(path).st_mode)
        except (OSError, ValueError):
            return False

    def is_symlink(self, path: str) -> bool:
        try:
            return stat.S_ISLNK(self.lstat(path).st_mode)
        except (OSError, ValueError):
            return False

    def readlink(self, path: str) -> str:
        return os.readlink(self.real(path))

    def listdir(self, path: str) -> list[str]:
        """Names in a directory (following symlinks inside the root); raises OSError."""
        return os.listdir(self.real(self.realpath(path)))

    def scandir(self, path: str) -> Iterator[os.DirEntry[str]]:
        """``os.scandir`` of a system path; the entries carry *real* paths."""
        with os.scandir(self.real(self.realpath(path))) as it:
            yield from it

    def read_bytes(
        self, path: str, limit: int | None = None, *, cap: int = userfile.MAX_CONFIG_BYTES
    ) -> bytes:
        """The bytes of the regular file at the system path ``path`` (symlinks resolved
        inside the root; the resolved name is opened ``O_NOFOLLOW``, ``O_NONBLOCK``): all
        of it, refused when larger than ``cap``, or with ``limit`` its first ``limit``
        bytes. A FIFO, device, directory or socket is refused unopened. Raises OSError
        (:class:`~cachecensus.userfile.Refused` for a refusal)."""
        try:
            real = self.real(self.realpath(path))
        except ValueError:  # a NUL in the name
            raise userfile.Refused(path, "a NUL byte in the file name") from None
        return userfile.read_bytes(real, cap=cap, head=limit, follow=False)

    def read_chunks(self, path: str, *, limit: int, chunk: int = 1 << 20) -> Iterator[bytes]:
        """The first ``limit`` bytes of the regular file at the system path ``path``, in
        chunks (:func:`cachecensus.userfile.read_chunks`; symlinks resolved inside the
        root, the resolved name opened ``O_NOFOLLOW``). Raises OSError."""
        try:
            real = self.real(self.realpath(path))
        except ValueError:  # a NUL in the name
            raise userfile.Refused(path, "a NUL byte in the file name") from None
        return userfile.read_chunks(real, limit=limit, chunk=chunk, follow=False)

    def read_text(
        self, path: str, *, cap: int = userfile.MAX_CONFIG_BYTES, errors: str = "strict"
    ) -> str:
        """A text file as UTF-8 (:meth:`read_bytes`'s rules). ``strict``: a NUL or an
        undecodable byte raises :class:`~cachecensus.userfile.Refused` (an OSError) naming
        the file and line; ``surrogateescape`` keeps such bytes (system databases)."""
        return userfile.decode(self.read_bytes(path, cap=cap), path, errors)

    def read_database(self, path: str) -> str:
        """A system database (``/etc/passwd``, ``/etc/group``) of the audited system: up to
        :data:`~cachecensus.userfile.MAX_DATABASE_BYTES`, bytes that are not UTF-8 kept as
        surrogates (a home is a path, and paths are bytes); raises OSError."""
        return self.read_text(path, cap=userfile.MAX_DATABASE_BYTES, errors="surrogateescape")

    def access_writable(self, path: str) -> bool:
        """``os.access(path, W_OK)`` for the invoking user (only meaningful on a live host)."""
        return os.access(self.real(path), os.W_OK)

    def disk_usage(self, path: str) -> tuple[int, int, int] | None:
        """(total, used, free) bytes of the filesystem holding ``path``, or None: what
        ``psutil.disk_usage`` and ``df`` report (free = available to non-root users), from
        ``statvfs`` directly (importing psutil costs more than the call)."""
        try:
            vfs = os.statvfs(self.real(self.realpath(path)))
        except OSError:
            return None
        return (
            vfs.f_blocks * vfs.f_frsize,
            (vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize,
            vfs.f_bavail * vfs.f_frsize,
        )

    # ---------------------------------------------------------------- users

    @cached_property
    def _passwd(self) -> tuple[User, ...]:
        try:
            text = self.read_database("/etc/passwd")
        except OSError:
            return ()
        users: list[User] = []
        for line in text.split("\n"):
            fields = line.split(":")
            if len(fields) < 7 or line.startswith(("#", "+", "-")) or "\0" in line:
                continue
            try:
                uid, gid = int(fields[2]), int(fields[3])
            except ValueError:
                continue
            users.append(
                User(name=fields[0], uid=uid, gid=gid, home=fields[5] or "/", shell=fields[6])
            )
        return tuple(users)

    def all_accounts(self) -> list[User]:
        """Every account of the passwd database, system accounts included."""
        return list(self._passwd)

    def users(self) -> list[User]:
        """Accounts with a real home: an existing directory other than ``/``, owned by the
        account (or any home for root). Root comes first."""
        real: list[User] = []
        for user in self._passwd:
            if user.home in ("/", "") or not self.is_dir(user.home):
                continue
            try:
                owner = self.stat(user.home).st_uid
            except OSError:
                continue
            if user.uid == 0 or owner == user.uid:
                real.append(user)
        real.sort(key=lambda u: (u.uid != 0, u.uid))
        return real

    def user_by_name(self, name: str) -> User | None:
        return next((u for u in self._passwd if u.name == name), None)

    def user_by_uid(self, uid: int) -> User | None:
        return next((u for u in self._passwd if u.uid == uid), None)

    def current_user(self) -> User:
        """The invoking user (euid); on a foreign root, that system's root account."""
        found = self.user_by_uid(self.euid)
        if found is not None:
            return found
        home = self.env.get("HOME", "/root" if self.euid == 0 else "/")
        return User(name=str(self.euid), uid=self.euid, gid=self.euid, home=home, shell="")

    # ---------------------------------------------------------------- processes

    def processes(self) -> list[ProcessInfo]:
        """Running processes (only on a live host); fields we may not read are None."""
        if not self.live:
            return []
        import psutil

        found: list[ProcessInfo] = []
        for proc in psutil.process_iter(["pid", "uids", "name", "create_time"]):
            try:
                info = proc.info
                uids = info.get("uids")
                uid = uids.effective if uids is not None else -1
                exe = _maybe(proc.exe)
                cwd = _maybe(proc.cwd)
                cmdline = tuple(_maybe(proc.cmdline) or ())
                environ = _maybe(proc.environ)
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                continue
            found.append(
                ProcessInfo(
                    pid=info["pid"],
                    uid=uid,
                    name=info.get("name") or "",
                    exe=exe or None,
                    cwd=cwd or None,
                    cmdline=cmdline,
                    environ=environ,
                    create_time=info.get("create_time") or 0.0,
                )
            )
        return found

    def open_files(self, pid: int) -> tuple[str, ...]:
        """Paths of the regular files process ``pid`` has open (live host; () if unreadable)."""
        if not self.live:
            return ()
        import psutil

        try:
            return tuple(f.path for f in psutil.Process(pid).open_files())
        except (psutil.Error, OSError):
            return ()

    def mount_options(self, path: str) -> frozenset[str] | None:
        """Mount options (``noatime``, ``relatime``...) of the filesystem holding the system
        path ``path``, from this machine's ``/proc/self/mounts``; None where unknown."""
        try:
            with open("/proc/self/mounts", encoding="utf-8", errors="surrogateescape") as fh:
                lines = fh.read().splitlines()
            real = os.path.realpath(self.real(self.realpath(path)))
        except (OSError, ValueError):
            return None
        best, options = -1, None
        for line in lines:
            fields = line.split()
            if len(fields) < 4:
                continue
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[1])
            inside = point == "/" or real == point or real.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= best:  # the last of equal mounts is the visible one
                best, options = len(point), frozenset(fields[3].split(","))
        return options


def _maybe(call: Callable[[], T]) -> T | None:
    """Call a psutil accessor; None where access is denied or the value is unavailable."""
    import psutil

    try:
        return call()
    except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess, OSError):
        return None
