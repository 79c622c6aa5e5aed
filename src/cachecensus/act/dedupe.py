"""Duplicates: the same artifact (same sha256) stored more than once, in one cache or
several (what counts as a duplicate is :mod:`cachecensus.duplicates`, shared with the audit).

Only artifacts that are whole files can be linked: an ``http-v2`` ``.body`` and a built
``.whl``. A legacy ``http/`` body lives inside its record and is reported, not linked.
Linking replaces a copy by a hard link to the first copy, and only where both files
have the same owner and filesystem and both caches the same owner: a link never crosses
owners (one user's deletion must not change another's cache, and quota must stay with its
owner).

Linking never goes through a path a user can change under us:

- when root links another user's caches, a child acting as their owner does it
  (:mod:`cachecensus.act.runner`): the kernel's permissions bound what it can link;
- every directory from the cache dir down is opened relative to its parent's descriptor
  with ``O_NOFOLLOW`` (a directory swapped for a symlink fails that pair: ``ELOOP``); the
  keeper and the copy are opened (``O_NOFOLLOW|O_NONBLOCK``) and ``fstat``-ed against the
  scan (device, inode, regular file, size, owner), then hashed through those descriptors
  (exactly the scanned size: a growing file cannot make the run hash forever);
- the keeper is linked to a temporary name beside the copy (``linkat`` between the two
  directory descriptors, never following a symlink), that name is checked to be the
  keeper's inode, and renamed over the copy within the same directory descriptor.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from cachecensus import duplicates, identify
from cachecensus.act import runner
from cachecensus.act.delete import _open_cache_dir
from cachecensus.artifacts import artifact_file, sha256_of
from cachecensus.host import Host
from cachecensus.models import CacheScan, Entry, FileInfo

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC
#: The temporary name of a link beside the copy it replaces (``NAME`` + this).
LINK_SUFFIX = ".cachecensus-link"


@dataclass(frozen=True)
class Group:
    sha256: str
    size: int
    project: str | None
    version: str | None
    copies: tuple[Entry, ...]

    @property
    def wasted(self) -> int:
        """Duplicated bytes, as :class:`cachecensus.duplicates.Duplicate` counts them."""
        return duplicates.Duplicate(self.sha256, self.size, self.copies).wasted

    def entry_pairs(self) -> list[tuple[tuple[Entry, FileInfo], tuple[Entry, FileInfo]]]:
        """((keeper entry, its file), (copy entry, its file)) for the copies that may be
        linked: same owner, same filesystem, not already the keeper's inode."""
        files = [(e, f) for e in self.copies if (f := artifact_file(e)) is not None]
        if not files:
            return []
        keeper = files[0]  # the first copy stays; same-owner, same-filesystem copies link to it
        k = keeper[1]
        return [
            (keeper, (e, f))
            for e, f in files[1:]
            if (f.dev, f.inode) != (k.dev, k.inode) and f.dev == k.dev and f.uid == k.uid
        ]

    def pairs(self) -> list[tuple[FileInfo, FileInfo]]:
        """(keeper, copy) files that may be linked (:meth:`entry_pairs`)."""
        return [(k[1], c[1]) for k, c in self.entry_pairs()]

    @property
    def linkable(self) -> int:
        return self.size * len(self.pairs())

    def as_json(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "size": self.size,
            "project": self.project,
            "version": self.version,
            "wasted_bytes": self.wasted,
            "linkable_bytes": self.linkable,
            "copies": [
                {"cache_dir": e.cache_dir, "path": e.files[-1].path, "area": e.area}
                for e in self.copies
            ],
        }


def find_duplicates(host: Host, scans: Sequence[CacheScan]) -> list[Group]:
    """Artifacts stored more than once (:func:`cachecensus.duplicates.find`: hashing only
    equal sizes; hard links of one copy are one copy)."""
    entries = [entry for result in scans for entry in result.entries]
    return [
        Group(d.sha256, d.size, d.copies[0].project, d.copies[0].version, d.copies)
        for d in duplicates.find(entries, lambda e: sha256_of(host, e))
    ]


@dataclass
class LinkResult:
    linked: list[str] = field(default_factory=list)
    freed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


class _Pair(NamedTuple):
    """One copy to replace by a link to its keeper: each a cache dir (index into the open
    descriptors), a path relative to it and what the scan saw (dev, inode, size, uid)."""

    keeper_top: int
    keeper_rel: str
    keeper: tuple[int, int, int, int]
    copy_top: int
    copy_rel: str
    copy: tuple[int, int, int, int]
    sha256: str
    path: str  # the copy's system path, as reported


class _Changed(Exception):
    """A file is not what the scan saw: skipped with this reason."""


def _seen(f: FileInfo) -> tuple[int, int, int, int]:
    return (f.dev, f.inode, f.size, f.uid)


def _open_dir(top: int, rel: str) -> tuple[int, str]:
    """(descriptor of ``rel``'s directory, its last name): every directory opened relative
    to its parent with ``O_NOFOLLOW``. Raises OSError (ELOOP: a symlink on the way)."""
    *dirs, name = rel.split("/")
    if any(p in ("", ".", "..") for p in (*dirs, name)):
        raise OSError(errno.EINVAL, "not a plain relative path", rel)
    fd = os.dup(top)
    try:
        for part in dirs:
            nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = nxt
    except OSError:
        os.close(fd)
        raise
    return fd, name


def _open_file(dir_fd: int, name: str, seen: tuple[int, int, int, int]) -> tuple[int, int]:
    """(descriptor, link count) of the regular file ``name`` if it still is what the scan
    saw (dev, inode, size, owner). Raises _Changed, OSError."""
    fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino, st.st_size, st.st_uid) != seen:
        os.close(fd)
        raise _Changed("changed since the scan")
    return fd, st.st_nlink


