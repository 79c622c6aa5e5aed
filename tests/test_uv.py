"""uv: the resolver against the real ``uv cache dir``, the format module against real caches
(the fixture, and caches grown by the real uv from the loopback index), ``uv cache clean
PKG`` and ``uv cache prune`` against ``closure`` and ``prune``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cachecensus.caches import detect
from cachecensus.caches import uv as uvfmt
from cachecensus.discover.uvbin import UvBinary, read_uv
from cachecensus.host import Host
from cachecensus.models import CacheScan, Entry, Kind, User
from cachecensus.resolve.uv import absolute, key_lines, resolve_uv

sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))
from uv_scenarios import SCENARIOS, Scenario

UV = Path(sys.executable).parent / "uv"


def _the_uv() -> UvBinary:
    """The test extra's uv, read from its binary (its version and buckets)."""
    found = read_uv(Host.local(), str(UV))
    assert found is not None and found.version
    return found


def _uv_env(extra: dict[str, str], home: Path, tmp: Path) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(tmp)}
    env.update(extra)
    return env


# ---------------------------------------------------------------------- resolver


def _materialise(scenario: Scenario, root: Path) -> tuple[dict[str, str], Path]:
    for rel in ("home", "cwd/sub/deep", "tmp"):
        (root / rel).mkdir(parents=True, exist_ok=True)
    for rel, text in scenario.files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("{R}", str(root)))
    env = {k: v.replace("{R}", str(root)) for k, v in scenario.env.items()}
    return env, root / scenario.cwd


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_resolver_matches_real_uv(scenario: Scenario, tmp_path: Path) -> None:
    root = tmp_path / "r"
    extra, cwd = _materialise(scenario, root)
    env = _uv_env(extra, root / "home", root / "tmp")
    real = subprocess.run(
        [str(UV), "cache", "dir"], env=env, cwd=cwd, capture_output=True, text=True
    )
    host = Host.local()
    account = host.user_by_uid(os.geteuid())
    assert account is not None
    user = account if scenario.passwd_home else User("u", 0, 0, str(root / "home"), "")
    got = resolve_uv(host, user=user, env=env, project_dir=str(cwd), version=_the_uv().version)
    assert got.tool == "uv"
    if real.returncode != 0:
        assert got.error is not None, real.stderr
        assert got.cache_dir is None
        return
    printed = real.stdout.strip()
    assert got.error is None, got.error
    if os.path.basename(printed).startswith(".tmp"):
        assert got.disabled and got.cache_dir is None, got
        assert f"temporary directory under {os.path.dirname(printed)} " in got.reason
        return
    assert not got.disabled
    work = extra.get("UV_WORKING_DIR") or extra.get("UV_WORKING_DIRECTORY") or str(cwd)
    base = absolute(work, str(cwd))
    assert got.cache_dir == absolute(printed, base), (printed, got)
    assert sum(d.effective for d in got.decided_by) == 1


def test_scenario_matrix_is_large_enough() -> None:
    assert len(SCENARIOS) >= 15
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)


def _fake(tmp_path: Path, files: dict[str, str]) -> Host:
    for rel, text in files.items():
        path = tmp_path / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return Host(root=str(tmp_path), env={}, euid=1000)


ALICE = User("alice", 1000, 1000, "/home/alice", "/bin/sh")


