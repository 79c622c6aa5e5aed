"""Which cache buckets each uv version writes, and how to read that table out of a uv binary.

uv keeps its cache in *buckets* named ``NAME-vN`` and bumps ``N`` whenever a bucket's format
changes (``CacheBucket::to_str`` in ``crates/uv-cache/src/lib.rs``). A uv reads only its own
buckets: ``uv cache prune`` removes every other one as "old". Which buckets are old is
therefore a fact about the uvs installed on the machine, not about the cache: cachecensus
reads each installed uv's own table (:func:`bucket_table`: the ``to_str`` strings lie
contiguous in the binary, ``wheels-v8sdists-v11flat-index-v7...``) and keeps every bucket
one of them uses.

:data:`LAYOUTS` says which uv wrote a bucket (for messages) and which bucket versions
cachecensus understands: every version up to the newest one tabled. The rows come from
``crates/uv-cache/src/lib.rs`` at every release tag from 0.4.0 to 0.12.5 (a row where the
table changed), and past that from the binaries of the releases named (the first binary
seen with the row; the one before it, named too, still had the row above).

Layouts read the same way across all of them (``tests/test_uv_versions.py`` grows a cache
with uv 0.4.30, 0.6.17, 0.8.24, 0.10.12, 0.12.24 and 0.13.9 and compares): wheel pointers
named ``<version>-<tags>`` (uv 0.4: ``<name>-<version>-<tags>``) beside ``.http``,
``.msgpack`` and (0.12 on) ``.lock``; symlinks to ``archive-v0/<id>`` absolute (to 0.10) or
relative (0.12 on), ids of 21 characters (to 0.10) or 16; an unpacked sdist in
``<revision>/src/`` (uv 0.4: ``<revision>/<filename>/``); interpreter probes directly in
``interpreter-v2`` or one directory down (``interpreter-v4/<hash>/``); no top-level ``.lock``
before 0.8.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from packaging.version import Version

#: (first uv version, its buckets, where that comes from), oldest first.
LAYOUTS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "0.4.0",
        (
            "wheels-v1",
            "built-wheels-v3",
            "flat-index-v0",
            "git-v0",
            "interpreter-v2",
            "simple-v12",
            "archive-v0",
            "builds-v0",
            "environments-v1",
        ),
        "crates/uv-cache/src/lib.rs at 0.4.0",
    ),
    ("0.4.13", ("wheels-v2", "sdists-v4", "simple-v13"), "crates/uv-cache/src/lib.rs at 0.4.13"),
    ("0.4.16", ("flat-index-v1",), "crates/uv-cache/src/lib.rs at 0.4.16"),
    ("0.4.25", ("sdists-v5",), "crates/uv-cache/src/lib.rs at 0.4.25"),
    (
        "0.5.0",
        ("wheels-v3", "sdists-v6", "flat-index-v2", "interpreter-v3", "simple-v14"),
        "crates/uv-cache/src/lib.rs at 0.5.0",
    ),
    ("0.5.9", ("interpreter-v4",), "crates/uv-cache/src/lib.rs at 0.5.9"),
    ("0.5.19", ("simple-v15",), "crates/uv-cache/src/lib.rs at 0.5.19"),
    ("0.5.26", ("sdists-v7",), "crates/uv-cache/src/lib.rs at 0.5.26"),
    (
        "0.6.0",
        ("wheels-v4", "sdists-v8", "environments-v2"),
        "crates/uv-cache/src/lib.rs at 0.6.0",
    ),
    ("0.6.4", ("wheels-v5",), "crates/uv-cache/src/lib.rs at 0.6.4"),
    ("0.6.8", ("sdists-v9",), "crates/uv-cache/src/lib.rs at 0.6.8"),
    ("0.7.5", ("simple-v16",), "crates/uv-cache/src/lib.rs at 0.7.5"),
    ("0.8.4", ("python-v0",), "crates/uv-cache/src/lib.rs at 0.8.4"),
    ("0.8.13", ("binaries-v0",), "crates/uv-cache/src/lib.rs at 0.8.13"),
    ("0.8.15", ("simple-v17",), "crates/uv-cache/src/lib.rs at 0.8.15"),
    ("0.8.18", ("simple-v18",), "crates/uv-cache/src/lib.rs at 0.8.18"),
    ("0.9.27", ("simple-v19",), "crates/uv-cache/src/lib.rs at 0.9.27"),
    ("0.10.0", ("wheels-v6", "simple-v20"), "crates/uv-cache/src/lib.rs at 0.10.0"),
    ("0.11.3", ("simple-v21",), "crates/uv-cache/src/lib.rs at 0.11.3"),
    ("0.11.16", ("osv-v0",), "crates/uv-cache/src/lib.rs at 0.11.16"),
    ("0.11.27", ("flat-index-v3", "simple-v22"), "crates/uv-cache/src/lib.rs at 0.11.27"),
    (
        "0.11.30",
        ("flat-index-v4", "simple-v24"),
        "crates/uv-cache/src/lib.rs at 0.11.30 (unchanged to 0.12.5, and in the 0.12.12 binary)",
    ),
    ("0.12.15", ("flat-index-v5", "simple-v25"), "the 0.12.15 binary (0.12.12: the row above)"),
    ("0.12.19", ("git-v1",), "the 0.12.19 binary (0.12.18: git-v0)"),
    (
        "0.13.0",
        ("wheels-v7", "sdists-v10", "flat-index-v6", "simple-v26", "python-v1", "osv-v1"),
        "the 0.13.0 binary (0.12.24: the rows above)",
    ),
    ("0.13.4", ("flat-index-v7", "simple-v27"), "the 0.13.4 binary (0.13.1: the row above)"),
    (
        "0.13.9",
        ("wheels-v8", "sdists-v11", "interpreter-v5", "simple-v28", "git-v2"),
        "the 0.13.9 binary (0.13.4: the rows above)",
    ),
)

#: Bucket names of older uvs, read like the bucket that replaced them.
RENAMED = {"built-wheels": "sdists", "wheel-metadata": "wheels"}
BASES = (
    "wheels",
    "sdists",
    "flat-index",
    "git",
    "interpreter",
    "simple",
    "archive",
    "builds",
    "environments",
    "python",
    "binaries",
    "osv",
)

_BUCKET = re.compile(r"^([a-z][a-z-]*?)-v(\d+)$")


def split(name: str) -> tuple[str, int] | None:
    """(base name, version) of a bucket name (``built-wheels-v3`` -> ``("sdists", 3)``)."""
    match = _BUCKET.match(name)
    if not match:
        return None
    base = RENAMED.get(match.group(1), match.group(1))
    if base not in BASES:
        return None
    return base, int(match.group(2))


def _rows() -> list[tuple[str, dict[str, str]]]:
    """Each row as (first version, {base: bucket name}), every bucket of that uv."""
    rows: list[tuple[str, dict[str, str]]] = []
    current: dict[str, str] = {}
    for first, names, _ in LAYOUTS:
        current = dict(current)
        for name in names:
            found = split(name)
            assert found is not None, name
            current[found[0]] = name
        rows.append((first, current))
    return rows


ROWS = _rows()
#: The buckets of the newest uv tabled, by base name.
NEWEST: dict[str, str] = dict(ROWS[-1][1])
NEWEST_UV = ROWS[-1][0]


def newest_version(base: str) -> int:
    found = split(NEWEST[base])
    assert found is not None
    return found[1]


def buckets_of(version: str) -> frozenset[str]:
    """The buckets uv ``version`` writes, by the table (empty before 0.4.0)."""
    at = Version(version)
    chosen: dict[str, str] = {}
    for first, names in ROWS:
        if Version(first) <= at:
            chosen = names
    return frozenset(chosen.values())


def understood(name: str) -> bool:
    """A bucket whose version is no newer than the newest uv tabled writes (its layout is
    read by the rules every tabled layout is read by)."""
    found = split(name)
    return found is not None and found[1] <= newest_version(found[0])


def writers(name: str) -> str | None:
    """Which uvs write bucket ``name``, as a specifier (``>=0.4.13,<0.5.0``), by the table."""
    first: str | None = None
    last: str | None = None
    for start, names in ROWS:
        if name in names.values():
            first = first or start
            last = None
        elif first is not None and last is None:
            last = start
    if first is None:
        return None
    return f">={first},<{last}" if last else f">={first}"


# ---------------------------------------------------------------------- binaries

_NAMES = "|".join(re.escape(b) for b in (*BASES, *RENAMED) if b not in ("wheels", "sdists"))
#: ``CacheBucket::to_str``'s strings as rustc lays them out: wheels first, then sdists (or
#: built-wheels), then the rest; each name once.
_TABLE = re.compile(
    rb"wheels-v\d{1,4}(?:sdists|built-wheels)-v\d{1,4}(?:(?:" + _NAMES.encode() + rb")-v\d{1,4})+"
)
_ONE = re.compile(rb"([a-z][a-z-]*?)-v(\d{1,4})")
#: The version uv writes into each venv's ``pyvenv.cfg`` (``uv = 0.13.9``), a string literal
#: rustc places before ``version_info``/``include-system-site-packages``.
_VERSION = re.compile(
    rb"(?<![\d.])(\d{1,3}\.\d{1,4}\.\d{1,4}(?:(?:a|b|rc|\.dev|\.post)\d{1,4})?)"
    rb"(?:version_info|include-system-site-packages)"
)
#: Executable formats a uv binary comes in (ELF; Mach-O 32/64 either endianness, universal).
MAGICS = (
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
)
#: Bytes of a binary read at most (uv binaries are 30-60 MB; their tables lie up to 36 MB in).
SCAN_LIMIT = 160 << 20
_OVERLAP = 512
#: Bytes that must follow a table in a chunk for it to be whole (a longer bucket name
#: could have begun after it).
_NAME_ROOM = 32


def bucket_table(data: bytes, *, complete: bool = True) -> tuple[str, ...] | None:
    """The bucket names of a uv binary's ``CacheBucket::to_str`` table found in ``data``;
    with ``complete=False`` (more bytes follow), None for a table that ends near the end of
    ``data`` (it may go on in the next chunk)."""
    match = _TABLE.search(data)
    if match is None or (not complete and len(data) - match.end() < _NAME_ROOM):
        return None
    names = []
    for one in _ONE.finditer(match.group(0)):
        name = f"{one.group(1).decode()}-v{int(one.group(2))}"
        if split(name) is not None:
            names.append(name)
    return tuple(names)


def uv_version(data: bytes, *, complete: bool = True) -> str | None:
    """The version string of a uv binary found in ``data``; with ``complete=False`` (the
    bytes before ``data`` are not in it), none that starts ``data`` (it may be cut)."""
    for match in _VERSION.finditer(data):
        if complete or match.start() > 0:
            return match.group(1).decode()
    return None


def scan_binary(chunks: Iterable[bytes]) -> tuple[str | None, tuple[str, ...] | None]:
    """(uv version, bucket table) of a uv binary given as chunks of its bytes; (None, None)
    when it is no executable; stops reading once both are found."""
    version: str | None = None
    table: tuple[str, ...] | None = None
    tail = b""
    first = True
    for chunk in chunks:
        if first and not chunk.startswith(MAGICS):
            return None, None
        window = tail + chunk
        # a match touching an edge of the window may be cut: the overlap brings it whole
        if table is None and b"wheels-v" in window:
            table = bucket_table(window, complete=False)
        if version is None and (b"site-packages" in window or b"version_info" in window):
            version = uv_version(window, complete=first)
        if table is not None and version is not None:
            break
        first = False
        tail = window[-_OVERLAP:]
    if table is None and tail:
        table = bucket_table(tail)  # a table at the very end of the file
    return version, table
