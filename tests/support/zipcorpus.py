"""Wheels to prove the zip reader on: real ones, generated ones, and their corrupted variants.

- :func:`fixture_wheels`: every zip body in tests/fixtures/real-caches.tar.gz (pip's
  ``http-v2`` bodies, legacy ``http/`` records' inline bodies, built ``wheels/``);
- :func:`make_wheel`: a wheel as ``wheel``/``hatchling`` write one (any member count,
  compression, extras, names), :func:`generated_wheels` a set of them;
- :func:`mutants`: variants of one wheel, each a :class:`Case` naming what was done:
  truncations, flipped end-record / central-directory / local-header / data bytes, bogus
  offsets and sizes, zip64 records, locators and extra fields, 64 KiB comments, a fake end
  record inside the comment, headers forged inside extra fields and comments, METADATA bombs,
  encrypted members and unknown compression, NUL / non-UTF-8 / overlong names, Unicode path
  fields, overlapping members, data before the archive.

A :class:`Case` whose only damage lies inside ``METADATA``'s data (what a body hash finds,
not a listing) carries ``restored``: the same body with that damage undone.
"""

from __future__ import annotations

import io
import random
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgpack

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CD = struct.Struct("<4s4B4HL2L5H2L")
EOCD = struct.Struct("<4s4H2LH")
LOCAL = struct.Struct("<4s2B4HL2L2H")
EOCD64 = struct.Struct("<4sQ2H2L4Q")
LOCATOR = struct.Struct("<4sLQL")


@dataclass
class Case:
    label: str
    data: bytes
    #: the body with the damage inside METADATA's member undone (None: no such damage)
    restored: bytes | None = None


# ---------------------------------------------------------------------- sources


def fixture_wheels() -> dict[str, bytes]:
    """Every zip body the real-caches fixture holds, by its path in the tarball."""
    return _fixture_bodies((b"PK\x03\x04",))


def fixture_sdists() -> dict[str, bytes]:
    """Every gzip body (the sdists pip downloaded) the real-caches fixture holds."""
    return _fixture_bodies((b"\x1f\x8b",))


def _fixture_bodies(heads: tuple[bytes, ...]) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    with tarfile.open(FIXTURES / "real-caches.tar.gz") as tar:
        for member in tar:
            if not member.isfile():
                continue
            handle = tar.extractfile(member)
            assert handle is not None
            data = handle.read()
            if "/http/" in member.name and data.startswith(b"cc=4,"):
                body = msgpack.unpackb(data[5:], raw=False, strict_map_key=False)
                data = body.get("response", {}).get("body") or b""
            if data.startswith(heads):
                found[member.name] = data
    return found


def make_wheel(
    members: int = 5,
    *,
    name: str = "pkg",
    version: str = "1.0",
    compression: int = zipfile.ZIP_DEFLATED,
    metadata: bytes | None = None,
    dist_info: str | None = None,
    extra: bytes = b"",
    stream: bool = False,
    blob: bytes = b"",
) -> bytes:
    """A wheel of ``members`` members (at least 5), RECORD last. ``stream``: written to an
    unseekable file, so every member has a data descriptor (flag bit 3). ``blob``: the
    first member's content (``pkg/data.bin``, stored)."""
    dist_info = dist_info or f"{name}-{version}.dist-info"
    if metadata is None:
        metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nText.\n".encode()
    raw = io.BytesIO()
    out: io.RawIOBase | io.BytesIO = raw
    if stream:

        class Unseekable(io.RawIOBase):
            def writable(self) -> bool:
                return True

            def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
                return raw.write(b)

        out = Unseekable()
    with zipfile.ZipFile(out, "w", compression) as zf:

        def add(arcname: str, data: bytes) -> None:
            info = zipfile.ZipInfo(arcname, (2024, 1, 1, 0, 0, 0))
            info.compress_type = compression
            info.extra = extra
            zf.writestr(info, data)

        if blob:
            zf.writestr(f"{name}/data.bin", blob, zipfile.ZIP_STORED)
        for i in range(members - 4 - bool(blob)):
            add(f"{name}/sub{i % 40}/mod_{i}.py", f"VALUE = {i}\n".encode() * (1 + i % 7))
        add(f"{dist_info}/METADATA", metadata)
        add(f"{dist_info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: t\nTag: py3-none-any\n")
        add(f"{dist_info}/top_level.txt", name.encode() + b"\n")
        add(f"{dist_info}/RECORD", b"".join(b"f%d,,\n" % i for i in range(members)))
    return raw.getvalue()