def test_provenance_names_every_layer_with_file_and_line(tmp_path: Path) -> None:
    host = _fake(
        tmp_path,
        {
            "/etc/xdg/uv/uv.toml": '# system\ncache-dir = "/sys"\nno-cache = false\n',
            "/home/alice/.config/uv/uv.toml": 'offline = true\n\ncache-dir = "/user"\n',
            "/srv/proj/pyproject.toml": '[project]\nname = "p"\nversion = "1"\n\n'
            '[tool.uv]\nno-cache = false\n"cache-dir" = "proj-cache"\n',
        },
    )
    got = resolve_uv(host, user=ALICE, env={"HOME": "/home/alice"}, project_dir="/srv/proj/src")
    assert got.cache_dir == "/srv/proj/src/proj-cache"  # relative: the working dir
    where = {(d.where, d.key): d for d in got.decided_by}
    assert where[("/etc/xdg/uv/uv.toml:2", "cache-dir")].value == "/sys"
    assert where[("/home/alice/.config/uv/uv.toml:3", "cache-dir")].effective is False
    winner = where[("/srv/proj/pyproject.toml:7 [tool.uv]", "cache-dir")]
    assert winner.effective and winner.value == "proj-cache"
    assert ("/srv/proj/pyproject.toml:6 [tool.uv]", "no-cache") in where
    assert where[("default: ~/.cache/uv", "cache-dir")].effective is False
    assert "pyproject.toml:7" in got.reason


def test_provenance_env_and_disabled(tmp_path: Path) -> None:
    host = _fake(
        tmp_path, {"/home/alice/.config/uv/uv.toml": "no-cache = true\n", "/var/tmp/.keep": ""}
    )
    env = {"HOME": "/home/alice", "UV_CACHE_DIR": "/c", "TMPDIR": "/var/tmp"}
    got = resolve_uv(host, user=ALICE, env=env)
    assert got.disabled and got.cache_dir is None
    assert "/var/tmp" in got.reason and "uv.toml:1" in got.reason
    effective = [d for d in got.decided_by if d.effective]
    assert [(d.key, d.value) for d in effective] == [("no-cache", "true")]
    env_dir = next(d for d in got.decided_by if d.where == "UV_CACHE_DIR")
    assert env_dir.value == "/c" and not env_dir.effective


def test_error_values_never_raise(tmp_path: Path) -> None:
    host = _fake(tmp_path, {"/home/alice/.config/uv/uv.toml": "cache-dir = [\n"})
    got = resolve_uv(host, user=ALICE, env={"HOME": "/home/alice"})
    assert got.error and "uv.toml" in got.error and got.cache_dir is None
    bad = resolve_uv(host, user=ALICE, env={"UV_NO_CACHE": "maybe", "HOME": "/x"})
    assert bad.error and "UV_NO_CACHE" in bad.error


def test_macos_legacy_cache_dir_wins_when_it_exists(tmp_path: Path) -> None:
    host = _fake(tmp_path, {"/home/alice/Library/Caches/uv/CACHEDIR.TAG": ""})
    host.platform = "darwin"
    got = resolve_uv(host, user=ALICE, env={"HOME": "/home/alice", "XDG_CACHE_HOME": "/x"})
    assert got.cache_dir == "/home/alice/Library/Caches/uv"
    host = _fake(tmp_path / "other", {})
    host.platform = "darwin"
    got = resolve_uv(host, user=ALICE, env={"HOME": "/home/alice", "XDG_CACHE_HOME": "/x"})
    assert got.cache_dir == "/x/uv"


def test_key_lines_understands_tables_and_dotted_keys() -> None:
    text = '[tool]\nuv.cache-dir = "a"\n[tool.uv]\nno-cache = true\n[tool.uv.pip]\ncache-dir="x"\n'
    assert key_lines(text, ["tool", "uv"], ("cache-dir", "no-cache")) == {
        "cache-dir": 2,
        "no-cache": 4,
    }


# ---------------------------------------------------------------------- format: helpers


def _tree(top: Path) -> set[str]:
    """Every non-directory under ``top`` (files and symlinks), relative; never follows."""
    found: set[str] = set()
    stack = [top]
    while stack:
        here = stack.pop()
        with os.scandir(here) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                else:
                    found.add(os.path.relpath(entry.path, top))
    return found


def _rels(cache: Path, entries: list[Entry]) -> set[str]:
    prefix = str(cache) + "/"
    return {f.path[len(prefix) :] for e in entries for f in e.files}


def _scan(cache: Path) -> CacheScan:
    """The cache as seen on a machine whose one uv is the test extra's."""
    return uvfmt.scan(Host.local(), str(cache), installed=[_the_uv()])


