"""pdm: cache_dir resolution proven against real pdm 2.29.4 (``pdm config cache_dir``) and
the cache format proven on caches grown by real ``pdm install`` against a loopback index
(``pdm cache list`` / ``pdm cache info`` agree), then trimmed and installed from again."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cachecensus.act.delete import execute
from cachecensus.caches import pdm as fmt
from cachecensus.host import Host
from cachecensus.models import Kind, User
from cachecensus.resolve.pdm import resolve_pdm
from cachecensus.select import by_pattern, make_plan
from conftest import WORK, serve_index
from support.poetry_pdm_helpers import Scenario, build_dists, clean_env, expand, fill, tool_venv

PDM = "2.29.4"
#: pdm's own lock (its ``locked`` extra) pins hishel 1.4: 2.0 renamed the storage pdm uses.
PDM_REQUIREMENTS = [f"pdm=={PDM}", "hishel[httpx2]==1.4.0", "httpx2==2.14.0"]
HOST = Host.local()
ME = pwd.getpwuid(os.getuid())
USER = User(ME.pw_name, ME.pw_uid, ME.pw_gid, ME.pw_dir, ME.pw_shell)
PYPROJECT = """\
[project]
name = "demo"
version = "0.1.0"
requires-python = ">=3.9"
dependencies = [{deps}]

