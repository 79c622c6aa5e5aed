"""A zip's end record and central directory, read the way :mod:`zipfile` reads them but only
as far as naming a wheel needs.

``zipfile.ZipFile()`` builds a ``ZipInfo`` for every member, in Python: milliseconds for
numpy's 1 044 members, most of an identification. Here:

- the end-of-central-directory record is found where zipfile finds it (the last 22 bytes,
  else the *last* ``PK\\5\\6`` in the last 64 KiB + 22), a zip64 locator and record before it
  read as zipfile reads them, and the central directory read in one piece (its size capped);
- every header of the central directory is walked with one ``struct.unpack_from`` and checked
  as zipfile checks it (signature, truncation, version needed to extract); the few headers
  zipfile would decode further (UTF-8 names, extra fields, long names) are decoded exactly
  as it does (zip64 sizes and offsets, the Info-ZIP Unicode path of Python 3.12+);
- the names that matter (``*.dist-info/METADATA``, ``WHEEL``) are found in the raw bytes
  with a compiled pattern, and only those headers become :class:`Member`\\ s;
- a member is read as ``ZipFile.open(member).read(limit)`` reads it: local header checked
  (signature, the same name), the overlap test of Python 3.13 (a member's data may not run
  into the next member: the "quoted overlap" zip bomb), stored/deflate/bzip2/LZMA data
  inflated through the same loop, CRC-checked when its end is reached.

Every size is bounded (:data:`MAX_CD_BYTES`, :data:`MAX_MEMBERS`, :data:`MAX_NAME`,
:data:`MAX_MEMBER_READ`); anything zipfile would refuse raises :class:`ZipError` with
zipfile's own reason, never another exception from here.
"""

from __future__ import annotations

import bisect
import bz2
import lzma
import re
import struct
import zlib
from typing import Any, NamedTuple, Protocol

#: Bytes of a body's tail read first: a wheel's end record and (below ~150 members) its
#: central directory, ``WHEEL`` and usually ``METADATA`` live there.
TAIL = 16 << 10
#: A central directory larger than this is refused (numpy's is ~100 KiB).
MAX_CD_BYTES = 64 << 20
MAX_MEMBERS = 200_000
MAX_NAME = 4096
#: Compressed bytes read for one member before it is called a bomb.
MAX_MEMBER_READ = 64 << 20

_EOCD_SIG = b"PK\x05\x06"
_LOCATOR_SIG = b"PK\x06\x07"
_EOCD64_SIG = b"PK\x06\x06"
_LOCAL_SIG = b"PK\x03\x04"
_EOCD = struct.Struct("<4s4H2LH")  # zipfile's structEndArchive
_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
#: A central-directory header, only the fields the walk needs: signature, version needed to
#: extract, flags, name/extra/comment lengths, local header offset (46 bytes in all).
_WALK = struct.Struct("<I2xBxH18x3H8xL")
_HEADER = struct.Struct("<4s4B4HL2L5H2L")  # zipfile's structCentralDir
#: Flags, method, CRC, compressed and file size, name length of a central-directory header.
_FIELDS = struct.Struct("<8x2H4x3LH")
_LOCAL = struct.Struct("<4s2B4HL2L2H")  # zipfile's structFileHeader
_HH = struct.Struct("<HH")
_Q = struct.Struct("<Q")
_BL = struct.Struct("<BL")
_MAX_EXTRACT_VERSION = 63
_UTF8 = 0x800
_ENCRYPTED = 0x1
_DESCRIPTOR = 0x8
_PATCHED = 0x20
_STRONG = 0x40
#: What the names a wheel is read by hold (``*.dist-info/METADATA``, ``*.dist-info/WHEEL``).
WHEEL_NAMES = re.compile(rb"\.dist-info/(?:METADATA|WHEEL)")
_MIN_READ = 4096  # ZipExtFile.MIN_READ_SIZE
_READ_AHEAD = 4096


class ZipError(ValueError):
    """A body zipfile would not read (its reason), or one past our bounds."""


class ZipBomb(ZipError):
    """A zip or member that claims more than the caps allow."""


