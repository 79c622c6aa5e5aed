"""What every format's scanner shares: the walk (``lstat`` only, never through a symlink),
the cache dir's two spellings (system path and the path on this machine), an
:class:`~cachecensus.models.Entry` built from ``lstat`` results, and the answer for a cache
dir that is absent, a symlink or not a directory."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from typing import Any

from cachecensus.host import Host
from cachecensus.models import UNREADABLE, CacheScan, Entry, FileInfo, Kind, Problem

Raw = tuple[str, os.stat_result]  # (path relative to the cache dir, lstat)


#: A directory's stamp as :func:`walk` records it: (path relative to the cache dir, "" for
#: the dir itself; inode; mtime_ns; ctime_ns), taken before its names were read.
DirStamp = tuple[str, int, int, int]
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_DIR_FLAGS |= getattr(os, "O_CLOEXEC", 0)
_MARKER_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_MARKER_FLAGS |= getattr(os, "O_CLOEXEC", 0)


def has_file(dir_fd: int, rel: str, head: bytes = b"") -> bool:
    """Whether ``rel`` below the directory open at ``dir_fd`` is a regular file reached
    without a symlink (each component opened ``O_NOFOLLOW``, the file non-blocking: a FIFO
    never hangs us) whose content starts with ``head``: a tool's marker in its cache."""
    parts = rel.split("/")
    opened: list[int] = []
    try:
        fd = dir_fd
        for name in parts[:-1]:
            fd = os.open(name, _DIR_FLAGS, dir_fd=fd)
            opened.append(fd)
        fd = os.open(parts[-1], _MARKER_FLAGS, dir_fd=fd)
        opened.append(fd)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        return not head or os.pread(fd, len(head), 0) == head
    except OSError:
        return False
    finally:
        for fd in opened:
            os.close(fd)


def has_dir(dir_fd: int, name: str) -> bool:
    """Whether ``name`` in the directory open at ``dir_fd`` is a directory (not a link)."""
    try:
        return stat.S_ISDIR(os.lstat(name, dir_fd=dir_fd).st_mode)
    except OSError:
        return False


def walk(
    real_top: str,
    top: str,
    dirs: list[DirStamp] | None = None,
    on_dir: Callable[[list[Raw], int], None] | None = None,
) -> tuple[list[Raw], list[Raw], list[Problem]]:
    """(regular files, other non-directories) under ``real_top`` as (relative path, lstat),
    and the directories that could not be read. Never follows a symlink.

    ``dirs``: also collect every directory's :data:`DirStamp` (each directory is opened,
    ``fstat``-ed, then read through that descriptor, so a change made while it is read
    shows in its stamp; see :mod:`cachecensus.snapshot`). ``on_dir(files, start)``: called
    after each directory is read, ``files[start:]`` being its regular files (so work on them
    can start while the walk goes on)."""
    files: list[Raw] = []
    others: list[Raw] = []
    problems: list[Problem] = []
    stack: list[tuple[str, str]] = [(real_top, "")]
    add_file = files.append
    while stack:
        real, prefix = stack.pop()
        first = len(files)
        fd = -1
        try:
            if dirs is not None:
                fd = os.open(real, _DIR_FLAGS)
                st = os.fstat(fd)
                dirs.append((prefix[:-1], st.st_ino, st.st_mtime_ns, st.st_ctime_ns))
            with os.scandir(real if fd < 0 else fd) as it:
                for entry in it:
                    child = prefix + entry.name
                    try:
                        # d_type answers is_dir() without a syscall: only files are stat'ed
                        if entry.is_dir(follow_symlinks=False):
                            stack.append((f"{real}/{entry.name}", child + "/"))
                            continue
                        st = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue  # removed while we looked: not there any more
                    except OSError as exc:
                        problems.append(Problem(f"{top}/{child}", exc.strerror or str(exc)))
                        continue
                    if stat.S_ISREG(st.st_mode):
                        add_file((child, st))
                    elif stat.S_ISDIR(st.st_mode):  # d_type unknown on this filesystem
                        stack.append((f"{real}/{entry.name}", child + "/"))
                    else:
                        others.append((child, st))
        except FileNotFoundError:
            continue
        except OSError as exc:
            where = f"{top}/{prefix.rstrip('/')}" if prefix else top
            problems.append(Problem(where, exc.strerror or str(exc)))
        finally:
            if fd >= 0:
                os.close(fd)
        if on_dir is not None:
            on_dir(files, first)
    return files, others, problems


class ScannerBase:
    """A scan of one ``tool`` cache dir: ``top`` is its system path, ``real_top`` where it
    is on this machine (``--root`` prefixed)."""

    tool = ""

    def __init__(self, host: Host, cache_dir: str) -> None:
        self.host = host
        self.top = cache_dir.rstrip("/") or "/"
        self.real_top = host.real(self.top)

    def path(self, rel: str) -> str:
        return f"{self.top}/{rel}" if self.top != "/" else f"/{rel}"

    def real(self, rel: str) -> str:
        return f"{self.real_top}/{rel}" if self.real_top != "/" else f"/{rel}"

    def entry(self, area: str, key: str, kind: Kind, raws: Iterable[Raw], **kw: Any) -> Entry:
        """An entry of this cache whose files are ``raws`` (record first, body last)."""
        sep = "/" if self.top != "/" else ""
        top = self.top
        files = tuple(FileInfo.of(top + sep + rel, st) for rel, st in raws)
        return Entry(self.tool, top, area, key, kind, files, **kw)

    def unusable(self, what_dir: str = "cache dir") -> CacheScan | None:
        """The whole scan's answer when the cache dir is absent, unreadable, a symlink (never
        followed) or not a directory; None when it is a directory to walk."""
        try:
            top_st = os.lstat(self.real_top)
        except FileNotFoundError:
            return CacheScan(self.tool, self.top, False, (), 0, 0, 0)
        except PermissionError:  # there, as far as we know, but not ours to see
            return CacheScan(
                self.tool, self.top, True, (), 0, 0, 0, (Problem(self.top, UNREADABLE),)
            )
        except OSError as exc:
            problem = Problem(self.top, exc.strerror or str(exc))
            return CacheScan(self.tool, self.top, False, (), 0, 0, 0, (problem,))
        if not stat.S_ISDIR(top_st.st_mode):
            what = "a symlink (not followed)" if stat.S_ISLNK(top_st.st_mode) else "not a dir"
            problem = Problem(self.top, f"{what_dir} is {what}")
            return CacheScan(self.tool, self.top, False, (), 0, 0, 0, (problem,))
        return None

    def walk(
        self,
        dirs: list[DirStamp] | None = None,
        on_dir: Callable[[list[Raw], int], None] | None = None,
    ) -> tuple[list[Raw], list[Raw], list[Problem]]:
        """:func:`walk` of this cache dir."""
        return walk(self.real_top, self.top, dirs, on_dir)
