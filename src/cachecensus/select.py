"""Selecting entries: which ones a pattern, version spec or kind names.

Pattern semantics are pip's (``pip cache list/remove``): a glob on the project name, and a
``-`` means a version follows (``six-1.16`` is six at versions starting ``1.16``). Unlike
pip, names are compared PEP 503-normalised (``Django``, ``django``, ``DJANGO`` are one
project) and every kind of entry is matched, not only locally built wheels.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

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
