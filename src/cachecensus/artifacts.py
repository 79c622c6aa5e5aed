"""The artifact inside an entry, across formats: which file holds it and its sha256.

An artifact is a distribution file (wheel, sdist, conda package) whose bytes a sha256 names,
so the same wheel cached by pip (an ``http-v2`` ``.body``), poetry (``artifacts/``) and
pdm is recognised as one artifact. A legacy pip ``http/`` entry keeps its artifact inside
the record (no file of its own: it can be hashed but not hard-linked). An unpacked
archive (uv ``archive-v0/``, a conda extracted package) is not an artifact: the file it
came from is gone.
"""

from __future__ import annotations

import os

from cachecensus.caches import format_for
from cachecensus.host import Host
from cachecensus.memo import Memo
from cachecensus.models import Entry, FileInfo, Kind

#: Kinds whose bytes are one distribution file a sha256 can name.
ARTIFACT_KINDS = frozenset({Kind.WHEEL, Kind.SDIST, Kind.BUILT_WHEEL, Kind.PACKAGE})


def artifact_file(entry: Entry) -> FileInfo | None:
    """The file that *is* the artifact, when there is one (not inside a record)."""
    if entry.kind not in ARTIFACT_KINDS or not entry.files:
        return None
    return format_for(entry.tool).artifact_file(entry)


def artifact_size(entry: Entry) -> int | None:
    """The artifact's bytes (a legacy pip record's body is the record minus its headers:
    unknown here, so the record's size stands for it); None for a non-artifact."""
    if entry.kind not in ARTIFACT_KINDS or not entry.files:
        return None
    found = artifact_file(entry)
    if found is not None:
        return found.size
    if format_for(entry.tool).artifact_in_record(entry):
        return -entry.files[0].size  # never equal to a real file's size: compared among records
    return None


def sha256_of(host: Host, entry: Entry, memo: Memo | None = None) -> str | None:
    """The artifact's content hash (a legacy pip record's: of the body inside it), memoised
    by its file; None if it cannot be read or changed since the scan."""
    if entry.sha256:
        return entry.sha256
    if entry.kind not in ARTIFACT_KINDS or not entry.files:
        return None
    target = artifact_file(entry)
    fmt = format_for(entry.tool)
    inside = target is None and fmt.artifact_in_record(entry)
    if inside:
        target = entry.files[0]
    if target is None:
        return None
    real = host.real(target.path)
    key = (target.size, target.mtime_ns, target.inode)
    if memo is not None:
        cached = memo.get_sha256(real, key)
        if cached:
            return cached
    from cachecensus.caches.pip import _open

    try:
        fd = _open(real)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (st.st_size, st.st_mtime_ns, st.st_ino) != key:
            return None  # changed since the scan: not the artifact the scan saw
        digest = fmt.record_sha256(fd, st.st_size) if inside else file_sha256(fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    if digest is not None and memo is not None:
        memo.put_sha256(real, key, digest)
    return digest


def file_sha256(fd: int) -> str:
    """sha256 of the whole file open at ``fd`` (read with ``pread``; raises OSError)."""
    from cachecensus import identify as ident

    return ident.sha256_of(ident.Region(fd, 0, os.fstat(fd).st_size, tail=0))
