"""What a cached body is: wheel, sdist, index page, or something else — from its bytes.

Pure over file objects and bytes; every read is bounded and nothing is trusted:

- a wheel is read through its end record and central directory
  (:mod:`cachecensus.zipreader`, zipfile's checks without its cost): every header walked,
  ``WHEEL`` inflated, ``METADATA`` only when the ``.dist-info`` directory does not name the
  wheel (or to verify), each capped;
- an sdist's tar stream is inflated through a capped reader and walked for at most
  :data:`MAX_TAR_MEMBERS` members / :data:`MAX_TAR_BYTES` bytes; a zip sdist is read like a
  wheel (central directory, ``PKG-INFO``);
- index pages (PEP 691 JSON, PEP 503 HTML) are parsed only below a size cap, after undoing a
  ``Content-Encoding`` (pip stores bodies as they came off the wire).

Anything truncated, corrupt or hostile (zip/gzip bombs, absurd member names, undecodable
text) becomes ``Kind.CORRUPT`` with a reason instead of an exception.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import re
import tarfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Protocol, cast

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from cachecensus import zipreader as zr
from cachecensus.models import Kind

#: Bytes of ``METADATA``/``PKG-INFO``/``WHEEL`` inflated (the headers we need come first).
METADATA_READ = 256 << 10
#: A metadata member that claims more than this, or inflates more than
#: :data:`MAX_RATIO` times its compressed size past 1 MiB, is a bomb.
MAX_METADATA_CLAIM = 16 << 20
MAX_RATIO = 200
MAX_MEMBER_NAME = zr.MAX_NAME
MAX_TAR_MEMBERS = 400
MAX_TAR_BYTES = 16 << 20  # inflated bytes an sdist's tar stream may yield
MAX_INDEX_PAGE = 64 << 20  # inflated bytes of an index page
SNIFF = 512

_TITLE = re.compile(rb"<title>\s*Links for ([^<]{1,300}?)\s*</title>", re.I)
_H1 = re.compile(rb"<h1>\s*Links for ([^<]{1,300}?)\s*</h1>", re.I)
_ANCHOR = re.compile(rb"<a\s[^>]*>\s*([^<]{1,400}?)\s*</a>", re.I)
_JSON_NAME_FIRST = re.compile(
    rb'\{\s*"meta"\s*:\s*\{[^{}]*\}\s*,\s*"name"\s*:\s*"([^"\\]{1,300})"\s*[,}]'
)
#: A PEP 691 page's keys that say what it is (with the value when it is a plain string).
_JSON_KEYS = re.compile(rb'"(name|meta|files|projects)"\s*:\s*(?:"([^"\\]{1,300})")?')
_CORRUPT_ERRORS = (
    tarfile.TarError,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    OSError,
    ValueError,
    UnicodeError,
    NotImplementedError,
    RuntimeError,
    KeyError,
    IndexError,
    OverflowError,
    MemoryError,
)


@dataclass(frozen=True)
class Identity:
    """What a body is. ``project`` is PEP 503-normalised, ``version`` PEP 440-normalised."""

    kind: Kind
    project: str | None = None
    version: str | None = None
    filename: str | None = None
    detail: str | None = None


class Source(Protocol):
    """What identification reads from: a seekable binary file (``BytesIO``, an open file,
    a :class:`Region`)."""

    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...

    def tell(self) -> int: ...


class TooBig(ValueError):
    """A bounded read reached its cap."""


# ---------------------------------------------------------------------- small helpers


def _version(raw: str | None) -> str | None:
    if not raw or not raw.strip():
        return None
    try:
        return str(Version(raw.strip()))
    except InvalidVersion:
        return raw.strip()[:100]


def _name(raw: str | None) -> str | None:
    if not raw or not raw.strip() or len(raw) > 300:
        return None
    return canonicalize_name(raw.strip())


def _reason(prefix: str, exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{prefix}: {text}"[:300]


def metadata_headers(data: bytes, wanted: frozenset[str]) -> dict[str, list[str]]:
    """The RFC 822 headers named in ``wanted`` (lower case) of a core-metadata file.

    Only the header block (up to the first empty line) is decoded, strictly as UTF-8: a
    non-UTF-8 header raises :class:`UnicodeDecodeError`.  Continuation lines are skipped
    (Name, Version, Tag and Build never have them).
    """
    end = data.find(b"\n\n")
    if end < 0:
        end = data.find(b"\r\n\r\n")
    text = (data if end < 0 else data[:end]).decode("utf-8")
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line.strip():
            break
        if line[0] in " \t":
            continue
        key, sep, value = line.partition(":")
        if sep:
            key = key.strip().lower()
            if key in wanted:
                found.setdefault(key, []).append(value.strip())
    return found


_NAME_VERSION = frozenset({"name", "version"})


def parse_metadata(data: bytes) -> tuple[str | None, str | None]:
    """(project, version) from core metadata (METADATA / PKG-INFO); raises UnicodeError."""
    headers = metadata_headers(data, _NAME_VERSION)
    return _name(_first(headers, "name")), _version(_first(headers, "version"))


def _first(headers: dict[str, list[str]], key: str) -> str | None:
    values = headers.get(key)
    return values[0] if values else None


class _Capped(io.RawIOBase):
    """Reads from ``inner`` but raises :class:`TooBig` once ``cap`` bytes have been read."""

    def __init__(self, inner: Source, cap: int) -> None:
        self.inner = inner
        self.left = cap

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = self.left + 1
        data = self.inner.read(min(size, self.left + 1))
        self.left -= len(data)
        if self.left < 0:
            raise TooBig("inflates past the cap")
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _inflate(fh: Source, encoding: str, cap: int) -> bytes:
    """The body decoded from a ``Content-Encoding``, at most ``cap`` bytes (else TooBig)."""
    if encoding in ("gzip", "x-gzip"):
        return _Capped(gzip.GzipFile(fileobj=cast(BinaryIO, fh)), cap).read()
    if encoding == "deflate":
        raw = fh.read(cap + 1)
        for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):
            try:
                inflater = zlib.decompressobj(wbits)
                out = inflater.decompress(raw, cap + 1)
                if len(out) > cap:
                    raise TooBig("inflates past the cap")
                return out
            except zlib.error:
                continue
        raise ValueError("undecodable deflate body")
    raise NotImplementedError(f"Content-Encoding {encoding}")


# ---------------------------------------------------------------------- zip: wheels

#: A wheel's escaped project name (PEP 427: no ``-``), as its ``.dist-info`` directory spells it.
_WHEEL_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._]*[A-Za-z0-9])?", re.ASCII)
_ZIP_HEADS = (b"PK\x03\x04", b"PK\x05\x06")


def _claims(member: zr.Member) -> None:
    """A metadata member that claims too much is a bomb (raises :class:`TooBig`)."""
    if member.file_size > MAX_METADATA_CLAIM:
        raise TooBig(f"{member.filename[:100]} claims {member.file_size} bytes")
    if member.file_size > 1 << 20 and member.file_size > MAX_RATIO * max(1, member.compress_size):
        raise TooBig(f"{member.filename[:100]} inflates {member.file_size} bytes (zip bomb)")


def _read_member(body: zr.Body, cd: zr.Directory, member: zr.Member, limit: int) -> bytes:
    _claims(member)
    return zr.read_member(body, cd, member, limit)


def name_version_pair(directory: str) -> tuple[str, str] | None:
    """(project, version) a ``NAME-VERSION`` directory names (a wheel's ``.dist-info``, an
    sdist's top), normalised, when it is one escaped name (no ``-``) and one valid PEP 440
    version; None otherwise."""
    name, sep, version = directory.removesuffix(".dist-info").partition("-")
    if not sep or "-" in version or not _WHEEL_NAME.fullmatch(name):
        return None
    try:
        return canonicalize_name(name), str(Version(version))
    except InvalidVersion:
        return None


def _sound(body: zr.Body, cd: zr.Directory, member: zr.Member) -> bool:
    try:
        _claims(member)
    except TooBig:
        return False
    return zr.plainly_stored(body, cd, member)


def _zip(body: zr.Body, verify: bool) -> tuple[Identity, bool]:
    """(what the zip ``body`` is, whether the archive starts the body)."""
    try:
        cd = zr.Directory(body)
        found = _zip_directory(body, cd, verify)
    except (TooBig, zr.ZipBomb) as exc:
        return Identity(Kind.CORRUPT, detail=_reason("zip bomb or hostile zip", exc)), False
    except _CORRUPT_ERRORS as exc:
        return Identity(Kind.CORRUPT, detail=_reason("bad zip", exc)), False
    return found, cd.concat == 0


def _zip_directory(body: zr.Body, cd: zr.Directory, verify: bool) -> Identity:
    found = cd.members_with()
    meta = next(
        (
            m
            for m in found
            if m.filename.endswith(".dist-info/METADATA") and m.filename.count("/") == 1
        ),
        None,
    )
    if meta is None:
        return _zip_sdist(body, cd)
    distinfo = meta.filename.split("/")[0]
    wheel = next((m for m in found if m.filename == f"{distinfo}/WHEEL"), None)
    pair = name_version_pair(distinfo)
    project: str | None
    version: str | None
    if pair is not None and wheel is not None and not verify and _sound(body, cd, meta):
        project, version = pair  # named by its central directory; METADATA not inflated
    else:
        headers = metadata_headers(_read_member(body, cd, meta, METADATA_READ), _NAME_VERSION)
        project = _name(_first(headers, "name"))
        version = _version(_first(headers, "version"))
        if verify and pair is not None and (project, version) != pair:
            return Identity(
                Kind.CORRUPT,
                detail=f"METADATA names {project} {version}, its directory {distinfo}"[:300],
            )
    tags = _wheel_tags(body, cd, wheel) if wheel is not None else None
    if not project:
        return Identity(Kind.CORRUPT, detail="wheel METADATA has no Name")
    filename = None
    if version and tags:
        filename = f"{project.replace('-', '_')}-{version}-{tags}.whl"
    return Identity(Kind.WHEEL, project, version, filename)


def identify_zip(fh: Source, *, verify: bool = False) -> Identity:
    """A wheel (``*.dist-info/METADATA``) or a zip sdist (``TOP/PKG-INFO``), read through
    :mod:`cachecensus.zipreader`: the end record and central directory, every header of it
    walked and checked as :mod:`zipfile` checks it, then ``WHEEL`` (its tags).

    The project and version are the ``NAME-VERSION.dist-info`` directory's when it is a
    valid pair and ``METADATA``'s entry is sound (local header, sizes, CRC and extent agree
    with the central directory); otherwise ``METADATA`` is inflated and read. ``verify``:
    ``METADATA`` is always inflated (CRC-checked) and must agree with the directory name.
    Damage inside a member's data is not looked for without ``verify``: that is what a body
    hash is for."""
    size = fh.seek(0, 2)
    try:
        body = zr.Body(fh, size)
    except _CORRUPT_ERRORS as exc:
        return Identity(Kind.CORRUPT, detail=_reason("bad zip", exc))
    return _zip(body, verify)[0]


#: Kept for callers that name the format they expect.
identify_wheel = identify_zip

_TAG_BUILD = frozenset({"tag", "build"})


def _wheel_tags(body: zr.Body, cd: zr.Directory, wheel: zr.Member) -> str | None:
    """``[BUILD-]PY-ABI-PLAT`` of the wheel's filename, from ``WHEEL``'s Tag lines."""
    headers = metadata_headers(_read_member(body, cd, wheel, 64 << 10), _TAG_BUILD)
    parts = [t.split("-") for t in headers.get("tag", []) if t.count("-") == 2]
    if not parts or any(not all(p) for p in parts):
        return None
    if len(parts) == 1:
        tags = "-".join(parts[0])
    else:
        tags = "-".join(".".join(dict.fromkeys(p[i] for p in parts)) for i in range(3))
    build = (headers.get("build") or [""])[0]
    if build and build[0].isdigit() and "-" not in build:
        return f"{build}-{tags}"
    return tags


def _split_top(top: str, suffix: str) -> tuple[str | None, str | None]:
    """(project, version) from an sdist's ``name-version`` top directory."""
    try:
        name, version = parse_sdist_filename(top + suffix)
        return str(name), str(version)
    except (InvalidSdistFilename, InvalidVersion, ValueError):
        name_part, sep, version_part = top.rpartition("-")
        if not sep:
            return _name(top), None
        return _name(name_part), _version(version_part)


