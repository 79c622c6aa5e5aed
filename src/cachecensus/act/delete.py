"""Executing a removal plan safely.

- Only cache-shaped files (:func:`cachecensus.caches.pip.is_cache_shaped`) are touched, so
  a stray file in a cache, or a cache dir misconfigured as ``$HOME`` or ``/``, loses
  nothing that pip did not write.
- No symlink is ever followed: the walk opens the cache dir and each directory below it
  with ``O_NOFOLLOW`` relative to its parent's descriptor, checks the file with
  ``lstat(dir_fd=...)`` against the (dev, inode) the scan saw, and unlinks it relative to
  the same descriptor. A directory swapped for a symlink mid-run makes that one open fail.
- A record goes before its body, so an interrupted run leaves misses, never a half entry
  pip would serve; the hash directories an entry leaves empty are removed.
- When root cleans a cache another user owns, a forked child that has dropped to that
  user's uid/gid does the work: permissions then guard the rest of the system.
- A cache that a running pip or uv uses is left alone unless ``force``.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field

from cachecensus.caches.pip import is_cache_shaped
from cachecensus.host import Host
from cachecensus.select import Plan, PlanItem

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


@dataclass
class DeleteResult:
    removed: list[str] = field(default_factory=list)  # every file unlinked
    freed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def merge(self, other: DeleteResult) -> None:
        self.removed.extend(other.removed)
        self.freed += other.freed
        self.skipped.extend(other.skipped)


def users_of_cache(host: Host, cache_dir: str) -> list[str]:
    """Running pip/uv processes that use ``cache_dir`` (named on their command line or in
    PIP_CACHE_DIR / UV_CACHE_DIR), as 'pid name' strings; ours excluded."""
    busy = []
    mine = {os.getpid(), os.getppid()}
    for proc in host.processes():
        if proc.pid in mine:
            continue
        words = " ".join(proc.cmdline)
        env = proc.environ or {}
        named = cache_dir in words or any(
            env.get(var, "").rstrip("/") == cache_dir for var in ("PIP_CACHE_DIR", "UV_CACHE_DIR")
        )
        tool = any(os.path.basename(w) in ("pip", "pip3", "uv") for w in proc.cmdline[:3]) or (
            "-m" in proc.cmdline[:3] and "pip" in proc.cmdline[:4]
        )
        if named and (tool or "pip" in words or "uv" in words):
            busy.append(f"{proc.pid} {proc.name}")
    return busy


def _delete_entry(top_fd: int, files: list[tuple[str, int, int]]) -> DeleteResult:
    """Delete one entry's files (record first), given (rel path, dev, inode) each."""
    result = DeleteResult()
    dirs_left: set[tuple[str, ...]] = set()
    for rel, dev, ino in files:
        parts = rel.split("/")
        fds: list[int] = []
        try:
            fd = top_fd
            for name in parts[:-1]:
                fd = os.open(name, _DIR_FLAGS, dir_fd=fd)
                fds.append(fd)
            st = os.lstat(parts[-1], dir_fd=fd)
            if not stat.S_ISREG(st.st_mode):
                result.skipped.append((rel, "not a regular file any more"))
                return result  # never leave a body whose record stays, or vice versa
            if (st.st_dev, st.st_ino) != (dev, ino):
                result.skipped.append((rel, "changed since the scan"))
                return result
            os.unlink(parts[-1], dir_fd=fd)
            result.removed.append(rel)
            dirs_left.add(tuple(parts[:-1]))
        except OSError as exc:
            reason = {
                errno.ELOOP: "a directory on the way became a symlink: not followed",
                errno.ENOTDIR: "a directory on the way became a symlink or file: not followed",
                errno.ENOENT: "vanished",
                errno.EACCES: "permission denied",
                errno.EPERM: "permission denied",
                errno.EROFS: "read-only filesystem",
            }.get(exc.errno or 0, exc.strerror or str(exc))
            result.skipped.append((rel, reason))
            return result
        finally:
            for opened in fds:
                os.close(opened)
    for chain in dirs_left:  # remove the hash dirs this entry left empty, never the area dir
        for depth in range(len(chain), 1, -1):
            try:
                parent = _open_chain(top_fd, chain[: depth - 1])
            except OSError:
                break
            try:
                os.rmdir(chain[depth - 1], dir_fd=parent)
            except OSError:
                break
            finally:
                os.close(parent)
    return result


