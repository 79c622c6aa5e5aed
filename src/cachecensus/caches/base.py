"""What every format's scanner shares: the cache dir's two spellings (system path and the
path on this machine), an :class:`~cachecensus.models.Entry` built from ``lstat`` results,
and the answer for a cache dir that is absent, a symlink or not a directory."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from typing import Any

from cachecensus.host import Host
from cachecensus.models import CacheScan, Entry, FileInfo, Kind, Problem

Raw = tuple[str, os.stat_result]  # (path relative to the cache dir, lstat)


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
        files = tuple(
            FileInfo(
                top + sep + rel,
                st.st_size,
                st.st_blocks * 512,
                st.st_ino,
                st.st_dev,
                st.st_nlink,
                st.st_uid,
                st.st_mtime_ns,
                st.st_atime_ns,
            )
            for rel, st in raws
        )
        return Entry(self.tool, top, area, key, kind, files, **kw)

    def unusable(self, what_dir: str = "cache dir") -> CacheScan | None:
        """The whole scan's answer when the cache dir is absent, unreadable, a symlink (never
        followed) or not a directory; None when it is a directory to walk."""
        try:
            top_st = os.lstat(self.real_top)
        except FileNotFoundError:
            return CacheScan(self.tool, self.top, False, (), 0, 0, 0)
        except OSError as exc:
            problem = Problem(self.top, exc.strerror or str(exc))
            return CacheScan(self.tool, self.top, False, (), 0, 0, 0, (problem,))
        if not stat.S_ISDIR(top_st.st_mode):
            what = "a symlink (not followed)" if stat.S_ISLNK(top_st.st_mode) else "not a dir"
            problem = Problem(self.top, f"{what_dir} is {what}")
            return CacheScan(self.tool, self.top, False, (), 0, 0, 0, (problem,))
        return None
