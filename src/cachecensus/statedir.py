"""Where cachecensus may keep its own state (the memo, the completion candidates).

Those paths come from the environment (``XDG_CACHE_HOME``, ``HOME``,
``CACHECENSUS_MEMO``...), and root often runs with a user's environment (``sudo -E``, a
cron job that sources a profile). A state directory is used only when nobody but the
invoking user (or root) can change what it is or what is in it:

- every directory on the way, and the state directory itself, belongs to the invoking
  user or to root; a directory on the way that others may write must be sticky (``/tmp``),
  and the state directory itself may not be writable by anyone else at all (sqlite
  opens ``-wal``/``-shm``/``-journal`` beside its database by name, following symlinks).
  Group write counts as others' unless the group is the invoking user's own (a user
  private group, as ``umask 002`` systems make them) or root's;
- a symlink on the way is followed only when it belongs to the invoking user or to root;
- missing directories are created one at a time (mode 0700) under a checked parent.

The state file in it is then opened ``O_NOFOLLOW``: a symlink there, dangling or not, is
refused, never followed or created through (:func:`own_file`).

Standard library only (:mod:`cachecensus.complete` imports it on the TAB path).
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import stat

#: Symlinks followed before a state path is declared a loop.
_MAX_HOPS = 40


class Untrusted(OSError):
    """A state path someone other than the invoking user (or root) controls."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(errno.EPERM, reason, path)

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


def _check_dir(path: str, st: os.stat_result, uid: int, gid: int, last: bool) -> None:
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(errno.ENOTDIR, "not a directory", path)
    if st.st_uid not in (uid, 0):
        raise Untrusted(path, f"owned by uid {st.st_uid}, not by uid {uid} or root")
    group_write = st.st_mode & stat.S_IWGRP and st.st_gid not in (gid, 0)
    others_write = st.st_mode & stat.S_IWOTH or group_write
    if others_write and (last or not st.st_mode & stat.S_ISVTX):
        raise Untrusted(path, "writable by others")


def trusted_dir(
    path: str, *, uid: int | None = None, gid: int | None = None, create: bool = True
) -> str:
    """The directory ``path`` resolved, once checked (and created, with ``create``) under
    the rules above for ``uid``/``gid`` (default: the effective ones); raises
    :class:`Untrusted` or another OSError."""
    uid = os.geteuid() if uid is None else uid
    gid = os.getegid() if gid is None else gid
    if "\0" in path:
        raise Untrusted(path, "a NUL byte in the path")
    todo = [p for p in posixpath.normpath(posixpath.abspath(path)).split("/") if p]
    resolved = "/"
    _check_dir("/", os.lstat("/"), uid, gid, last=not todo)
    hops = 0
    while todo:
        name = todo.pop(0)
        if name == ".":
            continue
        if name == "..":
            resolved = posixpath.dirname(resolved)
            continue
        candidate = posixpath.join(resolved, name)
        try:
            st = os.lstat(candidate)
        except FileNotFoundError:
            if not create:
                raise
            with contextlib.suppress(FileExistsError):  # made meanwhile: checked next
                os.mkdir(candidate, 0o700)
            st = os.lstat(candidate)
        if stat.S_ISLNK(st.st_mode):
            if st.st_uid not in (uid, 0):
                raise Untrusted(candidate, f"a symlink owned by uid {st.st_uid}: not followed")
            hops += 1
            if hops > _MAX_HOPS:
                raise OSError(errno.ELOOP, "Too many levels of symbolic links", path)
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = "/"
            todo = [p for p in target.split("/") if p] + todo
            continue
        _check_dir(candidate, st, uid, gid, last=not todo)
        resolved = candidate
    return resolved


def own_file(directory: str, name: str, *, uid: int | None = None) -> str:
    """The state file ``name`` in the trusted ``directory``, created (mode 0600) when
    missing, opened ``O_NOFOLLOW``/``O_NONBLOCK``: a symlink, a FIFO or anything not a
    regular file of ``uid`` (or root) is refused. Returns its path; raises OSError."""
    uid = os.geteuid() if uid is None else uid
    path = posixpath.join(directory, name)
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(path):
            raise Untrusted(path, "a symlink: not followed") from None
        raise
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    if not stat.S_ISREG(st.st_mode):
        raise Untrusted(path, "not a regular file")
    if st.st_uid not in (uid, 0):
        raise Untrusted(path, f"owned by uid {st.st_uid}, not by uid {uid} or root")
    return path


def home_cache_dir(uid: int | None = None) -> str | None:
    """``~/.cache/cachecensus`` of the account ``uid`` from the password database, ignoring
    the environment (``~/Library/Caches/cachecensus`` on macOS); None when unknown."""
    import pwd
    import sys

    try:
        home = pwd.getpwuid(os.geteuid() if uid is None else uid).pw_dir
    except KeyError:
        return None
    if not home.startswith("/"):
        return None
    base = ("Library", "Caches") if sys.platform == "darwin" else (".cache",)
    return posixpath.join(home, *base, "cachecensus")
