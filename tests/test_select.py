"""Selection and plan accounting: pip's pattern semantics (proven against real pip), version
specs, kinds, age, size budget, keep-latest, index pages, purge, --refresh requirements, and
bytes freed counted per inode."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.utils import parse_wheel_filename

from cachecensus.caches.pip import PURGEABLE, scan
from cachecensus.host import Host
from cachecensus.models import Entry, FileInfo, Kind
from cachecensus.select import (
    by_pattern,
    by_requirement,
    clock_from_mount_options,
    clocks_for,
    entry_order,
    index_pages_older_than,
    keep_latest,
    last_used_ns,
    make_plan,
    max_size,
    older_than,
    over_budget,
    parse_spec,
    pattern_matches,
    pattern_refusal,
    purge,
    select,
    version_key,
)
from conftest import PIP_NEW

HOST = Host.local()
DAY = 86_400
NOW = 2_000_000_000.0  # a fixed "now" (2033): ages are relative to it, never to the clock
_inodes = iter(range(1000, 10**9))


def fi(
    path: str,
    size: int = 100,
    *,
    inode: int | None = None,
    nlink: int = 1,
    atime: float = NOW - 10 * DAY,
    mtime: float = NOW - 10 * DAY,
    dev: int = 1,
) -> FileInfo:
    return FileInfo(
        path,
        size,
        size,
        next(_inodes) if inode is None else inode,
        dev,
        nlink,
        0,
        int(mtime * 1e9),
        int(atime * 1e9),
    )


def ent(
    project: str | None,
    version: str | None = None,
    kind: Kind = Kind.WHEEL,
    *,
    cache: str = "/c1",
    area: str = "http-v2",
    files: tuple[FileInfo, ...] | None = None,
    size: int = 100,
    sha256: str | None = None,
    date: str | None = None,
    **times: float,
) -> Entry:
    key = f"{area}/{project}-{version}-{kind.value}-{next(_inodes)}"
    if files is None:
        files = (fi(f"{cache}/{key}", 10, **times), fi(f"{cache}/{key}.body", size - 10, **times))
    return Entry(
        "pip",
        cache,
        area,
        key,
        kind,
        files,
        project=project,
        version=version,
        sha256=sha256,
        date=date,
    )


def real_info(path: Path) -> FileInfo:
    return FileInfo.of(str(path), os.lstat(path))


def entry_of(
    cache: Path,
    rels: list[str],
    kind: Kind,
    *,
    project: str | None = None,
    version: str | None = None,
) -> Entry:
    """An entry of real files ``rels`` (relative to ``cache``), as a scan would report it."""
    area = rels[0].split("/")[0] if "/" in rels[0] else ""
    return Entry(
        "pip",
        str(cache),
        area,
        rels[0],
        kind,
        tuple(real_info(cache / rel) for rel in rels),
        project=project,
        version=version,
    )


# ---------------------------------------------------------------------- patterns

WHEELS = (
    "six-1.16.0-py2.py3-none-any.whl",
    "six-1.17.0-py2.py3-none-any.whl",
    "sgmllib3k-1.0.0-py3-none-any.whl",
    "docopt-0.6.2-py2.py3-none-any.whl",
    "idna-3.7-py3-none-any.whl",
    "charset_normalizer-3.3.2-py3-none-any.whl",
    "zope.interface-6.0-cp311-cp311-linux_x86_64.whl",
    "simplejson-3.19.1-py3-none-any.whl",
)
#: Patterns where we give exactly pip's answer.
SAME_AS_PIP = ("six", "six-1.16", "six-1.1", "s*", "*", "six-1.*7*", "idna-3", "docopt-0.6.2")
#: Patterns where pip is blind (case, hyphenated names, dotted names) and we are not.
BEYOND_PIP = {
    "Six": {"six-1.16.0", "six-1.17.0"},
    "charset-normalizer": {"charset-normalizer-3.3.2"},
    "charset-normalizer-3.3": {"charset-normalizer-3.3.2"},
    "zope_interface": {"zope-interface-6.0"},
}


def test_patterns_match_what_real_pip_cache_list_matches(
    pip_venv: Callable[[str], Path], pip_runner: Callable[..., object], tmp_path: Path
) -> None:
    """pip's ``_find_wheels`` globs filenames; we glob normalised names and versions. Over a
    cache of real wheel filenames, pip 26.3's own ``cache list`` is the oracle."""
    import subprocess

    cache = tmp_path / "cache"
    for i, name in enumerate(WHEELS):
        leaf = cache / "wheels" / "ab" / "cd" / "ef" / f"{i:050x}"
        leaf.mkdir(parents=True)
        (leaf / name).write_bytes(b"")
    parsed = {n: parse_wheel_filename(n)[:2] for n in WHEELS}

    def ours(pattern: str) -> set[str]:
        return {
            f"{name}-{version}"
            for name, version in parsed.values()
            if pattern_matches(name, str(version), pattern)
        }

    python = pip_venv(PIP_NEW)
    for pattern in (*SAME_AS_PIP, *BEYOND_PIP):
        proc = pip_runner(
            python, "cache", "list", pattern, "--format=abspath", "--cache-dir", cache
        )
        assert isinstance(proc, subprocess.CompletedProcess) and proc.returncode == 0, proc
        pips = {
            f"{parsed[Path(line).name][0]}-{parsed[Path(line).name][1]}"
            for line in proc.stdout.splitlines()
            if line.strip()
        }
        if pattern in SAME_AS_PIP:
            assert ours(pattern) == pips, pattern
            assert pips, pattern
        else:
            assert pips < ours(pattern) == BEYOND_PIP[pattern] | pips, pattern


