"""Executing a removal :class:`~cachecensus.select.Plan` safely.

- Only cache-shaped files go: each path is checked again here, independently of the scan,
  against the names the entry's tool itself writes (its format module's ``cache_shape``,
  see :mod:`cachecensus.caches`; for pip: ``http[-v2]/a/b/c/d/e/<sha224>`` records, their
  ``.body``, ``adjacent_tmp_file`` leftovers, ``wheels/xx/yy/zz/<50 hex>/`` ``*.whl`` and
  ``origin.json``). A stray file in a cache, or a cache dir misconfigured as ``$HOME`` or
  ``/``, loses nothing the tool did not write; the cache dir, its area dirs and the tools'
  bookkeeping (``selfcheck/``, ``.lock``, ``CACHEDIR.TAG``) are never removed.
- No symlink is ever followed: every component of the cache dir's path, and every
  directory below it, is opened with ``O_NOFOLLOW`` relative to its parent's descriptor;
  each file is ``lstat``-ed relative to its directory's descriptor and must still be the
  regular file (dev, inode) the scan saw, then unlinked relative to the same descriptor.
  A directory swapped for a symlink mid-run makes that one open fail (``ELOOP``).
- A record goes before its body (a built wheel before its ``origin.json``, a uv pointer
  before anything it points at), and when the record stays its body stays too: an
  interrupted run leaves misses, never a half entry the tool would serve. The directories
  an entry leaves empty are removed (``rmdir``, fd-relative) up to the entry's own
  directory (an unpacked archive) or the hash dirs below the area dir, never the area dir
  or the cache dir. A symlink inside an unpacked archive (role ``link``) is unlinked,
  never followed.
- A cache dir is opened only if it is still owned by the uid it had when it was accepted
  as a target (:mod:`cachecensus.claims`), and only if it carries its tool's marker
  (uv's ``CACHEDIR.TAG``, conda's ``urls.txt``...; ``caches.unmarked``): the formats'
  names mean nothing in a directory the tool never made its cache.
- A tool that locks its cache (uv's ``.lock``) has that lock taken exclusively (``flock``)
  for the whole removal, as ``uv cache clean`` does; a cache whose lock stays held is busy.
- When root cleans a cache another user owns, a child acting as that user does that
  cache's deleting (:mod:`cachecensus.act.runner`: ``setgroups([])``, ``setgid``,
  ``setuid``), reporting each result back over a pipe: the kernel's permissions guard the
  rest. Everything it needs is imported here, before the fork.
- A cache that a running installer uses and can write (:mod:`cachecensus.act.busy`: its
  command line, its own resolution of its cache, default included, or its open files) is
  left alone, unless ``force``.

Every failure is a value (:class:`Skip`, with a reason), never an exception.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import stat
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from cachecensus.act import runner
from cachecensus.act.busy import users_of_cache
from cachecensus.caches import (
    TRASH_PREFIX,
    format_for,
    is_trash_name,
    never_a_cache,
    trash_index,
    unmarked,
)
from cachecensus.host import Host
from cachecensus.select import Plan, PlanItem

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
#: Order of an entry's files: the file the tool looks up first goes first.
_RANK = {
    "record": 0,
    "wheel": 0,
    "pointer": 0,
    "tmp": 1,
    "body": 2,
    "origin": 2,
    "member": 2,
    "link": 2,
}
_FIRST = frozenset({"record", "wheel", "pointer"})
#: Entries between flushes of the child's report pipe.
_FLUSH_EVERY = 64


class Skip(NamedTuple):
    """A file (system path) that was not removed, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class DeleteResult:
    """What :func:`execute` did. ``removed``: system paths of the files unlinked;
    ``freed``: bytes really freed (per inode, as the plan accounted, for inodes whose every
    planned link went); ``busy``: the pip/uv processes that made a cache be left alone."""

    removed: tuple[str, ...] = ()
    freed: int = 0
    skipped: tuple[Skip, ...] = ()
    busy: tuple[str, ...] = ()