def _zip_sdist(body: zr.Body, cd: zr.Directory) -> Identity:
    infos = cd.all_members()
    tops = {i.filename.split("/")[0] for i in infos}
    if len(tops) != 1 or not any("/" in i.filename for i in infos):
        return Identity(Kind.UNKNOWN, detail="zip archive that is neither wheel nor sdist")
    top = tops.pop()
    pkg = next((i for i in infos if i.filename == f"{top}/PKG-INFO"), None)
    project = version = None
    if pkg is not None:
        project, version = parse_metadata(_read_member(body, cd, pkg, METADATA_READ))
    if not project:
        project, version = _split_top(top, ".zip")
    return Identity(Kind.SDIST, project, version, f"{top}.zip")


# ---------------------------------------------------------------------- tar: sdists


def _decompressor(fh: Source, head: bytes) -> Source:
    if head[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=cast(BinaryIO, fh))
    if head[:3] == b"BZh":
        return bz2.BZ2File(cast(BinaryIO, fh))
    if head[:6] == b"\xfd7zXZ\x00":
        return lzma.LZMAFile(cast(BinaryIO, fh))
    return fh


#: Bytes of an sdist's head read, and at most inflated, for its first member's header.
TAR_HEAD = 16 << 10
TAR_HEAD_INFLATED = 8 << 10