def generated_wheels() -> dict[str, bytes]:
    """Wheels of every shape the reader meets (and some it should never)."""
    return {
        "5 members": make_wheel(5),
        "40 members, stored": make_wheel(40, compression=zipfile.ZIP_STORED),
        "bzip2": make_wheel(6, compression=zipfile.ZIP_BZIP2),
        "lzma": make_wheel(6, compression=zipfile.ZIP_LZMA),
        "data descriptors": make_wheel(6, stream=True),
        "Info-ZIP extras": make_wheel(6, extra=struct.pack("<HHB4s", 0x5455, 5, 1, b"\0" * 4)),
        "dotted name, long description": make_wheel(
            7,
            name="zope.interface",
            version="6.0.post1",
            metadata=b"Name: zope.interface\nVersion: 6.0.post1\n\n" + b"lorem ipsum " * 4000,
            dist_info="zope.interface-6.0.post1.dist-info",
        ),
        "not a valid pair": make_wheel(
            6, metadata=b"Name: pkg\nVersion: 2004d\n", dist_info="pkg-2004d.dist-info"
        ),
        "2 000 members": make_wheel(2000),
    }


# ---------------------------------------------------------------------- a zip's layout


@dataclass
class Entry:
    """One central-directory header, editable."""

    fields: list[int | bytes]  # CD's 19 fields
    name: bytes
    extra: bytes
    comment: bytes

    def pack(self) -> bytes:
        fields = list(self.fields)
        fields[12], fields[13], fields[14] = len(self.name), len(self.extra), len(self.comment)
        return CD.pack(*fields) + self.name + self.extra + self.comment


@dataclass
class Layout:
    """An intact zip taken apart: what precedes its central directory, its entries, its
    end record."""

    head: bytes
    entries: list[Entry]
    eocd: list[int | bytes]
    comment: bytes
    extras: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, data: bytes) -> Layout:
        at = data.rfind(b"PK\x05\x06")
        eocd = list(EOCD.unpack_from(data, at))
        size, offset = int(eocd[5]), int(eocd[6])
        entries = []
        p = offset
        while p < offset + size:
            fields = list(CD.unpack_from(data, p))
            n, m, k = int(fields[12]), int(fields[13]), int(fields[14])
            q = p + 46
            entries.append(
                Entry(
                    fields,
                    data[q : q + n],
                    data[q + n : q + n + m],
                    data[q + n + m : q + n + m + k],
                )
            )
            p = q + n + m + k
        return cls(data[:offset], entries, eocd, data[at + 22 :])

    def index(self, suffix: bytes) -> int:
        return next(i for i, e in enumerate(self.entries) if e.name.endswith(suffix))

    def local(self, index: int) -> tuple[int, int, int]:
        """(local header offset, data start, data end) of entry ``index``."""
        entry = self.entries[index]
        offset = int(entry.fields[18])
        n, m = struct.unpack_from("<HH", self.head, offset + 26)
        start = offset + 30 + n + m
        return offset, start, start + int(entry.fields[10])

    def build(
        self,
        head: bytes | None = None,
        entries: list[Entry] | None = None,
        comment: bytes | None = None,
        **eocd: int,
    ) -> bytes:
        head = self.head if head is None else head
        entries = self.entries if entries is None else entries
        comment = self.comment if comment is None else comment
        cd = b"".join(e.pack() for e in entries)
        fields = list(self.eocd)
        fields[3] = fields[4] = len(entries)
        fields[5], fields[6], fields[7] = len(cd), len(head), len(comment)
        names = ("disk", "disk_cd", "count_disk", "count", "size", "offset", "comment_len")
        for key, value in eocd.items():
            fields[names.index(key) + 1] = value
        return head + cd + EOCD.pack(*fields) + comment


def _flip(data: bytes, at: int, xor: int) -> bytes:
    return data[:at] + bytes([data[at] ^ xor]) + data[at + 1 :]