# ---------------------------------------------------------------------- shapes


def shape_of(tool: str) -> Callable[[str], str | None]:
    """``tool``'s ``cache_shape`` (see :func:`cache_shape`), looked up once."""
    try:
        shape: Callable[[str], str | None] = format_for(tool).cache_shape
    except KeyError:
        return lambda rel: None

    def role(rel: str) -> str | None:
        # a directory we moved aside: only where the engine makes one (in place of an
        # entry directory the format names), never a trash name at any other depth
        if TRASH_PREFIX in rel and trash_index(tool, rel.split("/")) is not None:
            return "member"
        return shape(rel)

    return role


def cache_shape(rel: str, tool: str = "pip") -> str | None:
    """The role of ``rel`` (relative to a ``tool`` cache dir) if that tool writes files
    there (:mod:`cachecensus.caches`), or if it lies in a directory an interrupted removal
    of ours moved aside where the engine moves one (``caches.trash_index``); None for
    anything else (never removed)."""
    return shape_of(tool)(rel)


# ---------------------------------------------------------------------- the walk


class _Job(NamedTuple):
    rel: str
    dev: int
    inode: int
    role: str


#: One entry's files in removal order, and how deep its emptied directories may go.
#: ``whole``: the entry is a directory (an unpacked archive) that goes entirely, its empty
#: subdirectories included.
Work = tuple[list[_Job], int, bool]

#: An event of the walk: ("removed", rel, "") | ("skipped", rel, reason) | ("entry", "", "").
Event = tuple[str, str, str]


def _reason(exc: OSError) -> str:
    return {
        errno.ELOOP: "a directory on the way is a symlink: not followed",
        errno.ENOTDIR: "a directory on the way is not a directory (a symlink?): not followed",
        errno.ENOENT: "vanished",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EROFS: "read-only filesystem",
    }.get(exc.errno or 0, exc.strerror or str(exc))


def _wrong_type(role: str, mode: int) -> str:
    """Why a file of ``role`` may not be unlinked as it is now ("" when it may). A symlink
    inside an unpacked archive (``link``, or a ``member`` that is one) is unlinked itself,
    never followed; every other role must be a regular file."""
    if role == "link":
        return "" if stat.S_ISLNK(mode) else "no longer a symlink"
    if stat.S_ISREG(mode) or (role == "member" and stat.S_ISLNK(mode)):
        return ""
    return "not a regular file (a symlink?): not followed"