def test_a_pattern_selects_every_kind_of_entry_of_the_project(real_caches: Path) -> None:
    result = scan(HOST, str(real_caches / "pip-23-then-26"))
    chosen = by_pattern(result.entries, "six")
    assert {(e.area, e.kind, e.version) for e, _ in chosen} == {
        ("http", Kind.WHEEL, "1.16.0"),
        ("http", Kind.INDEX_PAGE, None),
        ("http-v2", Kind.WHEEL, "1.17.0"),
        ("http-v2", Kind.INDEX_PAGE, None),
    }
    assert all(reason == "matches six" for _, reason in chosen)
    # a version in the pattern, or a spec: index pages (no version) drop out
    assert {e.version for e in select(result.entries, "six-1.16")} == {"1.16.0"}
    spec = parse_spec(">=1.17")
    assert {e.version for e in select(result.entries, "six", spec=spec)} == {"1.17.0"}
    wheels = select(result.entries, "*", kinds=[Kind.WHEEL])
    assert {e.project for e in wheels} == {"six", "idna", "packaging"}


def test_version_specs() -> None:
    entries = [ent("pkg", v) for v in ("1.0", "1.5b1", "2.0", "2.0.post1", "not.a.version")]
    spec = parse_spec("<2")
    assert {e.version for e in select(entries, "pkg", spec=spec)} == {"1.0", "1.5b1"}
    assert {e.version for e in select(entries, "pkg", spec=parse_spec("2.0"))} == {"2.0"}
    assert {e.version for e in select(entries, "pkg", spec=parse_spec(">1.0,!=2.0"))} == {
        "1.5b1",
        "2.0.post1",
    }
    assert parse_spec(None) is None and parse_spec("") is None
    for bad in ("~~1", ">=", "lots"):
        with pytest.raises(ValueError, match="invalid version specifier"):
            parse_spec(bad)


@pytest.mark.parametrize("pattern", ["", " ", "\t", "*", "**", "*-*", "*-", "-", "*.*", "?*", "* "])
def test_an_empty_or_wildcard_only_pattern_names_no_project(pattern: str) -> None:
    """``remove "$PKG"`` with PKG unset (or ``"$PKG*"``, ``"*-$VER"``) must never match
    every entry: pip's own ``cache remove ""`` removes nothing."""
    refusal = pattern_refusal(pattern)
    assert refusal is not None and refusal.startswith("PATTERN")


@pytest.mark.parametrize("pattern", ["six", "s*", "six-1.16", "*six*", "charset-normalizer"])
def test_a_pattern_naming_a_project_is_accepted(pattern: str) -> None:
    assert pattern_refusal(pattern) is None


