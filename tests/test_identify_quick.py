"""The cheap reads of sdists and index pages agree with the full ones.

An sdist is named by its ``NAME-VERSION/`` top directory from its first tar header (a
bounded inflate of its head) when its stream ends whole; a PEP 691 page by its ``"name"``
without ``json.loads``. Each is compared here with what reading everything gives
(``verify=True``, ``json.loads``), on real, generated, cut and odd bodies.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import random
import tarfile
from pathlib import Path

from cachecensus import zipreader
from cachecensus.identify import (
    SNIFF,
    TAR_HEAD,
    Identity,
    Region,
    _whole_stream,
    identify_body,
    identify_bytes,
    identify_index_page,
)
from cachecensus.models import Kind
from support import zipcorpus

Key = tuple[str, str | None, str | None, str | None]


def key(found: Identity) -> Key:
    return (found.kind.value, found.project, found.version, found.filename)


def tarball(members: list[tuple[str, bytes]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=fmt) as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def hatchling_like(top: str = "my_pkg-2.0", size: int = 3 << 20) -> bytes:
    """An sdist as hatchling and flit write one: PKG-INFO last, after megabytes."""
    rng = random.Random(size)
    members = [(f"{top}/src/data{i}.bin", rng.randbytes(size // 8)) for i in range(8)]
    members.append((f"{top}/PKG-INFO", b"Metadata-Version: 2.1\nName: my-pkg\nVersion: 2.0\n"))
    return gzip.compress(tarball(members), compresslevel=1)


def test_an_sdist_is_named_from_its_head_and_tail_only(tmp_path: Path) -> None:
    """3 MiB of members before PKG-INFO: the first header names it; the bytes read are the
    tail, the head sniffed and the head inflated, not the stream."""
    data = hatchling_like()
    path = tmp_path / "sdist"
    path.write_bytes(data)
    read = [0]

    class Counting(Region):
        def read(self, size: int | None = -1) -> bytes:
            got = super().read(size)
            read[0] += len(got)
            return got

    fd = os.open(path, os.O_RDONLY)
    try:
        found = identify_body(Counting(fd, 0, len(data)), len(data))
    finally:
        os.close(fd)
    assert key(found) == ("sdist", "my-pkg", "2.0", "my_pkg-2.0.tar.gz")
    assert read[0] <= zipreader.TAIL + 2 * SNIFF + TAR_HEAD, read
    assert key(identify_bytes(data, verify=True)) == key(found)


def test_every_fixture_sdist_and_every_format_agrees_with_the_walk() -> None:
    """The real-caches fixture's sdists, and one sdist as .tar.gz, .tar.xz, .tar.bz2 (no end
    mark: walked), .tar (two zero blocks), ustar and GNU headers, a ``./`` prefix: the quick
    name is the walked one."""
    bodies = list(zipcorpus.fixture_sdists().values())
    assert bodies
    members = [
        ("pkg_x-1.2.post3/setup.py", b"x" * 5000),
        ("pkg_x-1.2.post3/PKG-INFO", b"Name: pkg-x\nVersion: 1.2.post3\n"),
    ]
    for fmt in (tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT):
        plain = tarball(members, fmt)
        bodies += [plain, gzip.compress(plain), lzma.compress(plain), bz2.compress(plain)]
    bodies.append(gzip.compress(tarball([(f"./{n}", d) for n, d in members])))
    for body in bodies:
        quick, walked = identify_bytes(body), identify_bytes(body, verify=True)
        assert key(quick) == key(walked) and quick.kind is Kind.SDIST, (quick, walked)


def test_a_cut_sdist_is_walked_and_found_cut() -> None:
    """Cuts anywhere: unless the cut happens to end like a whole gzip stream (its last four
    bytes a multiple of 512: 1 in 512), the body is walked as it was before, and the walk
    finds it cut (unless PKG-INFO, last, was met before the cut)."""
    data = hatchling_like(size=400_000)
    whole = identify_bytes(data)
    rng = random.Random(5)
    corrupt = 0
    cuts = sorted({rng.randrange(1, len(data)) for _ in range(60)} | {len(data) - 1})
    for cut in cuts:
        body = data[:cut]
        quick, walked = identify_bytes(body), identify_bytes(body, verify=True)
        if _whole_stream(body[:SNIFF], body[-zipreader.TAIL :], len(body)):
            assert key(quick) == key(whole), cut  # named from its head, its cut unseen
        else:
            assert key(quick) == key(walked), cut
        corrupt += walked.kind is Kind.CORRUPT
    assert corrupt >= len(cuts) - 3


def test_an_sdist_whose_top_is_not_one_name_and_one_version_is_walked() -> None:
    for top, pkg_info, want in (
        (
            "python-dateutil-2.8.2",
            b"Name: python-dateutil\nVersion: 2.8.2\n",
            ("python-dateutil", "2.8.2"),
        ),
        ("pkg-1.0-beta", b"Name: pkg\nVersion: 1.0b0\n", ("pkg", "1.0b0")),
        ("pkg", b"Name: pkg\nVersion: 3\n", ("pkg", "3")),
        ("pkg-not.a.version!", b"Name: pkg\nVersion: 1\n", ("pkg", "1")),
    ):
        body = gzip.compress(tarball([(f"{top}/PKG-INFO", pkg_info)]))
        found = identify_bytes(body)
        assert (found.kind, found.project, found.version) == (Kind.SDIST, *want), found


# ---------------------------------------------------------------------- PEP 691 pages


def parsed(data: bytes) -> Key:
    """What the page is by json.loads (identify.py's reading before the quick one)."""
    if data.lstrip()[:1] != b"{":
        return ("unknown", None, None, None)  # not read as JSON (UTF-16 here)
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeError, RecursionError):
        return ("corrupt", None, None, None)
    if not isinstance(doc, dict) or not isinstance(doc.get("meta"), dict):
        return ("unknown", None, None, None)
    if isinstance(doc.get("name"), str) and doc["name"].strip():
        from packaging.utils import canonicalize_name

        return ("index-page", canonicalize_name(doc["name"].strip()), None, None)
    if isinstance(doc.get("projects"), list):
        return ("index-page", None, None, None)
    return ("unknown", None, None, None)