[tool.pdm]
distribution = false
"""
SOURCE = """
[[tool.pdm.source]]
name = "pypi"
url = "{url}"
verify_ssl = false
"""


@pytest.fixture(scope="session")
def pdm_bin() -> Path:
    return tool_venv(WORK, f"venv-pdm-{PDM}", PDM_REQUIREMENTS) / "pdm"


def pdm_env(home: Path, tmp: Path, **extra: str) -> dict[str, str]:
    # pdm writes logs under XDG_STATE_HOME: keep them out of any real home
    return clean_env(home, PDM_CHECK_UPDATE="false", XDG_STATE_HOME=str(tmp / "state"), **extra)


# ---------------------------------------------------------------------- resolution


PROJECT = {"{tmp}/proj/pyproject.toml": PYPROJECT.format(deps="")}
HOMECONF = "{home}/.config/pdm/config.toml"
SCENARIOS = [
    Scenario("default"),
    Scenario("XDG_CACHE_HOME absolute", env={"XDG_CACHE_HOME": "{tmp}/xdgcache"}),
    Scenario("XDG_CACHE_HOME relative is ignored", env={"XDG_CACHE_HOME": "relxdg"}),
    Scenario("HOME empty: the passwd home", env={"HOME": "", "XDG_CONFIG_HOME": "{tmp}/cfg"}),
    Scenario("PDM_CACHE_DIR", env={"PDM_CACHE_DIR": "{tmp}/envcache"}),
    Scenario("PDM_CACHE_DIR with ~", env={"PDM_CACHE_DIR": "~/tilde"}),
    Scenario("PDM_CACHE_DIR relative", env={"PDM_CACHE_DIR": "rel/cache"}),
    Scenario("PDM_CACHE_DIR empty is the working dir", env={"PDM_CACHE_DIR": ""}),
    Scenario("global config.toml", files={HOMECONF: 'cache_dir = "{tmp}/fromglobal"\n'}),
    Scenario(
        "global config under XDG_CONFIG_HOME",
        env={"XDG_CONFIG_HOME": "{tmp}/xdgcfg"},
        files={"{tmp}/xdgcfg/pdm/config.toml": 'cache_dir = "~/xdg-global"\n'},
    ),
    Scenario(
        "PDM_CONFIG_FILE",
        env={"PDM_CONFIG_FILE": "{tmp}/my.toml"},
        files={
            "{tmp}/my.toml": "# mine\ncache_dir = 'rel-from-file'\n[venv]\nin_project = true\n",
            HOMECONF: 'cache_dir = "{tmp}/not-read"\n',
        },
    ),
    Scenario(
        "site config via XDG_CONFIG_DIRS",
        env={"XDG_CONFIG_DIRS": "{tmp}/site1:{tmp}/site2"},
        files={
            "{tmp}/site1/pdm/config.toml": 'cache_dir = "{tmp}/fromsite"\n',
            "{tmp}/site2/pdm/config.toml": 'cache_dir = "{tmp}/notsecond"\n',
        },
    ),
    Scenario(
        "the user's config beats the site config",
        env={"XDG_CONFIG_DIRS": "{tmp}/site1"},
        files={
            "{tmp}/site1/pdm/config.toml": 'cache_dir = "{tmp}/fromsite"\n',
            HOMECONF: 'cache_dir = "{tmp}/fromglobal"\n',
        },
    ),
    Scenario(
        "project pdm.toml beats the global config",
        cwd="{tmp}/proj",
        files={
            **PROJECT,
            HOMECONF: 'cache_dir = "{tmp}/fromglobal"\n',
            "{tmp}/proj/pdm.toml": 'cache_dir = "{tmp}/fromproject"\n',
        },
    ),
    Scenario(
        "pdm.toml of the project found from a subdirectory",
        cwd="{tmp}/proj/src/pkg",
        files={**PROJECT, "{tmp}/proj/pdm.toml": 'cache_dir = "local-rel"\n'},
    ),
    Scenario(
        "pdm.toml in the working dir without a pyproject",
        files={"{tmp}/work/pdm.toml": 'cache_dir = "{tmp}/cwd-project"\n'},
    ),
    Scenario(
        "PDM_CACHE_DIR beats pdm.toml",
        cwd="{tmp}/proj",
        env={"PDM_CACHE_DIR": "{tmp}/envwins"},
        files={**PROJECT, "{tmp}/proj/pdm.toml": 'cache_dir = "{tmp}/fromproject"\n'},
    ),
    Scenario(
        "global project fallback reads its pdm.toml",
        files={
            HOMECONF: '[global_project]\nfallback = true\npath = "{tmp}/gp"\n',
            "{tmp}/gp/pdm.toml": 'cache_dir = "{tmp}/from-global-project"\n',
        },
    ),
    Scenario("an integer is a directory name", files={HOMECONF: "cache_dir = 7\n"}),
]


def _setup(scenario: Scenario, tmp: Path) -> tuple[dict[str, str], str]:
    home = tmp / "home"
    home.mkdir()
    env = pdm_env(home, tmp)
    env.update({k: fill(v, tmp, home) for k, v in scenario.env.items()})
    for where, text in scenario.files.items():
        path = Path(fill(where, tmp, home))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(fill(text, tmp, home))
    cwd = fill(scenario.cwd, tmp, home)
    Path(cwd).mkdir(parents=True, exist_ok=True)
    return env, cwd


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_cache_dir_matches_real_pdm(scenario: Scenario, pdm_bin: Path, tmp_path: Path) -> None:
    env, cwd = _setup(scenario, tmp_path)
    proc = subprocess.run(
        [str(pdm_bin), "config", "cache_dir"], env=env, cwd=cwd, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    # the last line: the global project's first use also prints "Changes are written..."
    lines = proc.stdout.strip().splitlines()
    expected = expand(lines[-1] if lines else "", env, cwd)  # "": Path("") is the cwd
    got = resolve_pdm(HOST, user=USER, env=env, project_dir=cwd, version=PDM)
    assert got.error is None, got.error
    assert got.cache_dir == expected, got.decided_by
    assert sum(d.effective for d in got.decided_by) == 1


@pytest.mark.slow
def test_legacy_pdm_toml_with_cache_dir_is_pdms_error(pdm_bin: Path, tmp_path: Path) -> None:
    scenario = Scenario(
        "legacy .pdm.toml",
        cwd="{tmp}/proj",
        files={**PROJECT, "{tmp}/proj/.pdm.toml": 'cache_dir = "{tmp}/legacy"\n'},
    )
    env, cwd = _setup(scenario, tmp_path)
    proc = subprocess.run(
        [str(pdm_bin), "config", "cache_dir"], env=env, cwd=cwd, capture_output=True, text=True
    )
    assert proc.returncode != 0 and "not allowed to set in project config" in proc.stderr
    got = resolve_pdm(HOST, user=USER, env=env, project_dir=cwd, version=PDM)
    assert got.cache_dir is None and got.error and "not allowed" in got.error


def test_provenance_on_a_fake_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc/xdg/pdm").mkdir(parents=True)
    (root / "etc/xdg/pdm/config.toml").write_text('cache_dir = "/srv/site"\n')
    (root / "home/bob/.config/pdm").mkdir(parents=True)
    (root / "home/bob/.config/pdm/config.toml").write_text(
        '[pypi]\nurl = "https://example.org/simple"\n\n'
    )
    (root / "srv/p").mkdir(parents=True)
    (root / "srv/p/pyproject.toml").write_text(PYPROJECT.format(deps=""))
    (root / "srv/p/pdm.toml").write_text("[venv]\nin_project = true\n[x]\n\n")
    bob = User("bob", 1001, 1001, "/home/bob", "/bin/sh")
    host = Host(root=str(root))
    got = resolve_pdm(host, user=bob, env={"HOME": "/home/bob"}, project_dir="/srv/p")
    assert got.cache_dir == "/srv/site"
    assert [(d.source, d.where, d.effective) for d in got.decided_by] == [
        ("default", "default: ~/.cache/pdm", False),
        ("config", "/etc/xdg/pdm/config.toml:1", True),
    ]
    env = {"HOME": "/home/bob", "PDM_CACHE_DIR": "/x"}
    assert resolve_pdm(host, user=bob, env=env).decided_by[-1].where == "PDM_CACHE_DIR"
    (root / "home/bob/.config/pdm/config.toml").write_text("cache_dir = \n")
    broken = resolve_pdm(host, user=bob, env={"HOME": "/home/bob"})
    assert broken.cache_dir is None and broken.error and "invalid TOML" in broken.error


# ---------------------------------------------------------------------- real caches


@pytest.fixture(scope="session")
def build_index(index_dists: Path) -> Iterator[str]:
    with serve_index(build_dists(WORK, index_dists)) as url:
        yield url


def _pdm(pdm_bin: Path, proj: Path, cache: Path, home: Path, *args: str) -> str:
    env = pdm_env(home, home.parent, PDM_CACHE_DIR=str(cache))
    proc = subprocess.run([str(pdm_bin), *args], env=env, cwd=proj, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def grown(pdm_bin: Path, build_index: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with proj/, cache/, home/ after a real `pdm install` of six, idna and
    docopt (an sdist pdm builds), with ``install.cache`` on (packages/)."""
    top = tmp_path_factory.mktemp("pdm-grown")
    for d in ("proj", "home"):
        (top / d).mkdir()
    deps = '"six==1.16.0", "idna==3.7", "docopt==0.6.2"'
    (top / "proj/pyproject.toml").write_text(
        PYPROJECT.format(deps=deps) + SOURCE.format(url=build_index)
    )
    (top / "proj/pdm.toml").write_text("[install]\ncache = true\n")
    _pdm(pdm_bin, top / "proj", top / "cache", top / "home", "install", "--no-self")
    return top


