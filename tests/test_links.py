"""Which environments hold hard links to a cache's files (uv archives, conda packages)."""

from __future__ import annotations

import os
from pathlib import Path

from cachecensus.host import Host
from cachecensus.links import environments_linking
from cachecensus.models import CacheScan, Entry, FileInfo, Kind


def _info(path: Path) -> FileInfo:
    return FileInfo.of(str(path), path.lstat())


def test_links_are_found_where_installers_put_them(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (cache / "archive-v0" / "a1").mkdir(parents=True)
    mod, other = cache / "archive-v0/a1/mod.py", cache / "archive-v0/a1/other.py"
    mod.write_text("x = 1\n" * 100)
    other.write_text("y = 2\n")
    # a venv: site-packages holds a link; lib64 -> lib must not count it twice
    site = tmp_path / "venv/lib/python3.11/site-packages"
    site.mkdir(parents=True)
    os.link(mod, site / "mod.py")
    (tmp_path / "venv/lib64").symlink_to("lib")
    # a link outside site-packages (a copy someone made in the venv's root) is not an install
    os.link(other, tmp_path / "venv/other.py")
    # a conda env: files are linked anywhere in the prefix
    conda = tmp_path / "conda-env"
    (conda / "conda-meta").mkdir(parents=True)
    (conda / "share").mkdir()
    os.link(other, conda / "share/other.py")
    entry = Entry(
        "uv", str(cache), "archive-v0", "archive-v0/a1", Kind.ARCHIVE, (_info(mod), _info(other))
    )
    scan = CacheScan("uv", str(cache), True, (entry,), 2, entry.size, entry.physical)
    found = environments_linking(
        Host.local(), [scan], [str(tmp_path / "venv"), str(conda), str(tmp_path / "none")]
    )
    got = {(le.environment, le.files, le.bytes) for le in found[str(cache)]}
    assert got == {
        (str(tmp_path / "venv"), 1, mod.stat().st_size),
        (str(conda), 1, other.stat().st_size),
    }


def test_nothing_is_walked_when_no_cache_file_has_another_link(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "f").write_text("z")
    entry = Entry("pip", str(cache), "", "f", Kind.STRAY, (_info(cache / "f"),))
    scan = CacheScan("pip", str(cache), True, (entry,), 1, 1, 4096)
    assert environments_linking(Host.local(), [scan], ["/usr"]) == {}
