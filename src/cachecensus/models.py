"""Plain typed records passed between the pipeline's stages.

Host -> discover -> resolve -> scan -> select -> act -> report.  Every record is a frozen
dataclass of plain values so that each stage is a function of the one before and the
report stage can turn any of them into JSON/TOML with ``dataclasses.asdict``.
All paths are *system paths* (see :mod:`cachecensus.host`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

#: Version of every ``--json``/``--toml`` document's layout. Bump on incompatible change.
SCHEMA = 1


@dataclass(frozen=True)
class User:
    """An account of the audited system's passwd database."""

    name: str
    uid: int
    gid: int
    home: str
    shell: str


class EnvKind(str, Enum):
    """Where a Python environment comes from."""

    SYSTEM = "system"  # /usr/bin, /usr/local/bin, distro Pythons
    PYENV = "pyenv"
    UV_MANAGED = "uv-managed"  # uv python install
    CONDA = "conda"  # conda/mamba base or env
    VENV = "venv"  # any pyvenv.cfg environment not claimed by a tool below
    PIPX = "pipx"
    UV_TOOL = "uv-tool"
    VIRTUALENVWRAPPER = "virtualenvwrapper"  # WORKON_HOME / ~/.virtualenvs
    PIPENV = "pipenv"  # ~/.local/share/virtualenvs
    POETRY = "poetry"  # poetry's virtualenvs.path
    OTHER = "other"  # /opt and PATH finds that are none of the above

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Environment:
    """One Python environment (an interpreter plus its ``sys.prefix``).

    ``interpreter`` is the canonical path (symlinks to the same binary inside one prefix are
    one environment; the other names are in ``aliases``). ``problem`` is set, and other fields
    may be None, when the environment is broken (dangling symlink, unreadable pyvenv.cfg...).
    """

    interpreter: str
    prefix: str
    kind: EnvKind
    name: str
    version: str | None = None
    owner: str | None = None
    base_interpreter: str | None = None
    pip_version: str | None = None
    found_by: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    problem: str | None = None

    @property
    def is_venv(self) -> bool:
        return self.base_interpreter is not None


@dataclass(frozen=True)
class Decision:
    """One layer that had a say about a cache location (provenance).

    ``source``: ``env`` (an environment variable), ``config`` (a config file), ``default``
    (the tool's built-in default), ``check`` (a runtime rule such as pip's ownership check).
    ``where``: the variable name, ``FILE:LINE [section]``, or a description of the default.
    ``effective`` is True for the layer that decided; overridden layers are kept, False.
    """

    source: str
    where: str
    key: str
    value: str
    effective: bool = False


@dataclass(frozen=True)
class Resolution:
    """Where one tool's cache is for one (user, environment) pair, and why."""

    tool: str
    view: str  # pip: install | cache | download | wheel (the command whose options apply)
    cache_dir: str | None  # None when disabled
    disabled: bool
    reason: str  # a one-line human explanation
    decided_by: tuple[Decision, ...] = ()
    problems: tuple[str, ...] = ()  # e.g. "/etc/pip.conf:3: ..." — reported, not fatal
    error: str | None = None  # what pip itself would fail with (e.g. invalid boolean)
    #: the directory as the deciding layer named it, made absolute, symlinks not resolved
    #: (pip resolves them into ``cache_dir``); None when that is ``cache_dir`` itself
    named: str | None = None
    # the tool version whose rules decided (pip: the one ``python -m pip`` imports)
    tool_version: str | None = None


@dataclass(frozen=True)
class Usage:
    """A (user, environment) pair that uses a cache."""

    user: str
    environment: str  # interpreter path, or "" for the user's default (no environment)
    view: str = "install"
    # whose variables: "login", "own environment", "PIP_CACHE_DIR of PID 12215 (bash)";
    # an annotation: one user's use of one cache by one environment is one Usage
    origin: str = field(default="", compare=False)


@dataclass(frozen=True)
class CacheDir:
    """One distinct physical cache directory and everyone that uses it."""

    tool: str
    path: str  # trusted symlinks resolved (see cachecensus.claims): one cache, two names
    exists: bool
    owner: str | None
    used_by: tuple[Usage, ...] = ()
    names: tuple[str, ...] = ()  # the spellings under which users reach it
    #: why no command removes anything here (a user named a directory that is not theirs,
    #: or a path through someone else's symlink); None when it is a removal target
    refused: str | None = None
    #: its owner's uid when it was accepted: removal checks the directory it opens is
    #: still owned by it
    uid: int | None = None