def test_refresh_takes_what_the_specifier_allows_and_the_index_pages() -> None:
    """``install --refresh attrs==23.2.0`` once deleted the cached attrs 23.1.0 too."""
    from packaging.requirements import Requirement

    old, new = ent("attrs", "23.1.0"), ent("attrs", "23.2.0")
    built = ent("attrs", "23.2.0", Kind.BUILT_WHEEL, area="wheels")
    page = ent("attrs", kind=Kind.INDEX_PAGE)
    other = ent("attrs-strict", "23.2.0")  # another project, whose name starts alike
    dashed = ent("foo", "2.0")  # "foo-2" is a project name, never foo at version 2*
    every = [old, new, built, page, other, dashed]

    def taken(text: str) -> list[Entry]:
        return [e for e, _ in by_requirement(every, Requirement(text))]

    assert taken("attrs==23.2.0") == [new, built, page]
    assert taken("Attrs[tests] == 23.2.0 ; python_version >= '3'") == [new, built, page]
    assert taken("attrs") == [old, new, built, page]  # no specifier: every version
    assert taken("attrs>=23") == [old, new, built, page]
    assert taken("attrs<23.2") == [old, page]
    assert taken("foo-2") == []
    assert by_requirement(every, Requirement("attrs==23.2.0"))[0][1] == ("--refresh attrs==23.2.0")


def test_refresh_of_one_version_keeps_the_other_in_a_real_cache(real_caches: Path) -> None:
    from packaging.requirements import Requirement

    result = scan(HOST, str(real_caches / "pip-26.3"))
    chosen = by_requirement(result.entries, Requirement("six==1.17.0"))
    assert {(e.kind, e.version) for e, _ in chosen} == {
        (Kind.WHEEL, "1.17.0"),
        (Kind.INDEX_PAGE, None),
    }
    assert {e.version for e in select(result.entries, "six")} == {"1.16.0", "1.17.0", None}


def test_strays_and_selfcheck_are_never_planned() -> None:
    stray = ent(None, kind=Kind.STRAY, area="")
    selfcheck = ent(None, kind=Kind.SELFCHECK, area="selfcheck")
    wheel = ent("six", "1.0")
    # listing strays by kind is allowed; a pattern never names them
    assert select([stray, wheel], kinds=[Kind.STRAY]) == [stray]
    assert select([stray, selfcheck, wheel], "*") == [wheel]
    plan = make_plan([(stray, "x"), (selfcheck, "x"), (wheel, "x")])
    assert [i.entry for i in plan.items] == [wheel]
    assert purge([stray, selfcheck, wheel]) == [(wheel, "purge")]


def test_purge_takes_everything_pip_would_rebuild(real_caches: Path) -> None:
    cache = real_caches / "pip-26.3"
    (cache / "selfcheck").mkdir()
    (cache / "selfcheck" / "state.json").write_text("{}")
    (cache / "mine.txt").write_text("mine")
    result = scan(HOST, str(cache))
    chosen = [e for e, _ in purge(result.entries)]
    assert len(chosen) == 15
    assert {e.area for e in chosen} == {"http-v2", "wheels"}
    assert {e.kind for e in result.entries} - {e.kind for e in chosen} == {
        Kind.SELFCHECK,
        Kind.STRAY,
    }
    plan = make_plan(purge(result.entries))
    assert plan.files == 30 and plan.size == plan.freed  # nothing hard-linked elsewhere


# ---------------------------------------------------------------------- age


def test_last_use_is_atime_unless_the_mount_keeps_none() -> None:
    assert clock_from_mount_options({"rw", "relatime"}) == "atime"
    assert clock_from_mount_options({"rw", "strictatime"}) == "atime"
    assert clock_from_mount_options({"rw", "noatime"}) == "mtime"
    assert clock_from_mount_options(None) == "atime"
    read_lately = ent("six", "1.0", atime=NOW - 1 * DAY, mtime=NOW - 100 * DAY)
    assert last_used_ns(read_lately, "atime") == int((NOW - DAY) * 1e9)
    assert last_used_ns(read_lately, "mtime") == int((NOW - 100 * DAY) * 1e9)
    # by atime it was used yesterday; on a noatime mount only its mtime can be believed
    assert older_than([read_lately], 30 * DAY, NOW) == []
    chosen = older_than([read_lately], 30 * DAY, NOW, clocks={"/c1": "mtime"})
    assert [e for e, _ in chosen] == [read_lately] and "(mtime)" in chosen[0][1]


def test_the_host_says_which_clock_a_cache_has(tmp_path: Path) -> None:
    options = HOST.mount_options(str(tmp_path))
    assert options is not None and ({"rw", "ro"} & options)
    clocks = clocks_for(HOST, [str(tmp_path), str(tmp_path)])
    assert clocks == {str(tmp_path): "mtime" if "noatime" in options else "atime"}