def _sha256(fd: int, size: int) -> str:
    """sha256 of the first ``size`` bytes at ``fd``; raises _Changed when the file no longer
    has exactly that size (it grew or shrank while hashed)."""
    digest = identify.sha256_of(identify.Region(fd, 0, size, tail=0))
    if os.fstat(fd).st_size != size:
        raise _Changed("content changed since the scan")
    return digest


def _link_pair(tops: Sequence[int], pair: _Pair) -> tuple[str, str, int | str]:
    """Replace ``pair``'s copy by a link to its keeper, through descriptors only (module
    doc): ("linked", path, bytes freed) or ("skipped", path, reason)."""
    fds: list[int] = []
    made: tuple[int, str] | None = None
    try:
        keeper_dir, keeper_name = _open_dir(tops[pair.keeper_top], pair.keeper_rel)
        fds.append(keeper_dir)
        copy_dir, copy_name = _open_dir(tops[pair.copy_top], pair.copy_rel)
        fds.append(copy_dir)
        keeper_fd, _ = _open_file(keeper_dir, keeper_name, pair.keeper)
        fds.append(keeper_fd)
        copy_fd, copy_links = _open_file(copy_dir, copy_name, pair.copy)
        fds.append(copy_fd)
        size = pair.keeper[2]
        if _sha256(keeper_fd, size) != pair.sha256 or _sha256(copy_fd, size) != pair.sha256:
            raise _Changed("content changed since the scan")
        tmp = copy_name + LINK_SUFFIX
        try:
            os.link(
                keeper_name, tmp, src_dir_fd=keeper_dir, dst_dir_fd=copy_dir, follow_symlinks=False
            )
            made = (copy_dir, tmp)
        except FileExistsError:
            pass  # an interrupted run's link: used below only if it is the keeper's inode
        st = os.lstat(tmp, dir_fd=copy_dir)
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != pair.keeper[:2]:
            if made is None:
                return ("skipped", pair.path, f"{tmp} is in the way")
            return ("skipped", pair.path, "the kept copy changed while linking")
        os.rename(tmp, copy_name, src_dir_fd=copy_dir, dst_dir_fd=copy_dir)
        made = None
        return ("linked", pair.path, size if copy_links == 1 else 0)
    except _Changed as exc:
        return ("skipped", pair.path, str(exc))
    except OSError as exc:
        return ("skipped", pair.path, _why(exc))
    finally:
        if made is not None:
            with contextlib.suppress(OSError):
                os.unlink(made[1], dir_fd=made[0])
        for fd in fds:
            os.close(fd)


def _why(exc: OSError) -> str:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
        return "a symlink on the way: not followed"
    if exc.errno == errno.ENOENT:
        return "changed since the scan"
    return exc.strerror or str(exc)


def link_duplicates(host: Host, groups: Sequence[Group]) -> LinkResult:
    """Replace each linkable copy by a hard link to its keeper (module doc): as the caches'
    owner when root links another user's caches, through descriptors only."""
    result = LinkResult()
    tops: list[int] = []
    owners: list[tuple[int, int]] = []
    index: dict[str, int] = {}
    by_owner: dict[tuple[int, int], list[_Pair]] = {}

    def top_of(cache_dir: str) -> int:
        if cache_dir not in index:
            fd = _open_cache_dir(host, cache_dir)
            st = os.fstat(fd)
            tops.append(fd)
            owners.append((st.st_uid, st.st_gid))
            index[cache_dir] = len(tops) - 1
        return index[cache_dir]

    try:
        for group in groups:
            for (keeper, kf), (copy, cf) in group.entry_pairs():
                try:
                    kt, ct = top_of(keeper.cache_dir), top_of(copy.cache_dir)
                except OSError as exc:
                    result.skipped.append((cf.path, f"its cache dir: {_why(exc)}"))
                    continue
                if owners[kt][0] != owners[ct][0]:
                    result.skipped.append((cf.path, "caches of different owners: never linked"))
                    continue
                kp, cp = keeper.cache_dir.rstrip("/") + "/", copy.cache_dir.rstrip("/") + "/"
                if not kf.path.startswith(kp) or not cf.path.startswith(cp):
                    result.skipped.append((cf.path, "outside its cache dir: never linked"))
                    continue
                pair = _Pair(
                    kt,
                    kf.path[len(kp) :],
                    _seen(kf),
                    ct,
                    cf.path[len(cp) :],
                    _seen(cf),
                    group.sha256,
                    cf.path,
                )
                by_owner.setdefault(owners[kt], []).append(pair)
        for (uid, gid), pairs in by_owner.items():
            _link_as(runner.for_owner(host, uid, gid), tops, pairs, result)
    finally:
        for fd in tops:
            os.close(fd)
    return result


def _link_as(
    who: runner.Identity | None, tops: Sequence[int], pairs: Sequence[_Pair], result: LinkResult
) -> None:
    """Link ``pairs``: in a child acting as ``who`` (:mod:`cachecensus.act.runner`), or
    right here when None (we are not root, or the caches are root's)."""
    done: set[str] = set()

    def record(outcome: Sequence[Any]) -> None:
        kind, path, detail = outcome
        done.add(path)
        if kind == "linked":
            result.linked.append(path)
            result.freed += int(detail)
        else:
            result.skipped.append((path, str(detail)))

    if who is None:
        for pair in pairs:
            record(_link_pair(tops, pair))
        return

    def task(send: runner.Send) -> None:
        for pair in pairs:
            send(_link_pair(tops, pair))

    failure = runner.run([task], who, record)
    if failure is not None:
        result.skipped.extend((p.path, failure) for p in pairs if p.path not in done)