def _first_member(fh: Source, head: bytes) -> str | None:
    """The first member's name of a tar stream, from at most :data:`TAR_HEAD` bytes of its
    head inflated to at most :data:`TAR_HEAD_INFLATED`; None if it is not plainly there."""
    fh.seek(0)
    prefix = fh.read(TAR_HEAD)
    fh.seek(0)
    try:
        if head[:2] == b"\x1f\x8b":
            data = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(prefix, TAR_HEAD_INFLATED)
        elif head[:6] == b"\xfd7zXZ\x00":
            data = lzma.LZMADecompressor().decompress(prefix, TAR_HEAD_INFLATED)
        else:
            data = prefix
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            member = tar.next()
    except _CORRUPT_ERRORS:
        return None
    if member is None or len(member.name) > MAX_MEMBER_NAME:
        return None
    name = member.name.removeprefix("./")
    if "/" not in name.rstrip("/") and not member.isdir():
        return None
    return name.split("/")[0] or None


def _whole_stream(head: bytes, tail: bytes, size: int) -> bool:
    """Whether the body's end looks like the end of its stream: gzip's trailer giving a
    whole number of tar blocks, xz's footer, a plain tar's two zero blocks. (A cut body
    passes by chance at most 1 in 512; bzip2 has no such mark, so it never passes.)"""
    if len(tail) != min(size, zr.TAIL) or size < 32:
        return False
    if head[:2] == b"\x1f\x8b":
        inflated = int.from_bytes(tail[-4:], "little")  # modulo 4 GiB, a multiple of 512
        return inflated % 512 == 0 and inflated >= 1024
    if head[:6] == b"\xfd7zXZ\x00":
        return tail[-2:] == b"YZ"
    return head[257:262] == b"ustar" and size % 512 == 0 and not tail[-1024:].strip(b"\0")


