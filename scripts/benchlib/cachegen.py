"""Build large pip caches in pip's genuine on-disk format, for benchmarks.

Layout and record bytes are exactly what pip 26 writes (see tests/fixtures/real-caches):
``http-v2/<5 levels of sha224(url)[:5]>/<sha224(url)>`` holds ``cc=4,`` + a msgpack'd
cachecontrol response (body empty), and the body sits beside it as ``<hash>.body``;
``wheels/<h[:2]>/<h[2:4]>/<h[4:6]>/<h[6:]>/`` holds a built wheel and its ``origin.json``.
Bodies are real archives: wheels are zips with ``*.dist-info/METADATA``, sdists are
``.tar.gz`` with ``PKG-INFO``, index pages are PEP 691 JSON.  Payloads are random bytes so
no two artifacts share a hash unless asked to.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import tarfile
import zipfile
from dataclasses import dataclass
from email.utils import formatdate

import msgpack

BASE_URL = "http://127.0.0.1:8765"


@dataclass(frozen=True)
class Built:
    entries: int
    files: int
    bytes: int
    projects: int


def _record(content_type: str, length: int, date: float) -> bytes:
    response = {
        "body": b"",
        "headers": {
            "Server": "BaseHTTP/0.6 Python/3.11.7",
            "Date": formatdate(date, usegmt=True),
            "Content-Type": content_type,
            "Content-Length": str(length),
            "Cache-Control": "max-age=365000000, immutable, public",
            "ETag": '"' + hashlib.md5(str(length).encode()).hexdigest() + '"',
        },
        "status": 200,
        "version": 10,
        "reason": "OK",
        "decode_content": False,
    }
    return b"cc=4," + msgpack.packb({"response": response, "vary": {}}, use_bin_type=True)


def _wheel(name: str, version: str, payload: bytes) -> bytes:
    buf = io.BytesIO()
    dist = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{name}/__init__.py", "")
        zf.writestr(f"{name}/data.bin", payload)
        zf.writestr(
            f"{dist}/METADATA",
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: bench\n",
        )
        zf.writestr(
            f"{dist}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        zf.writestr(f"{dist}/RECORD", "")
    return buf.getvalue()


def _sdist(name: str, version: str, payload: bytes) -> bytes:
    buf = io.BytesIO()
    top = f"{name}-{version}"
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tf:
        for member, data in (
            (f"{top}/PKG-INFO", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
            (f"{top}/data.bin", payload),
        ):
            raw = data.encode() if isinstance(data, str) else data
            info = tarfile.TarInfo(member)
            info.size = len(raw)
            tf.addfile(info, io.BytesIO(raw))
    return buf.getvalue()


def _index_page(name: str, versions: list[str]) -> bytes:
    files = [
        {"filename": f"{name}-{v}-py3-none-any.whl", "url": f"{BASE_URL}/files/{name}-{v}.whl"}
        for v in versions
    ]
    doc = {"meta": {"api-version": "1.1"}, "name": name, "files": files}
    return json.dumps(doc).encode()


def _hashed(root: str, url: str) -> str:
    digest = hashlib.sha224(url.encode()).hexdigest()
    return os.path.join(root, *digest[:5], digest)


def _write(path: str, data: bytes, mtime: float) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
    os.utime(path, (mtime, mtime))


def build_pip_cache(
    cache_dir: str,
    *,
    entries: int = 20_000,
    total_bytes: int = 2_000_000_000,
    seed: int = 1,
) -> Built:
    """Fill ``cache_dir`` with ``entries`` HTTP/built-wheel entries of about ``total_bytes``.

    Mix: 85% wheels, 7% sdists, 5% index pages, 3% locally built wheels; ~8 versions a
    project. Times spread over the last 400 days so age-based pruning has work to do.
    """
    rng = random.Random(seed)
    http = os.path.join(cache_dir, "http-v2")
    wheels = os.path.join(cache_dir, "wheels")
    avg = max(1024, total_bytes // max(1, entries))
    now = 1_790_000_000.0
    projects = max(1, entries // 8)
    files = size = 0
    for i in range(entries):
        name = f"proj{i % projects:05d}"
        version = f"1.{i // projects}.{rng.randrange(10)}"
        when = now - rng.uniform(0, 400 * 86400)
        roll = i % 100
        payload = os.urandom(max(256, int(avg * rng.uniform(0.5, 1.5))))
        if roll < 3:
            body = _wheel(name, version, payload)
            digest = hashlib.sha224(f"built/{name}/{version}".encode()).hexdigest()
            where = os.path.join(wheels, digest[:2], digest[2:4], digest[4:6], digest[6:])
            origin = {
                "archive_info": {"hashes": {"sha256": hashlib.sha256(body).hexdigest()}},
                "url": f"{BASE_URL}/files/{name}-{version}.tar.gz",
            }
            _write(os.path.join(where, f"{name}-{version}-py3-none-any.whl"), body, when)
            _write(os.path.join(where, "origin.json"), json.dumps(origin).encode(), when)
            files += 2
            size += len(body) + len(json.dumps(origin))
            continue
        if roll < 8:
            body = _index_page(name, [f"1.{k}.0" for k in range(8)])
            url, ctype = f"{BASE_URL}/simple/{name}/#{i}", "application/vnd.pypi.simple.v1+json"
        elif roll < 15:
            body = _sdist(name, version, payload)
            url, ctype = f"{BASE_URL}/files/{name}-{version}.tar.gz", "application/x-tar"
        else:
            body = _wheel(name, version, payload)
            url, ctype = f"{BASE_URL}/files/{name}-{version}-py3-none-any.whl", "application/zip"
        record = _hashed(http, url)
        rec = _record(ctype, len(body), when)
        _write(record, rec, when)
        _write(record + ".body", body, when)
        files += 2
        size += len(rec) + len(body)
    return Built(entries=entries, files=files, bytes=size, projects=projects)
