"""Selecting entries and planning their removal (pure: records in, records out).

Selectors each return ``(entry, reason)`` pairs; :func:`make_plan` turns any mix of them
into a :class:`Plan` with dedupe-aware accounting. Strays and pip's selfcheck state are
never planned, whatever a selector returns.

Pattern semantics are pip's (``pip cache list/remove``, ``_find_wheels``): a glob matched
against ``NAME-VERSION``, where a ``-`` in the pattern means a version is given
(``six-1.16`` is six at versions starting ``1.16``) and a pattern without one names
projects only. Unlike pip, names are compared PEP 503-normalised (``Django``,
``django``, ``DJANGO`` are one project), a hyphenated project name (``charset-normalizer``)
also matches as a name, and every kind of entry is matched, not only built wheels.

Accounting: an entry reached twice (one cache used by several environments) is planned
once; bytes freed are counted per ``(dev, inode)``: a file frees nothing while a link to
it outside the plan survives (``nlink`` above the plan's links to it), and an inode the
plan reaches twice counts once.

Caches are identified by real path when :func:`make_plan` is given a host: one cache
reached under ten names (ten environments sharing it) is one cache, its entries planned and
counted once (:meth:`Plan.per_cache`).

Last use is the later of atime and mtime where the filesystem records atime, else mtime
(``noatime`` mounts): :func:`clocks_for` asks the host's mount options which, per cache, and
the age and size rules and the plan name the clock they used.

Versions are ordered by PEP 440 (:func:`version_key`), a version PEP 440 cannot parse after
every valid one; ``--keep-latest`` never takes an entry whose version it cannot order.
"""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from cachecensus.host import Host
from cachecensus.models import Entry, Kind

if TYPE_CHECKING:
    from packaging.requirements import Requirement

    from cachecensus.host import Host

#: Which file time says when an entry was last used.
Clock = Literal["atime", "mtime"]
#: A selector's answer: an entry and why it goes.
Chosen = tuple[Entry, str]

#: Kinds a plan may hold (strays, pip's selfcheck state and the tools' bookkeeping never).
SELECTABLE = frozenset(Kind) - {Kind.STRAY, Kind.SELFCHECK, Kind.CONTROL}
#: Kinds whose versions ``keep_latest`` compares.
VERSIONED = frozenset({Kind.WHEEL, Kind.SDIST, Kind.BUILT_WHEEL, Kind.ARCHIVE, Kind.PACKAGE})


# ---------------------------------------------------------------------- last use


def clock_from_mount_options(options: Iterable[str] | None) -> Clock:
    """``mtime`` on a ``noatime`` mount (atime never moves), else ``atime`` (``relatime``,
    the Linux default, moves it at least daily: right for ages counted in days)."""
    return "mtime" if options is not None and "noatime" in set(options) else "atime"


def clocks_for(host: Host, cache_dirs: Iterable[str]) -> dict[str, Clock]:
    """Which clock says "last used" in each cache (the one question asked of the host)."""
    return {c: clock_from_mount_options(host.mount_options(c)) for c in dict.fromkeys(cache_dirs)}


def last_used_ns(entry: Entry, clock: Clock = "atime") -> int:
    """When ``entry`` was last used, by ``clock`` (atime can only add to mtime: a file
    written and never read was last used when written)."""
    if clock == "mtime":
        return max((f.mtime_ns for f in entry.files), default=0)
    return entry.last_used_ns


def _clock(entry: Entry, clocks: Mapping[str, Clock] | None) -> Clock:
    return clocks.get(entry.cache_dir, "atime") if clocks else "atime"


# ---------------------------------------------------------------------- patterns