class Source(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...


class Body:
    """Positional, bounded reads of one body of ``size`` bytes; its last :data:`TAIL` bytes
    are read once, first, and later reads inside them cost nothing."""

    def __init__(self, fh: Source, size: int) -> None:
        self.fh = fh
        self.size = size
        self.tail_start = max(0, size - TAIL)
        fh.seek(self.tail_start)
        self.tail = fh.read(size - self.tail_start)
        if len(self.tail) != size - self.tail_start:
            raise ZipError("the body is shorter than its size")
        self.chunk = b""
        self.chunk_start = 0

    def read(self, pos: int, length: int) -> bytes:
        """``length`` bytes at ``pos`` (fewer at the end), as ``seek`` + ``read`` would give;
        a negative position is an error, as it is for a file."""
        if pos < 0:
            raise ZipError("negative seek position")
        if pos >= self.tail_start:
            start = pos - self.tail_start
            return self.tail[start : start + length]
        if length <= 0 or pos >= self.size:
            return b""
        start = pos - self.chunk_start
        if start >= 0 and pos + length <= self.chunk_start + len(self.chunk):
            return self.chunk[start : start + length]
        # at least a few KiB: a local header read here is followed by its data
        self.fh.seek(pos)
        self.chunk = self.fh.read(min(max(length, _READ_AHEAD), self.tail_start - pos))
        self.chunk_start = pos
        if len(self.chunk) >= length or pos + len(self.chunk) < self.tail_start:
            return self.chunk[:length]
        return self.chunk + self.tail[: pos + length - self.tail_start]


class Member(NamedTuple):
    """One central-directory header, as zipfile's ``ZipInfo`` would hold it."""

    number: int  # its place in the central directory
    filename: str  # ZipInfo.filename: cut at a NUL, or the Unicode path (Python 3.12+)
    orig_filename: str  # ZipInfo.orig_filename: what the local header must repeat
    raw_name: bytes
    flags: int
    method: int
    crc: int
    compress_size: int
    file_size: int
    offset: int  # of its local header in the body (a prefix before the zip included)


def _decode(raw: bytes, flags: int) -> str:
    try:
        return raw.decode("utf-8") if flags & _UTF8 else raw.decode("cp437")
    except UnicodeDecodeError as exc:
        raise ZipError(f"member name is not UTF-8: {raw[:100]!r}") from exc


def _sanitize(name: str) -> str:
    nul = name.find("\0")
    return name if nul < 0 else name[:nul]


def _unpack_extra(extra: bytes, raw_name: bytes, sizes: list[int]) -> str | None:
    """zipfile's ``ZipInfo._decodeExtra`` (Python 3.13): updates ``sizes`` (file size,
    compressed size, header offset) from zip64 fields; returns a Unicode path's name."""
    renamed: str | None = None
    while len(extra) >= 4:
        kind, length = _HH.unpack_from(extra)
        if length + 4 > len(extra):
            raise ZipError(f"Corrupt extra field {kind:04x} (size={length})")
        data = extra[4 : length + 4]
        if kind == 0x0001:
            for field, sentinels in enumerate(
                ((0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF), (0xFFFF_FFFF,), (0xFFFF_FFFF,))
            ):
                if sizes[field] in sentinels:
                    if len(data) < 8:
                        raise ZipError("Corrupt zip64 extra field")
                    sizes[field] = _Q.unpack_from(data)[0]
                    data = data[8:]
        elif kind == 0x7075:
            if len(data) < 5:
                raise ZipError("Corrupt unicode path extra field (0x7075)")
            version, name_crc = _BL.unpack_from(data)
            if version == 1 and name_crc == zlib.crc32(raw_name):
                try:
                    unicode_name = data[5:].decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise ZipError("Corrupt unicode path extra field (0x7075)") from exc
                if unicode_name:
                    renamed = _sanitize(unicode_name)
        extra = extra[length + 4 :]
    return renamed


class Directory:
    """The central directory of one body, walked and checked as ``zipfile.ZipFile()`` does
    (raises :class:`ZipError` where it raises)."""

    def __init__(self, body: Body) -> None:
        self.body = body
        pos, size_cd, offset_cd, zip64 = _end_record(body)
        self.concat = pos - size_cd - offset_cd - (76 if zip64 else 0)
        self.start = offset_cd + self.concat
        if self.start < 0:
            raise ZipError("Bad offset for central directory")
        if size_cd > MAX_CD_BYTES:
            raise ZipBomb(f"central directory of {size_cd} bytes")
        self.cd = body.read(self.start, size_cd)
        self._walk()

    def _walk(self) -> None:
        cd = self.cd
        end = len(cd)
        unpack = _WALK.unpack_from
        starts: list[int] = []
        offsets: list[int] = []
        odd: list[int] = []  # headers zipfile decodes further: UTF-8 names, extras, long names
        add_start = starts.append
        add_offset = offsets.append
        p = 0
        for index in range(MAX_MEMBERS + 1):  # bounded: a hostile directory ends here
            if p >= end:
                break
            if p + 46 > end:
                raise ZipError("Truncated central directory")
            sig, version, flags, n, m, k, offset = unpack(cd, p)
            if sig != 0x02014B50:
                raise ZipError("Bad magic number for central directory")
            if version > _MAX_EXTRACT_VERSION:
                raise ZipError(f"zip file version {version / 10:.1f}")
            if m > 3 or n > MAX_NAME or flags & _UTF8:
                odd.append(index)
            add_start(p)
            add_offset(offset)
            p += 46 + n + m + k
        else:
            raise ZipBomb(f"more than {MAX_MEMBERS} zip members")
        self.starts = starts
        self.offsets = offsets
        self.renamed: dict[int, str] = {}
        self.sizes: dict[int, list[int]] = {}
        for index in odd:
            self._odd(index)
        self._sorted_offsets: list[int] | None = None

    def _odd(self, index: int) -> None:
        p = self.starts[index]
        head = _HEADER.unpack_from(self.cd, p)
        flags, n, m = head[5], head[12], head[13]
        raw = self.cd[p + 46 : p + 46 + n]
        name = _decode(raw, flags)
        sizes = [head[11], head[10], head[18]]  # file size, compressed size, header offset
        renamed = _unpack_extra(self.cd[p + 46 + n : p + 46 + n + m], raw, sizes)
        self.sizes[index] = sizes
        self.offsets[index] = sizes[2]
        filename = renamed if renamed is not None else _sanitize(name)
        if renamed is not None:
            self.renamed[index] = renamed
        if len(filename) > MAX_NAME:
            raise ZipBomb("zip member name too long")

    def __len__(self) -> int:
        return len(self.starts)

    def member(self, index: int) -> Member:
        p = self.starts[index]
        flags, method, crc, csize, usize, n = _FIELDS.unpack_from(self.cd, p)
        raw = self.cd[p + 46 : p + 46 + n]
        orig = _decode(raw, flags)
        sizes = self.sizes.get(index)
        if sizes is not None:
            usize, csize = sizes[0], sizes[1]
        renamed = self.renamed.get(index)
        filename = renamed if renamed is not None else orig if "\0" not in orig else _sanitize(orig)
        offset = self.offsets[index] + self.concat
        return Member(index, filename, orig, raw, flags, method, crc, csize, usize, offset)

    def members_with(self, pattern: re.Pattern[bytes] = WHEEL_NAMES) -> list[Member]:
        """The members whose name holds ``pattern`` (a name given by a Unicode path extra
        field included), in central-directory order: found in the raw bytes, decoded alone."""
        found: set[int] = set(self.renamed)
        starts = self.starts
        cd = self.cd
        for match in pattern.finditer(cd):
            index = bisect.bisect_right(starts, match.start()) - 1
            if index < 0:
                continue
            p = starts[index]
            if match.end() <= p + 46 + int.from_bytes(cd[p + 28 : p + 30], "little"):
                found.add(index)
        return [self.member(i) for i in sorted(found)]

    def all_members(self) -> list[Member]:
        return [self.member(i) for i in range(len(self.starts))]

    def end_of(self, member: Member) -> int:
        """Where ``member``'s data must end (Python 3.13's ``ZipInfo._end_offset``): the next
        local header by offset, or the central directory; a member sharing its offset with
        an earlier one ends where it starts."""
        raw = self.offsets[member.number]
        if self.offsets.index(raw) < member.number:
            return raw + self.concat
        if self._sorted_offsets is None:
            self._sorted_offsets = sorted(self.offsets)
        after = bisect.bisect_right(self._sorted_offsets, raw)
        if after == len(self._sorted_offsets):
            return self.start
        return self._sorted_offsets[after] + self.concat


def _end_record(body: Body) -> tuple[int, int, int, bool]:
    """(position of the end record, CD size, CD offset, zip64) as zipfile's ``_EndRecData``
    finds them."""
    size = body.size
    if size < 22:
        raise ZipError("File is not a zip file")
    last = body.tail[-22:]
    if last[:4] == _EOCD_SIG and last[-2:] == b"\0\0":
        record, pos = last, size - 22
    else:
        window_start = max(size - (1 << 16) - 22, 0)
        at = body.tail.rfind(_EOCD_SIG)
        if at >= 0:
            window, window_start = body.tail, body.tail_start
        else:
            window = body.read(window_start, size - window_start)
            at = window.rfind(_EOCD_SIG)
        record = window[at : at + 22]
        if at < 0 or len(record) != 22:
            raise ZipError("File is not a zip file")
        pos = window_start + at
    _, _, _, _, _, size_cd, offset_cd, _ = _EOCD.unpack(record)
    if pos < 20:
        return pos, size_cd, offset_cd, False
    locator = body.read(pos - 20, 20)
    if locator[:4] != _LOCATOR_SIG:
        return pos, size_cd, offset_cd, False
    _, disk, _, disks = _LOCATOR.unpack(locator)
    if disk != 0 or disks > 1:
        raise ZipError("zipfiles that span multiple disks are not supported")
    if pos < 76:
        raise ZipError("File is not a zip file")
    record64 = body.read(pos - 76, 56)
    if record64[:4] != _EOCD64_SIG:
        return pos, size_cd, offset_cd, False
    fields = _EOCD64.unpack(record64)
    return pos, fields[8], fields[9], True


# ---------------------------------------------------------------------- members


class Local(NamedTuple):
    """A member's local header, read but not trusted."""

    flags: int
    method: int
    crc: int
    compress_size: int
    file_size: int
    raw_name: bytes
    data: int  # where the member's data starts


def local_header(body: Body, member: Member) -> Local:
    """The local header of ``member`` checked as ``ZipFile.open`` checks it (signature, the
    same name) — not its sizes or CRC, which zipfile takes from the central directory."""
    head = body.read(member.offset, 30 + len(member.raw_name))
    if len(head) < 30:
        raise ZipError("Truncated file header")
    sig, _, _, flags, method, _, _, crc, csize, usize, n, m = _LOCAL.unpack_from(head)
    if sig != _LOCAL_SIG:
        raise ZipError("Bad magic number for file header")
    raw = head[30 : 30 + n] if n <= len(member.raw_name) else body.read(member.offset + 30, n)
    if member.flags & _PATCHED:
        raise ZipError("compressed patched data (flag bit 5)")
    if member.flags & _STRONG:
        raise ZipError("strong encryption (flag bit 6)")
    if _decode(raw, flags) != member.orig_filename:
        raise ZipError(f"File name in directory {member.orig_filename[:100]!r} and header differ")
    return Local(flags, method, crc, csize, usize, raw, member.offset + 30 + len(raw) + m)


def plainly_stored(body: Body, directory: Directory, member: Member) -> bool:
    """Whether ``member`` is a stored or deflated member whose local header repeats its
    central entry (name, method, sizes, CRC; no data descriptor) and whose data lies whole
    between its header and the next: what reading it would check, short of its bytes."""
    if member.flags & (_ENCRYPTED | _DESCRIPTOR | _PATCHED | _STRONG) or member.method not in (
        0,
        8,
    ):
        return False
    try:
        local = local_header(body, member)
    except ZipError:
        return False
    return (
        local.raw_name == member.raw_name
        and (local.flags ^ member.flags) & _UTF8 == 0
        and local.method == member.method
        and local.crc == member.crc
        and local.compress_size == member.compress_size
        and local.file_size == member.file_size
        and local.data + member.compress_size <= min(directory.end_of(member), body.size)
    )


class _Lzma:
    """zipfile's ``LZMADecompressor`` (a 4-byte header, the LZMA1 properties, raw data),
    with ``max_length`` so that a member never inflates past what is kept of it."""

    def __init__(self) -> None:
        self.inner: Any = None
        self.head = b""
        self.eof = False

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self.inner is None:
            self.head += data
            if len(self.head) <= 4:
                return b""
            size = int.from_bytes(self.head[2:4], "little")
            if len(self.head) <= 4 + size:
                return b""
            decode = getattr(lzma, "_decode_filter_properties")  # noqa: B009 - private in typeshed
            self.inner = lzma.LZMADecompressor(
                lzma.FORMAT_RAW, filters=[decode(lzma.FILTER_LZMA1, self.head[4 : 4 + size])]
            )
            data = self.head[4 + size :]
        result: bytes = self.inner.decompress(data, max_length)
        self.eof = self.inner.eof
        return result


def read_member(body: Body, directory: Directory, member: Member, limit: int) -> bytes:
    """``ZipFile.open(member).read(limit)``: the first ``limit`` bytes of the member, its CRC
    checked if its end was reached (raises :class:`ZipError` where zipfile raises)."""
    local = local_header(body, member)
    if local.data + member.compress_size > directory.end_of(member):
        raise ZipBomb(f"Overlapped entries: {member.orig_filename[:100]!r}")
    if member.flags & _ENCRYPTED:
        raise ZipError(f"File {member.filename[:100]!r} is encrypted")
    method = member.method
    decompressor: Any = None
    if method == 8:
        decompressor = zlib.decompressobj(-15)
    elif method == 12:
        decompressor = bz2.BZ2Decompressor()
    elif method == 14:
        decompressor = _Lzma()
    elif method != 0:
        raise ZipError(f"compression type {method}")
    try:
        return _inflate(body, local.data, member, decompressor, limit)
    except (zlib.error, lzma.LZMAError, OSError, EOFError, ValueError, MemoryError) as exc:
        if isinstance(exc, ZipError):
            raise
        raise ZipError(f"{type(exc).__name__}: {exc}"[:200]) from exc


def _inflate(body: Body, pos: int, member: Member, decompressor: Any, limit: int) -> bytes:
    """ZipExtFile's ``read(limit)`` loop (``_read1``/``_read2``), step for step."""
    method = member.method
    compress_left = member.compress_size
    left = member.file_size
    running = 0
    eof = False
    taken = 0
    out: list[bytes] = []
    wanted = limit

    def read2(count: int) -> bytes:
        nonlocal compress_left, pos, taken
        if compress_left <= 0:
            return b""
        count = min(max(count, _MIN_READ), compress_left)
        data = body.read(pos, count)
        pos += len(data)
        taken += len(data)
        compress_left -= len(data)
        if not data:
            raise EOFError("the member runs past the end of the body")
        if taken > MAX_MEMBER_READ:
            raise ZipBomb(f"{member.filename[:100]} reads past {MAX_MEMBER_READ} bytes")
        return data

    while wanted > 0 and not eof:
        if method == 8:
            data = decompressor.unconsumed_tail
            if wanted > len(data):
                data += read2(wanted - len(data))
            data = decompressor.decompress(data, max(wanted, _MIN_READ))
            eof = decompressor.eof or (compress_left <= 0 and not decompressor.unconsumed_tail)
            if eof:
                data += decompressor.flush()
        elif method == 0:
            data = read2(wanted)
            eof = compress_left <= 0
        else:  # bzip2, LZMA: zipfile inflates each chunk whole; what is past ``left`` is
            # cut away below, so asking for no more than that changes nothing but the memory
            data = decompressor.decompress(read2(wanted), max(left, 0) + 1)
            eof = decompressor.eof or compress_left <= 0
        data = data[:left]
        left -= len(data)
        if left <= 0:
            eof = True
        running = zlib.crc32(data, running)
        if eof and running != member.crc:
            raise ZipError(f"Bad CRC-32 for file {member.filename[:100]!r}")
        if wanted < len(data):
            out.append(data[:wanted])
            break
        out.append(data)
        wanted -= len(data)
    return b"".join(out)