def identify_tar(fh: Source, tail: bytes = b"", size: int = 0, *, verify: bool = False) -> Identity:
    """A tar sdist (gzip, bzip2, xz or plain).

    With ``tail`` (the body's last :data:`~cachecensus.zipreader.TAIL` of ``size`` bytes)
    and without ``verify``: named by its ``NAME-VERSION`` top directory, read from the first
    member's header, when that is a valid pair and the stream ends whole. Otherwise (and
    with ``verify``) walked: ``TOP/PKG-INFO`` if met within the caps, else the top
    directory. At most :data:`MAX_TAR_BYTES` are inflated."""
    head = fh.read(SNIFF)
    fh.seek(0)
    suffix = {b"\x1f\x8b": ".tar.gz", b"BZ": ".tar.bz2", b"\xfd7": ".tar.xz"}.get(head[:2], ".tar")
    if not verify and _whole_stream(head, tail, size):
        first = _first_member(fh, head)
        pair = name_version_pair(first) if first else None
        if pair is not None:
            return Identity(Kind.SDIST, pair[0], pair[1], f"{first}{suffix}")
    top: str | None = None
    walked = 0
    try:
        stream = _Capped(_decompressor(fh, head), MAX_TAR_BYTES)
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for count, member in enumerate(tar):
                name = member.name
                if len(name) > MAX_MEMBER_NAME:
                    return Identity(Kind.CORRUPT, detail="tar member name too long")
                name = name.removeprefix("./")
                if top is None:
                    if "/" not in name.rstrip("/") and not member.isdir():
                        return Identity(Kind.UNKNOWN, detail="tar archive that is not an sdist")
                    top = name.split("/")[0] or None
                if member.isfile() and name == f"{top}/PKG-INFO":
                    if member.size > MAX_METADATA_CLAIM:
                        return Identity(Kind.CORRUPT, detail="PKG-INFO too large")
                    extracted = tar.extractfile(member)
                    if extracted is not None:
                        project, version = parse_metadata(extracted.read(METADATA_READ))
                        if project:
                            return Identity(Kind.SDIST, project, version, f"{top}{suffix}")
                    break
                # stop *before* the stream inflates past the cap to reach the next member
                walked += member.size
                if count + 1 >= MAX_TAR_MEMBERS or walked > MAX_TAR_BYTES:
                    break
    except TooBig as exc:
        if top is None:
            return Identity(Kind.CORRUPT, detail=_reason("archive bomb", exc))
    except _CORRUPT_ERRORS as exc:
        if top is None:
            return Identity(Kind.CORRUPT, detail=_reason("bad sdist", exc))
        # a truncated tail after the top dir was seen: name it, but say it is broken
        project, version = _split_top(top, suffix)
        return Identity(
            Kind.CORRUPT, project, version, detail=_reason("truncated or corrupt sdist", exc)
        )
    if not top:
        return Identity(Kind.CORRUPT, detail="empty archive")
    project, version = _split_top(top, suffix)
    if not project:
        return Identity(Kind.UNKNOWN, detail="tar archive that is not an sdist")
    return Identity(Kind.SDIST, project, version, f"{top}{suffix}")


