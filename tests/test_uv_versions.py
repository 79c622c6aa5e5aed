"""The uv matrix (the ``real`` tier): cachecensus against real uv 0.4.30, 0.6.17, 0.8.24,
0.10.12, 0.12.24 and 0.13.9, each installed from PyPI into a venv kept between runs.

- ``uv cache dir`` of every version over every scenario of ``support/uv_scenarios.py``,
  against ``resolve_uv(..., version=V)``;
- the rules table against each binary: the keys it accepts (its own "unknown field"
  error), its bucket table and version string (read from its bytes, never run);
- caches grown by each version (kept between runs), then ``remove PKG``/``prune``/``purge``
  through the CLI compared file by file with that uv's own ``cache clean PKG``/``prune``/
  ``clean``, uv then installing from what is left;
- a cache of an old uv pruned on a machine where only the newest uv is installed, and where
  both are; a bucket newer than any uv known refused, never silently skipped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cachecensus.caches.uvbuckets import buckets_of
from cachecensus.discover.uvbin import read_uv
from cachecensus.host import Host
from cachecensus.models import User
from cachecensus.resolve.uv import absolute, resolve_uv
from cachecensus.resolve.uvrules import rules_for
from conftest import WORK, serve_index
from support.poetry_pdm_helpers import build_dists
from support.uv_scenarios import SCENARIOS, Scenario
from support.uv_versions import MATRIX, copy_cache, grown_cache, run_uv, tree, uv_binary

pytestmark = [pytest.mark.slow, pytest.mark.real]

#: What cachecensus keeps of a cache that uv's ``cache clean`` removes whole.
BOOKKEEPING = re.compile(r"^(\.lock|CACHEDIR\.TAG|\.gitignore|sdists-v\d+/\.git(ignore)?)$")


@pytest.fixture(scope="session", params=MATRIX)
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def uv(version: str) -> Path:
    return uv_binary(WORK, version)


# ---------------------------------------------------------------------- uv cache dir


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
def test_cache_dir_matches_each_uv(
    uv: Path, version: str, scenario: Scenario, tmp_path: Path
) -> None:
    root = tmp_path / "r"
    extra, cwd = _materialise(scenario, root)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(root / "home"), "TMPDIR": str(root / "tmp")}
    env.update(extra)
    real = subprocess.run(
        [str(uv), "cache", "dir"], env=env, cwd=cwd, capture_output=True, text=True
    )
    host = Host.local()
    account = host.user_by_uid(os.geteuid())
    assert account is not None
    user = account if scenario.passwd_home else User("u", 0, 0, str(root / "home"), "")
    got = resolve_uv(host, user=user, env=env, project_dir=str(cwd), version=version)
    if real.returncode != 0:
        assert got.error is not None, (real.stderr, got)
        assert got.cache_dir is None
        return
    printed = real.stdout.strip()
    assert got.error is None, (got.error, printed)
    if os.path.basename(printed).startswith(".tmp"):  # no-cache: a fresh temporary dir
        assert got.disabled and got.cache_dir is None, got
        assert f"temporary directory under {os.path.dirname(printed)} " in got.reason
        return
    assert not got.disabled
    workdir = next((extra[n] for n in rules_for(version).working_directory if extra.get(n)), None)
    base = absolute(workdir or str(cwd), str(cwd))
    assert got.cache_dir == absolute(printed, base), (printed, got)


def test_the_keys_each_uv_accepts_are_the_tables(uv: Path, version: str, tmp_path: Path) -> None:
    """A uv.toml with an unknown key makes uv list every key it knows: exactly the ones
    ``uvrules`` gives that version."""
    (tmp_path / "uv.toml").write_text("bogus-key = 1\n")
    proc = subprocess.run(
        [str(uv), "cache", "dir"],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    listed = re.search(r"expected one of (.*)", proc.stderr.replace("\n", " "))
    assert proc.returncode != 0 and listed, proc.stderr
    assert set(re.findall(r"`([a-z-]+)`", listed.group(1))) == rules_for(version).keys


def test_each_binary_is_read_without_running_it(uv: Path, version: str) -> None:
    found = read_uv(Host.local(), str(uv))
    assert found is not None
    assert found.version == version
    assert set(found.buckets) == buckets_of(version)


# ---------------------------------------------------------------------- grown caches


@pytest.fixture(scope="session")
def find_links(index_dists: Path) -> Path:
    dest = WORK / "uv-find-links"
    if not dest.exists():
        dest.mkdir(parents=True)
        for wheel in index_dists.glob("certifi-*.whl"):
            shutil.copy2(wheel, dest / wheel.name)
    return dest


@pytest.fixture(scope="session")
def build_index(index_dists: Path) -> Iterator[str]:
    """The loopback index, with setuptools (uv builds the docopt sdist with it)."""
    with serve_index(build_dists(WORK, index_dists)) as url:
        yield url


@pytest.fixture(scope="session")
def grown(version: str, build_index: str, find_links: Path) -> Path:
    return grown_cache(WORK, version, build_index, find_links)


def _cli(
    *args: str, path: str, home: Path, check_codes: tuple[int, ...] = (0,)
) -> subprocess.CompletedProcess[str]:
    """cachecensus on a machine whose PATH (where it finds the installed uvs) is ``path``."""
    env = {
        "PATH": path,
        "HOME": str(home),
        "CACHECENSUS_MEMO": "off",
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "cachecensus", *args], env=env, capture_output=True, text=True
    )
    assert proc.returncode in check_codes, (args, proc.stdout[-2000:], proc.stderr[-2000:])
    return proc


def _pair(grown: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """Two private copies of a grown cache (uv's, ours) and a home."""
    home = tmp_path / "home"
    home.mkdir()
    return copy_cache(grown, tmp_path / "theirs"), copy_cache(grown, tmp_path / "ours"), home


def _path_with(*uvs: Path) -> str:
    return ":".join([*(str(u.parent) for u in uvs), "/usr/bin", "/bin"])


@pytest.mark.parametrize("package", ["six", "docopt", "localpkg", "certifi"])
def test_remove_is_that_uvs_cache_clean(
    uv: Path, grown: Path, tmp_path: Path, package: str
) -> None:
    theirs, ours, home = _pair(grown, tmp_path)
    before = tree(theirs)
    run_uv(uv, "cache", "clean", "--cache-dir", str(theirs), package, cwd=tmp_path, home=home)
    expected = before - tree(theirs)
    assert expected  # uv really removed something: the comparison is not vacuous
    _cli("remove", package, "--cache-dir", str(ours), "--yes", path=_path_with(uv), home=home)
    assert before - tree(ours) == expected
    assert not any(".cachecensus-trash-" in p for p in tree(ours))


def test_prune_is_that_uvs_cache_prune(uv: Path, grown: Path, tmp_path: Path) -> None:
    theirs, ours, home = _pair(grown, tmp_path)
    before = tree(theirs)
    run_uv(uv, "cache", "prune", "--cache-dir", str(theirs), cwd=tmp_path, home=home)
    expected = before - tree(theirs)
    assert expected  # the cached environment of `uv run --with`, at least
    _cli("prune", "--cache-dir", str(ours), "--yes", path=_path_with(uv), home=home)
    assert before - tree(ours) == expected
    assert not any(".cachecensus-trash-" in p for p in tree(ours))


def test_purge_is_that_uvs_cache_clean_but_the_bookkeeping(
    uv: Path, grown: Path, tmp_path: Path
) -> None:
    theirs, ours, home = _pair(grown, tmp_path)
    before = tree(theirs)
    run_uv(uv, "cache", "clean", "--cache-dir", str(theirs), cwd=tmp_path, home=home)
    expected = before - tree(theirs) if theirs.exists() else before
    _cli("purge", "--cache-dir", str(ours), "--yes", path=_path_with(uv), home=home)
    left = tree(ours)
    assert before - left == {p for p in expected if not BOOKKEEPING.match(p)}
    assert left and all(BOOKKEEPING.match(p) for p in left), sorted(left)[:5]


def test_uv_installs_from_what_remove_and_prune_leave(
    uv: Path, grown: Path, tmp_path: Path, build_index: str
) -> None:
    """After ``remove six`` and ``prune``, the same uv installs six, docopt and localpkg's
    neighbours from the cache and its index without an error (no dangling pointer)."""
    home = tmp_path / "home"
    home.mkdir()
    cache = copy_cache(grown, tmp_path / "cache")
    path = _path_with(uv)
    _cli("remove", "six", "--cache-dir", str(cache), "--yes", path=path, home=home)
    _cli("prune", "--cache-dir", str(cache), "--yes", path=path, home=home)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True)
    run_uv(
        uv,
        "pip",
        "install",
        "--python",
        str(tmp_path / "venv" / "bin" / "python"),
        "--index-url",
        build_index,
        "--cache-dir",
        str(cache),
        "six==1.16.0",
        "docopt==0.6.2",
        "idna==3.7",
        cwd=tmp_path,
        home=home,
    )


