"""uv's version-keyed rules, unit by unit (no uv runs here; tests/test_uv_versions.py proves
the same rules against real uvs): the resolver's rules table, the bucket table read out of
a binary's bytes, the installed uvs found on a fake machine, and prune/remove/purge deciding
by which buckets an installed uv still reads."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from cachecensus.caches import entry_path
from cachecensus.caches import uv as uvfmt
from cachecensus.caches.uvbuckets import (
    LAYOUTS,
    NEWEST,
    buckets_of,
    scan_binary,
    understood,
    writers,
)
from cachecensus.discover.uvbin import UvBinary, installed_uvs
from cachecensus.host import Host
from cachecensus.models import Kind
from cachecensus.resolve.uvrules import KEYS_SINCE, PYPROJECT_ONLY_SINCE, RULES, rules_for
from cachecensus.userfile import Refused, read_chunks

# ---------------------------------------------------------------------- the rules table


def test_every_rule_starts_at_its_version_and_not_before() -> None:
    for rule in RULES:
        assert rule.source and rule.since
        major, minor, patch = (int(x) for x in rule.since.split("."))
        before = f"{major}.{minor}.{patch - 1}" if patch else f"{major}.{minor - 1}.99"
        assert rules_for(rule.since).has(rule.name), rule
        assert not rules_for(before).has(rule.name), rule


def test_the_rules_uv_versions_differ_by() -> None:
    assert rules_for("0.9.0").working_directory == ()
    assert rules_for("0.9.1").working_directory == ("UV_WORKING_DIRECTORY",)
    assert rules_for("0.9.14").working_directory == ("UV_WORKING_DIR", "UV_WORKING_DIRECTORY")
    assert not rules_for("0.8.18").empty_home_is_passwd
    assert rules_for("0.8.19").empty_home_is_passwd
    assert not rules_for("0.11.15").no_system_config_var
    assert rules_for("0.11.16").no_system_config_var
    assert not rules_for("0.12.19").skips_empty_config_dirs
    assert rules_for("0.12.20").skips_empty_config_dirs
    assert "system-certs" not in rules_for("0.10.12").keys
    assert "system-certs" in rules_for("0.11.0").keys
    assert "workspace" in rules_for("0.4.30").keys
    assert not rules_for("0.4.30").pyproject_only
    assert "conflicts" not in rules_for("0.7.22").pyproject_only
    assert "conflicts" in rules_for("0.8.0").pyproject_only
    assert set(PYPROJECT_ONLY_SINCE) <= set(KEYS_SINCE)


def test_an_unknown_or_very_old_version_says_whose_rules_apply() -> None:
    newest = rules_for(None)
    assert newest.version == "0.13.9" and not newest.known and newest.note is None
    assert not newest.enforces_required_version  # nothing to check it against
    assert newest.keys == frozenset(KEYS_SINCE)
    garbled = rules_for("not-a-version")
    assert garbled.note and "0.13.9" in garbled.note
    old = rules_for("0.3.5")
    assert old.note and "0.4.0" in old.note
    assert old.keys == rules_for("0.4.0").keys


# ---------------------------------------------------------------------- bucket tables


def test_the_bucket_table_names_who_writes_each_bucket() -> None:
    assert buckets_of("0.4.30") == {
        "wheels-v2",
        "sdists-v5",
        "flat-index-v1",
        "git-v0",
        "interpreter-v2",
        "simple-v13",
        "archive-v0",
        "builds-v0",
        "environments-v1",
    }
    assert buckets_of("0.13.9") == frozenset(NEWEST.values())
    assert "built-wheels-v3" in buckets_of("0.4.12")
    assert writers("wheels-v2") == ">=0.4.13,<0.5.0"
    assert writers("archive-v0") == ">=0.4.0"
    assert understood("wheels-v1") and understood("built-wheels-v3") and understood("wheels-v8")
    assert not understood("wheels-v9") and not understood("notabucket-v1")
    versions = [tuple(int(x) for x in first.split(".")) for first, _, _ in LAYOUTS]
    assert versions == sorted(versions) and all(source for _, _, source in LAYOUTS)


def _fake_uv(version: str, table: bytes, pad: int = 3 << 20) -> bytes:
    """An ELF file the way rustc lays a uv out: the bucket strings, megabytes later the
    version next to the pyvenv.cfg keys."""
    return (
        b"\x7fELF\x02\x01\x01"
        + b"\0" * pad
        + b"struct ResolutionMetadata with 6 elements"
        + table
        + b"\0\x01\x02Removing dangling cache entry"
        + b"\0" * pad
        + b"{{ RELATIVE_SITE_PACKAGES }}"
        + version.encode()
        + b"version_infoinclude-system-site-packagesfalse"
    )


TABLE_0_13_9 = (
    b"wheels-v8sdists-v11flat-index-v7git-v2interpreter-v5simple-v28archive-v0builds-v0"
    b"environments-v2python-v1binaries-v0osv-v1"
)
TABLE_0_4_30 = (
    b"wheels-v2sdists-v5flat-index-v1git-v0interpreter-v2simple-v13archive-v0builds-v0"
    b"environments-v1"
)


def test_a_binarys_table_and_version_are_read_across_chunk_boundaries() -> None:
    data = _fake_uv("0.13.9", TABLE_0_13_9)
    for chunk in (7, 4096, 1 << 20):
        version, table = scan_binary(data[i : i + chunk] for i in range(0, len(data), chunk))
        assert version == "0.13.9"
        assert table is not None and set(table) == buckets_of("0.13.9")
    # the 0.2/0.3 spelling, and the strings that follow the table are no bucket
    old = b"wheels-v1built-wheels-v3flat-index-v0git-v0interpreter-v2simple-v12archive-v0"
    version, table = scan_binary([_fake_uv("0.3.5", old + b"binaries-v0eventfoo-v3", 10)])
    assert version == "0.3.5" and table is not None
    assert table[-1] == "binaries-v0" and "built-wheels-v3" in table


def test_a_file_that_is_no_executable_is_not_read_on() -> None:
    read: list[int] = []

    def chunks() -> object:
        for i in range(100):
            read.append(i)
            yield b"#!/bin/sh\nwheels-v8sdists-v11git-v2" if i == 0 else b"x" * 10

    assert scan_binary(chunks()) == (None, None)  # type: ignore[arg-type]
    assert read == [0]


def test_read_chunks_never_opens_a_fifo_and_stops_at_its_limit(tmp_path: Path) -> None:
    fifo = tmp_path / "uv"
    os.mkfifo(fifo)
    done = threading.Event()

    def attempt() -> None:
        with pytest.raises(Refused):
            list(read_chunks(str(fifo), limit=100))
        done.set()

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(5)
    assert done.is_set(), "reading a FIFO blocked"
    big = tmp_path / "big"
    big.write_bytes(b"a" * 5000)
    assert sum(len(c) for c in read_chunks(str(big), limit=1234, chunk=100)) == 1234


# ---------------------------------------------------------------------- installed uvs


def _machine(tmp_path: Path) -> Host:
    """A fake machine: alice (a home of her own) with uv 0.4.30 in ~/.local/bin and uv
    0.13.9 as a uv tool, /opt/bin on PATH with a shell script named uv and a symlink to
    alice's uv, a project venv's uv, and a FIFO named uv in bob's ~/.cargo/bin."""
    root = tmp_path / "root"
    me = os.getuid()
    files = {
        "etc/passwd": (
            f"root:x:0:0:root:/root:/bin/sh\nalice:x:{me}:{me}::/home/alice:/bin/sh\n"
            f"bob:x:{me}:{me}::/home/bob:/bin/sh\n"
        ),
        "home/alice/.local/bin/uv": _fake_uv("0.4.30", TABLE_0_4_30, 1000),
        "home/alice/.local/share/uv/tools/uv/bin/uv": _fake_uv("0.13.9", TABLE_0_13_9, 1000),
        "opt/bin/uv": b"#!/bin/sh\nexec true wheels-v8sdists-v11git-v2\n",
        "srv/proj/.venv/bin/uv": _fake_uv("0.8.24", b"wheels-v5sdists-v9git-v0", 1000),
        "usr/bin/uv-not-named-uv": _fake_uv("0.6.17", b"wheels-v5sdists-v9git-v0", 10),
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        path.chmod(0o755)
    (root / "root").mkdir()
    (root / "home/bob/.cargo/bin").mkdir(parents=True)
    os.mkfifo(root / "home/bob/.cargo/bin/uv")
    (root / "usr/local/bin").mkdir(parents=True)
    (root / "usr/local/bin/uv").symlink_to("/home/alice/.local/bin/uv")
    return Host(root=str(root), env={"PATH": "/opt/bin:relative/bin"}, euid=0)


def test_installed_uvs_are_found_where_uv_gets_installed(tmp_path: Path) -> None:
    host = _machine(tmp_path)
    found = installed_uvs(host, prefixes=["/srv/proj/.venv"])
    assert sorted((u.version, u.path) for u in found) == [
        ("0.13.9", "/home/alice/.local/share/uv/tools/uv/bin/uv"),
        ("0.4.30", "/usr/local/bin/uv"),  # reached first through the system dir's symlink
        ("0.8.24", "/srv/proj/.venv/bin/uv"),
    ]
    assert set(next(u for u in found if u.version == "0.4.30").buckets) == buckets_of("0.4.30")
    assert [u.version for u in installed_uvs(host, users=[])] == ["0.4.30"]


# ---------------------------------------------------------------------- prune and remove


def _with_old_bucket(cache: Path) -> None:
    """uv 0.4.30's ``wheels-v2`` beside a 0.13.9 cache: six's pointer to an archive only it
    references, and a ``sdists-v5`` with its bookkeeping."""
    archives = cache / "archive-v0"
    source = next(p for p in archives.iterdir() if (p / "six.py").exists())
    shutil.copytree(source, archives / "OldBucketOnly0001", symlinks=True)
    old = cache / "wheels-v2" / "pypi" / "six"
    old.mkdir(parents=True)
    (old / "six-1.16.0-py2.py3-none-any").symlink_to("../../../archive-v0/OldBucketOnly0001")
    (old / "six-1.16.0-py2.py3-none-any.http").write_bytes(b"\x95\xb0OldBucketOnly0001")
    (cache / "sdists-v5").mkdir()
    (cache / "sdists-v5" / ".gitignore").write_text("")
    (cache / "sdists-v5" / ".git").write_text("")


UV_0_4_30 = UvBinary("/usr/bin/uv-old", "0.4.30", tuple(sorted(buckets_of("0.4.30"))))
UV_0_13_9 = UvBinary("/usr/bin/uv", "0.13.9", tuple(sorted(buckets_of("0.13.9"))))


def _pruned(cache: Path, installed: list[UvBinary]) -> dict[str, str]:
    scan = uvfmt.scan(Host.local(), str(cache), installed=installed)
    return {e.key: why for e, why in uvfmt.prune(scan.entries)}


def test_a_bucket_an_installed_uv_reads_is_never_pruned(real_caches: Path) -> None:
    cache = real_caches / "uv-0.13.9"
    _with_old_bucket(cache)
    both = _pruned(cache, [UV_0_13_9, UV_0_4_30])
    assert not any(k.startswith(("wheels-v2", "sdists-v5")) for k in both)
    assert "archive-v0/OldBucketOnly0001" not in both  # its live pointer keeps it
    scan = uvfmt.scan(Host.local(), str(cache), installed=[UV_0_13_9, UV_0_4_30])
    old = next(e for e in scan.entries if e.area == "wheels-v2")
    assert old.detail and "in use: uv 0.4.30 at /usr/bin/uv-old" in old.detail


def test_a_bucket_no_installed_uv_reads_is_pruned_whole(real_caches: Path) -> None:
    cache = real_caches / "uv-0.13.9"
    _with_old_bucket(cache)
    newest_only = _pruned(cache, [UV_0_13_9])
    assert newest_only["wheels-v2/pypi/six/six-1.16.0-py2.py3-none-any"].startswith(
        "old bucket wheels-v2: no uv on this machine uses it"
    )
    assert {"sdists-v5/.git", "sdists-v5/.gitignore"} <= set(newest_only)  # bookkeeping too
    assert newest_only["archive-v0/OldBucketOnly0001"] == "archive no pointer references"
    # the newest uv's own buckets are the old ones where only uv 0.4.30 is installed
    old_only = _pruned(cache, [UV_0_4_30])
    assert any(k.startswith("wheels-v8/") for k in old_only)
    assert not any(k.startswith("wheels-v2/") for k in old_only)


def test_with_no_uv_found_no_bucket_is_called_old(real_caches: Path) -> None:
    cache = real_caches / "uv-0.13.9"
    _with_old_bucket(cache)
    assert not any(k.startswith(("wheels-v", "sdists-v")) for k in _pruned(cache, []))
    scan = uvfmt.scan(Host.local(), str(cache), installed=[])
    old = next(e for e in scan.entries if e.area == "wheels-v2")
    assert old.detail and "kept (no uv of root's or the cache owner's found" in old.detail
    control = [e for e in scan.entries if e.area == "sdists-v5"]
    assert control and all(e.kind == Kind.CONTROL for e in control)


def test_remove_takes_the_package_from_every_uv_versions_buckets(real_caches: Path) -> None:
    cache = real_caches / "uv-0.13.9"
    _with_old_bucket(cache)
    entries = uvfmt.scan(Host.local(), str(cache), installed=[UV_0_13_9]).entries
    six = [e for e in entries if e.project == "six"]
    named = {e.key for e, _ in uvfmt.named(entries, six)}
    assert "wheels-v2/pypi/six/six-1.16.0-py2.py3-none-any" in named
    assert any(k.startswith("wheels-v8/") for k in named)
    assert not any(k.startswith("archive-v0/") for k in named)  # never by name
    chosen = [e for e in entries if e.key in named]
    closure = {e.key for e, _ in uvfmt.closure(entries, chosen)}
    assert "archive-v0/OldBucketOnly0001" in closure


def test_a_bucket_newer_than_any_uv_known_stops_remove_and_prune(real_caches: Path) -> None:
    cache = real_caches / "uv-0.13.9"
    (cache / "wheels-v8").rename(cache / "wheels-v9")
    scan = uvfmt.scan(Host.local(), str(cache), installed=[UV_0_13_9])
    (problem,) = scan.problems
    assert problem.path == f"{cache}/wheels-v9"
    assert "wheels-v9 is newer than any uv cachecensus knows (uv 0.13.9 writes wheels-v8)" in (
        problem.message
    )
    assert "nothing removed" in problem.message
    six = [e for e in scan.entries if e.project == "six"]
    assert six and uvfmt.named(scan.entries, six) == []
    assert uvfmt.prune(scan.entries) == []
    assert not any(uvfmt.purgeable(e) for e in scan.entries if e.area == "wheels-v9")
    assert any(uvfmt.purgeable(e) for e in scan.entries if e.area == "archive-v0")


def test_an_entrys_path_is_its_directory_or_its_pointer(real_caches: Path) -> None:
    cache = real_caches / "uv-0.13.9"
    for entry in uvfmt.scan(Host.local(), str(cache), installed=[UV_0_13_9]).entries:
        path = entry_path(entry)
        if entry.kind == Kind.ARCHIVE:
            assert path == f"{cache}/{entry.key}" and Path(path).is_dir()
        elif entry.kind == Kind.WHEEL:
            assert path == f"{cache}/{entry.key}" and Path(path).is_symlink()
        else:
            assert path in [f.path for f in entry.files] or Path(path).is_dir(), entry


def test_a_users_uv_decides_whose_rules_resolve_her_cache(tmp_path: Path) -> None:
    """alice's ``uv`` is uv 0.4.30 (~/.local/bin; /opt/bin/uv on her PATH is a script):
    with an empty HOME, that uv's cache is ``.cache/uv`` in the working directory; with the
    uv 0.13.9 tool first on her PATH, it is her passwd home's."""
    from cachecensus.discover.uvbin import user_uv
    from cachecensus.resolve import resolve_tool

    host = _machine(tmp_path)
    alice = host.user_by_name("alice")
    assert alice is not None
    env = {"HOME": "", "PATH": "/opt/bin:/usr/bin"}
    found = user_uv(host, alice, env)
    assert found is not None and found.version == "0.4.30"
    (old,) = resolve_tool("uv", host, user=alice, env=env, project_dir="/srv/proj")
    assert old.cache_dir == "/srv/proj/.cache/uv"
    assert "by uv 0.4.30's rules" in old.reason
    newest = dict(env, PATH="/home/alice/.local/share/uv/tools/uv/bin:/opt/bin")
    (new,) = resolve_tool("uv", host, user=alice, env=newest, project_dir="/srv/proj")
    assert new.cache_dir == "/home/alice/.cache/uv"
    assert "by uv 0.13.9's rules" in new.reason


def test_another_users_uv_can_keep_buckets_but_never_condemn_them(real_caches: Path) -> None:
    """A uv owned by neither root nor the cache's owner (another user planted it) keeps
    every bucket it claims, and does not make the others old: with only such a uv found,
    an old bucket stays as it would with no uv found."""
    cache = real_caches / "uv-0.13.9"
    _with_old_bucket(cache)
    stranger = os.getuid() + 4242
    planted = UvBinary("/home/eve/.local/bin/uv", "0.13.9", UV_0_13_9.buckets, stranger)
    assert not any(k.startswith("wheels-v2/") for k in _pruned(cache, [planted]))
    trusted = UvBinary("/usr/bin/uv", "0.13.9", UV_0_13_9.buckets, os.lstat(cache).st_uid)
    assert any(k.startswith("wheels-v2/") for k in _pruned(cache, [planted, trusted]))
    claims_all = UvBinary("/home/eve/.local/bin/uv", "0.4.30", UV_0_4_30.buckets, stranger)
    assert not any(k.startswith("wheels-v2/") for k in _pruned(cache, [claims_all, trusted]))