def _run_uv(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = _uv_env({}, home, cwd)
    return subprocess.run(
        [str(UV), *args], env=env, cwd=cwd, capture_output=True, text=True, check=True
    )


def _uv_clean(cache: Path, package: str, work: Path) -> set[str]:
    """Paths the real ``uv cache clean PACKAGE`` removes from (a copy of) ``cache``."""
    copy = work / f"uv-clean-{package}"
    shutil.copytree(cache, copy, symlinks=True)
    before = _tree(copy)
    _run_uv("cache", "clean", "--cache-dir", str(copy), package, cwd=work, home=work)
    return before - _tree(copy)


def _uv_prune(cache: Path, work: Path) -> set[str]:
    copy = work / "uv-prune"
    shutil.copytree(cache, copy, symlinks=True)
    before = _tree(copy)
    _run_uv("cache", "prune", "--cache-dir", str(copy), cwd=work, home=work)
    return before - _tree(copy)


def _clean_selection(result: CacheScan, package: str) -> list[Entry]:
    """Our ``uv cache clean PACKAGE``: the package's entries in the buckets uv cleans by
    name (current versions), flat-index pages, and the closure of archives."""
    named = {f"{b}-v{uvfmt.CURRENT[b]}" for b in ("wheels", "sdists", "simple")}
    flat = f"flat-index-v{uvfmt.CURRENT['flat-index']}"
    chosen = [
        e
        for e in result.entries
        if (e.area in named and e.project == package and e.kind != Kind.CONTROL) or e.area == flat
    ]
    extra = [e for e, _ in uvfmt.closure(result.entries, chosen)]
    return chosen + extra


# ---------------------------------------------------------------------- format: fixture


def test_fixture_scan_accounts_for_every_file(real_caches: Path) -> None:
    cache = real_caches / "uv-0.13.9"
    result = _scan(cache)
    assert result.exists and not result.problems
    regular = {p for p in _tree(cache) if not (cache / p).is_symlink()}
    assert result.files == len(regular)
    assert result.size == sum((cache / p).lstat().st_size for p in regular)
    listed = [f.path for e in result.entries for f in e.files]
    assert len(listed) == len(set(listed))  # each file in exactly one entry
    assert _rels(cache, list(result.entries)) == _tree(cache)
    assert all(e.tool == "uv" and e.cache_dir == str(cache) for e in result.entries)


def test_fixture_entries_are_identified(real_caches: Path) -> None:
    cache = real_caches / "uv-0.13.9"
    result = _scan(cache)
    by_kind: dict[Kind, list[Entry]] = {}
    for e in result.entries:
        by_kind.setdefault(e.kind, []).append(e)
    archives = {(e.project, e.version) for e in by_kind[Kind.ARCHIVE]}
    wheels = {(e.project, e.version) for e in by_kind[Kind.WHEEL]}
    expected = {("six", "1.16.0"), ("idna", "3.7"), ("packaging", "24.1"), ("attrs", "23.2.0")}
    assert archives == wheels == expected
    assert {e.project for e in by_kind[Kind.INDEX_PAGE]} == {p for p, _ in expected}
    assert {e.key for e in by_kind[Kind.CONTROL]} >= {".lock", "CACHEDIR.TAG", ".gitignore"}
    assert len(by_kind[Kind.METADATA]) == 1  # the interpreter probe
    assert Kind.STRAY not in by_kind
    for wheel in by_kind[Kind.WHEEL]:  # every pointer names the archive its symlink reaches
        target = uvfmt.archive_target(wheel)
        assert target is not None
        link = next(f.path for f in wheel.files if Path(f.path).is_symlink())
        assert Path(link).resolve() == (cache / target).resolve()
        assert any(a.key == target and a.project == wheel.project for a in by_kind[Kind.ARCHIVE])
    assert detect(Host.local(), str(cache)) == "uv"
    assert uvfmt.looks_like(Host.local(), str(cache))
    assert not uvfmt.looks_like(Host.local(), str(real_caches / "pip-26.3"))


@pytest.mark.parametrize("package", ["six", "idna", "packaging", "attrs"])
def test_fixture_clean_matches_real_uv(real_caches: Path, tmp_path: Path, package: str) -> None:
    cache = real_caches / "uv-0.13.9"
    removed = _uv_clean(cache, package, tmp_path)
    assert removed  # uv really removed something: the comparison is not vacuous
    ours = _rels(cache, _clean_selection(_scan(cache), package))
    assert ours == removed


def test_fixture_prune_matches_real_uv(real_caches: Path, tmp_path: Path) -> None:
    cache = real_caches / "uv-0.13.9"
    removed = _uv_prune(cache, tmp_path)
    ours = _rels(cache, [e for e, _ in uvfmt.prune(_scan(cache).entries)])
    assert ours == removed == set()  # every archive is referenced: nothing to prune


def test_cache_shape_roles() -> None:
    shape = uvfmt.cache_shape
    assert shape(".lock") is None and shape("CACHEDIR.TAG") is None
    # a bucket's own bookkeeping: a control entry while a uv uses the bucket (never planned),
    # removable with the bucket once none does
    assert shape("sdists-v11/.git") == "tmp" and shape("sdists-v11/.gitignore") == "tmp"
    assert shape("sdists-v11/other") is None and shape("wheels-v8/x") is None
    # uv 0.4 unpacked an sdist into <revision>/<filename>/, extensionless files and all
    rev = "sdists-v5/index/5abb261fefa03203/docopt/0.6.2/lBqOspZajGH_VwCMJT003"
    for name in ("LICENSE-MIT", "PKG-INFO", "docopt.egg-info/PKG-INFO", "setup.py"):
        assert shape(f"{rev}/docopt-0.6.2.tar.gz/{name}") == "member", name
    assert shape(f"{rev}/docopt-0.6.2-py2.py3-none-any") == "link"
    assert shape(f"{rev}/metadata.msgpack") == "record"
    assert shape("archive-v0/R6KQz86mbwt2Tgku/six.py") == "member"
    assert shape("archive-v0/R6KQz86mbwt2Tgku") is None
    w = "wheels-v8/index/e2d87b9a957f792a/six/1.16.0-py2.py3-none-any"
    assert shape(w) == "link"
    assert shape(w + ".http") == "pointer"
    assert shape(w + ".msgpack") == "record"
    assert shape(w + ".lock") == "tmp"
    assert shape("sdists-v11/path/7cfe28a0381bcaf6/revision.rev") == "pointer"
    assert shape("sdists-v11/path/7cfe28a0381bcaf6/Hhs9/src/setup.py") == "member"
    assert shape("sdists-v11/path/7cfe/Hhs9/localpkg-0.1-py3-none-any.whl") == "wheel"
    assert shape("simple-v28/index/e2d87b9a957f792a/six.rkyv") == "record"
    assert shape("wheels-v3/pypi/six/1.16.0-py2.py3-none-any.http") == "pointer"
    assert shape("environments-v2/8b0cbae4892decd7/4fb6e22a3474ab70") == "link"
    assert shape("environments-v2/8b0cbae4892decd7/4fb6e22a3474ab70.lock") == "tmp"
    assert shape("builds-v0/.tmpAbC123/bin/python") == "member"
    assert shape(".tmpAbC123/x") == "tmp"
    assert shape("notabucket/x") is None and shape("http-v2/a/b") is None
    assert shape("wheels-v8/../../etc/passwd") is None


# ---------------------------------------------------------------------- format: grown caches

PROJECT_TOML = """[build-system]
requires = []
build-backend = "uv_tinybackend"
backend-path = ["."]

[project]
name = "localpkg"
version = "0.1"
"""


@pytest.fixture
def grown_cache(tmp_path: Path, loopback_index: str) -> Path:
    """A cache grown by the real uv: index wheels, a wheel it built from a local project,
    a cached environment (``uv run --with``: a symlink to an archive no pointer
    references), and a ``--reinstall --refresh`` over a cached wheel."""
    work = tmp_path / "grow"
    work.mkdir()
    cache = work / "cache"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(work / "venv")], check=True)
    python = str(work / "venv" / "bin" / "python")
    project = work / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(PROJECT_TOML)
    (project / "localpkg.py").write_text("VALUE = 1\n")
    shutil.copy(Path(__file__).parent / "support" / "uv_tinybackend.py", project)
    common = ["--python", python, "--index-url", loopback_index, "--cache-dir", str(cache)]
    _run_uv(
        "pip", "install", *common, "six==1.16.0", "idna==3.7", "attrs==23.2.0", cwd=work, home=work
    )
    _run_uv("pip", "install", *common, str(project), cwd=work, home=work)
    _run_uv(
        "pip", "install", *common, "--reinstall", "--refresh", "six==1.16.0", cwd=work, home=work
    )
    _run_uv(
        "run",
        "--no-project",
        "--python",
        python,
        "--index-url",
        loopback_index,
        "--cache-dir",
        str(cache),
        "--with",
        "packaging==24.1",
        "python",
        "-c",
        "pass",
        cwd=work,
        home=work,
    )
    return cache


