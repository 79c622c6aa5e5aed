"""A checksum of a whole tree, and what a removal may have changed in it.

Every path under the top is described from ``lstat`` alone (no link is ever followed, no
FIFO or device opened): its type, permission bits, owner and group; for a regular file
its inode, size and a hash of its content (only the data extents of a sparse file, so a
2 GiB hole costs nothing); a symlink's target; a device's number. Directories are
described without size or times (removing a child changes those, legitimately). Keys are
absolute paths as bytes (names need not be UTF-8).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Desc = tuple[Any, ...]
Tree = dict[bytes, Desc]

_SEEK_DATA = getattr(os, "SEEK_DATA", None)
_SEEK_HOLE = getattr(os, "SEEK_HOLE", None)
_NOATIME = getattr(os, "O_NOATIME", 0)


def _open(path: bytes) -> int:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        return os.open(path, flags | _NOATIME)  # a checksum must not make entries look used
    except PermissionError:
        return os.open(path, flags)


def _extents(fd: int, size: int) -> Iterator[tuple[int, int]]:
    """(offset, length) of each data extent (the whole file where holes are unknown)."""
    if _SEEK_DATA is None or _SEEK_HOLE is None:
        yield 0, size
        return
    offset = 0
    while offset < size:
        try:
            start = os.lseek(fd, offset, _SEEK_DATA)
        except OSError:  # ENXIO: nothing but a hole to the end
            return
        end = os.lseek(fd, start, _SEEK_HOLE)
        yield start, end - start
        offset = end


def content(path: bytes, st: os.stat_result) -> str:
    """sha256 of a regular file's data extents and their offsets ('unreadable' if not)."""
    try:
        fd = _open(path)
    except OSError as exc:
        return f"unreadable: {exc.strerror}"
    digest = hashlib.sha256()
    try:
        for start, length in _extents(fd, st.st_size):
            digest.update(f"@{start}:".encode())
            os.lseek(fd, start, os.SEEK_SET)
            left = length
            while left > 0:
                chunk = os.read(fd, min(left, 1 << 20))
                if not chunk:
                    break
                digest.update(chunk)
                left -= len(chunk)
    except OSError as exc:
        return f"unreadable: {exc.strerror}"
    finally:
        os.close(fd)
    return digest.hexdigest()


def describe(path: bytes, st: os.stat_result) -> Desc:
    kind = stat.S_IFMT(st.st_mode)
    head: Desc = (kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    if stat.S_ISDIR(st.st_mode):
        return head
    if stat.S_ISLNK(st.st_mode):
        return (*head, os.readlink(path))
    if stat.S_ISREG(st.st_mode):
        return (*head, st.st_ino, st.st_size, content(path, st))
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        return (*head, st.st_ino, st.st_rdev)
    return (*head, st.st_ino)


def tree_sum(*tops: str | os.PathLike[str] | bytes) -> Tree:
    """Every path under each of ``tops`` (themselves included; a missing top is left out),
    keyed by its absolute path as bytes."""
    out: Tree = {}
    stack = [os.fsencode(top) for top in tops]
    while stack:
        current = stack.pop()
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            continue
        out[current] = describe(current, st)
        if not stat.S_ISDIR(st.st_mode):
            continue
        try:
            names = os.listdir(current)
        except OSError as exc:  # not as root: a mode-000 dir is opaque, say so
            out[current + b"/\0unlistable"] = (exc.strerror,)
            continue
        stack.extend(current + b"/" + name for name in names)
    return out


def _kind(desc: Desc) -> str:
    return {
        stat.S_IFDIR: "directory",
        stat.S_IFREG: "file",
        stat.S_IFLNK: "symlink",
        stat.S_IFIFO: "fifo",
        stat.S_IFSOCK: "socket",
        stat.S_IFCHR: "char device",
        stat.S_IFBLK: "block device",
    }.get(desc[0], "object")


@dataclass
class Changes:
    removed: dict[bytes, Desc]
    added: dict[bytes, Desc]
    changed: dict[bytes, tuple[Desc, Desc]]

    def __bool__(self) -> bool:
        return bool(self.removed or self.added or self.changed)

    def lines(self, limit: int = 12) -> list[str]:
        out = [f"removed {_kind(d)} {show(p)}" for p, d in sorted(self.removed.items())]
        out += [f"added {_kind(d)} {show(p)}" for p, d in sorted(self.added.items())]
        out += [f"changed {_kind(a)} {show(p)}" for p, (a, _) in sorted(self.changed.items())]
        return out[:limit] + ([f"... and {len(out) - limit} more"] if len(out) > limit else [])


def diff(before: Mapping[bytes, Desc], after: Mapping[bytes, Desc]) -> Changes:
    return Changes(
        removed={p: d for p, d in before.items() if p not in after},
        added={p: d for p, d in after.items() if p not in before},
        changed={p: (d, after[p]) for p, d in before.items() if p in after and after[p] != d},
    )


def show(path: bytes) -> str:
    """A path for a message: readable, with odd bytes and newlines visible."""
    return repr(os.fsdecode(path))[1:-1]


def under(path: bytes, tops: Iterable[bytes]) -> bool:
    return any(path == t or path.startswith(t.rstrip(b"/") + b"/") for t in tops)


def _ancestors(path: bytes) -> Iterator[bytes]:
    while b"/" in path.rstrip(b"/"):
        path = path.rsplit(b"/", 1)[0]
        yield path


def unplanned(
    changes: Changes,
    planned: set[bytes],
    cache_dirs: Sequence[bytes],
    relinked: set[bytes] | None = None,
) -> list[str]:
    """What changed that the plan did not list.

    ``planned``: keys of the files the plan listed (each may be gone; nothing else may).
    A directory may go only when it lay strictly inside a planned file's cache dir and
    held a planned file (a hash directory the entry left empty). ``relinked`` (dedupe):
    files that may be replaced by a hard link to a file of the same content (their inode
    changes, nothing else).
    """
    holders = {a for p in planned for a in _ancestors(p)}
    inside = [c.rstrip(b"/") + b"/" for c in cache_dirs]
    problems: list[str] = []
    for path, desc in sorted(changes.removed.items()):
        if path in planned:
            continue
        if stat.S_ISDIR(desc[0]) and path in holders and any(path.startswith(c) for c in inside):
            continue
        problems.append(f"{_kind(desc)} {show(path)} was removed but is not in the plan")
    for path, (old, new) in sorted(changes.changed.items()):
        if path in planned:
            continue
        same_but_inode = (
            relinked is not None
            and path in relinked
            and stat.S_ISREG(old[0])
            and old[:4] == new[:4]
            and old[5:] == new[5:]
        )
        if not same_but_inode:
            problems.append(f"{_kind(old)} {show(path)} changed but is not in the plan: {new}")
    for path, desc in sorted(changes.added.items()):
        problems.append(f"{_kind(desc)} {show(path)} appeared")
    return problems
