"""A scan remembered whole, trusted while none of the cache's directories changed.

pip writes every cache file by creating a temporary file beside it and renaming it into
place (``adjacent_tmp_file`` + ``os.replace``), removes files with ``unlink``, and never
rewrites one in place nor links one elsewhere. Each of those changes the mtime and ctime of
the file's directory; a new directory changes its parent's. So a scan of a pip cache stays
true while every directory under it has the (inode, mtime, ctime) the walk saw: the test
``updatedb`` (mlocate) and git's untracked cache rely on. A warm ``audit``/``list``/``info``
therefore ``stat``s the directories only (in two processes when there are many), never the
files, and reuses the entries and the audit's per-cache numbers.

The walk takes each directory's stamp *before* reading its names (``caches.base.walk``), so
a change made while it is read shows as a different stamp next time. A timestamp may not
tell two changes within one clock tick apart, so a scan during which some directory had
changed in the last :data:`RACY_S` seconds is not kept (the next run walks again), as git
does with racily clean files.

What a snapshot does not see until the next full walk (an hour at most,
:data:`MAX_AGE_S`, or ``--rescan``): a file rewritten in place by something other than
pip, a hard link made to a cache file from elsewhere (its link count) and reads (access
times). Removal never uses a snapshot: it looks at every file again. Commands that change a
cache without changing its directories (``dedupe``) forget its snapshot.

Formats opt in with ``SNAPSHOT = True`` (pip); the others are walked every time.
"""

from __future__ import annotations

import array
import contextlib
import dataclasses
import operator
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any, overload

import msgpack

from cachecensus import __version__
from cachecensus.caches.base import DirStamp
from cachecensus.memo import Memo
from cachecensus.models import CacheScan, Entry, FileInfo, Kind, ScanSummary

#: Layout of the stored blobs (with the package version: :data:`WRITER`).
FORMAT = 2
#: A snapshot older than this is walked again (bounds what it cannot see).
MAX_AGE_S = 3600
#: A directory changed this close to the walk's start makes the walk's result racy.
RACY_S = 2
#: From this many directories on, two processes stat them.
FORK_MIN = 8000
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_DIR_FLAGS |= getattr(os, "O_CLOEXEC", 0)
_KIND = {k.value: k for k in Kind}
#: How strings are packed: a path is bytes on POSIX, and one that is not UTF-8 (held as
#: surrogateescape) is stored as exactly those bytes and read back the same.
_BYTES = "surrogateescape"


def applies(tool: str) -> bool:
    """Whether ``tool``'s cache format may be answered from a snapshot."""
    from cachecensus.caches import format_for

    return format_for(tool).SNAPSHOT


#: What wrote a snapshot's blobs: a snapshot written by another layout or version is none
#: (and is replaced by the next walk: one row per cache).
WRITER = f"{FORMAT}|{__version__}"


def key_for(tool: str, top: str, real_top: str) -> str:
    """The memo key of a cache's snapshot: its format and both spellings of its dir."""
    from cachecensus.caches import FORMAT_OF

    fmt = FORMAT_OF.get(tool, tool)
    return f"{fmt}|{top.rstrip('/') or '/'}|{real_top.rstrip('/') or '/'}"


# ---------------------------------------------------------------------- validation


def _check(fd: int, rels: Sequence[str], stamps: Sequence[int], start: int, stop: int) -> bool:
    stat = os.stat
    for i in range(start, stop):
        try:
            st = stat(rels[i] or ".", dir_fd=fd, follow_symlinks=False)
        except OSError:
            return False
        j = 3 * i
        if (
            st.st_mtime_ns != stamps[j + 1]
            or st.st_ctime_ns != stamps[j + 2]
            or st.st_ino != stamps[j]
        ):
            return False
    return True


def unchanged(real_top: str, rels: Sequence[str], stamps: Sequence[int]) -> bool:
    """Whether every directory ``rels[i]`` under ``real_top`` still has the stamp
    ``stamps[3i:3i+3]`` (inode, mtime_ns, ctime_ns). Stats are relative to one descriptor
    of ``real_top`` (opened without following a symlink); from :data:`FORK_MIN` directories
    on, a forked child checks the second half."""
    if len(stamps) != 3 * len(rels):
        return False
    try:
        fd = os.open(real_top, _DIR_FLAGS)
    except OSError:
        return False
    try:
        if len(rels) >= FORK_MIN and hasattr(os, "fork") and threading.active_count() == 1:
            return _forked(fd, rels, stamps)
        return _check(fd, rels, stamps, 0, len(rels))
    finally:
        os.close(fd)