def test_grown_cache_identification(grown_cache: Path) -> None:
    from test_formats import _owned_dirs_are_exclusive

    result = _scan(grown_cache)
    assert not result.problems
    assert _owned_dirs_are_exclusive(result) == []
    assert _rels(grown_cache, list(result.entries)) == _tree(grown_cache)
    kinds = {e.kind for e in result.entries}
    assert {Kind.ARCHIVE, Kind.WHEEL, Kind.BUILT_WHEEL, Kind.ENVIRONMENT} <= kinds
    built = [e for e in result.entries if e.kind == Kind.BUILT_WHEEL]
    assert [(e.project, e.version) for e in built] == [("localpkg", "0.1")]
    assert built[0].filename == "localpkg-0.1-py3-none-any.whl"
    assert uvfmt.archive_target(built[0]) is not None
    refs = uvfmt.references(result.entries)
    envs = [e for e in result.entries if e.kind == Kind.ENVIRONMENT]
    assert envs and all(e.area.startswith("environments-v") for e in envs)
    # a cached environment is itself an archive, reached by a symlink that is no reference
    env_archive = uvfmt.archive_target(envs[0])
    assert env_archive is not None and env_archive not in refs
    archive = next(e for e in result.entries if e.key == env_archive)
    assert archive.kind == Kind.ARCHIVE and "environment" in (archive.detail or "")
    assert Kind.STRAY not in kinds


