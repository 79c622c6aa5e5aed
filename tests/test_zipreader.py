"""The zip reader against zipfile: the same wheel, the same name, or the same refusal.

The reference (tests/support/zip_oracle.py) is zipfile used as identify.py used it before
the reader: ``ZipFile()``, the first ``*.dist-info/METADATA`` and ``WHEEL`` read and parsed.
For every body — real wheels, generated ones of up to 2 000 (slow: 70 000, and a real numpy)
members, thousands of corrupted and hostile variants, hypothesis' byte flips and cuts:

- ``verify=True`` gives exactly the reference's kind, project, version and filename; the
  one difference allowed is a wheel whose METADATA contradicts its ``.dist-info`` name,
  which it calls corrupt (the reference believes METADATA);
- the scan's tier (``verify=False``) gives exactly the same too, except where the only damage
  lies inside METADATA's member (its data, its local extra field): there it names the wheel
  as the reference names the same body with that damage undone — a body hash's finding,
  not a listing's;
- never an exception, never more than a few seconds on one body.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cachecensus import zipreader
from cachecensus.identify import (
    Identity,
    Region,
    identify_body,
    identify_bytes,
    identify_zip,
    name_version_pair,
)
from cachecensus.models import Kind
from conftest import WORK
from support import zipcorpus
from support.zip_oracle import File, oracle

Key = tuple[str, str | None, str | None, str | None]


def key(found: Identity) -> Key:
    return (found.kind.value, found.project, found.version, found.filename)


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail, instead of hanging, if the body takes longer than ``seconds``."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"identification took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def read(data: bytes, verify: bool) -> Identity:
    return identify_zip(File(data), verify=verify)


def agree(case: zipcorpus.Case) -> tuple[Key, Key]:
    """Assert the reader's two tiers agree with zipfile on ``case``; (reference, fast)."""
    with deadline(20):
        want = oracle(case.data)
        fast = read(case.data, verify=False)
        slow = read(case.data, verify=True)
    if key(slow) != key(want):
        assert want.kind is Kind.WHEEL and slow.kind is Kind.CORRUPT, (case.label, want, slow)
        assert (slow.detail or "").startswith("METADATA names"), (case.label, slow)
        distinfo = (slow.detail or "").rsplit(" ", 1)[1]
        assert name_version_pair(distinfo) != (want.project, want.version), (case.label, slow)
    if key(fast) != key(want):
        assert case.restored is not None, (case.label, want, fast)
        assert want.kind is Kind.CORRUPT and slow.kind is Kind.CORRUPT, (case.label, want, slow)
        assert key(fast) == key(oracle(case.restored)), (case.label, fast)
    if case.data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):  # what the scan's dispatch reads
        with deadline(20):
            assert key(identify_bytes(case.data)) == key(fast), case.label
    return key(want), key(fast)


def run_corpus(cases: Iterator[zipcorpus.Case]) -> dict[str, int]:
    tally = {"cases": 0, "corrupt": 0, "member damage": 0}
    for case in cases:
        want, fast = agree(case)
        tally["cases"] += 1
        tally["corrupt"] += want[0] == "corrupt"
        tally["member damage"] += want != fast
    return tally


# ---------------------------------------------------------------------- intact wheels


def test_every_fixture_wheel_is_named_as_zipfile_names_it() -> None:
    """pip's downloaded and built wheels in the real-caches fixture (http-v2 bodies, legacy
    http records, wheels/): both tiers, bytes and a file read through a Region."""
    wheels = zipcorpus.fixture_wheels()
    assert len(wheels) >= 10
    for label, data in wheels.items():
        want, fast = agree(zipcorpus.Case(label, data))
        assert want == fast and want[0] == "wheel" and want[3], (label, want)
        assert key(identify_bytes(data)) == want


def test_generated_wheels_of_every_shape(tmp_path: Path) -> None:
    """Stored, deflate, bzip2, LZMA, data descriptors, Info-ZIP extras, a long description,
    a version that is not PEP 440, 2 000 members — also read from a file through the
    scan's Region, the tail first."""
    for label, data in zipcorpus.generated_wheels().items():
        want, fast = agree(zipcorpus.Case(label, data))
        assert want == fast and want[0] == "wheel", (label, want)
        path = tmp_path / "body"
        path.write_bytes(data)
        fd = os.open(path, os.O_RDONLY)
        try:
            assert key(identify_body(Region(fd, 0, len(data)), len(data))) == want
        finally:
            os.close(fd)


def test_a_big_central_directory_is_read_in_one_more_read(tmp_path: Path) -> None:
    """2 000 members: the central directory is past the 16 KiB tail; the reader asks for it
    once (and for METADATA's local header), never member by member."""
    data = zipcorpus.make_wheel(2000)
    path = tmp_path / "big.whl"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        region = Recording(fd, 0, len(data))
        found = identify_body(region, len(data))
    finally:
        os.close(fd)
    reads = region.log
    assert (found.kind, found.project, found.version) == (Kind.WHEEL, "pkg", "1.0")
    assert reads[0] == (len(data) - zipreader.TAIL, zipreader.TAIL)
    assert len(reads) <= 4, reads  # tail, directory, METADATA's header, WHEEL


