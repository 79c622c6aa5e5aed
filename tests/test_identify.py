"""identify.py: real distributions from PyPI, index pages, and hostile bodies."""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest

from cachecensus.identify import (
    MAX_TAR_BYTES,
    Region,
    identify_body,
    identify_bytes,
    sha256_of,
)
from cachecensus.models import Kind
from conftest import INDEX_DISTS


def _wheel(metadata: bytes, wheel: bytes | None = None, name: str = "x-1.0") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x/__init__.py", "")
        zf.writestr(f"{name}.dist-info/METADATA", metadata)
        if wheel is not None:
            zf.writestr(f"{name}.dist-info/WHEEL", wheel)
    return buf.getvalue()


def _targz(members: list[tuple[str, bytes]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=fmt) as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), compresslevel=1)


# ---------------------------------------------------------------------- real distributions


def test_every_real_distribution_is_named_exactly(index_dists: Path) -> None:
    """The wheels and sdists PyPI serves: project, version and the very filename (for
    wheels rebuilt from METADATA + WHEEL's tags) come out right — read from disk."""
    files = sorted(p for p in index_dists.iterdir() if not p.name.startswith("."))
    assert len(files) == len(INDEX_DISTS)
    wanted = {tuple(spec.split("==")) for spec in INDEX_DISTS}
    seen = set()
    for path in files:
        with path.open("rb") as fh:
            found = identify_body(fh, path.stat().st_size, "application/octet-stream")
        assert found.filename == path.name, found
        assert found.kind == (Kind.WHEEL if path.suffix == ".whl" else Kind.SDIST)
        seen.add((found.project, found.version))
    assert seen == wanted


def test_region_reads_like_the_file(index_dists: Path) -> None:
    path = index_dists / "six-1.16.0-py2.py3-none-any.whl"
    data = path.read_bytes()
    fd = os.open(path, os.O_RDONLY)
    try:
        region = Region(fd, 100, len(data) - 150, tail=4096)
        view = data[100:-50]
        for pos, size in ((0, 10), (len(view) - 5000, 3000), (len(view) - 10, 100), (7, -1)):
            region.seek(pos)
            assert region.read(size) == (view[pos:] if size < 0 else view[pos : pos + size])
        region.seek(-3, 2)
        assert region.read() == view[-3:]
        whole = Region(fd, 0, len(data))
        assert identify_body(whole, len(data)).project == "six"
        whole.seek(0)
        import hashlib

        assert sha256_of(whole) == hashlib.sha256(data).hexdigest()
    finally:
        os.close(fd)


# ---------------------------------------------------------------------- index pages


def test_index_pages() -> None:
    page = {"meta": {"api-version": "1.1"}, "name": "Foo.Bar", "files": [], "versions": []}
    data = json.dumps(page).encode()
    found = identify_bytes(data, "application/vnd.pypi.simple.v1+json")
    assert (found.kind, found.project) == (Kind.INDEX_PAGE, "foo-bar")
    # as PyPI sends it: gzip on the wire, stored as received, Content-Encoding in the record
    zipped = identify_bytes(gzip.compress(data), "application/vnd.pypi.simple.v1+json", "gzip")
    assert (zipped.kind, zipped.project) == (Kind.INDEX_PAGE, "foo-bar")
    deflated = identify_bytes(zlib.compress(data), "application/json", "deflate")
    assert deflated.project == "foo-bar"
    root = {"meta": {"api-version": "1.0"}, "projects": [{"name": "a"}]}
    assert identify_bytes(json.dumps(root).encode()).kind == Kind.INDEX_PAGE
    html = b"<html><head><title>Links for Zope_Interface</title></head></html>"
    assert identify_bytes(html, "text/html").project == "zope-interface"
    h1 = b"<html><body><h1>Links for Django</h1><a href='x'>Django-4.2.tar.gz</a></body></html>"
    assert identify_bytes(h1, "text/html").project == "django"
    links = (
        b"<html><body><a href='/f/a'>my_pkg-1.0-py3-none-any.whl</a>\n"
        b"<a href='/f/b'>my-pkg-1.1.tar.gz</a></body></html>"
    )
    assert identify_bytes(links, "text/html").project == "my-pkg"
    mixed = b"<html><body><a>a-1.0.tar.gz</a><a>b-1.0.tar.gz</a></body></html>"
    assert identify_bytes(mixed, "text/html").kind == Kind.UNKNOWN