@pytest.mark.parametrize("package", ["six", "localpkg", "idna", "packaging"])
def test_grown_cache_clean_matches_real_uv(grown_cache: Path, tmp_path: Path, package: str) -> None:
    removed = _uv_clean(grown_cache, package, tmp_path)
    assert removed
    ours = _rels(grown_cache, _clean_selection(_scan(grown_cache), package))
    assert ours == removed


def _add_old_bucket(cache: Path) -> None:
    """An old-format bucket beside the current one (uv 0.13.9 cannot write one, so it is
    made by hand: a ``wheels-v7`` pointer to an archive only it references)."""
    archives = cache / "archive-v0"
    source = next(p for p in archives.iterdir() if (p / "six.py").exists())
    shutil.copytree(source, archives / "OldBucketOnly0001", symlinks=True)
    old = cache / "wheels-v7" / "pypi" / "six"
    old.mkdir(parents=True)
    (old / "1.16.0-py2.py3-none-any").symlink_to("../../../archive-v0/OldBucketOnly0001")
    (old / "1.16.0-py2.py3-none-any.http").write_bytes(b"\x95\xb0OldBucketOnly0001")


def test_grown_cache_prune_matches_real_uv(grown_cache: Path, tmp_path: Path) -> None:
    _add_old_bucket(grown_cache)
    result = _scan(grown_cache)
    olds = [e for e in result.entries if e.area == "wheels-v7"]
    assert olds and all((e.detail or "").startswith("unused bucket") for e in olds)
    removed = _uv_prune(grown_cache, tmp_path)
    pruned = uvfmt.prune(result.entries)
    reasons = {r for _, r in pruned}
    old = "old bucket wheels-v7: no uv on this machine uses it"
    assert {old, "cached environment", "archive no pointer references"} <= reasons
    assert _rels(grown_cache, [e for e, _ in pruned]) == removed