#: Kept for callers that name the format they expect.
identify_tar_sdist = identify_tar


# ---------------------------------------------------------------------- index pages


def _project_from_links(data: bytes) -> str | None:
    """The one project every distribution link of a PEP 503 page names, if they agree."""
    names: set[str] = set()
    for match in _ANCHOR.finditer(data):
        text = match.group(1).decode("utf-8", "replace").strip()
        try:
            if text.endswith(".whl"):
                names.add(str(parse_wheel_filename(text)[0]))
            elif text.endswith((".tar.gz", ".zip", ".tar.bz2", ".tgz")):
                stem = text.replace(".tgz", ".tar.gz").replace(".tar.bz2", ".tar.gz")
                names.add(str(parse_sdist_filename(stem)[0]))
        except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion, ValueError):
            continue
        if len(names) > 1:
            return None
    return names.pop() if names else None


def _json_page_name(data: bytes) -> str | None:
    """The project a PEP 691 page names, without parsing it: an object (``{`` … ``}``) that
    starts ``{"meta": {…}, "name": "…"``, or whose keys, found in one pass, include
    ``"meta"``, ``"files"`` and exactly one ``"name"`` (a plain string, one level deep by
    the brackets around it), and no ``"projects"``. None when it is not plainly so (then it
    is parsed)."""
    text = data.strip()
    if text[:1] != b"{" or text[-1:] != b"}":
        return None
    match = _JSON_NAME_FIRST.match(text, 0, 4096)
    raw = match.group(1) if match is not None else None
    if match is None:
        found: dict[bytes, list[re.Match[bytes]]] = {}
        for key in _JSON_KEYS.finditer(text):
            found.setdefault(key.group(1), []).append(key)
        names = found.get(b"name", [])
        if len(names) != 1 or b"meta" not in found or b"files" not in found:
            return None
        match = names[0]
        # one level deep: counted over the shorter side (with PyPI's sorted keys, the end)
        if match.start() < len(text) // 2:
            side, sign = text[: match.start()], 1
        else:
            side, sign = text[match.start() :], -1
        opened = side.count(b"{") - side.count(b"}") + side.count(b"[") - side.count(b"]")
        depth = sign * opened
        raw = match.group(2)
        if b"projects" in found or depth != 1:
            return None
    if raw is None:
        return None
    try:
        return _name(raw.decode("utf-8"))
    except UnicodeError:
        return None