def test_list_json_path_is_the_entrys_directory_or_pointer(
    uv: Path, grown: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    cache = copy_cache(grown, tmp_path / "cache")
    proc = _cli("list", "--cache-dir", str(cache), "--json", path=_path_with(uv), home=home)
    entries = json.loads(proc.stdout)["entries"]
    assert entries
    for entry in entries:
        path = Path(entry["path"])
        rel = os.path.relpath(path, cache)
        if entry["kind"] in ("archive", "sdist", "built-wheel", "environment"):
            assert path.is_dir() and not path.is_symlink(), entry
            assert all(f.startswith(entry["path"] + "/") for f in entry["files"]), entry
        elif entry["kind"] == "wheel":
            assert path.is_symlink() and "/" in rel, entry  # uv's pointer to the archive
        else:
            assert entry["path"] in entry["files"], entry


# ---------------------------------------------------------------------- across versions


@pytest.fixture(scope="session")
def newest_uv() -> Path:
    return uv_binary(WORK, MATRIX[-1])


def test_an_old_uvs_cache_pruned_where_only_the_newest_uv_is_installed(
    uv: Path, version: str, grown: Path, newest_uv: Path, tmp_path: Path
) -> None:
    """Where the newest uv is the only one installed, an old uv's buckets are old: prune
    removes what that newest uv's own ``cache prune`` removes (every bucket it does not
    read, and the archives only they referenced)."""
    theirs, ours, home = _pair(grown, tmp_path)
    before = tree(theirs)
    run_uv(newest_uv, "cache", "prune", "--cache-dir", str(theirs), cwd=tmp_path, home=home)
    expected = before - tree(theirs)
    _cli("prune", "--cache-dir", str(ours), "--yes", path=_path_with(newest_uv), home=home)
    assert before - tree(ours) == expected


def test_an_old_uvs_buckets_stay_while_that_uv_is_installed(
    uv: Path, version: str, grown: Path, newest_uv: Path, tmp_path: Path
) -> None:
    """Where that old uv is installed beside the newest, its buckets are live: prune
    removes only what the old uv's own ``cache prune`` removes, whatever the newest uv
    would call old."""
    theirs, ours, home = _pair(grown, tmp_path)
    before = tree(theirs)
    run_uv(uv, "cache", "prune", "--cache-dir", str(theirs), cwd=tmp_path, home=home)
    expected = before - tree(theirs)
    dry = _cli(
        "prune",
        "--cache-dir",
        str(ours),
        "--dry-run",
        "--json",
        path=_path_with(newest_uv, uv),
        home=home,
    )
    planned = {
        os.path.relpath(f, ours)
        for item in json.loads(dry.stdout)["plan"]["items"]
        for f in item["files"]
    }
    assert planned == expected


def test_a_bucket_newer_than_any_uv_known_is_refused_not_skipped(
    uv: Path, version: str, grown: Path, tmp_path: Path
) -> None:
    """A ``wheels-v99`` (a uv from the future) makes remove and prune say the layout is
    not understood and exit 1, removing nothing: never a silent no-op."""
    home = tmp_path / "home"
    home.mkdir()
    cache = copy_cache(grown, tmp_path / "cache")
    wheels = next(p for p in cache.iterdir() if p.name.startswith("wheels-v"))
    wheels.rename(cache / "wheels-v99")
    before = tree(cache)
    for args in (["remove", "six"], ["prune"]):
        proc = _cli(
            *args,
            "--cache-dir",
            str(cache),
            "--yes",
            path=_path_with(uv),
            home=home,
            check_codes=(1,),
        )
        assert "wheels-v99 is newer than any uv cachecensus knows" in proc.stderr, proc.stderr
        assert "nothing removed" in proc.stderr
        assert tree(cache) == before


def test_dir_tool_uv_answers_as_the_uv_on_path(uv: Path, version: str, tmp_path: Path) -> None:
    """``cachecensus dir --tool uv`` answers what the uv first on PATH answers, by that
    uv's rules: a system config with ``UV_NO_SYSTEM_CONFIG=1`` (honoured from 0.11.16)
    and an empty ``XDG_CONFIG_DIRS`` item before it (skipped from 0.12.20)."""
    home, work = tmp_path / "home", tmp_path / "work"
    (tmp_path / "sys" / "uv").mkdir(parents=True)
    (tmp_path / "sys" / "uv" / "uv.toml").write_text(f'cache-dir = "{tmp_path}/system"\n')
    home.mkdir()
    work.mkdir()
    env = {
        "PATH": _path_with(uv),
        "HOME": str(home),
        "XDG_CONFIG_DIRS": f":{tmp_path}/sys",
        "UV_NO_SYSTEM_CONFIG": "1",
    }
    for variables in (env, dict(env, XDG_CONFIG_DIRS=f"{tmp_path}/sys")):
        theirs = subprocess.run(
            [str(uv), "cache", "dir"], env=variables, cwd=work, capture_output=True, text=True
        )
        ours = subprocess.run(
            [sys.executable, "-m", "cachecensus", "dir", "--tool", "uv"],
            env=dict(
                variables, CACHECENSUS_MEMO="off", PYTHONPATH=os.environ.get("PYTHONPATH", "")
            ),
            cwd=work,
            capture_output=True,
            text=True,
        )
        assert theirs.returncode == ours.returncode == 0, (theirs.stderr, ours.stderr)
        assert ours.stdout.strip() == absolute(theirs.stdout.strip(), str(work))