def pages() -> list[bytes]:
    files = [
        {
            "filename": f"Foo_Bar-1.{i}.tar.gz",
            "url": f"https://x/Foo_Bar-1.{i}.tar.gz",
            "hashes": {"sha256": "ab" * 32},
            "yanked": False,
        }
        for i in range(50)
    ]
    page = {
        "meta": {"api-version": "1.1", "_last-serial": 7},
        "name": "Foo.Bar",
        "files": files,
        "versions": ["1.0"],
    }
    out = [
        json.dumps(page).encode(),
        json.dumps(page, indent=2).encode(),
        json.dumps(page, sort_keys=True, separators=(",", ":")).encode(),  # name after files
        json.dumps({**page, "name": "Fóo"}).encode(),  # \\u escape: parsed
        json.dumps({**page, "name": "Fóo"}, ensure_ascii=False).encode(),
        json.dumps({**page, "name": 'a"b'}).encode(),
        json.dumps({**page, "name": 3}).encode(),
        json.dumps({**page, "name": ""}).encode(),
        json.dumps(
            {"meta": {"api-version": "1.0"}, "projects": [{"name": "a"}, {"name": "b"}]}
        ).encode(),
        json.dumps(
            {"meta": {"api-version": "1.0"}, "projects": [{"name": "a"}], "files": []}
        ).encode(),
        json.dumps({"name": "x", "files": []}).encode(),  # no meta
        json.dumps({"meta": {}, "files": [{"name": "inner"}]}).encode(),  # a name, not top level
        json.dumps({"meta": {}, "files": [{"name": "inner"}], "name": "outer"}).encode(),
        json.dumps({"meta": {"name": "in-meta"}, "name": "top", "files": []}).encode(),
        json.dumps({"meta": {"api-version": "1.1"}, "name": "x", "files": []}).encode("utf-16"),
        b"  \n" + json.dumps(page).encode() + b"\n\n",
        json.dumps([page]).encode(),
    ]
    whole = json.dumps(page).encode()
    rng = random.Random(3)
    out += [whole[:cut] for cut in sorted(rng.sample(range(1, len(whole)), 40))]
    return out


def test_a_json_page_is_named_as_json_loads_names_it() -> None:
    """Pages in PyPI's key order and others, indented, a name with escapes or not a string,
    the index's project list, nested names, UTF-16, cut pages: the same project as
    ``json.loads`` finds — or, for a cut that happens to end on ``}`` after the name, the
    page's project (its damage is a body hash's to find)."""
    whole_name = ("index-page", "foo-bar", None, None)
    for page in pages():
        found = key(identify_index_page(page, "application/vnd.pypi.simple.v1+json"))
        want = parsed(page)
        if found != want:
            assert want[0] == "corrupt" and found == whole_name, (page[-60:], found, want)
            assert page.rstrip().endswith(b"}"), page[-60:]