def normalise(name: str) -> str:
    """PEP 503 normalisation (also applied to globs: ``*`` and ``?`` survive it)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pattern_matches(project: str, version: str | None, pattern: str | None) -> bool:
    """Whether a pip-style ``pattern`` names (``project``, ``version``).

    pip matches ``PATTERN-*.whl`` (no ``-`` in PATTERN: a name) or ``PATTERN*.whl`` (a
    ``-``: name and the start of a version) against wheel filenames. Here the same is tried
    for every ``-`` the pattern has, so hyphenated project names work too.
    """
    if not pattern:
        return True
    project = normalise(project)
    if fnmatch.fnmatchcase(project, normalise(pattern)):
        return True
    if version is None:
        return False
    version = version.lower()
    for i, ch in enumerate(pattern):
        if ch != "-" or i == 0:
            continue
        name_glob, version_glob = normalise(pattern[:i]), pattern[i + 1 :].lower() + "*"
        if fnmatch.fnmatchcase(project, name_glob) and fnmatch.fnmatchcase(version, version_glob):
            return True
    return False


def pattern_refusal(pattern: str) -> str | None:
    """Why ``remove PATTERN`` must refuse ``pattern``, or None: an empty or blank pattern (an
    unset shell variable: ``remove "$PKG"``) and one of wildcards and separators only
    (``*``, ``*-*``, ``"$PKG*"``) name no project, yet would match every entry."""
    if not pattern.strip():
        return "PATTERN is empty (an unset variable?): it names no project"
    if not pattern.strip("*?-_. \t\n"):
        return f"PATTERN {pattern!r} is only wildcards: it names no project"
    return None


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


def version_in(version: str | None, spec: SpecifierSet) -> bool:
    """``version`` satisfies ``spec`` (pre-releases included: removal names what is there)."""
    if version is None:
        return False
    try:
        return spec.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


def matches(
    entry: Entry,
    pattern: str | None = None,
    *,
    spec: SpecifierSet | None = None,
    kinds: Iterable[Kind] | None = None,
) -> bool:
    """Whether ``entry`` is named by ``pattern``, ``spec`` and ``kinds`` (all that are given).

    With only ``kinds``, any entry of those kinds (listing strays is fine; planning them is
    not: :func:`make_plan` drops them). With a pattern or spec, only selectable entries
    whose project is known.
    """
    if kinds is not None and entry.kind not in set(kinds):
        return False
    if pattern is None and spec is None:
        return entry.kind in SELECTABLE if kinds is None else True
    if not entry.project or entry.kind not in SELECTABLE:
        return False
    if not pattern_matches(entry.project, entry.version, pattern):
        return False
    return spec is None or version_in(entry.version, spec)


def select(
    entries: Iterable[Entry],
    pattern: str | None = None,
    *,
    spec: SpecifierSet | None = None,
    kinds: Iterable[Kind] | None = None,
) -> list[Entry]:
    wanted = None if kinds is None else frozenset(kinds)
    return [e for e in entries if matches(e, pattern, spec=spec, kinds=wanted)]


def by_pattern(
    entries: Iterable[Entry],
    pattern: str,
    *,
    spec: SpecifierSet | None = None,
    kinds: Iterable[Kind] | None = None,
) -> list[Chosen]:
    """``remove PATTERN``: every entry of the matching projects, as pairs for a plan."""
    why = f"matches {pattern}" + (f" {spec}" if spec is not None else "")
    return [(e, why) for e in select(entries, pattern, spec=spec, kinds=kinds)]


def by_requirement(entries: Iterable[Entry], requirement: Requirement) -> list[Chosen]:
    """``install --refresh REQ``: the entries of the requirement's project (its exact name,
    PEP 503-normalised: no glob) whose version its specifier allows (pre-releases included;
    no specifier: every version), and the project's index pages (pip asks for them again).
    ``attrs==23.2.0`` takes attrs 23.2.0, never a cached attrs 23.1.0."""
    name = normalise(requirement.name)
    spec = requirement.specifier
    why = f"--refresh {requirement}"
    return [
        (e, why)
        for e in entries
        if e.kind in SELECTABLE
        and e.project is not None
        and normalise(e.project) == name
        and (e.kind == Kind.INDEX_PAGE or not spec or version_in(e.version, spec))
    ]


# ---------------------------------------------------------------------- rules


def _purgeable(entry: Entry, kinds: frozenset[Kind] | None = None) -> bool:
    """Whether ``entry`` is something its tool would rebuild (its format's ``purgeable``:
    for pip, the entries of ``http/``, ``http-v2/`` and ``wheels/``), and of ``kinds``."""
    from cachecensus.caches import format_for, is_trash

    if kinds is not None and entry.kind not in kinds:
        return False
    if entry.kind == Kind.ORPHAN and is_trash(entry):
        return True  # what an interrupted removal of ours left aside
    try:
        return format_for(entry.tool).purgeable(entry)
    except KeyError:
        return False


def purge(entries: Iterable[Entry]) -> list[Chosen]:
    """Everything the tool would rebuild: for pip the entries of ``http/``, ``http-v2/`` and
    ``wheels/``; for the others what their own "clean all" removes (never their locks)."""
    return [(e, "purge") for e in entries if _purgeable(e)]


def older_than(
    entries: Iterable[Entry],
    seconds: float,
    now: float,
    kinds: frozenset[Kind] | None = None,
    *,
    clocks: Mapping[str, Clock] | None = None,
) -> list[Chosen]:
    """Entries last used (see :func:`last_used_ns`) more than ``seconds`` before ``now``."""
    limit = int((now - seconds) * 1e9)
    out: list[Chosen] = []
    for e in entries:
        if not _purgeable(e, kinds):
            continue
        clock = _clock(e, clocks)
        used = last_used_ns(e, clock)
        if used < limit:
            out.append((e, f"unused since {_day(used)} ({clock})"))
    return out


def fetched_ns(entry: Entry) -> int:
    """When an HTTP entry was fetched: its record's ``Date``, else the record's mtime."""
    if entry.date:
        try:
            when = datetime.fromisoformat(entry.date.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            return int(when.timestamp() * 1e9)
    return entry.files[0].mtime_ns if entry.files else 0


def index_pages_older_than(entries: Iterable[Entry], seconds: float, now: float) -> list[Chosen]:
    """Index pages fetched more than ``seconds`` before ``now`` (pip revalidates them
    anyway; old ones only take room)."""
    limit = int((now - seconds) * 1e9)
    return [
        (e, f"index page fetched {_day(fetched_ns(e))}")
        for e in entries
        if _purgeable(e, frozenset({Kind.INDEX_PAGE})) and fetched_ns(e) < limit
    ]


def keep_latest(entries: Iterable[Entry], n: int) -> list[Chosen]:
    """All but the ``n`` newest versions (PEP 440 order) of each project, per kind and per
    cache: downloaded wheels are compared with downloaded wheels, built wheels with built
    wheels (a newer wheel pip built never makes the only downloaded one "old"). An entry whose
    version PEP 440 cannot parse is never taken (it cannot be said to be older)."""
    groups: dict[tuple[str, Kind, str], list[tuple[Version, Entry]]] = {}
    for e in entries:
        if e.kind in VERSIONED and e.project and e.version and _purgeable(e):
            try:
                version = Version(e.version)
            except InvalidVersion:
                continue
            groups.setdefault((e.cache_dir, e.kind, normalise(e.project)), []).append((version, e))
    out: list[Chosen] = []
    for group in groups.values():
        keep = set(sorted({v for v, _ in group}, reverse=True)[: max(n, 0)])
        out.extend((e, f"older than the {n} newest") for v, e in group if v not in keep)
    return out


def over_budget(
    entries: Iterable[Entry],
    budget: int,
    *,
    per_cache: bool = False,
    clocks: Mapping[str, Clock] | None = None,
) -> list[Chosen]:
    """Least recently used entries until what is left fits ``budget`` bytes: one budget for
    all ``entries`` (machine-wide), or with ``per_cache`` one per cache dir.

    Size is counted like ``du``: every entry (strays too: they stay and take room), each
    inode once; removing an entry takes off the bytes of the inodes it held the last link to.
    """
    groups: dict[str, list[Entry]] = {}
    for e in entries:
        groups.setdefault(e.cache_dir if per_cache else "", []).append(e)
    out: list[Chosen] = []
    for group in groups.values():
        links: Counter[tuple[int, int]] = Counter()
        sizes: dict[tuple[int, int], int] = {}
        for e in group:
            for f in e.files:
                links[(f.dev, f.inode)] += 1
                sizes[(f.dev, f.inode)] = f.size
        total = sum(sizes.values())
        pool = sorted(
            (e for e in group if _purgeable(e)),
            key=lambda e: (last_used_ns(e, _clock(e, clocks)), e.cache_dir, e.key),
        )
        for e in pool:
            if total <= budget:
                break
            why = f"least recently used ({_clock(e, clocks)}), over the size budget"
            out.append((e, why))
            for f in e.files:
                ino = (f.dev, f.inode)
                links[ino] -= 1
                if links[ino] == 0:
                    total -= sizes[ino]
    return out


def max_size(
    entries: Iterable[Entry],
    budget: int,
    *,
    machine_wide: bool = False,
    clocks: Mapping[str, Clock] | None = None,
) -> list[Chosen]:
    """The LRU size budget per cache, or one budget for all with ``machine_wide``."""
    return over_budget(entries, budget, per_cache=not machine_wide, clocks=clocks)


# ---------------------------------------------------------------------- plans


@dataclass(frozen=True)
class PlanItem:
    """One entry that goes. ``freed``: bytes it really frees (per inode, see module doc);
    ``file_freed``: the same per file of ``entry.files``."""

    entry: Entry
    freed: int
    reason: str = ""
    file_freed: tuple[int, ...] = ()
    cache: str = ""  # the real path of the entry's cache ("" when not resolved)

    @property
    def cache_id(self) -> str:
        """The physical cache: its real path where known, else the spelling scanned."""
        return self.cache or self.entry.cache_dir


@dataclass(frozen=True)
class CacheTotals:
    """A plan's accounting for one physical cache."""

    cache: str  # real path (or the spelling scanned, unresolved)
    names: tuple[str, ...]  # the spellings it was reached under
    entries: int
    files: int
    bytes: int  # apparent bytes of the planned files, as listed
    freed: int  # bytes really freed