class _Walker:
    """Deletes entries below an open cache dir descriptor, keeping the chain of directory
    descriptors of the last entry open (entries in key order share most of it)."""

    def __init__(self, top_fd: int, emit: Callable[[Event], None]) -> None:
        self.top = top_fd
        self.emit = emit
        self.stack: list[tuple[str, int]] = []

    def close(self) -> None:
        self._truncate(0)

    def _truncate(self, depth: int) -> None:
        while len(self.stack) > depth:
            os.close(self.stack.pop()[1])

    def _dir(self, names: Sequence[str]) -> int:
        keep = 0
        while keep < len(self.stack) and keep < len(names) and self.stack[keep][0] == names[keep]:
            keep += 1
        self._truncate(keep)
        fd = self.stack[-1][1] if self.stack else self.top
        for name in names[keep:]:
            fd = os.open(name, _DIR_FLAGS, dir_fd=fd)
            self.stack.append((name, fd))
        return fd

    def entry(self, jobs: Sequence[_Job], floor: int = 2, whole: bool = False) -> None:
        """Remove one entry's files in order; then rmdir the directories it left empty,
        never above depth ``floor`` (2: the hash dirs below an area dir; an unpacked
        archive's own depth: that directory itself). A ``whole`` directory entry is first
        renamed aside (``.cachecensus-trash-<hex>``, same parent): the tool sees it gone at
        once, and an interrupted run leaves a marked leftover, never a half archive."""
        leaves: set[tuple[str, ...]] = set()
        kept: str | None = None
        moved: tuple[int, str] | None = None
        if whole and jobs:
            moved = self._move_aside(tuple(jobs[0].rel.split("/")[:floor]))
            if moved is None:
                for job in jobs:
                    self.emit(("skipped", job.rel, "its directory could not be moved aside"))
                self.emit(("entry", "", ""))
                return
        for job in jobs:
            if kept is not None:
                self.emit(("skipped", job.rel, f"kept: {kept}"))
                continue
            parts = job.rel.split("/")
            if moved is not None:
                parts[moved[0]] = moved[1]
            try:
                fd = self._dir(parts[:-1])
                st = os.lstat(parts[-1], dir_fd=fd)
                reason = _wrong_type(job.role, st.st_mode)
                if not reason and (st.st_dev, st.st_ino) != (job.dev, job.inode):
                    reason = "changed since the scan"
                if not reason:
                    os.unlink(parts[-1], dir_fd=fd)
                    self.emit(("removed", job.rel, ""))  # reported under its own name
                    leaves.add(tuple(parts[:-1]))
                    continue
            except OSError as exc:
                reason = _reason(exc)
            self.emit(("skipped", job.rel, reason))
            if job.role in _FIRST and reason != "vanished":
                kept = f"its {job.role} could not be removed ({reason})"
        if moved is not None and kept is None:
            top = jobs[0].rel.split("/")[:floor]
            top[moved[0]] = moved[1]
            self._clear_empty(tuple(top))
        for leaf in sorted(leaves, key=len, reverse=True):
            self._prune(leaf, floor)
        self.emit(("entry", "", ""))

    def _move_aside(self, top: tuple[str, ...]) -> tuple[int, str] | None:
        """Rename the directory ``top`` to a fresh trash name beside it (fd-relative; a
        symlink or anything but a directory is refused); (index of the renamed part, new
        name), or None."""
        if not top:
            return None
        if any(is_trash_name(p) for p in top):  # already aside (a leftover being finished)
            return (len(top) - 1, top[-1])
        try:
            parent = self._dir(top[:-1])
            if not stat.S_ISDIR(os.lstat(top[-1], dir_fd=parent).st_mode):
                return None
            name = TRASH_PREFIX + secrets.token_hex(6)
            os.rename(top[-1], name, src_dir_fd=parent, dst_dir_fd=parent)
        except OSError:
            return None
        return (len(top) - 1, name)

    def _clear_empty(self, top: tuple[str, ...]) -> None:
        """rmdir every empty directory below ``top`` (an unpacked archive whose files are
        gone), deepest first; a directory that still holds anything stays."""
        try:
            fd = self._dir(top)
        except OSError:
            return
        self._rmdir_empty_below(fd, 0)

    def _rmdir_empty_below(self, fd: int, depth: int) -> None:
        if depth > 64:
            return
        try:
            names = os.listdir(fd)
        except OSError:
            return
        for name in names:
            try:
                if not stat.S_ISDIR(os.lstat(name, dir_fd=fd).st_mode):
                    continue
                sub = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError:
                continue
            try:
                self._rmdir_empty_below(sub, depth + 1)
            finally:
                os.close(sub)
            with contextlib.suppress(OSError):
                os.rmdir(name, dir_fd=fd)

    def _prune(self, leaf: tuple[str, ...], floor: int = 2) -> None:
        """rmdir the directories of ``leaf`` that are now empty, deepest first, down to
        depth ``floor`` (at least 1: never the cache dir)."""
        for depth in range(len(leaf), max(1, floor) - 1, -1):
            try:
                parent = self._dir(leaf[: depth - 1])
                os.rmdir(leaf[depth - 1], dir_fd=parent)
            except FileNotFoundError:
                continue  # already gone (emptied and removed with its archive)
            except OSError:
                return


