"""What a cached body is: wheel, sdist, index page, or something else — from its bytes.

Pure over file objects and bytes; every read is bounded and nothing is trusted: a wheel is
opened through its zip central directory and only ``*.dist-info/METADATA`` (and ``WHEEL``)
are read, capped; an sdist's tar stream is walked for at most a few hundred members and a
few MiB; index pages are parsed only below a size cap. Anything truncated, corrupt or
hostile (zip/gzip bombs, absurd member names, undecodable text) becomes ``Kind.CORRUPT``
with a reason instead of an exception.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from email.parser import HeaderParser
from typing import BinaryIO

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from cachecensus.models import Kind

#: Caps on what identification may read or inflate.
MAX_METADATA = 1 << 20  # bytes of METADATA / PKG-INFO
MAX_MEMBER_NAME = 4096
MAX_TAR_MEMBERS = 400
MAX_TAR_BYTES = 16 << 20  # decompressed bytes walked in an sdist
MAX_INDEX_PAGE = 32 << 20
SNIFF = 512

WHEEL_CT = ("application/zip", "application/octet-stream", "binary/octet-stream")
_TITLE = re.compile(rb"<title>\s*Links for ([^<\s]+)\s*</title>", re.I)
_H1 = re.compile(rb"<h1>\s*Links for ([^<\s]+)\s*</h1>", re.I)


@dataclass(frozen=True)
class Identity:
    kind: Kind
    project: str | None = None
    version: str | None = None
    filename: str | None = None
    detail: str | None = None


def _version(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return str(Version(raw))
    except InvalidVersion:
        return raw.strip()[:100]


def _name(raw: str | None) -> str | None:
    return canonicalize_name(raw.strip())[:200] if raw and raw.strip() else None


def parse_metadata(data: bytes) -> tuple[str | None, str | None]:
    """(project, version) from core metadata text (METADATA / PKG-INFO)."""
    text = data.decode("utf-8", errors="strict")
    headers = HeaderParser().parsestr(text, headersonly=True)
    return _name(headers.get("Name")), _version(headers.get("Version"))


def _read_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MAX_METADATA:
        raise ValueError(f"{info.filename} claims {info.file_size} bytes")
    with zf.open(info) as member:
        data = member.read(MAX_METADATA + 1)
    if len(data) > MAX_METADATA:
        raise ValueError(f"{info.filename} inflates past {MAX_METADATA} bytes")
    return data


def identify_wheel(fh: BinaryIO) -> Identity:
    """A wheel from its central directory and ``*.dist-info/METADATA`` only."""
    try:
        with zipfile.ZipFile(fh) as zf:
            infos = zf.infolist()
            if any(len(i.filename) > MAX_MEMBER_NAME for i in infos):
                return Identity(Kind.CORRUPT, detail="zip member name too long")
            meta = [
                i
                for i in infos
                if i.filename.count("/") == 1 and i.filename.endswith(".dist-info/METADATA")
            ]
            if not meta:
                return _zip_sdist(zf, infos)
            project, version = parse_metadata(_read_capped(zf, meta[0]))
            tags = _wheel_tags(zf, infos, meta[0].filename.split("/")[0])
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        UnicodeError,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        return Identity(Kind.CORRUPT, detail=f"bad wheel: {exc}"[:300])
    if not project:
        return Identity(Kind.CORRUPT, detail="wheel METADATA has no Name")
    filename = None
    if version and tags:
        filename = f"{project.replace('-', '_')}-{version}-{tags}.whl"
    return Identity(Kind.WHEEL, project, version, filename)


def _wheel_tags(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], distinfo: str) -> str | None:
    wheel = [i for i in infos if i.filename == f"{distinfo}/WHEEL"]
    if not wheel:
        return None
    headers = HeaderParser().parsestr(_read_capped(zf, wheel[0]).decode("utf-8", "replace"))
    tags = headers.get_all("Tag") or []
    if not tags:
        return None
    parts = [t.strip().split("-") for t in tags if t.count("-") == 2]
    if not parts:
        return None
    pys = ".".join(dict.fromkeys(p[0] for p in parts))
    abis = ".".join(dict.fromkeys(p[1] for p in parts))
    plats = ".".join(dict.fromkeys(p[2] for p in parts))
    return f"{pys}-{abis}-{plats}"


def _split_top(top: str) -> tuple[str | None, str | None]:
    name, sep, version = top.rpartition("-")
    if not sep:
        return _name(top), None
    return _name(name), _version(version)


def _zip_sdist(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> Identity:
    tops = {i.filename.split("/")[0] for i in infos if "/" in i.filename}
    if len(tops) != 1:
        return Identity(Kind.UNKNOWN, detail="zip archive that is neither wheel nor sdist")
    top = tops.pop()
    pkg = [i for i in infos if i.filename == f"{top}/PKG-INFO"]
    project, version = parse_metadata(_read_capped(zf, pkg[0])) if pkg else _split_top(top)
    if not project:
        project, version = _split_top(top)
    return Identity(Kind.SDIST, project, version, f"{top}.zip")


def identify_tar_sdist(fh: BinaryIO) -> Identity:
    """A ``.tar.gz`` sdist: ``TOP/PKG-INFO`` if met early, else the ``name-version`` top dir."""
    top: str | None = None
    walked = 0
    try:
        with tarfile.open(fileobj=fh, mode="r|*") as tar:
            for count, member in enumerate(tar):
                if len(member.name) > MAX_MEMBER_NAME:
                    return Identity(Kind.CORRUPT, detail="tar member name too long")
                head = member.name.lstrip("./").split("/")[0]
                top = top or head
                if member.isfile() and member.name.lstrip("./") == f"{top}/PKG-INFO":
                    if member.size > MAX_METADATA:
                        return Identity(Kind.CORRUPT, detail="PKG-INFO too large")
                    extracted = tar.extractfile(member)
                    if extracted is None:
                        break
                    project, version = parse_metadata(extracted.read(MAX_METADATA))
                    if project:
                        return Identity(Kind.SDIST, project, version, f"{top}.tar.gz")
                    break
                # stop *before* the stream inflates past the cap to reach the next member
                walked += member.size
                if count + 1 >= MAX_TAR_MEMBERS or walked > MAX_TAR_BYTES:
                    break
    except (tarfile.TarError, zlib.error, EOFError, OSError, ValueError, UnicodeError) as exc:
        if top is None:
            return Identity(Kind.CORRUPT, detail=f"bad sdist: {exc}"[:300])
        # a truncated tail after the top dir was seen: still an sdist, but say so
        project, version = _split_top(top)
        return Identity(Kind.CORRUPT, project, version, detail=f"truncated sdist: {exc}"[:300])
    if not top:
        return Identity(Kind.CORRUPT, detail="empty archive")
    project, version = _split_top(top)
    return Identity(Kind.SDIST, project, version, f"{top}.tar.gz")


def identify_index_page(data: bytes, content_type: str | None) -> Identity:
    """A PEP 691 JSON or PEP 503 HTML project page: the project it lists."""
    if data.lstrip()[:1] == b"{":
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeError) as exc:
            return Identity(Kind.CORRUPT, detail=f"bad JSON index page: {exc}"[:300])
        if isinstance(doc, dict) and isinstance(doc.get("name"), str) and "meta" in doc:
            return Identity(Kind.INDEX_PAGE, _name(doc["name"]))
        return Identity(Kind.UNKNOWN, detail="JSON that is not a PEP 691 page")
    match = _TITLE.search(data[:65536]) or _H1.search(data[:65536])
    if match:
        try:
            return Identity(Kind.INDEX_PAGE, _name(match.group(1).decode("utf-8")))
        except UnicodeError:
            return Identity(Kind.CORRUPT, detail="index page title is not UTF-8")
    return Identity(Kind.UNKNOWN, detail=f"unrecognised {content_type or 'body'}")


def identify_body(fh: BinaryIO, size: int, content_type: str | None = None) -> Identity:
    """Identify a cached HTTP body (file object positioned at 0; ``size`` bytes long)."""
    head = fh.read(SNIFF)
    fh.seek(0)
    ct = (content_type or "").split(";")[0].strip().lower()
    if head[:4] == b"PK\x03\x04" or (head[:4] == b"PK\x05\x06"):
        return identify_wheel(fh)
    if head[:2] == b"\x1f\x8b" or head[:3] == b"BZh" or head[257:262] == b"ustar":
        return identify_tar_sdist(fh)
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"<") or "json" in ct or "html" in ct:
        if size > MAX_INDEX_PAGE:
            return Identity(Kind.UNKNOWN, detail=f"{ct or 'page'} of {size} bytes, not parsed")
        return identify_index_page(fh.read(MAX_INDEX_PAGE), ct)
    if not head:
        return Identity(Kind.CORRUPT, detail="empty body")
    return Identity(Kind.UNKNOWN, detail=f"content type {ct or 'unknown'}")


def identify_bytes(data: bytes, content_type: str | None = None) -> Identity:
    return identify_body(io.BytesIO(data), len(data), content_type)


def sha256_of(fh: BinaryIO) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: fh.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()