def test_the_scan_reads_a_bodys_tail_first_and_its_head_only_when_needed(tmp_path: Path) -> None:
    """A wheel is named from the one 16 KiB read of its tail; an sdist or a page bigger than
    that costs one more read, of its head; a zip with data before it (a self-extractor,
    a tarball ending in a wheel) is not taken for a wheel unless its head is a zip's."""
    import gzip
    import io
    import tarfile

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tf:
        for name, content in (
            ("pkg-1.0/setup.py", os.urandom(40_000)),
            ("pkg-1.0/PKG-INFO", b"Name: pkg\nVersion: 1.0\n"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tf.addfile(info, io.BytesIO(content))
    sdist = gzip.compress(raw.getvalue())
    wheel = zipcorpus.make_wheel(30, blob=os.urandom(40_000))
    assert len(wheel) > zipreader.TAIL and len(sdist) > zipreader.TAIL
    prefixed = b"\x7fELF" + b"\0" * 60 + wheel
    for data, kind in ((wheel, Kind.WHEEL), (sdist, Kind.SDIST), (prefixed, Kind.UNKNOWN)):
        path = tmp_path / "body"
        path.write_bytes(data)
        fd = os.open(path, os.O_RDONLY)
        try:
            region = Recording(fd, 0, len(data))
            found = identify_body(region, len(data))
        finally:
            os.close(fd)
        assert found.kind is kind, found
        tail = len(data) - zipreader.TAIL
        assert region.log[0] == (tail, zipreader.TAIL), region.log
        outside = [read for read in region.log if read[0] < tail]
        if kind is Kind.WHEEL:
            assert outside == [], region.log  # everything from the one tail read
        else:
            assert outside[0] == (0, 512), region.log  # then the head, sniffed
        if kind is Kind.UNKNOWN:
            assert len(region.log) == 2, region.log


class Recording(Region):
    """A Region that notes every read: (position, size)."""

    def __init__(self, fd: int, offset: int, length: int) -> None:
        super().__init__(fd, offset, length)
        self.log: list[tuple[int, int]] = []

    def read(self, size: int | None = -1) -> bytes:
        self.log.append((self.pos, -1 if size is None else size))
        return super().read(size)


# ---------------------------------------------------------------------- corrupted wheels


def test_corrupted_variants_of_a_small_wheel_every_byte() -> None:
    """Every byte of the end record and central directory flipped, every cut near the end,
    and each crafted mutation (see support/zipcorpus.py) of a real 9-member wheel."""
    six = next(d for n, d in zipcorpus.fixture_wheels().items() if "wheels/" not in n)
    tally = run_corpus(zipcorpus.mutants(six, every_byte=True))
    assert tally["cases"] > 1000 and tally["corrupt"] > 500, tally


def test_corrupted_variants_of_generated_wheels() -> None:
    """The crafted mutations of wheels stored, LZMA-compressed, with data descriptors and
    extras: zip64 records and fields, comments, forged headers, bombs, names, overlaps."""
    total = 0
    for label, data in zipcorpus.generated_wheels().items():
        if label in ("2 000 members", "dotted name, long description"):
            continue
        total += run_corpus(zipcorpus.mutants(data, seed=len(label)))["cases"]
    assert total > 3000


def test_a_wheel_whose_metadata_contradicts_its_directory() -> None:
    """The scan names a wheel by its ``.dist-info`` directory without inflating METADATA;
    verifying reads METADATA and calls the contradiction corrupt (zipfile believes it)."""
    data = zipcorpus.make_wheel(5, metadata=b"Name: other\nVersion: 9.0\n")
    assert key(read(data, verify=False))[:3] == ("wheel", "pkg", "1.0")
    assert key(oracle(data))[:3] == ("wheel", "other", "9.0")
    checked = read(data, verify=True)
    assert checked.kind is Kind.CORRUPT
    assert checked.detail == "METADATA names other 9.0, its directory pkg-1.0.dist-info"


def test_damage_inside_metadata_is_left_to_a_body_hash() -> None:
    """A flipped byte inside METADATA's compressed data: zipfile (and ``verify``) find the
    bad CRC; the scan, which does not inflate METADATA, names the wheel."""
    data = zipcorpus.make_wheel(5)
    zone = zipcorpus.metadata_zone(data)
    mutant = bytearray(data)
    mutant[zone.stop - 2] ^= 0x55
    broken = bytes(mutant)
    assert oracle(broken).kind is Kind.CORRUPT
    assert read(broken, verify=True).kind is Kind.CORRUPT
    assert key(read(broken, verify=False)) == key(oracle(data))


def test_a_bomb_in_the_directory_is_refused_before_anything_is_inflated() -> None:
    """METADATA claiming 64 MiB (a real deflate bomb) is refused from its central entry."""
    bomb = zipcorpus.make_wheel(5, metadata=b"Name: pkg\nVersion: 1.0\n" + b"\0" * (64 << 20))
    assert len(bomb) < 1 << 20
    for verify in (False, True):
        found = read(bomb, verify)
        assert found.kind is Kind.CORRUPT and "bomb" in (found.detail or ""), found


def test_too_many_members_are_refused_without_walking_them_all() -> None:
    """A central directory of 200 001 empty headers: refused at the cap."""
    header = zipcorpus._forged_cd(b"a", 0)
    cd = header * (zipreader.MAX_MEMBERS + 1)
    eocd = zipcorpus.EOCD.pack(b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, len(cd), 0, 0)
    with deadline(10):
        found = read(cd + eocd, verify=False)
    assert found.kind is Kind.CORRUPT and "200000" in (found.detail or ""), found


@settings(
    max_examples=int(os.environ.get("CACHECENSUS_HYPOTHESIS_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_hypothesis_flips_and_cuts(data: st.DataObject) -> None:
    """Random byte flips (mostly in the last kilobytes: end record, directory, dist-info
    members) and cuts of a generated wheel."""
    base = _BASES[data.draw(st.sampled_from(sorted(_BASES)), label="base")]
    body = bytearray(base)
    tail = data.draw(st.integers(min_value=22, max_value=min(len(body), 4096)), label="tail")
    flips = data.draw(
        st.lists(
            st.tuples(st.integers(min_value=1, max_value=len(body)), st.integers(1, 255)),
            min_size=0,
            max_size=6,
        ),
        label="flips",
    )
    for back, xor in flips:
        at = len(body) - 1 - (back - 1) % tail if back % 4 else len(body) - back
        body[at] ^= xor
    cut = data.draw(st.one_of(st.none(), st.integers(0, len(body))), label="cut")
    mutant = bytes(body if cut is None else body[:cut])
    zone = _ZONES[base]
    touched = {at for at in range(len(base)) if at < len(mutant) and mutant[at] != base[at]}
    restored = None
    if touched & set(zone):
        restored = zipcorpus.restore(mutant, base, zone)
    agree(zipcorpus.Case(f"flips {flips} cut {cut}", mutant, restored))


_BASES = {
    "5": zipcorpus.make_wheel(5),
    "stored": zipcorpus.make_wheel(8, compression=zipfile.ZIP_STORED),
    "descriptors": zipcorpus.make_wheel(6, stream=True),
}
_ZONES = {data: zipcorpus.metadata_zone(data) for data in _BASES.values()}


# ---------------------------------------------------------------------- slow: big corpora


@pytest.mark.slow
def test_corrupted_variants_of_every_fixture_wheel_and_a_2000_member_wheel() -> None:
    total = 0
    wheels = dict(zipcorpus.fixture_wheels())
    wheels["2 000 members"] = zipcorpus.make_wheel(2000)
    wheels["long description"] = zipcorpus.generated_wheels()["dotted name, long description"]
    for data in wheels.values():
        total += run_corpus(zipcorpus.mutants(data, every_byte=len(data) < 100_000))["cases"]
    assert total > 10_000


@pytest.mark.slow
def test_zip64_end_record_of_a_70000_member_wheel() -> None:
    """zipfile writes a zip64 end record past 65 535 members: read as zipfile reads it."""
    data = zipcorpus.make_wheel(70_000)
    assert b"PK\x06\x06" in data[-200:]
    want, fast = agree(zipcorpus.Case("70 000 members", data))
    assert want == fast and want[:3] == ("wheel", "pkg", "1.0")


@pytest.mark.slow
def test_a_real_numpy_wheel() -> None:
    """numpy 2.1.3 (1 044 members), downloaded once through pip into the test work area;
    skipped offline."""
    dest = WORK / "zipreader-wheels"
    name = "numpy-2.1.3-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    if not (dest / name).exists():
        dest.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-cache-dir",
                "--disable-pip-version-check",
                "--only-binary=:all:",
                "--platform",
                "manylinux2014_x86_64",
                "--python-version",
                "3.11",
                "-d",
                str(dest),
                "numpy==2.1.3",
            ],
            capture_output=True,
            check=False,
            timeout=600,
        )
        if done.returncode != 0 or not (dest / name).exists():
            pytest.skip("could not download numpy 2.1.3 (offline?)")
    data = (dest / name).read_bytes()
    want, fast = agree(zipcorpus.Case(name, data))
    assert want == fast == ("wheel", "numpy", "2.1.3", name)
    total = run_corpus(zipcorpus.mutants(data))
    assert total["cases"] > 500


@pytest.mark.slow
def test_a_directory_of_real_wheels() -> None:
    """Every wheel in $CACHECENSUS_WHEEL_CORPUS (a directory, e.g. a local PyPI mirror's
    files), both tiers against zipfile; skipped when unset."""
    corpus = os.environ.get("CACHECENSUS_WHEEL_CORPUS")
    if not corpus:
        pytest.skip("CACHECENSUS_WHEEL_CORPUS not set")
    count = 0
    for path in sorted(Path(corpus).glob("*.whl")):
        if path.stat().st_size > 200 << 20:
            continue
        want, fast = agree(zipcorpus.Case(path.name, path.read_bytes()))
        assert want == fast and want[0] == "wheel", (path.name, want)
        count += 1
    assert count