def test_purgeable_is_everything_but_bookkeeping(grown_cache: Path) -> None:
    result = _scan(grown_cache)
    kept = {e.key for e in result.entries if not uvfmt.purgeable(e)}
    assert kept == {
        ".lock",
        "CACHEDIR.TAG",
        ".gitignore",
        "sdists-v11/.git",
        "sdists-v11/.gitignore",
    }


def test_closure_keeps_archives_still_referenced(real_caches: Path) -> None:
    cache = real_caches / "uv-0.13.9"
    entries = _scan(cache).entries
    six = [e for e in entries if e.kind == Kind.WHEEL and e.project == "six"]
    got = uvfmt.closure(entries, six)
    assert [(e.project, e.kind) for e, _ in got] == [("six", Kind.ARCHIVE)]
    assert "six" in got[0][1]
    assert uvfmt.closure(entries, []) == []


def test_remove_through_the_delete_engine_leaves_what_uv_leaves(
    grown_cache: Path, tmp_path: Path
) -> None:
    from cachecensus.act.delete import execute
    from cachecensus.select import make_plan

    expected = _uv_clean(grown_cache, "six", tmp_path)
    host = Host.local()
    result = uvfmt.scan(host, str(grown_cache), installed=[_the_uv()])
    chosen = [(e, "matches six") for e in _clean_selection(result, "six")]
    plan = make_plan(chosen, host=host)
    done = execute(host, plan, force=True)
    prefix = str(grown_cache) + "/"
    assert {p[len(prefix) :] for p in done.removed} == expected, done.skipped[:5]
    assert not done.skipped
    assert _tree(grown_cache).isdisjoint(expected)


def test_prune_through_the_delete_engine_leaves_what_uv_leaves(
    grown_cache: Path, tmp_path: Path
) -> None:
    """Prune removes a cached environment's archive, whose ``bin/python`` is a symlink:
    the engine must unlink symlinks inside archives (role ``member``), never follow them."""
    from cachecensus.act.delete import execute
    from cachecensus.select import make_plan

    expected = _uv_prune(grown_cache, tmp_path)
    assert any(Path(grown_cache, p).is_symlink() and "/bin/" in p for p in expected)
    host = Host.local()
    scanned = uvfmt.scan(host, str(grown_cache), installed=[_the_uv()])
    plan = make_plan(uvfmt.prune(scanned.entries), host=host)
    done = execute(host, plan, force=True)
    prefix = str(grown_cache) + "/"
    assert {p[len(prefix) :] for p in done.removed} == expected, done.skipped[:5]


# ---------------------------------------------------------------------- through the CLI

CACHECENSUS = str(Path(sys.executable).parent / "cachecensus")


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, CACHECENSUS_MEMO="off", **(env or {}))
    return subprocess.run([CACHECENSUS, *args], capture_output=True, text=True, env=full)