def identify_index_page(data: bytes, content_type: str | None = None) -> Identity:
    """A PEP 691 JSON or PEP 503 HTML project page: the project it lists (a JSON page whose
    name is plainly there is not parsed: json.loads of a 3 MB page takes ~17 ms)."""
    if data.lstrip()[:1] == b"{":
        name = _json_page_name(data)
        if name:
            return Identity(Kind.INDEX_PAGE, name)
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeError, RecursionError) as exc:
            return Identity(Kind.CORRUPT, detail=_reason("bad JSON index page", exc))
        if not isinstance(doc, dict) or not isinstance(doc.get("meta"), dict):
            return Identity(Kind.UNKNOWN, detail="JSON that is not a PEP 691 page")
        if isinstance(doc.get("name"), str):
            name = _name(doc["name"])
            if name:
                return Identity(Kind.INDEX_PAGE, name)
        if isinstance(doc.get("projects"), list):
            return Identity(Kind.INDEX_PAGE, detail="the index's list of projects")
        return Identity(Kind.UNKNOWN, detail="PEP 691 JSON without a project name")
    window = data[: 1 << 20]
    match = _TITLE.search(window) or _H1.search(window)
    if match:
        try:
            name = _name(match.group(1).decode("utf-8"))
        except UnicodeError:
            return Identity(Kind.CORRUPT, detail="index page title is not UTF-8")
        if name:
            return Identity(Kind.INDEX_PAGE, name)
    if b"<a" in window.lower() or b"<html" in window[:4096].lower():
        name = _project_from_links(window)
        if name:
            return Identity(Kind.INDEX_PAGE, name)
        if b"<html" in window[:4096].lower() and b"simple index" in window[:4096].lower():
            return Identity(Kind.INDEX_PAGE, detail="the index's list of projects")
    return Identity(Kind.UNKNOWN, detail=f"content type {content_type or 'unknown'}")


# ---------------------------------------------------------------------- any body