def test_older_than_and_index_pages() -> None:
    old = ent("a", "1", atime=NOW - 40 * DAY, mtime=NOW - 40 * DAY)
    new = ent("b", "1", atime=NOW - 2 * DAY, mtime=NOW - 40 * DAY)
    stale_page = ent("a", kind=Kind.INDEX_PAGE, date="2033-04-01T00:00:00+00:00")
    fresh_page = ent("b", kind=Kind.INDEX_PAGE, date="2033-05-17T00:00:00+00:00", atime=NOW)
    undated = ent("c", kind=Kind.INDEX_PAGE, mtime=NOW - 9 * DAY)
    every = [old, new, stale_page, fresh_page, undated]
    assert [e for e, _ in older_than(every, 30 * DAY, NOW)] == [old]
    pages = index_pages_older_than(every, 7 * DAY, NOW)
    assert [e for e, _ in pages] == [stale_page, undated]  # by fetch date, else mtime
    assert "2033-04-01" in pages[0][1]


# ---------------------------------------------------------------------- versions and sizes


def test_keep_latest_orders_by_pep440_per_project_and_cache() -> None:
    versions = ("1.9", "1.10", "1.10rc1", "2.0.dev1")
    wheels = [ent("pkg", v) for v in versions]
    other = [ent("Pkg", "0.1", cache="/c2")]
    page = ent("pkg", kind=Kind.INDEX_PAGE)
    chosen = keep_latest([*wheels, *other, page], 2)
    assert sorted(e.version or "" for e, _ in chosen) == ["1.10rc1", "1.9"]
    assert all(r == "older than the 2 newest" for _, r in chosen)
    assert keep_latest(wheels, 10) == []


def test_keep_latest_never_takes_the_only_download_for_a_newer_built_wheel() -> None:
    """Per project *and kind*: a built wheel of a build dependency (setuptools 99, built
    from its sdist) never makes the only downloaded setuptools wheel "old"."""
    downloaded = ent("setuptools", "69.0.0")
    sdist = ent("setuptools", "99.0", Kind.SDIST)
    built = ent("setuptools", "99.0", Kind.BUILT_WHEEL, area="wheels")
    older_built = ent("setuptools", "98.0", Kind.BUILT_WHEEL, area="wheels")
    chosen = keep_latest([downloaded, sdist, built, older_built], 1)
    assert [e for e, _ in chosen] == [older_built]


def test_keep_latest_compares_versions_not_spellings_and_leaves_unparsable_ones() -> None:
    """``1.0`` and ``1.0.0`` are one version; a version PEP 440 cannot parse cannot be said
    to be older than any, so it is never taken."""
    same = [ent("pkg", "1.0"), ent("pkg", "1.0.0")]
    newer = ent("pkg", "0.9")
    odd = ent("pkg", "not.a.version")
    chosen = keep_latest([*same, newer, odd], 1)
    assert [e for e, _ in chosen] == [newer]


def test_versions_are_shown_in_pep440_order_not_as_text() -> None:
    """3.9.0 before 3.12.0 (text order puts 3.12.0 first); versions PEP 440 cannot parse
    after every valid one; entries without a version (index pages) last; deterministic."""
    texts = ["3.12.0", "3.9.0", "3.10.0rc1", "banana", "apple", "3.10.0"]
    assert sorted(texts, key=version_key) == [
        "3.9.0",
        "3.10.0rc1",
        "3.10.0",
        "3.12.0",
        "apple",
        "banana",
    ]
    entries = [ent("py", v) for v in texts] + [ent("py", kind=Kind.INDEX_PAGE)]
    shown = [e.version for e in sorted(reversed(entries), key=entry_order)]
    assert shown == [*sorted(texts, key=version_key), None]
    assert sorted(entries, key=entry_order) == sorted(reversed(entries), key=entry_order)


def test_size_budget_goes_least_recently_used_first_per_cache_or_machine_wide() -> None:
    a_old = ent("a", "1", size=300, atime=NOW - 30 * DAY, mtime=NOW - 30 * DAY)
    a_mid = ent("b", "1", size=300, atime=NOW - 20 * DAY, mtime=NOW - 30 * DAY)
    a_new = ent("c", "1", size=300, atime=NOW - 1 * DAY, mtime=NOW - 30 * DAY)
    a_stray = ent(None, kind=Kind.STRAY, area="", size=100, atime=NOW - 99 * DAY)
    b_old = ent("d", "1", cache="/c2", size=300, atime=NOW - 40 * DAY, mtime=NOW - 40 * DAY)
    every = [a_new, a_mid, a_old, a_stray, b_old]
    # per cache: /c1 holds 1000 bytes (its stray included, never removed); 500 must go
    per_cache = over_budget(every, 500, per_cache=True)
    assert [e for e, _ in per_cache] == [a_old, a_mid]
    # machine-wide: 1300 bytes; /c2's older entry goes first
    machine = over_budget(every, 500, per_cache=False)
    assert [e for e, _ in machine] == [b_old, a_old, a_mid]
    assert over_budget(every, 10_000) == []