@pytest.mark.parametrize("package", ["six", "idna"])
def test_cli_remove_is_uv_cache_clean_then_uv_installs_again(
    grown_cache: Path, tmp_path: Path, loopback_index: str, package: str
) -> None:
    """``cachecensus remove PKG`` on a uv cache (found by its layout) removes exactly what
    ``uv cache clean PKG`` removes; then the real uv installs PKG from that cache's index
    again without error."""
    expected = _uv_clean(grown_cache, package, tmp_path)
    before = _tree(grown_cache)
    proc = _cli("remove", package, "--cache-dir", str(grown_cache), "--yes", "--json")
    assert proc.returncode == 0, proc.stderr
    assert before - _tree(grown_cache) == expected
    venv = tmp_path / "again"
    _run_uv("venv", "--python", sys.executable, str(venv), cwd=tmp_path, home=tmp_path)
    spec = {"six": "six==1.16.0", "idna": "idna==3.7"}[package]
    _run_uv(
        "pip",
        "install",
        "--python",
        str(venv / "bin" / "python"),
        "--index-url",
        loopback_index,
        "--cache-dir",
        str(grown_cache),
        spec,
        cwd=tmp_path,
        home=tmp_path,
    )
    assert package in {
        e["project"]
        for e in json.loads(
            _cli("list", package, "--cache-dir", str(grown_cache), "--json").stdout
        )["entries"]
    }


def test_cli_respects_uvs_lock(real_caches: Path) -> None:
    """While another process holds uv's ``.lock`` (uv holds it shared while it works),
    removal waits, then leaves the cache alone and says why (exit 1); ``--force`` goes on."""
    import fcntl

    cache = real_caches / "uv-0.13.9"
    before = _tree(cache)
    with open(cache / ".lock", "rb") as held:
        fcntl.flock(held, fcntl.LOCK_SH)
        proc = _cli("purge", "--cache-dir", str(cache), "--yes", "--json")
        assert proc.returncode == 1, proc.stderr
        doc = json.loads(proc.stdout)
        assert doc["removed"] == [] and "lock is held" in doc["skipped"][0]["reason"]
        assert _tree(cache) == before
        forced = _cli("purge", "--cache-dir", str(cache), "--yes", "--force", "--json")
        assert forced.returncode == 0, forced.stdout
    left = _tree(cache)
    assert {".lock", "CACHEDIR.TAG", ".gitignore"} <= left
    assert not any(p.startswith(("archive-v0/", "wheels-v8/", "simple-v28/")) for p in left)


def test_cli_audit_names_the_environments_linking_uv_archives(
    grown_cache: Path, tmp_path: Path, loopback_index: str
) -> None:
    """uv hard-links archive files into environments: audit (with discovery) says which
    environment holds them, and those bytes are not reclaimable."""
    cache = grown_cache
    venv = tmp_path / "proj" / ".venv"
    _run_uv("venv", "--python", sys.executable, str(venv), cwd=tmp_path, home=tmp_path)
    _run_uv(
        "pip",
        "install",
        "--index-url",
        loopback_index,
        "--link-mode",
        "hardlink",
        "--python",
        str(venv / "bin" / "python"),
        "--cache-dir",
        str(cache),
        "six==1.16.0",
        cwd=tmp_path,
        home=tmp_path,
    )
    uv_scan = ("--tool", "uv", "--scan", str(tmp_path / "proj"), "--json")
    proc = _cli("audit", *uv_scan, env={"UV_CACHE_DIR": str(cache)})
    assert proc.returncode in (0, 1), proc.stderr
    caches = {c["path"]: c for c in json.loads(proc.stdout)["caches"]}
    assert set(caches) == {str(cache)}
    linked = caches[str(cache)]["linked_into"]
    assert [le["environment"] for le in linked] == [str(venv)]
    assert linked[0]["files"] >= 2 and caches[str(cache)]["linked_elsewhere"] >= linked[0]["bytes"]
    # per entry: six's archive is the one the environment still uses
    listed = _cli("list", *uv_scan, env={"UV_CACHE_DIR": str(cache)})
    by_kind = {
        (e["project"], e["kind"]): e["linked_into"] for e in json.loads(listed.stdout)["entries"]
    }
    assert by_kind[("six", "archive")] == [str(venv)]
    assert by_kind[("idna", "archive")] == []