class Kind(str, Enum):
    """What a cache entry holds."""

    WHEEL = "wheel"  # a downloaded wheel (HTTP cache body)
    SDIST = "sdist"  # a downloaded source distribution
    INDEX_PAGE = "index-page"  # PEP 503 HTML / PEP 691 JSON project page
    BUILT_WHEEL = "built-wheel"  # a wheel pip built locally (wheels/)
    UNKNOWN = "unknown"  # a well-formed entry whose body is none of the above
    CORRUPT = "corrupt"  # a record or body we could not parse
    ORPHAN = "orphan"  # half an entry: body without record, record without body
    SELFCHECK = "selfcheck"  # pip's version-check state
    STRAY = "stray"  # a file that is not cache-shaped (never deleted)
    ARCHIVE = "archive"  # an unpacked distribution (uv archive-v0/, a conda extracted package)
    PACKAGE = "package"  # a conda package file (.conda, .tar.bz2)
    METADATA = "metadata"  # cached metadata: hashes, resolved metadata, interpreter info
    ENVIRONMENT = "environment"  # a cached build/ephemeral environment (uv builds-v*, ...)
    SOURCE = "source"  # a source checkout (uv git-v*)
    CONTROL = "control"  # the tool's own bookkeeping: .lock, CACHEDIR.TAG (never deleted)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class FileInfo:
    """One file of an entry, as ``lstat`` saw it."""

    path: str
    size: int  # apparent bytes (st_size)
    physical: int  # st_blocks * 512
    inode: int
    dev: int
    nlink: int
    uid: int
    mtime_ns: int
    atime_ns: int

    @classmethod
    def of(cls, path: str, st: os.stat_result) -> FileInfo:
        """The file at ``path`` as the ``lstat`` result ``st`` describes it."""
        return cls(
            path,
            st.st_size,
            st.st_blocks * 512,
            st.st_ino,
            st.st_dev,
            st.st_nlink,
            st.st_uid,
            st.st_mtime_ns,
            st.st_atime_ns,
        )


@dataclass(frozen=True)
class Entry:
    """One logical cache entry: its files (record first, then body) and what it holds."""

    tool: str
    cache_dir: str
    area: str  # pip: http | http-v2 | wheels | selfcheck | "" (top level)
    key: str  # the entry's path relative to the cache dir (record path for HTTP entries)
    kind: Kind
    files: tuple[FileInfo, ...]
    project: str | None = None  # normalised (PEP 503)
    version: str | None = None
    filename: str | None = None
    url: str | None = None
    date: str | None = None  # ISO 8601, from the HTTP record's Date header
    content_type: str | None = None
    detail: str | None = None  # why corrupt/unknown/orphan
    sha256: str | None = None  # of the artifact body, when known

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def physical(self) -> int:
        return sum(f.physical for f in self.files)

    @property
    def last_used_ns(self) -> int:
        return max((max(f.atime_ns, f.mtime_ns) for f in self.files), default=0)


@dataclass(frozen=True)
class Problem:
    """Something that could not be read or understood; the rest of the work went on."""

    path: str
    message: str


#: The problem of a cache dir this user may not look into: it is not absent (``exists``
#: stays true), only unknown to us.
UNREADABLE = "unreadable (permission denied)"


@dataclass(frozen=True)
class Census:
    """What discovery and resolution found on the machine."""

    users: tuple[User, ...]
    environments: tuple[Environment, ...]
    caches: tuple[CacheDir, ...]
    resolutions: tuple[tuple[Usage, Resolution], ...] = ()
    problems: tuple[Problem, ...] = field(default_factory=tuple)
    #: Advice about a setup that works (``pip cache`` would clean another dir than installs
    #: use): said, but not a failure.
    notes: tuple[Problem, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class CacheScan:
    """Everything one scan of one cache directory found.

    ``files``/``size``/``physical`` count every regular file under the directory, cache-shaped
    or not (``size`` is what ``du -sb`` counts, minus directories); ``entries`` are the
    logical cache entries (strays included, as ``Kind.STRAY``).
    """

    tool: str
    cache_dir: str
    exists: bool
    entries: Sequence[Entry]  # a tuple, or read lazily from a snapshot
    files: int
    size: int
    physical: int
    problems: tuple[Problem, ...] = ()
    #: the audit's per-cache numbers, when already known (cachecensus.audit.summarize)
    summary: ScanSummary | None = field(default=None, compare=False, repr=False)
    #: (memo key, time taken) when this scan is remembered as a snapshot
    snapshot: tuple[str, int] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ScanSummary:
    """What the audit needs of one scan that depends on nothing else (not on the clock,
    other caches or who uses the cache): a warm audit reads it instead of the entries.
    Built by :func:`cachecensus.audit.summarize`."""

    by_kind: tuple[tuple[str, int, int], ...]  # (kind, entries, bytes), by kind
    entries: int  # cache entries proper (no strays, no selfcheck)
    projects: tuple[str, ...]  # distinct project names, sorted
    oldest: int | None  # last-use time, epoch seconds
    newest: int | None
    #: (last use in ns, bytes) of every entry that can go stale, by last use; index pages
    #: apart (they go stale after minutes, the rest after days)
    staleable: tuple[tuple[int, int], ...]
    index_pages: tuple[tuple[int, int], ...]
    orphaned: tuple[int, int]  # entries, bytes
    linked_elsewhere: int
    reclaimable: int
    #: (files, size, physical) of the second and later names of a file inside the cache: the
    #: walk counts every name, ``du`` (and the audit's rows) each inode once
    extra_links: tuple[int, int, int]
    #: (key, artifact bytes) of the duplicated copies inside the cache alone
    #: (cachecensus.duplicates); None when not worked out (no hashing was possible). Its
    #: files never change while its snapshot holds: a warm audit of it reads no entry
    own_duplicates: tuple[tuple[str, int], ...] | None
    linked_files: bool  # some file has a link count above one