@pytest.fixture
def copy(grown: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A private (project, cache, home) copy; the venv is made again by the tests that need
    it (its links point into the cache it was installed from)."""
    for d in ("proj", "cache", "home"):
        shutil.copytree(
            grown / d,
            tmp_path / d,
            symlinks=True,
            ignore=shutil.ignore_patterns(".venv", ".pdm-python"),
        )
    return tmp_path / "proj", tmp_path / "cache", tmp_path / "home"


def _info(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    current = ""
    for line in text.splitlines():
        head = re.match(r"\s*(File Hash|HTTP|Wheels|Metadata|Package) Cache: ", line)
        if head:
            current = head.group(1)
            continue
        counted = re.match(r"\s*(Files|Packages): (\d+)", line)
        if counted and current:
            found[current] = counted.group(2)
    return found


def test_real_cache_is_what_pdm_reports(copy: tuple[Path, Path, Path], pdm_bin: Path) -> None:
    proj, cache, home = copy
    result = fmt.scan(HOST, str(cache))
    assert result.exists and result.problems == () and fmt.looks_like(HOST, str(cache))
    from test_formats import _owned_dirs_are_exclusive

    assert _owned_dirs_are_exclusive(result) == []
    assert not [e for e in result.entries if e.kind in (Kind.CORRUPT, Kind.ORPHAN, Kind.STRAY)]
    every = sorted(f.path for e in result.entries for f in e.files)
    on_disk = sorted(str(p) for p in cache.rglob("*") if p.is_file() or p.is_symlink())
    assert every == on_disk
    for e in result.entries:
        assert all(fmt.cache_shape(f.path[len(str(cache)) + 1 :]) for f in e.files), e.key

    listed = _pdm(pdm_bin, proj, cache, home, "cache", "list")
    names = set(re.findall(r"(\S+\.whl)", listed))
    built = {e.filename for e in result.entries if e.kind == Kind.BUILT_WHEEL}
    assert names == built == {"docopt-0.6.2-py2.py3-none-any.whl"}

    info = _info(_pdm(pdm_bin, proj, cache, home, "cache", "info"))
    mine = fmt.pdm_info(HOST, fmt.scan(HOST, str(cache)))
    assert info == {
        "File Hash": str(mine["hashes"]["files"]),
        "HTTP": str(mine["http"]["files"]),
        "Wheels": str(mine["wheels"]["files"]),
        "Metadata": str(mine["metadata"]["files"]),
        "Package": str(mine["packages"]["packages"]),
    }

    rows = fmt.http_rows(HOST, str(cache))
    got = {(r.kind, r.project, r.version) for r in rows}
    assert {
        (Kind.INDEX_PAGE, "six", None),
        (Kind.WHEEL, "six", "1.16.0"),
        (Kind.WHEEL, "idna", "3.7"),
        (Kind.SDIST, "docopt", "0.6.2"),
    } <= got
    assert all(r.size > 0 for r in rows if r.kind in (Kind.WHEEL, Kind.SDIST))
    packages = {e.project for e in result.entries if e.kind == Kind.ARCHIVE}
    assert packages == {"six", "idna", "docopt"}
    # the copies' .referrers name the grown venv, which exists: in use, never pruned
    assert all(fmt.in_use(e) for e in result.entries if e.kind == Kind.ARCHIVE)
    assert fmt.prune(result.entries) == []


def test_packages_in_use_are_never_purged(copy: tuple[Path, Path, Path], pdm_bin: Path) -> None:
    proj, cache, home = copy
    _pdm(pdm_bin, proj, cache, home, "install", "--no-self")  # links the venv to this cache
    entries = fmt.scan(HOST, str(cache)).entries
    used = [e for e in entries if e.kind == Kind.ARCHIVE]
    assert used and all(fmt.in_use(e) and not fmt.purgeable(e) for e in used)
    assert not [e for e, _ in fmt.prune(entries) if e.kind == Kind.ARCHIVE]
    assert all(fmt.purgeable(e) for e in entries if e.area in ("http", "wheels", "metadata"))


def test_remove_a_project_then_pdm_installs_it_again(
    copy: tuple[Path, Path, Path], pdm_bin: Path
) -> None:
    proj, cache, home = copy
    entries = fmt.scan(HOST, str(cache)).entries
    chosen = by_pattern(entries, "docopt")
    assert {e.kind for e, _ in chosen} >= {Kind.BUILT_WHEEL, Kind.ARCHIVE}
    assert fmt.closure(entries, [e for e, _ in chosen]) == []
    plan = make_plan(chosen, host=HOST)
    result = execute(HOST, plan)
    assert result.skipped == (), result.skipped[:3]
    assert set(result.removed) == {f.path for i in plan.items for f in i.entry.files}
    left = fmt.scan(HOST, str(cache))
    assert left.problems == () and not [e for e in left.entries if e.project == "docopt"]
    assert not (cache / "packages/docopt-0.6.2-py2.py3-none-any.whl.cache").exists()
    _pdm(pdm_bin, proj, cache, home, "install", "--no-self")
    again = fmt.scan(HOST, str(cache)).entries
    assert {e.kind for e in again if e.project == "docopt"} >= {Kind.BUILT_WHEEL, Kind.ARCHIVE}
    out = subprocess.run(
        [str(proj / ".venv/bin/python"), "-c", "import docopt; print(docopt.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "0.6.2"


def test_shapes_and_odd_files(tmp_path: Path) -> None:
    h = "0123456789abcdef" * 4
    assert fmt.cache_shape(f"hashes/01/23/45/67/{h[8:56]}") == "record"
    assert fmt.cache_shape("hashes/01/23/45/67/atomic-write-ab12cd34") == "tmp"
    assert fmt.cache_shape(f"hashes/01/23/45/{h[6:56]}") is None
    assert fmt.cache_shape(f"wheels/01/23/45/{h[6:56]}/six-1.16.0-py3-none-any.whl") == "wheel"
    assert fmt.cache_shape("http/http-cache.db") == "record"
    assert fmt.cache_shape("http/http-cache.db-wal") == "body"
    assert fmt.cache_shape(f"metadata/package_meta_{h[:40]}.json") == "record"
    assert fmt.cache_shape("packages/six-1.16.0-py3-none-any.whl.cache/six.py") == "member"
    assert fmt.cache_shape("packages/six-1.16.0-py3-none-any.whl.cache/.referrers") == "record"
    assert fmt.cache_shape("self-check/abc") is None
    assert fmt.cache_shape("plugins/x/y.py") is None
    top = tmp_path / "c"
    (top / "http").mkdir(parents=True)
    (top / "http/http-cache.db").write_bytes(b"not sqlite at all" * 100)
    (top / "self-check").mkdir()
    (top / "self-check/state").write_text("{}")
    (top / "hashes/01/23/45/67").mkdir(parents=True)
    (top / "hashes/01/23/45/67/atomic-write-ab12cd34").write_text("sha")
    (top / "use_cache.json").write_text("{}")
    result = fmt.scan(HOST, str(top))
    kinds = {e.key: e.kind for e in result.entries}
    assert kinds == {
        "http/http-cache.db": Kind.CORRUPT,
        "self-check/state": Kind.SELFCHECK,
        "hashes/01/23/45/67/atomic-write-ab12cd34": Kind.ORPHAN,
        "use_cache.json": Kind.STRAY,
    }
    assert (top / "http").exists() and sorted(os.listdir(top / "http")) == ["http-cache.db"]
    assert fmt.looks_like(HOST, str(top))


def test_list_shows_downloads_inside_the_database_but_no_plan_takes_them(
    copy: tuple[Path, Path, Path],
) -> None:
    """``list six`` on a pdm cache shows six's wheel and index page that pdm keeps inside
    its HTTP database (no file of their own); ``remove six`` never plans them (only
    ``pdm cache clear http`` removes the database, and ``purge`` with it)."""
    import json
    import sys

    _, cache, _ = copy
    cli = str(Path(sys.executable).parent / "cachecensus")
    env = dict(os.environ, CACHECENSUS_MEMO="off")
    listed = subprocess.run(
        [cli, "list", "six", "--cache-dir", str(cache), "--json"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert listed.returncode == 0, listed.stderr
    inside = [e for e in json.loads(listed.stdout)["entries"] if not e["files"]]
    assert {(e["kind"], e["version"]) for e in inside} >= {("wheel", "1.16.0")}
    assert all("inside http/http-cache.db" in e["detail"] for e in inside)
    plan = subprocess.run(
        [cli, "remove", "six", "--cache-dir", str(cache), "--dry-run", "--json"],
        capture_output=True,
        text=True,
        env=env,
    )
    items = json.loads(plan.stdout)["plan"]["items"]
    assert all(i["files"] for i in items)