@pytest.mark.parametrize(
    "body,ctype,encoding,detail",
    [
        (b'{"meta": {}, "name": ', "application/json", None, "bad JSON"),
        (b"[1, 2, 3]", "application/json", None, None),
        (b"\x00\x01\x02 some bytes", "application/octet-stream", None, None),
        (b"", "application/zip", None, "empty body"),
        (b"not gzip at all", "application/json", "gzip", "bad gzip"),
        (b"x", "application/json", "br", "br"),
    ],
)
def test_odd_bodies(body: bytes, ctype: str, encoding: str | None, detail: str | None) -> None:
    found = identify_bytes(body, ctype, encoding)
    assert found.kind in (Kind.UNKNOWN, Kind.CORRUPT)
    assert found.project is None
    if detail:
        assert detail in (found.detail or "")
    if body[:1] == b"\x00":
        assert found.detail == "content type application/octet-stream"


# ---------------------------------------------------------------------- hostile archives


def test_truncated_and_garbage_archives() -> None:
    good = _wheel(b"Name: x\nVersion: 1.0\n")
    truncated = identify_bytes(good[: len(good) // 2])
    assert truncated.kind == Kind.CORRUPT and "zip" in (truncated.detail or "")
    # fixed bytes: a cut gzip's last four are arbitrary, and 1 in 512 read as a whole
    # stream's length (then the cut sdist is named by its top directory, unread)
    setup = random.Random(13).randbytes(200_000)
    sdist = _targz([("x-1.0/setup.py", setup), ("x-1.0/PKG-INFO", b"Name: x\n")])
    cut = identify_bytes(sdist[: len(sdist) // 2])
    assert (cut.kind, cut.project, cut.version) == (Kind.CORRUPT, "x", "1.0")
    assert "truncated" in (cut.detail or "")
    assert identify_bytes(b"\x1f\x8b" + os.urandom(300)).kind == Kind.CORRUPT
    assert identify_bytes(b"PK\x03\x04" + os.urandom(300)).kind == Kind.CORRUPT


def test_an_sdist_is_named_by_its_top_directory_and_by_pkg_info_when_that_is_no_pair() -> None:
    """``NAME-VERSION/`` from the first header names the sdist (PKG-INFO unread: hatchling
    and flit write it last); PKG-INFO wins when the directory is not one name and one
    version, and whenever it is verified."""
    pkg_info = b"Metadata-Version: 2.1\nName: Real.Name\nVersion: 02.0\n\nlong description \xff\n"
    sdist = _targz([("Weird_Name-2.0/PKG-INFO", pkg_info)])
    found = identify_bytes(sdist)
    assert (found.kind, found.project, found.version) == (Kind.SDIST, "weird-name", "2.0")
    assert found.filename == "Weird_Name-2.0.tar.gz"
    verified = identify_bytes(sdist, verify=True)
    assert (verified.kind, verified.project, verified.version) == (Kind.SDIST, "real-name", "2.0")
    assert verified.filename == "Weird_Name-2.0.tar.gz"
    legacy = identify_bytes(_targz([("Weird-Name-2.0/PKG-INFO", pkg_info)]))
    assert (legacy.project, legacy.version, legacy.filename) == (
        "real-name",
        "2.0",
        "Weird-Name-2.0.tar.gz",
    )
    no_pkg_info = _targz([("Other.Pkg-3.1rc1/setup.py", b"")])
    found = identify_bytes(no_pkg_info)
    assert (found.kind, found.project, found.version) == (Kind.SDIST, "other-pkg", "3.1rc1")


def test_zip_bombs_are_not_inflated() -> None:
    bomb = _wheel(b"Name: b\nVersion: 1\n" + b"\x00" * (64 << 20), name="b-1")
    assert len(bomb) < 1 << 20  # a small body that would inflate to 64 MiB
    found = identify_bytes(bomb)
    assert found.kind == Kind.CORRUPT and "bomb" in (found.detail or "")
    ratio = _wheel(b"Name: b\nVersion: 1\n" + b"\x00" * (4 << 20), name="b-1")
    assert identify_bytes(ratio).kind == Kind.CORRUPT


def test_huge_member_names() -> None:
    names = io.BytesIO()
    with zipfile.ZipFile(names, "w") as zf:
        zf.writestr("a/" + "b" * 60000, b"x")  # zip's limit is 65535; ours is 4096
    found = identify_bytes(names.getvalue())
    assert found.kind == Kind.CORRUPT and "name" in (found.detail or "")
    # a GNU long name that inflates past the tar cap: refused before it is all read
    longname = _targz([("x-1.0/" + "n" * (MAX_TAR_BYTES + 10), b"")], fmt=tarfile.GNU_FORMAT)
    assert len(longname) < 1 << 20
    found = identify_bytes(longname)
    assert found.kind == Kind.CORRUPT and "bomb" in (found.detail or "")
    tarnames = _targz([("x-1.0/" + "n" * 8000, b"")], fmt=tarfile.PAX_FORMAT)
    assert identify_bytes(tarnames).kind == Kind.CORRUPT


def test_gzip_bombs_stop_at_the_cap() -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tf:
        info = tarfile.TarInfo("bomb-1.0/huge.bin")
        info.size = 200 << 20
        tf.addfile(info, io.BytesIO(b"\x00" * info.size))
    data = gzip.compress(raw.getvalue(), compresslevel=1)
    assert len(data) < 1 << 20  # a small file that inflates to 200 MiB
    found = identify_bytes(data)
    assert (found.kind, found.project, found.version) == (Kind.SDIST, "bomb", "1.0")
    zeros = gzip.compress(b"\x00" * (100 << 20), compresslevel=1)  # not even a tar
    assert identify_bytes(zeros).kind == Kind.CORRUPT
    page = gzip.compress(b'{"meta": {}, "name": "x", "pad": "' + b" " * (80 << 20) + b'"}')
    found = identify_bytes(page, "application/vnd.pypi.simple.v1+json", "gzip")
    assert found.kind == Kind.CORRUPT and "cap" in (found.detail or "")


def test_nested_archives_are_not_recursed() -> None:
    inner = _targz([("x-1.0/PKG-INFO", b"Name: x\nVersion: 1.0\n")])
    outer = _targz([("x-1.0.tar.gz", inner)])  # a tarball of a tarball, no top directory
    found = identify_bytes(outer)
    assert (found.kind, found.project) == (Kind.UNKNOWN, None)
    assert found.detail == "tar archive that is not an sdist"


def test_non_utf8_metadata() -> None:
    found = identify_bytes(_wheel(b"Name: \xff\xfe\nVersion: 1\n"))
    assert found.kind == Kind.CORRUPT and "utf-8" in (found.detail or "").lower()
    sdist = _targz([("x-1.0/PKG-INFO", b"Name: \xff\n")])
    found = identify_bytes(sdist)  # named by its directory, PKG-INFO unread
    assert (found.kind, found.project, found.version) == (Kind.SDIST, "x", "1.0")
    found = identify_bytes(sdist, verify=True)  # PKG-INFO unreadable, the directory names it
    assert (found.kind, found.project, found.version) == (Kind.CORRUPT, "x", "1.0")
    no_name = identify_bytes(_wheel(b"Version: 1.0\n"))
    assert no_name.kind == Kind.CORRUPT and "Name" in (no_name.detail or "")


def test_wheel_filename_from_tags_and_build() -> None:
    tags = b"Wheel-Version: 1.0\nBuild: 7\nTag: cp311-cp311-manylinux_2_17_x86_64\n"
    tags += b"Tag: cp311-cp311-manylinux2014_x86_64\n"
    found = identify_bytes(_wheel(b"Name: My.Pkg\nVersion: 1.0.0\n", tags, "my_pkg-1.0.0"))
    assert (
        found.filename
        == "my_pkg-1.0.0-7-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    )
    assert identify_bytes(_wheel(b"Name: x\nVersion: 1\n")).filename is None  # no WHEEL