@dataclass(frozen=True)
class Plan:
    """What goes and what that frees; ``clocks``: per cache, which time said "last used"."""

    items: tuple[PlanItem, ...]
    clocks: tuple[tuple[str, Clock], ...] = ()
    #: cache dir spelling -> real path, for every spelling the plan was given (with a host)
    real_paths: Mapping[str, str] = field(default_factory=dict)

    @property
    def caches(self) -> tuple[str, ...]:
        """The physical caches touched, each once (real paths where resolved)."""
        return tuple(dict.fromkeys(i.cache_id for i in self.items))

    @property
    def entries(self) -> int:
        return len(self.items)

    @property
    def files(self) -> int:
        return sum(len(i.entry.files) for i in self.items)

    @property
    def size(self) -> int:
        """Apparent bytes of every planned file, as listed (a file counted per link)."""
        return sum(i.entry.size for i in self.items)

    @property
    def bytes(self) -> int:
        """Alias of :attr:`size`."""
        return self.size

    @property
    def freed(self) -> int:
        """Bytes really freed: each inode once, nothing for one that keeps a link elsewhere."""
        return sum(i.freed for i in self.items)

    def per_cache(self) -> tuple[CacheTotals, ...]:
        """The accounting of each physical cache, in plan order."""
        groups: dict[str, list[PlanItem]] = {}
        for item in self.items:
            groups.setdefault(item.cache_id, []).append(item)
        return tuple(
            CacheTotals(
                cache=cache,
                names=tuple(
                    dict.fromkeys(
                        [i.entry.cache_dir for i in items]
                        + [n for n, real in self.real_paths.items() if real == cache]
                    )
                ),
                entries=len(items),
                files=sum(len(i.entry.files) for i in items),
                bytes=sum(i.entry.size for i in items),
                freed=sum(i.freed for i in items),
            )
            for cache, items in groups.items()
        )


