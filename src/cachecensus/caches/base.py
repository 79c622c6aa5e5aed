"""What every format shares: :class:`CacheFormat`, the interface each tool's format
implements (one instance per format module, ``FORMAT``), and for the scanners the walk
(``lstat`` only, never through a symlink), the cache dir's two spellings (system path and
the path on this machine), an :class:`~cachecensus.models.Entry` built from ``lstat``
results, and the answer for a cache dir that is absent, a symlink or not a directory."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from cachecensus.host import Host
from cachecensus.models import UNREADABLE, CacheScan, Entry, FileInfo, Kind, Problem

if TYPE_CHECKING:
    from cachecensus.memo import Memo

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


class CacheFormat:
    """One tool's on-disk cache format: what cachecensus reads, removes and keeps there.

    Each format module (``cachecensus.caches.<module>``) defines a subclass and exposes one
    instance as ``FORMAT`` (:func:`cachecensus.caches.format_for` returns it), so mypy
    checks every format against this class. The first six methods have no default (a
    format must say); every other hook's default here is what a format without it means.
    """

    #: the tool's name (``pip``, ``uv``, ``poetry``, ``pdm``, ``conda``).
    TOOL: ClassVar[str] = ""
    #: a path relative to the cache dir that the tool locks (``flock``) while it works,
    #: taken exclusively by the delete engine; None for tools that take no lock.
    LOCK: ClassVar[str | None] = None
    #: the name of what :meth:`marked` looks for, for messages.
    MARKER: ClassVar[str] = "?"
    #: True when the tool only ever creates, renames and unlinks its cache files (never
    #: rewrites one in place nor links one elsewhere), so a scan stays true while no
    #: directory changed: its ``scan`` then takes ``dirs=`` (a list it fills with every
    #: directory's stamp) and :mod:`cachecensus.snapshot` may answer a read-only command
    #: from the last scan (pip).
    SNAPSHOT: ClassVar[bool] = False
    #: True when the tool's own :meth:`prune` bounds every prune rule: a rule never takes
    #: what the tool's prune keeps (uv: a live wheel, an archive a pointer references).
    PRUNE_BOUNDED: ClassVar[bool] = False
    #: True when ``scan`` takes ``installed=`` (the uv binaries installed on the machine,
    #: which decide what buckets are old: uv).
    SCAN_TAKES_INSTALLED: ClassVar[bool] = False

    def looks_like(self, host: Host, path: str) -> bool:
        """Whether the directory ``path`` (a system path) has this tool's cache layout;
        used to tell what a ``--cache-dir DIR`` is without ``--tool``."""
        raise NotImplementedError

    def scan(
        self,
        host: Host,
        cache_dir: str,
        *,
        memo: Memo | None = None,
        identify: bool = True,
        progress: Callable[[int], None] | None = None,
    ) -> CacheScan:
        """Every regular file under ``cache_dir`` counted (``files``/``size``/
        ``physical``) and grouped into :class:`~cachecensus.models.Entry` records
        (``tool=TOOL``); never follows a symlink, never raises for bad content (problems
        are values). An entry whose files all lie under ``key/`` *owns* that directory: no
        other entry has a file in it (the delete engine moves such a directory aside whole
        before emptying it)."""
        raise NotImplementedError

    def cache_shape(self, rel: str) -> str | None:
        """The *role* of a path relative to the cache dir if the tool itself writes files
        there, else None (never deleted). Roles, in the order the delete engine removes an
        entry's files: ``record``/``wheel``/``pointer`` (what the tool looks up first; if it
        cannot be removed the rest of the entry stays), ``tmp``, then
        ``body``/``origin``/``member`` (a file inside an unpacked archive or extracted
        package) and ``link`` (a symlink inside such a directory: unlinked, never
        followed)."""
        raise NotImplementedError

    def purgeable(self, entry: Entry) -> bool:
        """What ``cachecensus purge`` removes: everything the tool's own "clean all"
        removes and would rebuild, never its bookkeeping (locks, ``CACHEDIR.TAG``)."""
        raise NotImplementedError

    def closure(self, entries: Sequence[Entry], chosen: Sequence[Entry]) -> list[tuple[Entry, str]]:
        """Entries that must go with ``chosen`` so the result is what the tool's own
        "remove this package" leaves (uv: archives no longer referenced by any pointer)."""
        raise NotImplementedError

    def prune(self, entries: Sequence[Entry]) -> list[tuple[Entry, str]]:
        """The tool's own prune (``uv cache prune``: unreferenced archives, old
        buckets...)."""
        raise NotImplementedError

    def named(self, entries: Sequence[Entry], matched: Sequence[Entry]) -> list[tuple[Entry, str]]:
        """What the tool's own "remove this package" takes by name among the entries a
        pattern matched (uv: the current pointer buckets, never an archive by name).
        Default: all of them."""
        return [(e, "matches") for e in matched]

    def guard(
        self, entries: Sequence[Entry], chosen: Sequence[tuple[Entry, str]]
    ) -> list[tuple[Entry, str]]:
        """``chosen`` without what removing would break (uv: an archive a surviving
        pointer references). Default: unchanged."""
        return list(chosen)

    def entry_path(self, entry: Entry) -> str:
        """Where ``list --json`` says the entry is (uv: an archive's directory, a wheel's
        pointer). Default: its first file."""
        return entry.files[0].path if entry.files else f"{entry.cache_dir}/{entry.key}"

    def marked(self, dir_fd: int) -> bool:
        """Whether the directory open at ``dir_fd`` carries what the tool writes in every
        cache of its (uv: ``CACHEDIR.TAG``; conda: ``urls.txt``; pdm:
        ``http/http-cache.db`` or ``self-check/``; named by :attr:`MARKER`). A directory
        without it is read and counted, but nothing in it is ever removed: the format's
        names only mean something inside the tool's own cache (see
        :func:`cachecensus.caches.unmarked`). Default True: formats whose names are hashed
        (pip, poetry) need no marker."""
        return True

    def trash_parent(self, parts: Sequence[str]) -> bool:
        """Whether ``parts`` (relative to the cache dir) is a directory the format keeps
        entry directories in (uv's ``archive-v0``...): the only places where the delete
        engine moves one aside (:data:`cachecensus.caches.TRASH_PREFIX`), so the only places
        a leftover of ours is finished. Default: nowhere."""
        return False

    def listed_rows(self, host: Host, cache_dir: str) -> list[Entry]:
        """Entries ``list`` shows besides the scan's: what the tool keeps inside one file
        (pdm: the downloads in its HTTP database). Default: none."""
        return []

    def artifact_file(self, entry: Entry) -> FileInfo | None:
        """The file of an artifact entry (wheel, sdist, package: see
        :mod:`cachecensus.artifacts`) that *is* the artifact, when there is one (pip: an
        ``http-v2`` body, not its record). Default: the entry's only file."""
        return entry.files[0] if len(entry.files) == 1 else None

    def artifact_in_record(self, entry: Entry) -> bool:
        """Whether the artifact entry's first file holds the artifact inside it, behind
        headers (pip's legacy ``http/`` records; hashed by :meth:`record_sha256`, never
        hard-linked). Default: never."""
        return False

    def record_sha256(self, fd: int, size: int) -> str | None:
        """sha256 of the artifact inside the record open at ``fd`` (``size`` bytes; see
        :meth:`artifact_in_record`); None when it holds none. Default: none."""
        return None