def _forked(fd: int, rels: Sequence[str], stamps: Sequence[int]) -> bool:
    half = len(rels) // 2
    try:
        pid = os.fork()
    except OSError:
        return _check(fd, rels, stamps, 0, len(rels))
    if pid == 0:  # the child: the second half, answered by the exit status
        code = 1
        try:
            code = 0 if _check(fd, rels, stamps, half, len(rels)) else 1
        finally:
            os._exit(code)
    ok = _check(fd, rels, stamps, 0, half)
    if not ok:
        with contextlib.suppress(OSError):
            os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    return ok and os.waitstatus_to_exitcode(status) == 0


# ---------------------------------------------------------------------- encoding


#: An entry is stored as its fields in dataclass order, ``kind`` by value and ``files``
#: flattened (each file's fields in order); a field added to either record is stored too.
_ENTRY_FIELDS = tuple(f.name for f in dataclasses.fields(Entry))
_FILE_FIELDS = tuple(f.name for f in dataclasses.fields(FileInfo))
_KIND_AT = _ENTRY_FIELDS.index("kind")
_FILES_AT = _ENTRY_FIELDS.index("files")
_entry_values = operator.attrgetter(*_ENTRY_FIELDS)
_file_values = operator.attrgetter(*_FILE_FIELDS)


def _encode_entries(entries: Sequence[Entry]) -> bytes:
    rows: list[list[Any]] = []
    for e in entries:
        row = [*_entry_values(e)]
        flat: list[Any] = []
        for f in e.files:
            flat += _file_values(f)
        row[_KIND_AT] = e.kind.value
        row[_FILES_AT] = flat
        rows.append(row)
    return msgpack.packb(rows, use_bin_type=True, unicode_errors=_BYTES)  # type: ignore[no-any-return]


def _decode_entries(blob: bytes) -> tuple[Entry, ...]:
    out: list[Entry] = []
    n = len(_FILE_FIELDS)
    for row in msgpack.unpackb(blob, raw=False, use_list=True, unicode_errors=_BYTES):
        if len(row) != len(_ENTRY_FIELDS):
            raise ValueError("not a snapshot entry")
        flat = row[_FILES_AT]
        row[_FILES_AT] = tuple(FileInfo(*flat[i : i + n]) for i in range(0, len(flat), n))
        row[_KIND_AT] = _KIND[row[_KIND_AT]]
        out.append(Entry(*row))
    return tuple(out)


class LazyEntries(Sequence[Entry]):
    """A snapshot's entries, read and decoded on first use (a warm audit never needs
    them): ``load`` returns them."""

    __slots__ = ("_count", "_entries", "_load")

    def __init__(self, load: Callable[[], tuple[Entry, ...]], count: int) -> None:
        self._load: Callable[[], tuple[Entry, ...]] | None = load
        self._count = count
        self._entries: tuple[Entry, ...] | None = None

    def _all(self) -> tuple[Entry, ...]:
        if self._entries is None:
            assert self._load is not None
            self._entries = self._load()
            self._load = None
        return self._entries

    def __len__(self) -> int:
        return self._count if self._entries is None else len(self._entries)

    @overload
    def __getitem__(self, index: int) -> Entry: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Entry, ...]: ...

    def __getitem__(self, index: int | slice) -> Entry | tuple[Entry, ...]:
        return self._all()[index]

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._all())


def encode_summary(s: ScanSummary) -> bytes:
    return msgpack.packb(  # type: ignore[no-any-return]
        [
            s.by_kind,
            s.entries,
            s.projects,
            s.oldest,
            s.newest,
            s.staleable,
            s.index_pages,
            s.orphaned,
            s.linked_elsewhere,
            s.reclaimable,
            s.extra_links,
            s.own_duplicates,
            s.linked_files,
        ],
        unicode_errors=_BYTES,
    )


def decode_summary(blob: bytes) -> ScanSummary:
    """The summary :func:`encode_summary` stored (msgpack's arrays come back as the tuples
    the summary holds)."""
    fields = msgpack.unpackb(blob, raw=False, use_list=False, unicode_errors=_BYTES)
    if not isinstance(fields, tuple) or len(fields) != len(dataclasses.fields(ScanSummary)):
        raise ValueError("not a snapshot summary")
    return ScanSummary(*fields)


# ---------------------------------------------------------------------- store and load