def real_paths(host: Host, cache_dirs: Iterable[str]) -> dict[str, str]:
    """Each cache dir spelling -> its real path (symlinks resolved inside the host's root)."""
    out: dict[str, str] = {}
    for d in cache_dirs:
        if d not in out:
            try:
                out[d] = host.realpath(d)
            except OSError:
                out[d] = d
    return out


def make_plan(
    chosen: Iterable[Chosen],
    *,
    clocks: Mapping[str, Clock] | None = None,
    host: Host | None = None,
) -> Plan:
    """A plan for ``(entry, reason)`` pairs with dedupe-aware accounting (module doc).

    Entries of kinds never removed are dropped; an entry chosen twice (by two rules, or one
    cache reached through two environments) is planned once with both reasons. With
    ``host``, caches are identified by real path, so the second holds for any spelling."""
    pairs = [(e, r) for e, r in chosen if e.kind in SELECTABLE]
    canon = real_paths(host, (e.cache_dir for e, _ in pairs)) if host is not None else {}
    unique: dict[tuple[str, str], tuple[Entry, list[str]]] = {}
    for entry, reason in pairs:
        cache = canon.get(entry.cache_dir, entry.cache_dir)
        slot = unique.setdefault((cache, entry.key), (entry, []))
        if reason and reason not in slot[1]:
            slot[1].append(reason)
    links: Counter[tuple[int, int]] = Counter()
    paths: set[tuple[str, str]] = set()
    for (cache, _), (entry, _) in unique.items():
        prefix = entry.cache_dir.rstrip("/") + "/"
        for f in entry.files:
            rel = f.path[len(prefix) :] if f.path.startswith(prefix) else f.path
            if (cache, rel) not in paths:
                paths.add((cache, rel))
                links[(f.dev, f.inode)] += 1
    counted: set[tuple[int, int]] = set()
    items: list[PlanItem] = []
    for (cache, _), (entry, reasons) in unique.items():
        per_file: list[int] = []
        for f in entry.files:
            ino = (f.dev, f.inode)
            per_file.append(f.size if ino not in counted and f.nlink <= links[ino] else 0)
            counted.add(ino)
        items.append(
            PlanItem(
                entry,
                sum(per_file),
                "; ".join(reasons),
                tuple(per_file),
                cache if host is not None else "",
            )
        )
    used = tuple(sorted((clocks or {}).items()))
    return Plan(
        tuple(items),
        tuple((c, k) for c, k in used if c in {i.entry.cache_dir for i in items}),
        dict(canon),
    )


def version_key(version: str | None) -> tuple[int, Version | str]:
    """Sort key of a version: PEP 440 order, then versions PEP 440 cannot parse (by text),
    then none (an index page)."""
    if version is None:
        return (2, "")
    try:
        return (0, Version(version))
    except InvalidVersion:
        return (1, version)


def entry_order(entry: Entry) -> tuple[object, ...]:
    """The order entries are shown in: by project (normalised; none last), PEP 440 version
    (:func:`version_key`), kind, cache, key."""
    return (
        entry.project is None,
        normalise(entry.project or ""),
        version_key(entry.version),
        entry.kind.value,
        entry.cache_dir,
        entry.key,
    )


def _day(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d")