def _copy(entry: Entry, **changes: object) -> Entry:
    new = Entry(list(entry.fields), entry.name, entry.extra, entry.comment)
    for key, value in changes.items():
        if key in ("name", "extra", "comment"):
            setattr(new, key, value)
        else:
            new.fields[_FIELD[key]] = value  # type: ignore[assignment]
    return new


_FIELD = {"version": 3, "flags": 5, "method": 6, "crc": 9, "csize": 10, "usize": 11, "offset": 18}


# ---------------------------------------------------------------------- mutants


def mutants(data: bytes, *, every_byte: bool = False, seed: int = 0) -> Iterator[Case]:
    """Corrupted and hostile variants of the intact wheel ``data``. ``every_byte``: flip
    every byte of its end record and central directory (else a seeded sample)."""
    rng = random.Random(seed)
    z = Layout.of(data)
    size = len(data)
    meta = z.index(b".dist-info/METADATA")
    wheel = z.index(b".dist-info/WHEEL")
    cd_start = len(z.head)
    eocd_at = size - 22 - len(z.comment)
    meta_local, meta_data, meta_end = z.local(meta)
    zone = range(meta_local + 28, meta_end)  # METADATA's extra length, name, extra, data

    def flipped(at: int, xor: int, label: str) -> Case:
        mutant = _flip(data, at, xor)
        return Case(f"{label} @{at} ^{xor:#x}", mutant, data if at in zone else None)

    # truncations: everywhere near the end, a sample before
    cuts = set(range(max(0, eocd_at - 64), size))
    cuts |= {cd_start, cd_start + 1, meta_local, meta_data, meta_end, 0, 1, 21, 22}
    cuts |= {rng.randrange(size) for _ in range(40)}
    for cut in sorted(cuts):
        yield Case(f"truncated to {cut}", data[:cut])
    yield Case("one byte appended", data + b"\0")

    # flipped bytes: the end record, the central directory, the members read, METADATA's data
    for at in range(eocd_at, eocd_at + 22):
        for xor in (0x01, 0x80, 0xFF):
            yield flipped(at, xor, "end record")
    cd_bytes = range(cd_start, eocd_at)
    picks = list(cd_bytes) if every_byte else rng.sample(cd_bytes, min(len(cd_bytes), 300))
    for at in picks:
        yield flipped(at, rng.choice((0x01, 0x20, 0x80, 0xFF)), "central directory")
    for index in (meta, wheel):
        local, start, end = z.local(index)
        for at in range(local, min(start + 8, end)):
            yield flipped(at, 0x01, f"local header {z.entries[index].name!r}")
    for at in sorted({rng.randrange(meta_data, meta_end) for _ in range(12)}):
        yield flipped(at, 0x55, "METADATA data")

    # bogus offsets and sizes in the end record
    for key, deltas in (
        ("offset", (-1, 1, 46, -cd_start, 1 << 20)),
        ("size", (-1, 1, -46, 22, -(eocd_at - cd_start))),
        ("count", (-1, 1, 1000)),
        ("count_disk", (1,)),
        ("disk", (1,)),
    ):
        base = {"offset": cd_start, "size": eocd_at - cd_start}.get(key, len(z.entries))
        for delta in deltas:
            value = max(
                0, min(base + delta, 0xFFFF if "count" in key or key == "disk" else 0xFFFFFFFF)
            )
            yield Case(f"end record {key} {delta:+}", z.build(**{key: value}))
    yield Case("end record offset 0xFFFFFFFF", z.build(offset=0xFFFFFFFF))
    # bogus offsets, sizes, CRCs, flags, methods of the members read
    for index in (meta, wheel):
        entry = z.entries[index]
        label = entry.name.decode()
        offset, csize = int(entry.fields[18]), int(entry.fields[10])
        for key, value in (
            ("offset", offset + 1),
            ("offset", max(0, offset - 1)),
            ("offset", 0),
            ("offset", 0xFFFFFFFF),
            ("offset", cd_start),
            ("csize", csize + 1),
            ("csize", max(0, csize - 1)),
            ("csize", csize + (1 << 20)),
            ("csize", 0xFFFFFFFF),
            ("usize", int(entry.fields[11]) + 1),
            ("usize", 0),
            ("usize", 17 << 20),
            ("usize", 0xFFFFFFFF),
            ("crc", int(entry.fields[9]) ^ 1),
            ("flags", int(entry.fields[5]) | 0x1),
            ("flags", int(entry.fields[5]) | 0x8),
            ("flags", int(entry.fields[5]) | 0x20),
            ("flags", int(entry.fields[5]) | 0x40),
            ("flags", int(entry.fields[5]) | 0x800),
            ("method", 99),
            ("method", 12),
            ("method", 14),
            ("method", 0),
            ("method", 8),
            ("version", 64),
        ):
            entries = list(z.entries)
            entries[index] = _copy(entry, **{key: value})
            yield Case(f"{label}: {key} = {value:#x}", z.build(entries=entries))
        # a ratio bomb's claim: 2 MiB from a few bytes
        entries = list(z.entries)
        entries[index] = _copy(entry, usize=2 << 20, csize=min(csize, 100))
        yield Case(f"{label}: claims 2 MiB from {min(csize, 100)} bytes", z.build(entries=entries))

    # zip64: end record, locator, extra fields
    yield from _zip64(z, meta)
    # comments, fake end records, forged headers
    yield from _comments(z)
    yield from _forged(z, meta)
    # names, duplicates, overlaps, data before the archive
    yield from _names(z, meta, wheel)


