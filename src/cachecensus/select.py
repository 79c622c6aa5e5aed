"""Selecting entries: which ones a pattern, version spec or kind names.

Pattern semantics are pip's (``pip cache list/remove``): a glob on the project name, and a
``-`` means a version follows (``six-1.16`` is six at versions starting ``1.16``). Unlike
pip, names are compared PEP 503-normalised (``Django``, ``django``, ``DJANGO`` are one
project) and every kind of entry is matched, not only locally built wheels.
"""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from cachecensus.models import Entry, Kind

#: Kinds a pattern can name (strays and pip's selfcheck state are never selected).
SELECTABLE = frozenset(Kind) - {Kind.STRAY, Kind.SELFCHECK}


def _normalise_glob(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def matcher(pattern: str | None) -> tuple[str, str | None]:
    """(name glob, version glob or None) of a pip-style pattern."""
    if not pattern:
        return "*", None
    name, sep, version = pattern.partition("-")
    return _normalise_glob(name) or "*", (version + "*") if sep else None


def parse_spec(spec: str | None) -> SpecifierSet | None:
    """A PEP 440 specifier (``>=1.16,<2``); a bare version means ``==``. Raises ValueError."""
    if not spec:
        return None
    text = spec.strip()
    if text and text[0].isdigit():
        text = "==" + text
    try:
        return SpecifierSet(text)
    except InvalidSpecifier as exc:
        raise ValueError(f"invalid version specifier {spec!r}") from exc


def matches(
    entry: Entry,
    pattern: str | None = None,
    *,
    spec: SpecifierSet | None = None,
    kinds: Iterable[Kind] | None = None,
) -> bool:
    if kinds is not None and entry.kind not in set(kinds):
        return False
    if pattern is None and spec is None:
        return entry.kind in SELECTABLE if kinds is None else True
    if not entry.project or entry.kind not in SELECTABLE:
        return False
    name_glob, version_glob = matcher(pattern)
    if not fnmatch.fnmatchcase(entry.project, name_glob):
        return False
    if version_glob is not None and not (
        entry.version and fnmatch.fnmatchcase(entry.version, version_glob)
    ):
        return False
    if spec is not None:
        try:
            return entry.version is not None and Version(entry.version) in spec
        except InvalidVersion:
            return False
    return True


def select(
    entries: Iterable[Entry],
    pattern: str | None = None,
    *,
    spec: SpecifierSet | None = None,
    kinds: Iterable[Kind] | None = None,
) -> list[Entry]:
    wanted = None if kinds is None else frozenset(kinds)
    return [e for e in entries if matches(e, pattern, spec=spec, kinds=wanted)]


# ---------------------------------------------------------------------- plans

#: What ``purge`` removes: everything pip would rebuild (never selfcheck/ or strays).
PURGEABLE = frozenset(
    {
        Kind.WHEEL,
        Kind.SDIST,
        Kind.INDEX_PAGE,
        Kind.BUILT_WHEEL,
        Kind.UNKNOWN,
        Kind.CORRUPT,
        Kind.ORPHAN,
    }
)
#: Kinds whose versions ``--keep-latest`` compares.
VERSIONED = frozenset({Kind.WHEEL, Kind.SDIST, Kind.BUILT_WHEEL})


@dataclass(frozen=True)
class PlanItem:
    entry: Entry
    freed: int  # bytes really freed: per inode, 0 while another link survives
    reason: str = ""


@dataclass(frozen=True)
class Plan:
    items: tuple[PlanItem, ...]

    @property
    def caches(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i.entry.cache_dir for i in self.items))

    @property
    def files(self) -> int:
        return sum(len(i.entry.files) for i in self.items)

    @property
    def size(self) -> int:
        return sum(i.entry.size for i in self.items)

    @property
    def freed(self) -> int:
        return sum(i.freed for i in self.items)


def make_plan(chosen: Iterable[tuple[Entry, str]]) -> Plan:
    """A plan for ``(entry, reason)`` pairs, with dedupe-aware accounting: a file frees its
    bytes only if every link to its inode goes in this plan; each inode counts once; an
    entry chosen twice (one cache reached twice) is planned once."""
    unique: dict[tuple[str, str], tuple[Entry, str]] = {}
    for entry, reason in chosen:
        if entry.kind in SELECTABLE:
            unique.setdefault((entry.cache_dir, entry.key), (entry, reason))
    links: Counter[tuple[int, int]] = Counter()
    seen_paths: set[str] = set()
    for entry, _ in unique.values():
        for f in entry.files:
            if f.path not in seen_paths:
                seen_paths.add(f.path)
                links[(f.dev, f.inode)] += 1
    counted: set[tuple[int, int]] = set()
    items = []
    for entry, reason in unique.values():
        freed = 0
        for f in entry.files:
            ino = (f.dev, f.inode)
            if ino not in counted and f.nlink <= links[ino]:
                freed += f.size
            counted.add(ino)
        items.append(PlanItem(entry, freed, reason))
    return Plan(tuple(items))


def purge(entries: Iterable[Entry]) -> list[tuple[Entry, str]]:
    return [(e, "purge") for e in entries if e.kind in PURGEABLE]


def older_than(
    entries: Iterable[Entry], seconds: float, now: float, kinds: frozenset[Kind] = PURGEABLE
) -> list[tuple[Entry, str]]:
    limit = (now - seconds) * 1e9
    return [
        (e, "unused since " + _day(e.last_used_ns))
        for e in entries
        if e.kind in kinds and e.last_used_ns < limit
    ]


def keep_latest(entries: Iterable[Entry], n: int) -> list[tuple[Entry, str]]:
    """All but the ``n`` newest versions of each project, per cache and kind."""
    groups: dict[tuple[str, str, Kind], list[Entry]] = {}
    for e in entries:
        if e.kind in VERSIONED and e.project and e.version:
            groups.setdefault((e.cache_dir, e.project, e.kind), []).append(e)
    out: list[tuple[Entry, str]] = []
    for group in groups.values():
        versions = sorted({e.version for e in group if e.version}, key=_version_key, reverse=True)
        keep = set(versions[:n])
        out.extend((e, f"older than the {n} newest") for e in group if e.version not in keep)
    return out


def over_budget(entries: Iterable[Entry], budget: int) -> list[tuple[Entry, str]]:
    """Least recently used entries until what is left fits ``budget`` bytes."""
    pool = sorted((e for e in entries if e.kind in PURGEABLE), key=lambda e: e.last_used_ns)
    total = sum(e.size for e in pool)
    out: list[tuple[Entry, str]] = []
    for e in pool:
        if total <= budget:
            break
        out.append((e, "least recently used, over the size budget"))
        total -= e.size
    return out


def _version_key(text: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(text))
    except InvalidVersion:
        return (0, text)


def _day(ns: int) -> str:
    import time

    return time.strftime("%Y-%m-%d", time.localtime(ns / 1e9))