def test_an_archive_is_moved_aside_first_and_a_leftover_is_finished_by_prune(
    real_caches: Path,
) -> None:
    """An archive goes whole: it is renamed to ``.cachecensus-trash-<hex>`` before its files
    go, so a run killed half-way leaves uv a miss, never half an archive. Such a leftover
    (made here by hand, as a kill right after the rename would leave it) is an ``orphan``
    that ``prune`` removes, directories and all; nothing else is touched."""
    cache = real_caches / "uv-0.13.9"
    archive = next(p for p in (cache / "archive-v0").iterdir() if (p / "six.py").exists())
    trash = archive.parent / ".cachecensus-trash-0123456789ab"
    archive.rename(trash)
    before = _tree(cache)
    listed = json.loads(_cli("list", "--cache-dir", str(cache), "--json").stdout)["entries"]
    leftovers = [e for e in listed if ".cachecensus-trash-" in e["path"]]
    assert [e["kind"] for e in leftovers] == ["orphan"]
    proc = _cli("prune", "--cache-dir", str(cache), "--yes", "--json")
    assert proc.returncode == 0, proc.stderr
    assert not trash.exists()
    assert before - _tree(cache) == {p for p in before if p.startswith("archive-v0/.cachecensus")}


def test_prune_rules_never_take_what_uv_cache_prune_keeps(
    grown_cache: Path, tmp_path: Path
) -> None:
    """Age, size and version rules on a uv cache pick only among what the real
    ``uv cache prune`` removes: every live wheel and referenced archive stays."""
    prunable = _uv_prune(grown_cache, tmp_path)
    assert prunable  # the cached environment of 'uv run --with' and its archive
    for rule in (["--older-than", "0d"], ["--max-size", "0"], ["--keep-latest", "1"]):
        proc = _cli("prune", *rule, "--cache-dir", str(grown_cache), "--dry-run", "--json")
        assert proc.returncode == 0, proc.stderr
        planned = {
            os.path.relpath(f, grown_cache)
            for item in json.loads(proc.stdout)["plan"]["items"]
            for f in item["files"]
        }
        assert planned <= prunable, (rule, sorted(planned - prunable)[:5])
    proc = _cli("prune", "--older-than", "0d", "--cache-dir", str(grown_cache), "--yes")
    assert proc.returncode == 0, proc.stderr
    assert _tree(grown_cache).isdisjoint(prunable)  # everything is older than now
    again = tmp_path / "again"
    again.mkdir()
    assert _uv_prune(grown_cache, again) == set()  # nothing left that uv would prune


def test_cli_dir_tool_uv_answers_like_uv_cache_dir(tmp_path: Path) -> None:
    """``cachecensus dir --tool uv`` run in a project answers what ``uv cache dir`` answers
    there (the project's ``uv.toml`` over the user's), and says why with ``--json``."""
    home, proj = tmp_path / "home", tmp_path / "proj" / "sub"
    proj.mkdir(parents=True)
    (home / ".config" / "uv").mkdir(parents=True)
    (home / ".config" / "uv" / "uv.toml").write_text(f'cache-dir = "{tmp_path}/from-user"\n')
    (tmp_path / "proj" / "uv.toml").write_text(f'cache-dir = "{tmp_path}/from-project"\n')
    env = _uv_env({}, home, tmp_path)
    theirs = subprocess.run(
        [str(UV), "cache", "dir"], cwd=proj, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    full = dict(env, PATH=os.environ["PATH"], CACHECENSUS_MEMO="off")
    ours = subprocess.run(
        [CACHECENSUS, "dir", "--tool", "uv"], cwd=proj, env=full, capture_output=True, text=True
    )
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.strip() == theirs == f"{tmp_path}/from-project"
    doc = json.loads(
        subprocess.run(
            [CACHECENSUS, "dir", "--tool", "uv", "--json"],
            cwd=proj,
            env=full,
            capture_output=True,
            text=True,
        ).stdout
    )
    (res,) = doc["resolutions"]
    effective = [d for d in res["decided_by"] if d["effective"]]
    assert [d["where"] for d in effective] == [f"{tmp_path}/proj/uv.toml:1"]
    assert any(
        d["where"].endswith("uv/uv.toml:1") and not d["effective"] for d in res["decided_by"]
    )