def _pack_dirs(dirs: Sequence[DirStamp]) -> bytes:
    """Directory names NUL-joined (a name has no NUL), then their stamps as int64s."""
    names = "\0".join(d[0] for d in dirs).encode("utf-8", "surrogateescape")
    stamps = array.array("q")
    for _, ino, mtime, ctime in dirs:
        stamps.extend((ino, mtime, ctime))
    return msgpack.packb([names, stamps.tobytes()], use_bin_type=True)  # type: ignore[no-any-return]


def _unpack_dirs(blob: bytes) -> tuple[list[str], array.array[int]]:
    names, raw = msgpack.unpackb(blob, raw=False, use_list=False)
    stamps = array.array("q")
    stamps.frombytes(raw)
    return names.decode("utf-8", "surrogateescape").split("\0"), stamps


def load(
    memo: Memo,
    tool: str,
    top: str,
    real_top: str,
    rescan: Callable[[], CacheScan],
    now_ns: int | None = None,
) -> CacheScan | None:
    """The snapshot of the cache ``top`` (on this machine at ``real_top``) when it is young
    enough and no directory changed since; None means walk it. Its entries are read from
    the memo when first used (``rescan()``'s if the snapshot was replaced meanwhile)."""
    key = key_for(tool, top, real_top)
    row = memo.get_snapshot(key, WRITER)
    if row is None:
        return None
    taken, dirs_blob, head_blob, summary_blob = row
    now_ns = time.time_ns() if now_ns is None else now_ns
    if not 0 <= now_ns - taken <= MAX_AGE_S * 1_000_000_000:
        return None
    try:
        rels, stamps = _unpack_dirs(dirs_blob)
        scan_tool, cache_dir, exists, files, size, physical, count = msgpack.unpackb(
            head_blob, raw=False, use_list=False, unicode_errors=_BYTES
        )
        summary = decode_summary(summary_blob) if summary_blob else None
    except Exception:  # a damaged or foreign blob: walk again (and store a good one)
        return None
    if not unchanged(real_top, rels, stamps):
        return None
    where = memo.path

    def entries() -> tuple[Entry, ...]:
        from cachecensus.memo import open_memo

        again = open_memo(where)
        try:
            blob = again.get_snapshot_entries(key, taken)
        finally:
            again.close()
        if blob is not None:
            try:
                return _decode_entries(blob)
            except Exception:
                pass
        return tuple(rescan().entries)

    return CacheScan(
        tool=scan_tool,
        cache_dir=cache_dir,
        exists=exists,
        entries=LazyEntries(entries, count),
        files=files,
        size=size,
        physical=physical,
        summary=summary,
        snapshot=(key, taken),
    )


def save(
    memo: Memo,
    tool: str,
    top: str,
    real_top: str,
    scan: CacheScan,
    dirs: Sequence[DirStamp],
    started_ns: int,
) -> CacheScan:
    """Store ``scan`` (walked from ``started_ns`` on, its directories' stamps ``dirs``) as
    the snapshot of ``top``; ``scan`` with its snapshot reference, or unchanged when it
    cannot be trusted later (problems met, a racy directory, nothing walked)."""
    if memo.conn is None or scan.problems or not scan.exists or not dirs:
        return scan
    racy = started_ns - RACY_S * 1_000_000_000
    if any(mtime >= racy or ctime >= racy for _, _, mtime, ctime in dirs):
        return scan
    key = key_for(tool, top, real_top)
    head = [
        scan.tool,
        scan.cache_dir,
        scan.exists,
        scan.files,
        scan.size,
        scan.physical,
        len(scan.entries),
    ]
    memo.put_snapshot(
        key,
        WRITER,
        started_ns,
        _pack_dirs(dirs),
        msgpack.packb(head, unicode_errors=_BYTES),
        _encode_entries(scan.entries),
    )
    return replace(scan, snapshot=(key, started_ns))


def save_summary(memo: Memo, scan: CacheScan) -> None:
    """Add ``scan``'s summary to its snapshot, so the next audit reads no entries."""
    if scan.snapshot is not None and scan.summary is not None:
        memo.put_snapshot_summary(scan.snapshot[0], scan.snapshot[1], encode_summary(scan.summary))


def forget(memo: Memo, scans: Sequence[CacheScan], host_real: Callable[[str], str]) -> None:
    """Drop the snapshots of ``scans``' caches (a command changed their files in a way
    their directories do not show). ``host_real`` maps a system path to this machine's."""
    keys = [key_for(s.tool, s.cache_dir, host_real(s.cache_dir)) for s in scans]
    memo.forget_snapshots(keys)