def test_size_budget_counts_a_hard_linked_file_once() -> None:
    shared = fi("/c1/http-v2/x.body", 1000, inode=7, nlink=2)
    twin = fi("/c1/http-v2/y.body", 1000, inode=7, nlink=2)
    one = ent("a", "1", files=(shared,), atime=NOW - 9 * DAY)
    two = ent("b", "1", files=(twin,))
    small = ent("c", "1", size=100, atime=NOW)
    # du says 1100 bytes: within a budget of 1100 nothing goes
    assert over_budget([one, two, small], 1100) == []
    # below it, removing one link frees nothing, so both links must go
    chosen = [e for e, _ in over_budget([one, two, small], 1000)]
    assert len(chosen) == 2 and small not in chosen


# ---------------------------------------------------------------------- accounting


def test_hard_links_elsewhere_free_nothing_and_an_inode_counts_once(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    record, body = cache / "rec", cache / "rec.body"
    record.write_bytes(b"r" * 10)
    body.write_bytes(b"b" * 1000)
    elsewhere = tmp_path / "venv-file"
    os.link(body, elsewhere)
    entry = Entry(
        "pip", str(cache), "http-v2", "rec", Kind.WHEEL, (real_info(record), real_info(body))
    )
    plan = make_plan([(entry, "test")])
    assert plan.size == 1010 and plan.freed == 10  # the body lives on in the venv
    assert plan.items[0].file_freed == (10, 0)
    elsewhere.unlink()
    entry = Entry(
        "pip", str(cache), "http-v2", "rec", Kind.WHEEL, (real_info(record), real_info(body))
    )
    assert make_plan([(entry, "test")]).freed == 1010
    # two entries holding the same inode (a cache hard-linked into another): once
    other = tmp_path / "other"
    other.mkdir()
    os.link(body, other / "rec.body")
    mirrored = Entry(
        "pip",
        str(other),
        "http-v2",
        "rec",
        Kind.WHEEL,
        (real_info(other / "rec.body"),),
    )
    body_now = real_info(body)
    entry = Entry("pip", str(cache), "http-v2", "rec", Kind.WHEEL, (real_info(record), body_now))
    both = make_plan([(entry, "a"), (mirrored, "b")])
    assert both.size == 2010 and both.freed == 1010
    assert make_plan([(mirrored, "b")]).freed == 0


def test_one_cache_shared_by_two_environments_is_planned_once(real_caches: Path) -> None:
    """Census groups usages by realpath: two environments on one cache bring the same
    entries twice. The plan holds each entry once, one cache, its bytes once."""
    result = scan(HOST, str(real_caches / "pip-26.3"))
    six = select(result.entries, "six")
    alone = make_plan([(e, "matches six") for e in six])
    shared = make_plan(
        [(e, "matches six") for e in six] + [(e, "older than the 1 newest") for e in six[:1]]
    )
    assert shared.caches == (str(real_caches / "pip-26.3"),)
    assert shared.entries == alone.entries == 3
    assert shared.size == alone.size and shared.freed == alone.freed == alone.size > 0
    reasons = {i.reason for i in shared.items}
    assert "matches six; older than the 1 newest" in reasons


def test_plan_records_the_clocks_of_its_caches() -> None:
    a = ent("a", "1", cache="/c1")
    plan = make_plan([(a, "old")], clocks={"/c1": "mtime", "/elsewhere": "atime"})
    assert plan.clocks == (("/c1", "mtime"),)
    assert {Kind.ORPHAN, Kind.CORRUPT} <= PURGEABLE


# ---------------------------------------------------------------------- real paths, clocks


class MountsHost(Host):
    """This machine, but with the mount options a test says."""

    def __init__(self, mounts: dict[str, frozenset[str] | None]) -> None:
        super().__init__(root="/")
        self.mounts = mounts

    def mount_options(self, path: str) -> frozenset[str] | None:
        return self.mounts[path]


def test_each_cache_gets_the_clock_its_mount_keeps() -> None:
    host = MountsHost(
        {
            "/home/u/.cache/pip": frozenset({"rw", "relatime"}),
            "/data/cache": frozenset({"rw", "noatime"}),
            "/strict": frozenset({"rw", "strictatime"}),
            "/image": None,
        }
    )
    assert clocks_for(host, host.mounts) == {
        "/home/u/.cache/pip": "atime",
        "/data/cache": "mtime",
        "/strict": "atime",
        "/image": "atime",  # unknown: atime, which can only make an entry look newer
    }
    old = ent("a", "1", cache="/data/cache", atime=NOW, mtime=NOW - 99 * DAY, size=500)
    (chosen,) = over_budget([old], 100, clocks=clocks_for(host, ["/data/cache"]))
    assert chosen[1] == "least recently used (mtime), over the size budget"


def _respelled(entry: Entry, old: str, new: str) -> Entry:
    """``entry`` as a scan through another spelling (a symlink) of its cache reports it."""
    files = tuple(FileInfo(**{**f.__dict__, "path": new + f.path[len(old) :]}) for f in entry.files)
    return Entry(**{**entry.__dict__, "cache_dir": new, "files": files})


def test_one_cache_under_many_names_is_one_cache_given_a_host(
    real_caches: Path, tmp_path: Path
) -> None:
    cache = real_caches / "pip-26.3"
    entries = [e for e in scan(HOST, str(cache)).entries if e.kind in PURGEABLE]
    names = [str(cache)]
    for i in range(3):  # three environments reach it through symlinks
        link = tmp_path / f"env{i}-cache"
        link.symlink_to(cache)
        names.append(str(link))
    chosen = [(_respelled(e, str(cache), n), "purge") for n in names for e in entries]
    plan = make_plan(chosen, host=HOST)
    once = make_plan([(e, "purge") for e in entries])
    assert plan.caches == (str(cache),)
    (totals,) = plan.per_cache()
    assert totals.cache == str(cache) and set(totals.names) == set(names)
    assert (totals.entries, totals.files, totals.bytes, totals.freed) == (
        once.entries,
        once.files,
        once.bytes,
        once.freed,
    )
    assert plan.freed == plan.bytes == once.size > 0
    assert make_plan(chosen).entries == 4 * once.entries  # without a host, names are caches


def test_per_cache_accounting_with_a_link_in_another_cache(real_caches: Path) -> None:
    cache, copy = real_caches / "pip-26.3", real_caches / "copy"
    six = select(scan(HOST, str(cache)).entries, "six", kinds={Kind.WHEEL})[0]
    for f in six.files:
        rel = Path(f.path).relative_to(cache)
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        os.link(f.path, copy / rel)
    a = select(scan(HOST, str(cache)).entries, "six", kinds={Kind.WHEEL})[0]
    b = select(scan(HOST, str(copy)).entries, "six", kinds={Kind.WHEEL})[0]
    assert [f.nlink for f in a.files] == [2, 2]
    assert make_plan([(a, "t")], host=HOST).freed == 0  # the copy's links live on
    both = make_plan([(a, "t"), (b, "t")], host=HOST)
    assert both.bytes == 2 * a.size and both.freed == a.size
    assert [(c.cache, c.bytes, c.freed) for c in both.per_cache()] == [
        (str(cache), a.size, a.size),
        (str(copy), a.size, 0),
    ]


def test_max_size_per_cache_or_machine_wide() -> None:
    a = [ent("a", str(i), cache="/a", atime=NOW - i * DAY, mtime=NOW - 99 * DAY) for i in range(5)]
    b = [ent("b", str(i), cache="/b", atime=NOW - i * DAY - DAY / 2) for i in range(5)]
    per_cache = [(e.cache_dir, e.version) for e, _ in max_size(a + b, 300)]
    assert sorted(per_cache) == [("/a", "3"), ("/a", "4"), ("/b", "3"), ("/b", "4")]
    wide = [(e.cache_dir, e.version) for e, _ in max_size(a + b, 300, machine_wide=True)]
    assert len(wide) == 7 and wide[:3] == [("/b", "4"), ("/a", "4"), ("/b", "3")]
    by_mtime = max_size(a, 300, clocks={"/a": "mtime"})
    assert len(by_mtime) == 2 and all("least recently used" in r for _, r in by_mtime)