def _floor(jobs: Sequence[_Job], key: str) -> tuple[int, bool]:
    """How deep emptied directories of an entry may be removed, and whether the entry is
    a directory that goes whole: an entry whose every file is under ``key/`` down to that
    directory, else the hash dirs below the area dir."""
    inside = key.rstrip("/") + "/"
    if jobs and key and all(j.rel.startswith(inside) for j in jobs):
        return max(1, len(inside.split("/")) - 1), True
    return 2, False


def _walk(top_fd: int, work: Iterable[Work], emit: Callable[[Event], None]) -> None:
    walker = _Walker(top_fd, emit)
    try:
        for jobs, floor, whole in work:
            walker.entry(jobs, floor, whole)
    finally:
        walker.close()


class Refused(OSError):
    """The cache dir is not one to remove anything from (its message says why)."""


def _open_cache_dir(
    host: Host, cache_dir: str, owner: int | None = None, tool: str | None = None
) -> int:
    """A descriptor of ``cache_dir``, every component below the host's root opened with
    ``O_NOFOLLOW`` relative to its parent. ``owner``: the uid that must own it (its owner
    when it was accepted as a target: a directory swapped in since, say a root-owned one,
    is refused); ``tool``: the directory must be neither a home nor a system directory
    (:func:`cachecensus.caches.never_a_cache`) and must carry that tool's marker
    (:func:`cachecensus.caches.unmarked`). Raises OSError (:class:`Refused` for those)."""
    names = [p for p in cache_dir.split("/") if p]
    if any(n in (".", "..") for n in names):
        raise OSError(errno.EINVAL, "not a normalised path", cache_dir)
    what = never_a_cache(host, cache_dir) if tool is not None else None
    if what is not None:
        raise Refused(f"{what}, not a cache: not removing anything there")
    fd = os.open(host.root, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    try:
        for name in names:
            nxt = os.open(name, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = nxt
        uid = os.fstat(fd).st_uid
        if owner is not None and uid != owner:
            raise Refused(
                f"the cache dir is owned by uid {uid} now, not uid {owner} as when it was "
                "chosen: not removing anything here"
            )
        why = unmarked(tool, fd) if tool is not None else None
        if why is not None:
            raise Refused(why)
    except OSError:
        os.close(fd)
        raise
    return fd


#: Entries from which a removal is shared among worker processes (two per CPU, at most
#: :data:`MAX_WORKERS`): unlinking and rmdir are kernel work, much of it waiting on the
#: filesystem's journal, that several processes do side by side in different directories
#: (measured: 10 000 entries, 2 cores: 1 worker 3.0 s, 2: 2.7 s, 4: 2.3 s).
PARALLEL_MIN = 2000
MAX_WORKERS = 4


def _cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _split(work: Sequence[Work], n: int) -> list[list[Work]]:
    """``work`` in ``n`` parts that share no directory below the area dir (entries are
    grouped by their first two path components: ``http-v2/a``, ``archive-v0/<id>``), so
    no two workers prune the same directories; each part keeps the input order."""
    groups: dict[str, list[int]] = {}
    for i, (jobs, _, _) in enumerate(work):
        key = "/".join(jobs[0].rel.split("/")[:2]) if jobs else ""
        groups.setdefault(key, []).append(i)
    loads = [0] * n
    owner: dict[int, int] = {}
    for members in sorted(groups.values(), key=len, reverse=True):
        k = loads.index(min(loads))
        loads[k] += len(members)
        for i in members:
            owner[i] = k
    parts: list[list[Work]] = [[] for _ in range(n)]
    for i, item in enumerate(work):
        parts[owner[i]].append(item)
    return [part for part in parts if part]


def _in_children(
    who: runner.Identity | None,
    top_fd: int,
    parts: Sequence[Sequence[Work]],
    emit: Callable[[Event], None],
) -> str | None:
    """Walk each part in its own child (:mod:`~cachecensus.act.runner`: as ``who`` when
    given), relaying their events to ``emit`` as they come; one message per entry. An
    error message if a child failed."""

    def task(part: Sequence[Work]) -> runner.Task:
        def walk(send: runner.Send) -> None:
            pending: list[Event] = []

            def collect(event: Event) -> None:
                pending.append(event)
                if event[0] == "entry":
                    send(pending[:])
                    pending.clear()

            try:
                _walk(top_fd, part, collect)
            finally:
                if pending:
                    send(pending)

        return walk

    def relay(events: list[list[str]]) -> None:
        for kind, rel, reason in events:
            emit((kind, rel, reason))

    return runner.run([task(p) for p in parts], who, relay, flush_every=_FLUSH_EVERY)


def _run(
    who: runner.Identity | None,
    top_fd: int,
    work: Sequence[Work],
    emit: Callable[[Event], None],
) -> str | None:
    """Carry out ``work``: in this process, or (as another user, or when there is much
    of it) in child processes; directory entries (archives) only after every other entry
    is done, so no pointer ever outlives its archive even across workers."""
    n = min(MAX_WORKERS, 2 * _cpus()) if len(work) >= PARALLEL_MIN else 1
    for phase in ([w for w in work if not w[2]], [w for w in work if w[2]]):
        if not phase:
            continue
        if who is None and n == 1:
            _walk(top_fd, phase, emit)
            continue
        failure = _in_children(who, top_fd, _split(phase, n), emit)
        if failure is not None:
            return failure
    return None


# ---------------------------------------------------------------------- execute


def _jobs(
    item: PlanItem, prefix: str, shape: Callable[[str], str | None]
) -> tuple[list[_Job], list[Skip]]:
    jobs: list[_Job] = []
    skips: list[Skip] = []
    for f in item.entry.files:
        if not f.path.startswith(prefix):
            skips.append(Skip(f.path, "outside its cache dir: never removed"))
            continue
        rel = f.path[len(prefix) :]
        role = shape(rel)
        if role is None:
            skips.append(Skip(f.path, "not cache-shaped: never removed"))
            continue
        jobs.append(_Job(rel, f.dev, f.inode, role))
    jobs.sort(key=lambda j: _RANK[j.role])
    return jobs, skips


def _take_lock(top_fd: int, tool: str, wait_s: float = 5.0) -> int | None:
    """Take ``tool``'s cache lock (its format's ``LOCK``, e.g. uv's ``.lock``) exclusively,
    waiting up to ``wait_s``; the descriptor holding it, or None when the tool has no lock
    or the cache has no lock file yet. Raises BlockingIOError when it stays held."""
    try:
        name = format_for(tool).LOCK
    except KeyError:
        return None
    if not name or "/" in name:
        return None
    try:
        fd = os.open(name, os.O_RDWR | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), dir_fd=top_fd)
    except OSError:
        return None  # no lock file (or not a plain file): nothing to respect
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise
            time.sleep(0.05)
        except OSError:
            os.close(fd)
            return None


def _execute_cache(
    host: Host,
    cache_dir: str,
    items: Sequence[PlanItem],
    force: bool,
    progress: Callable[[int], None] | None,
    owner: int | None = None,
) -> tuple[list[str], list[Skip], list[str]]:
    """(removed system paths, skips, busy processes) for the items of one cache; ``owner``:
    the uid that must still own the cache dir."""
    prefix = cache_dir.rstrip("/") + "/"
    every = [f.path for item in items for f in item.entry.files]
    busy = [] if force else users_of_cache(host, cache_dir)
    if busy:
        reason = f"in use by {', '.join(busy)} (use --force to remove anyway)"
        if progress:
            progress(len(items))
        return [], [Skip(p, reason) for p in every], busy
    skips: list[Skip] = []
    work: list[Work] = []
    shapes: dict[str, Callable[[str], str | None]] = {}
    for item in items:
        tool = item.entry.tool
        if tool not in shapes:
            shapes[tool] = shape_of(tool)
        jobs, bad = _jobs(item, prefix, shapes[tool])
        skips.extend(bad)
        work.append((jobs, *_floor(jobs, item.entry.key)))
    # whole directories (archives) after the pointers that reference them: an interrupted
    # run never leaves a pointer to an archive that is gone
    work.sort(key=lambda w: (w[2], w[0][0].rel if w[0] else ""))
    tool = items[0].entry.tool if items else "pip"
    try:
        top_fd = _open_cache_dir(host, cache_dir, owner, tool)
    except OSError as exc:
        why = _reason(exc)
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            why = "the cache dir or a directory above it is a symlink: not followed"
        if progress:
            progress(len(items))
        return [], skips + [Skip(prefix + j.rel, why) for jobs, _, _ in work for j in jobs], []
    lock_fd: int | None = None
    if not force:
        try:
            lock_fd = _take_lock(top_fd, tool)
        except BlockingIOError:
            os.close(top_fd)
            if progress:
                progress(len(items))
            reason = f"{tool}'s lock is held by another process (use --force to remove anyway)"
            return [], [Skip(p, reason) for p in every], [f"{tool} (lock held)"]
    removed: list[str] = []
    reported: set[str] = set()

    def emit(event: Event) -> None:
        kind, rel, reason = event
        if kind == "entry":
            if progress:
                progress(1)
            return
        reported.add(rel)
        if kind == "removed":
            removed.append(prefix + rel)
        else:
            skips.append(Skip(prefix + rel, reason))

    try:
        who = runner.owner_of(host, os.fstat(top_fd))
        failure = _run(who, top_fd, work, emit)
        if failure is not None:
            skips.extend(
                Skip(prefix + j.rel, failure)
                for jobs, _, _ in work
                for j in jobs
                if j.rel not in reported
            )
    finally:
        if lock_fd is not None:
            os.close(lock_fd)  # closing the descriptor releases the flock
        os.close(top_fd)
    return removed, skips, []


def _freed(plan: Plan, removed: set[str]) -> int:
    """Bytes freed: an inode the plan counted frees its bytes once every planned link to it
    is gone (a link the plan kept, e.g. skipped, keeps the bytes too)."""
    paths: dict[tuple[int, int], list[str]] = {}
    sizes: dict[tuple[int, int], int] = {}
    for item in plan.items:
        counted = item.file_freed
        if len(counted) != len(item.entry.files):  # a hand-made item: each file's size
            counted = tuple(f.size for f in item.entry.files)
        for f, freed in zip(item.entry.files, counted, strict=True):
            ino = (f.dev, f.inode)
            paths.setdefault(ino, []).append(f.path)
            sizes[ino] = max(sizes.get(ino, 0), freed)
    return sum(
        size for ino, size in sizes.items() if size and all(p in removed for p in paths[ino])
    )


def execute(
    host: Host,
    plan: Plan,
    *,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
    owners: Mapping[str, int] | None = None,
) -> DeleteResult:
    """Carry out ``plan`` (module doc); ``progress(n)``: n more entries done; ``owners``:
    cache dir -> the uid that owned it when it was accepted (it must still own it).

    Every failure is a value in the result, never an exception."""
    by_cache: dict[str, list[PlanItem]] = {}
    for item in plan.items:
        by_cache.setdefault(item.entry.cache_dir, []).append(item)
    removed: list[str] = []
    skipped: list[Skip] = []
    busy: list[str] = []
    for cache_dir, items in by_cache.items():
        owner = (owners or {}).get(cache_dir)
        gone, skips, users = _execute_cache(host, cache_dir, items, force, progress, owner)
        removed.extend(gone)
        skipped.extend(skips)
        busy.extend(users)
    return DeleteResult(
        removed=tuple(removed),
        freed=_freed(plan, set(removed)),
        skipped=tuple(skipped),
        busy=tuple(dict.fromkeys(busy)),
    )