def _open_chain(top_fd: int, parts: tuple[str, ...]) -> int:
    fd = os.dup(top_fd)
    for name in parts:
        try:
            nxt = os.open(name, _DIR_FLAGS, dir_fd=fd)
        finally:
            os.close(fd)
        fd = nxt
    return fd


def delete_in_cache(
    real_top: str,
    work: list[list[tuple[str, int, int]]],
    progress: Callable[[int], None] | None = None,
) -> DeleteResult:
    """Delete entries (each a list of (rel, dev, inode)) under the cache at ``real_top``."""
    result = DeleteResult()
    try:
        top_fd = os.open(real_top, _DIR_FLAGS)
    except OSError as exc:
        why = (
            "the cache dir is a symlink: not followed"
            if exc.errno == errno.ELOOP
            else (exc.strerror or str(exc))
        )
        result.skipped.extend((rel, why) for files in work for rel, _, _ in files)
        return result
    try:
        for files in work:
            shaped = [f for f in files if is_cache_shaped(f[0])]
            for rel, _, _ in files:
                if not is_cache_shaped(rel):
                    result.skipped.append((rel, "not cache-shaped: never removed"))
            if shaped:
                result.merge(_delete_entry(top_fd, shaped))
            if progress:
                progress(1)
    finally:
        os.close(top_fd)
    return result


def _as_owner(uid: int, gid: int, job: Callable[[], DeleteResult]) -> DeleteResult:
    """Run ``job`` in a child process that has dropped to ``uid``/``gid``."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child; its effects are what tests check
        code = 0
        try:
            os.close(read_fd)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            done = job()
            payload = {"removed": done.removed, "skipped": done.skipped}
            with os.fdopen(write_fd, "w") as out:
                json.dump(payload, out)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd) as fh:
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        return DeleteResult(skipped=[("", f"the child acting as uid {uid} failed ({status})")])
    doc = json.loads(data)
    return DeleteResult(removed=doc["removed"], skipped=[tuple(s) for s in doc["skipped"]])


def execute(
    host: Host,
    plan: Plan,
    *,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> DeleteResult:
    """Carry out ``plan``; every failure is a value in the result, never an exception."""
    total = DeleteResult()
    by_cache: dict[str, list[PlanItem]] = {}
    for item in plan.items:
        by_cache.setdefault(item.entry.cache_dir, []).append(item)
    for cache_dir, items in by_cache.items():
        total.merge(_execute_cache(host, cache_dir, items, force, progress))
    return total


def _execute_cache(
    host: Host,
    cache_dir: str,
    items: list[PlanItem],
    force: bool,
    progress: Callable[[int], None] | None,
) -> DeleteResult:
    prefix = cache_dir.rstrip("/") + "/"
    busy = [] if force else users_of_cache(host, cache_dir)
    if busy:
        reason = f"in use by {', '.join(busy)} (use --force to remove anyway)"
        return DeleteResult(skipped=[(f.path, reason) for i in items for f in i.entry.files])
    work = [
        [
            (f.path[len(prefix) :], f.dev, f.inode)
            for f in item.entry.files
            if f.path.startswith(prefix)
        ]
        for item in items
    ]
    real_top = host.real(cache_dir)
    try:
        st = os.lstat(real_top)
    except OSError as exc:
        return DeleteResult(skipped=[(cache_dir, exc.strerror or str(exc))])
    if host.euid == 0 and st.st_uid != 0 and host.live:
        result = _as_owner(st.st_uid, st.st_gid, lambda: delete_in_cache(real_top, work))
        if progress:
            progress(len(work))
    else:
        result = delete_in_cache(real_top, work, progress)
    removed = set(result.removed)
    freed = sum(
        item.freed
        for item, files in zip(items, work, strict=True)
        if files and all(rel in removed for rel, _, _ in files)
    )
    return DeleteResult(
        removed=[prefix + rel for rel in result.removed],
        freed=freed,
        skipped=[(prefix + rel if rel else cache_dir, why) for rel, why in result.skipped],
    )
