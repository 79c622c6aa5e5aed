"""The reference the zip reader is proven against: :mod:`zipfile`, used exactly as
identify.py used it before the reader replaced it on the scan's hot path.

``oracle(data)`` opens the body with ``zipfile.ZipFile``, takes the first
``*.dist-info/METADATA`` (or a zip sdist's ``TOP/PKG-INFO``), reads it and ``WHEEL`` with
``ZipFile.open(...).read(limit)`` under the same claims, and names the wheel from them.

The reader follows the newest zipfile (Python 3.13+): two checks older ones lack are applied
here when the running zipfile lacks them, so that the reference is the same on every Python
the suite runs on:

- the Info-ZIP Unicode path extra field (0x7075; zipfile 3.12+) names a member;
- a member whose data would run into the next member or the central directory is refused
  ("Overlapped entries", the quoted-overlap zip bomb; zipfile 3.13+, and security releases).
"""

from __future__ import annotations

import inspect
import io
import struct
import zipfile
import zlib
from typing import Any

from cachecensus.identify import (
    _CORRUPT_ERRORS,
    MAX_METADATA_CLAIM,
    MAX_RATIO,
    METADATA_READ,
    Identity,
    TooBig,
    _first,
    _name,
    _reason,
    _split_top,
    _version,
    metadata_headers,
    parse_metadata,
)
from cachecensus.models import Kind

_NAME_VERSION = frozenset({"name", "version"})
_TAG_BUILD = frozenset({"tag", "build"})
HAS_UNICODE_PATH = "filename_crc" in inspect.signature(zipfile.ZipInfo._decodeExtra).parameters
HAS_OVERLAP_CHECK = hasattr(zipfile.ZipInfo(), "_end_offset")


class File(io.BytesIO):
    """Bytes that seek like a file: a negative position is an error (BytesIO clamps it)."""

    def seek(self, pos: int, whence: int = 0) -> int:
        base = (0, self.tell(), len(self.getbuffer()))[whence]
        if base + pos < 0:
            raise OSError(22, "Invalid argument")
        return super().seek(pos, whence)


def _unicode_paths(zf: zipfile.ZipFile) -> None:
    """Python 3.12's Unicode path extra field, on an older zipfile."""
    for info in zf.infolist():
        raw = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
        extra = info.extra
        while len(extra) >= 4:
            kind, length = struct.unpack("<HH", extra[:4])
            data = extra[4 : length + 4]
            if kind == 0x7075:
                try:
                    version, crc = struct.unpack("<BL", data[:5])
                    if version == 1 and crc == zlib.crc32(raw):
                        name = data[5:].decode("utf-8")
                        if name:
                            info.filename = name.split("\0")[0]
                except struct.error as exc:
                    raise zipfile.BadZipFile("Corrupt unicode path extra field") from exc
                except UnicodeDecodeError as exc:
                    raise zipfile.BadZipFile("Corrupt unicode path extra field") from exc
            extra = extra[length + 4 :]


def _end_offset(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    end = zf.start_dir
    for other in sorted(zf.infolist(), key=lambda i: i.header_offset, reverse=True):
        if other is info:
            return end
        end = other.header_offset
    raise AssertionError("not a member")


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    if info.file_size > MAX_METADATA_CLAIM:
        raise TooBig(f"{info.filename[:100]} claims {info.file_size} bytes")
    if info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(1, info.compress_size):
        raise TooBig(f"{info.filename[:100]} inflates {info.file_size} bytes (zip bomb)")
    with zf.open(info) as member:
        if not HAS_OVERLAP_CHECK:
            start: int = member._orig_compress_start  # type: ignore[attr-defined]
            if start + info.compress_size > _end_offset(zf, info):
                raise zipfile.BadZipFile("Overlapped entries")
        data: bytes = member.read(limit)
        return data


def _zip_infos(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    if not HAS_UNICODE_PATH:
        _unicode_paths(zf)
    infos = zf.infolist()
    if len(infos) > 200_000:
        raise TooBig(f"{len(infos)} zip members")
    if any(len(i.filename) > 4096 for i in infos):
        raise TooBig("zip member name too long")
    return infos


def _wheel_tags(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], distinfo: str) -> str | None:
    wheel = next((i for i in infos if i.filename == f"{distinfo}/WHEEL"), None)
    if wheel is None:
        return None
    headers = metadata_headers(_read_member(zf, wheel, 64 << 10), _TAG_BUILD)
    parts = [t.split("-") for t in headers.get("tag", []) if t.count("-") == 2]
    if not parts or any(not all(p) for p in parts):
        return None
    tags = "-".join(".".join(dict.fromkeys(p[i] for p in parts)) for i in range(3))
    build = (headers.get("build") or [""])[0]
    if build and build[0].isdigit() and "-" not in build:
        return f"{build}-{tags}"
    return tags


def _zip_sdist(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> Identity:
    tops = {i.filename.split("/")[0] for i in infos}
    if len(tops) != 1 or not any("/" in i.filename for i in infos):
        return Identity(Kind.UNKNOWN, detail="zip archive that is neither wheel nor sdist")
    top = tops.pop()
    pkg = next((i for i in infos if i.filename == f"{top}/PKG-INFO"), None)
    project = version = None
    if pkg is not None:
        project, version = parse_metadata(_read_member(zf, pkg, METADATA_READ))
    if not project:
        project, version = _split_top(top, ".zip")
    return Identity(Kind.SDIST, project, version, f"{top}.zip")


def oracle(data: bytes) -> Identity:
    """What zipfile makes of the zip ``data`` (identify.py's ``identify_zip`` before the
    reader)."""
    fh: Any = File(data)
    try:
        with zipfile.ZipFile(fh) as zf:
            infos = _zip_infos(zf)
            meta = [
                i
                for i in infos
                if i.filename.endswith(".dist-info/METADATA") and i.filename.count("/") == 1
            ]
            if not meta:
                return _zip_sdist(zf, infos)
            distinfo = meta[0].filename.split("/")[0]
            headers = metadata_headers(_read_member(zf, meta[0], METADATA_READ), _NAME_VERSION)
            project = _name(_first(headers, "name"))
            version = _version(_first(headers, "version"))
            tags = _wheel_tags(zf, infos, distinfo)
    except TooBig as exc:
        return Identity(Kind.CORRUPT, detail=_reason("zip bomb or hostile zip", exc))
    except (zipfile.BadZipFile, *_CORRUPT_ERRORS) as exc:
        return Identity(Kind.CORRUPT, detail=_reason("bad zip", exc))
    if not project:
        return Identity(Kind.CORRUPT, detail="wheel METADATA has no Name")
    filename = None
    if version and tags:
        filename = f"{project.replace('-', '_')}-{version}-{tags}.whl"
    return Identity(Kind.WHEEL, project, version, filename)