def _zip64(z: Layout, meta: int) -> Iterator[Case]:
    cd = b"".join(e.pack() for e in z.entries)
    head = z.head
    count = len(z.entries)

    def tail64(
        size: int | None = None,
        offset: int | None = None,
        sig: bytes = b"PK\x06\x06",
        disk: int = 0,
        disks: int = 1,
        record: bool = True,
        sentinels: bool = True,
    ) -> bytes:
        at = len(head) + len(cd)
        rec = EOCD64.pack(
            sig,
            44,
            45,
            45,
            0,
            0,
            count,
            count,
            len(cd) if size is None else size,
            len(head) if offset is None else offset,
        )
        loc = LOCATOR.pack(b"PK\x06\x07", disk, at, disks)
        if sentinels:
            eocd = EOCD.pack(b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
        else:
            eocd = EOCD.pack(b"PK\x05\x06", 0, 0, count, count, len(cd), len(head), 0)
        return head + cd + (rec if record else b"") + loc + eocd

    yield Case("zip64 end record and locator", tail64())
    yield Case("zip64 record and locator, plain end record kept", tail64(sentinels=False))
    yield Case("zip64 record: size one short", tail64(size=len(cd) - 1))
    yield Case("zip64 record: size one long", tail64(size=len(cd) + 1))
    yield Case("zip64 record: offset wrong", tail64(offset=len(head) + 7))
    yield Case("zip64 record: offset huge", tail64(offset=1 << 40))
    yield Case("zip64 record: size huge", tail64(size=1 << 40))
    yield Case("zip64 record: bad signature", tail64(sig=b"PK\x06\x05"))
    yield Case("zip64 locator: disk 1", tail64(disk=1))
    yield Case("zip64 locator: 2 disks", tail64(disks=2))
    yield Case("zip64 locator without its record", tail64(record=False))
    yield Case(
        "zip64 locator only, at the start",
        LOCATOR.pack(b"PK\x06\x07", 0, 0, 1) + EOCD.pack(b"PK\x05\x06", 0, 0, 0, 0, 0, 0, 0),
    )
    # zip64 extra fields on METADATA's entry
    entry = z.entries[meta]
    csize, usize, offset = int(entry.fields[10]), int(entry.fields[11]), int(entry.fields[18])
    for label, fields, extra in (
        (
            "all three",
            {"usize": 0xFFFFFFFF, "csize": 0xFFFFFFFF, "offset": 0xFFFFFFFF},
            struct.pack("<HH3Q", 1, 24, usize, csize, offset),
        ),
        (
            "sizes only",
            {"usize": 0xFFFFFFFF, "csize": 0xFFFFFFFF},
            struct.pack("<HH2Q", 1, 16, usize, csize),
        ),
        (
            "one field short",
            {"usize": 0xFFFFFFFF, "csize": 0xFFFFFFFF},
            struct.pack("<HHQ", 1, 8, usize),
        ),
        ("wrong offset", {"offset": 0xFFFFFFFF}, struct.pack("<HHQ", 1, 8, offset + 3)),
        ("claims 8 EiB", {"usize": 0xFFFFFFFF}, struct.pack("<HHQ", 1, 8, 1 << 63)),
        ("length past the field", {}, struct.pack("<HH", 1, 40) + b"\0" * 8),
        ("no sentinels", {}, struct.pack("<HHQ", 1, 8, 12345)),
        (
            "twice",
            {"usize": 0xFFFFFFFF},
            struct.pack("<HHQ", 1, 8, 0xFFFFFFFF) + struct.pack("<HHQ", 1, 8, usize),
        ),
        ("3 stray bytes", {}, b"\x01\x00\x00"),
    ):
        entries = list(z.entries)
        entries[meta] = _copy(entry, extra=entry.extra + extra, **fields)
        yield Case(f"zip64 extra on METADATA: {label}", z.build(entries=entries))


def _comments(z: Layout) -> Iterator[Case]:
    plain = z.build()
    yield Case("64 KiB comment", z.build(comment=b"c" * 0xFFFF))
    yield Case("comment shorter than declared", z.build(comment=b"c" * 10, comment_len=100))
    yield Case("comment longer than declared", z.build(comment=b"c" * 100, comment_len=10))
    yield Case("comment past 64 KiB", plain + b"x" * 0x10010)
    yield Case("end record signature in the last 21 bytes", plain + b"PK\x05\x06" + b"\0" * 10)
    junk = EOCD.pack(b"PK\x05\x06", 0, 0, 1, 1, 46, 3, 0)
    yield Case("fake end record in the comment", z.build(comment=b"xx" + junk + b"yy"))
    yield Case("fake end record ending the comment", z.build(comment=b"xx" + junk))
    # a fake end record in the comment that points at a forged central directory
    forged = _forged_cd(b"evil-6.6.6.dist-info/METADATA", 0)
    comment = forged + EOCD.pack(
        b"PK\x05\x06", 0, 0, 1, 1, len(forged), len(plain) - len(z.comment), 0
    )
    yield Case("end record in the comment, forged directory", z.build(comment=comment))


def _forged_cd(name: bytes, offset: int) -> bytes:
    return (
        CD.pack(
            b"PK\x01\x02", 20, 3, 20, 0, 0, 0, 0, 0, 0, 10, 10, len(name), 0, 0, 0, 0, 0, offset
        )
        + name
    )


def _forged(z: Layout, meta: int) -> Iterator[Case]:
    forged = _forged_cd(b"evil-6.6.6.dist-info/METADATA", 0)
    for index, where in ((0, "first"), (meta, "METADATA's"), (len(z.entries) - 1, "last")):
        entries = list(z.entries)
        entry = entries[index]
        extra = struct.pack("<HH", 0xCAFE, len(forged)) + forged
        entries[index] = _copy(entry, extra=entry.extra + extra)
        yield Case(f"forged header in {where} extra field", z.build(entries=entries))
        entries[index] = _copy(entry, comment=forged)
        yield Case(f"forged header in {where} comment", z.build(entries=entries))
    forged_wheel = _forged_cd(b"pkg-1.0.dist-info/WHEEL", 0)
    entries = list(z.entries)
    entries[-1] = _copy(entries[-1], comment=forged_wheel)
    yield Case("forged WHEEL header in a comment", z.build(entries=entries))


def _names(z: Layout, meta: int, wheel: int) -> Iterator[Case]:
    entry = z.entries[meta]
    other = next(i for i in range(len(z.entries)) if i not in (meta, wheel))
    distinfo = entry.name.split(b"/")[0]

    def with_entry(index: int, **changes: object) -> bytes:
        entries = list(z.entries)
        entries[index] = _copy(entries[index], **changes)
        return z.build(entries=entries)

    yield Case("METADATA's name: NUL then more", with_entry(meta, name=entry.name + b"\0.txt"))
    yield Case("a name cut by NUL into METADATA", with_entry(other, name=entry.name + b"\0x"))
    yield Case(
        "METADATA renamed in the directory only", with_entry(meta, name=distinfo + b"/METADATB")
    )
    yield Case(
        "METADATA's directory renamed", with_entry(meta, name=b"other-2.0.dist-info/METADATA")
    )
    yield Case("WHEEL renamed", with_entry(wheel, name=distinfo + b"/WHEEL2"))
    yield Case("METADATA nested", with_entry(meta, name=b"a/" + entry.name))
    yield Case(
        "a name not UTF-8 under the UTF-8 flag",
        with_entry(other, flags=0x800, name=b"x/\xc3\x28.py"),
    )
    yield Case(
        "METADATA's name under the UTF-8 flag", with_entry(meta, flags=int(entry.fields[5]) | 0x800)
    )
    yield Case("a name of 5 000 bytes", with_entry(other, name=b"x/" + b"n" * 5000))
    yield Case("a name of 5 000 bytes cut by NUL", with_entry(other, name=b"x/\0" + b"n" * 5000))
    yield Case("version needed 6.4", with_entry(other, version=64))
    yield Case("version needed 6.3", with_entry(other, version=63))
    entries = [z.entries[meta], *z.entries]
    yield Case("METADATA listed twice", z.build(entries=entries))
    entries = [*z.entries, _copy(entry, name=b"zzz-9.9.dist-info/METADATA")]
    yield Case("a second dist-info after the first", z.build(entries=entries))
    entries = [_copy(entry, name=b"aaa-0.1.dist-info/METADATA"), *z.entries]
    yield Case("a second dist-info before the first", z.build(entries=entries))
    # overlaps: two members at one offset; METADATA's data running into the next member
    yield Case("WHEEL at METADATA's offset", with_entry(wheel, offset=int(entry.fields[18])))
    yield Case(
        "METADATA at WHEEL's offset", with_entry(meta, offset=int(z.entries[wheel].fields[18]))
    )
    yield Case(
        "another member at METADATA's offset", with_entry(other, offset=int(entry.fields[18]))
    )
    # Unicode path fields (Python 3.12+)
    raw = entry.name
    for label, index, extra in (
        ("renames METADATA", meta, _unicode_path(raw, "x/y.txt")),
        (
            "renames a member to METADATA",
            other,
            _unicode_path(z.entries[other].name, "zzz-1.0.dist-info/METADATA"),
        ),
        ("CRC of another name", meta, _unicode_path(b"nope", "x/y.txt")),
        ("not UTF-8", meta, struct.pack("<HHBL", 0x7075, 7, 1, zlib.crc32(raw)) + b"\xc3\x28"),
        ("too short", meta, struct.pack("<HH", 0x7075, 3) + b"\x01\0\0"),
        ("empty name", meta, _unicode_path(raw, "")),
        ("version 2", meta, struct.pack("<HHBL", 0x7075, 6, 2, zlib.crc32(raw)) + b"x"),
    ):
        yield Case(f"Unicode path {label}", with_entry(index, extra=z.entries[index].extra + extra))
    # data before the archive: offsets kept (zipfile shifts them), and offsets adjusted
    yield Case("64 bytes before the archive", b"\x7fELF" + b"\0" * 60 + z.build())
    shifted = [_copy(e, offset=int(e.fields[18]) + 64) for e in z.entries]
    yield Case(
        "64 bytes before, offsets adjusted",
        b"\0" * 64 + z.build(head=z.head, entries=shifted, offset=len(z.head) + 64),
    )
    yield Case("empty archive", EOCD.pack(b"PK\x05\x06", 0, 0, 0, 0, 0, 0, 0))
    yield Case(
        "empty central directory", z.head + EOCD.pack(b"PK\x05\x06", 0, 0, 0, 0, 0, len(z.head), 0)
    )


def _unicode_path(raw: bytes, name: str) -> bytes:
    encoded = name.encode()
    return struct.pack("<HHBL", 0x7075, 5 + len(encoded), 1, zlib.crc32(raw)) + encoded


def restore(mutant: bytes, base: bytes, zone: range) -> bytes:
    """``mutant`` with the bytes of ``zone`` put back as ``base`` has them."""
    out = bytearray(mutant)
    for at in zone:
        if at < len(out) and at < len(base):
            out[at] = base[at]
    return bytes(out)


def metadata_zone(data: bytes) -> range:
    """METADATA's member in ``data``: its local header's extra length, name, extra, data."""
    z = Layout.of(data)
    local, _, end = z.local(z.index(b".dist-info/METADATA"))
    return range(local + 28, end)