def _media(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def identify_body(
    fh: Source,
    size: int,
    content_type: str | None = None,
    content_encoding: str | None = None,
    *,
    verify: bool = False,
) -> Identity:
    """Identify a cached HTTP body: ``fh`` is seekable, positioned at 0, ``size`` bytes.

    ``content_type``/``content_encoding`` are the record's headers (pip stores the body as
    it came off the wire, so a ``gzip`` encoding is undone here, capped). The first read is
    the body's last :data:`~cachecensus.zipreader.TAIL` bytes (a wheel's end record); the
    head is read only when the tail names no zip. ``verify``: see :func:`identify_zip`."""
    try:
        return _identify_body(fh, size, content_type, content_encoding, verify)
    except _CORRUPT_ERRORS as exc:  # a last line: the format helpers catch their own
        return Identity(Kind.CORRUPT, detail=_reason("unreadable body", exc))


def _identify_body(
    fh: Source, size: int, content_type: str | None, content_encoding: str | None, verify: bool
) -> Identity:
    ct = _media(content_type)
    encoding = (content_encoding or "").strip().lower()
    if size == 0:
        return Identity(Kind.CORRUPT, detail="empty body")
    if encoding and encoding != "identity":
        try:
            data = _inflate(fh, encoding, MAX_INDEX_PAGE)
        except NotImplementedError as exc:
            return Identity(Kind.UNKNOWN, detail=str(exc))
        except TooBig as exc:
            return Identity(Kind.CORRUPT, detail=_reason(f"{encoding} body", exc))
        except _CORRUPT_ERRORS as exc:
            return Identity(Kind.CORRUPT, detail=_reason(f"bad {encoding} body", exc))
        return identify_bytes(data, content_type, verify=verify)
    body = zr.Body(fh, size)  # the first read: the tail, where a zip's end record is
    seen: Identity | None = None
    if body.tail[-22:-18] == b"PK\x05\x06" or b"PK\x05\x06" in body.tail:
        seen, at_start = _zip(body, verify)
        if at_start and seen.kind is not Kind.CORRUPT:
            return seen
    if body.tail_start == 0:
        head = body.tail[:SNIFF]
    else:
        fh.seek(0)
        head = fh.read(SNIFF)
    fh.seek(0)
    if head[:4] in _ZIP_HEADS:
        return seen if seen is not None else _zip(body, verify)[0]
    if head[:2] == b"\x1f\x8b" and ("json" in ct or "html" in ct):
        # a compressed page saved without its Content-Encoding header
        try:
            data = _Capped(gzip.GzipFile(fileobj=cast(BinaryIO, fh)), MAX_INDEX_PAGE).read()
        except _CORRUPT_ERRORS as exc:
            return Identity(Kind.CORRUPT, detail=_reason("bad gzip page", exc))
        return identify_index_page(data, ct)
    if (
        head[:2] == b"\x1f\x8b"
        or head[:3] == b"BZh"
        or head[:6] == b"\xfd7zXZ\x00"
        or head[257:262] == b"ustar"
    ):
        return identify_tar(fh, body.tail, size, verify=verify)
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"<") or "json" in ct or "html" in ct:
        if size > MAX_INDEX_PAGE:
            return Identity(Kind.UNKNOWN, detail=f"{ct or 'page'} of {size} bytes, not parsed")
        whole = body.tail if body.tail_start == 0 else fh.read(MAX_INDEX_PAGE)
        return identify_index_page(whole, ct)
    return Identity(Kind.UNKNOWN, detail=f"content type {ct or 'unknown'}")


def identify_bytes(
    data: bytes,
    content_type: str | None = None,
    content_encoding: str | None = None,
    *,
    verify: bool = False,
) -> Identity:
    """:func:`identify_body` over bytes in memory."""
    return identify_body(io.BytesIO(data), len(data), content_type, content_encoding, verify=verify)


def sha256_of(fh: Source) -> str:
    """Hex sha256 of everything ``fh`` yields (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    for block in iter(lambda: fh.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


class Region(io.RawIOBase):
    """A read-only, seekable view of ``length`` bytes at ``offset`` of file descriptor
    ``fd``, read with ``pread``; the last ``tail`` bytes are fetched in one read when first
    touched (identification reads them first: a zip's end record, and for most wheels its
    central directory and ``dist-info`` members, live there).

    The descriptor stays the caller's; closing the region does not close it."""

    def __init__(self, fd: int, offset: int, length: int, tail: int = zr.TAIL) -> None:
        self.fd = fd
        self.offset = offset
        self.length = length
        self.pos = 0
        self.tail_start = max(0, length - tail)
        self.tail: bytes | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, pos: int, whence: int = 0) -> int:
        base = (0, self.pos, self.length)[whence]
        if base + pos < 0:
            raise OSError(22, "negative seek position")
        self.pos = base + pos
        return self.pos

    def read(self, size: int | None = -1) -> bytes:
        left = self.length - self.pos
        if size is None or size < 0 or size > left:
            size = left
        if size <= 0:
            return b""
        if self.pos >= self.tail_start:
            if self.tail is None:
                self.tail = os.pread(
                    self.fd, self.length - self.tail_start, self.offset + self.tail_start
                )
            start = self.pos - self.tail_start
            data = self.tail[start : start + size]
        else:
            data = os.pread(self.fd, size, self.offset + self.pos)
        self.pos += len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
