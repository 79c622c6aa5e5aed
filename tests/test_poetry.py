"""poetry: cache-dir resolution proven against real poetry 2.5.1 (``poetry config cache-dir``)
and the cache format proven on caches grown by real ``poetry install`` against a loopback
index, then trimmed by the delete engine and installed from again."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cachecensus.act.delete import execute
from cachecensus.caches import poetry as fmt
from cachecensus.host import Host
from cachecensus.models import Kind, User
from cachecensus.resolve.poetry import resolve_poetry
from cachecensus.select import by_pattern, make_plan
from conftest import WORK, serve_index
from support.poetry_pdm_helpers import Scenario, build_dists, clean_env, expand, fill, tool_venv

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

POETRY = "2.5.1"
HOST = Host.local()
ME = pwd.getpwuid(os.getuid())
USER = User(ME.pw_name, ME.pw_uid, ME.pw_gid, ME.pw_dir, ME.pw_shell)
PYPROJECT = """\
[project]
name = "demo"
version = "0.1.0"
requires-python = ">=3.9"
dependencies = [{deps}]

[tool.poetry]
package-mode = false
"""
SOURCE = """
[[tool.poetry.source]]
name = "loop"
url = "{url}"
priority = "primary"
"""


@pytest.fixture(scope="session")
def poetry_bin() -> Path:
    return tool_venv(WORK, f"venv-poetry-{POETRY}", [f"poetry=={POETRY}"]) / "poetry"


# ---------------------------------------------------------------------- resolution


PROJECT = {"{tmp}/proj/pyproject.toml": PYPROJECT.format(deps="")}
SCENARIOS = [
    Scenario("default"),
    Scenario("XDG_CACHE_HOME absolute", env={"XDG_CACHE_HOME": "{tmp}/xdgcache"}),
    Scenario("XDG_CACHE_HOME relative is ignored", env={"XDG_CACHE_HOME": "relxdg"}),
    Scenario("HOME empty: the passwd home", env={"HOME": "", "XDG_CONFIG_HOME": "{tmp}/cfg"}),
    Scenario("POETRY_CACHE_DIR", env={"POETRY_CACHE_DIR": "{tmp}/envcache"}),
    Scenario("POETRY_CACHE_DIR with ~", env={"POETRY_CACHE_DIR": "~/tilde"}),
    Scenario("POETRY_CACHE_DIR relative", env={"POETRY_CACHE_DIR": "rel/cache"}),
    Scenario(
        "config.toml in ~/.config/pypoetry",
        files={"{home}/.config/pypoetry/config.toml": 'cache-dir = "{tmp}/fromconfig"\n'},
    ),
    Scenario(
        "config.toml under XDG_CONFIG_HOME",
        env={"XDG_CONFIG_HOME": "{tmp}/xdgcfg"},
        files={"{tmp}/xdgcfg/pypoetry/config.toml": 'cache-dir = "{tmp}/xdgconfig"\n'},
    ),
    Scenario(
        "POETRY_CONFIG_DIR",
        env={"POETRY_CONFIG_DIR": "{tmp}/pcd"},
        files={
            "{tmp}/pcd/config.toml": "# a comment\n'cache-dir' = \"~/quoted-key\"\n"
            "[virtualenvs]\nin-project = true\n"
        },
    ),
    Scenario(
        "auth.toml is merged too",
        files={
            "{home}/.config/pypoetry/config.toml": 'cache-dir = "{tmp}/fromconfig"\n',
            "{home}/.config/pypoetry/auth.toml": 'cache-dir = "{tmp}/fromauth"\n',
        },
    ),
    Scenario(
        "project poetry.toml beats config.toml",
        cwd="{tmp}/proj",
        files={
            **PROJECT,
            "{home}/.config/pypoetry/config.toml": 'cache-dir = "{tmp}/fromconfig"\n',
            "{tmp}/proj/poetry.toml": 'cache-dir = "{tmp}/fromproject"\n',
        },
    ),
    Scenario(
        "poetry.toml of the project found from a subdirectory",
        cwd="{tmp}/proj/src/pkg",
        files={**PROJECT, "{tmp}/proj/poetry.toml": 'cache-dir = "local-rel"\n'},
    ),
    Scenario(
        "poetry.toml without a pyproject is not read",
        files={"{tmp}/work/poetry.toml": 'cache-dir = "{tmp}/ignored"\n'},
    ),
    Scenario(
        "POETRY_CACHE_DIR beats poetry.toml",
        cwd="{tmp}/proj",
        env={"POETRY_CACHE_DIR": "{tmp}/envwins"},
        files={**PROJECT, "{tmp}/proj/poetry.toml": 'cache-dir = "{tmp}/fromproject"\n'},
    ),
    Scenario(
        "{data-dir} substitution with POETRY_HOME",
        env={"POETRY_HOME": "{tmp}/phome"},
        files={"{home}/.config/pypoetry/config.toml": 'cache-dir = "{data-dir}/cache"\n'},
    ),
    Scenario(
        "{data-dir} from POETRY_DATA_DIR, in POETRY_CACHE_DIR",
        env={"POETRY_DATA_DIR": "{tmp}/pdata", "POETRY_CACHE_DIR": "{data-dir}/c2"},
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_cache_dir_matches_real_poetry(
    scenario: Scenario, poetry_bin: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home)
    env.update({k: fill(v, tmp_path, home) for k, v in scenario.env.items()})
    for where, text in scenario.files.items():
        path = Path(fill(where, tmp_path, home))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(fill(text, tmp_path, home))
    cwd = fill(scenario.cwd, tmp_path, home)
    Path(cwd).mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [str(poetry_bin), "config", "cache-dir", "--no-interaction"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    expected = expand(proc.stdout.strip(), env, cwd)
    got = resolve_poetry(HOST, user=USER, env=env, project_dir=cwd, version=POETRY)
    assert got.error is None, got.error
    assert got.cache_dir == expected, got.decided_by
    assert sum(d.effective for d in got.decided_by) == 1


def test_provenance_names_files_lines_and_variables(tmp_path: Path) -> None:
    """On a fake root: every layer with file:line, the winner marked, reads via the host."""
    root = tmp_path / "root"
    (root / "home/alice/.config/pypoetry").mkdir(parents=True)
    (root / "home/alice/.config/pypoetry/config.toml").write_text(
        '# mine\n\ncache-dir = "/srv/poetry"\n[virtualenvs]\ncache-dir = "/not/this"\n'
    )
    (root / "srv/proj").mkdir(parents=True)
    (root / "srv/proj/pyproject.toml").write_text(PYPROJECT.format(deps=""))
    (root / "srv/proj/poetry.toml").write_text('\n"cache-dir" = "~/local"\n')
    host = Host(root=str(root))
    alice = User("alice", 1000, 1000, "/home/alice", "/bin/sh")
    env = {"HOME": "/home/alice"}
    got = resolve_poetry(host, user=alice, env=env, project_dir="/srv/proj")
    assert got.cache_dir == "/home/alice/local"
    wheres = [(d.source, d.where, d.effective) for d in got.decided_by]
    assert wheres == [
        ("default", "default: ~/.cache/pypoetry", False),
        ("config", "/home/alice/.config/pypoetry/config.toml:3", False),
        ("config", "/srv/proj/poetry.toml:2", True),
    ]
    cache_view = resolve_poetry(host, user=alice, env=env, project_dir="/srv/proj", view="cache")
    assert cache_view.cache_dir == "/srv/poetry"  # `poetry cache` reads no poetry.toml
    env_wins = resolve_poetry(host, user=alice, env={**env, "POETRY_CACHE_DIR": ""})
    assert env_wins.cache_dir == "/home/alice"  # set but empty: Path("") is the working dir
    assert env_wins.decided_by[-1].where == "POETRY_CACHE_DIR"


def test_bad_config_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "home/alice/.config/pypoetry").mkdir(parents=True)
    (root / "home/alice/.config/pypoetry/config.toml").write_text("cache-dir = [unclosed\n")
    alice = User("alice", 1000, 1000, "/home/alice", "/bin/sh")
    got = resolve_poetry(Host(root=str(root)), user=alice, env={"HOME": "/home/alice"})
    assert got.cache_dir is None and got.error and "config.toml" in got.error
    loop = root / "home/alice/.config/pypoetry/config.toml"
    loop.write_text('cache-dir = "{cache-dir}/x"\n')
    got = resolve_poetry(Host(root=str(root)), user=alice, env={"HOME": "/home/alice"})
    assert got.cache_dir is None and got.error and "itself" in got.error


def test_cache_view_matches_poetry_cache_list(poetry_bin: Path, tmp_path: Path) -> None:
    """`poetry cache list` reads the global config only: the `cache` view."""
    home = tmp_path / "home"
    (home / ".config/pypoetry").mkdir(parents=True)
    (home / ".config/pypoetry/config.toml").write_text(f'cache-dir = "{tmp_path}/global"\n')
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "pyproject.toml").write_text(PYPROJECT.format(deps=""))
    (proj / "poetry.toml").write_text(f'cache-dir = "{tmp_path}/local"\n')
    for side in ("global", "local"):
        (tmp_path / side / "cache/repositories" / f"{side}-repo").mkdir(parents=True)
    proc = subprocess.run(
        [str(poetry_bin), "cache", "list"],
        env=clean_env(home),
        cwd=proj,
        capture_output=True,
        text=True,
        check=True,
    )
    listed = proc.stdout.split()
    env = clean_env(home)
    view = resolve_poetry(
        HOST, user=USER, env=env, project_dir=str(proj), view="cache", version=POETRY
    )
    default = resolve_poetry(HOST, user=USER, env=env, project_dir=str(proj), version=POETRY)
    assert view.cache_dir is not None and default.cache_dir is not None
    assert listed == os.listdir(Path(view.cache_dir) / "cache/repositories") == ["global-repo"]
    assert default.cache_dir == str(tmp_path / "local")


# ---------------------------------------------------------------------- real caches


@pytest.fixture(scope="session")
def build_index(index_dists: Path) -> Iterator[str]:
    with serve_index(build_dists(WORK, index_dists)) as url:
        yield url


def _install(poetry_bin: Path, proj: Path, cache: Path, home: Path) -> None:
    env = clean_env(
        home,
        POETRY_CACHE_DIR=str(cache),
        POETRY_CONFIG_DIR=str(home / "poetry-config"),
        POETRY_VIRTUALENVS_IN_PROJECT="true",
    )
    proc = subprocess.run(
        [str(poetry_bin), "install", "--no-interaction"],
        env=env,
        cwd=proj,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def grown(
    poetry_bin: Path, build_index: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """(project, cache) after a real `poetry install` of six, idna and docopt (an sdist)."""
    top = tmp_path_factory.mktemp("poetry-grown")
    proj, cache, home = top / "proj", top / "cache", top / "home"
    proj.mkdir()
    home.mkdir()
    deps = '"six==1.16.0", "idna==3.7", "docopt==0.6.2"'
    (proj / "pyproject.toml").write_text(
        PYPROJECT.format(deps=deps) + SOURCE.format(url=build_index)
    )
    _install(poetry_bin, proj, cache, home)
    return proj, cache


@pytest.fixture
def copy(grown: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path, Path]:
    """A private (project, cache, home) copy of the grown cache, venv removed."""
    proj, cache = tmp_path / "proj", tmp_path / "cache"
    shutil.copytree(grown[0], proj, symlinks=True, ignore=shutil.ignore_patterns(".venv"))
    shutil.copytree(grown[1], cache, symlinks=True)
    (tmp_path / "home").mkdir()
    return proj, cache, tmp_path / "home"


def _locked(proj: Path) -> dict[str, tuple[str, set[str]]]:
    lock = tomllib.loads((proj / "poetry.lock").read_text())
    return {
        p["name"]: (p["version"], {f["file"] for f in p.get("files", [])}) for p in lock["package"]
    }


def test_real_cache_is_what_poetry_reports(copy: tuple[Path, Path, Path], poetry_bin: Path) -> None:
    proj, cache, home = copy
    result = fmt.scan(HOST, str(cache))
    assert result.exists and result.problems == ()
    assert fmt.looks_like(HOST, str(cache))
    from test_formats import _owned_dirs_are_exclusive

    assert _owned_dirs_are_exclusive(result) == []
    every = sorted(f.path for e in result.entries for f in e.files)
    on_disk = sorted(str(p) for p in cache.rglob("*") if p.is_file())
    assert every == on_disk and result.files == len(on_disk)  # each file in one entry
    assert not [e for e in result.entries if e.kind in (Kind.STRAY, Kind.CORRUPT, Kind.ORPHAN)]
    for e in result.entries:  # every file of every entry is one poetry writes
        assert all(fmt.cache_shape(f.path[len(str(cache)) + 1 :]) for f in e.files), e.key

    locked = _locked(proj)
    artifacts = {
        (e.kind, e.project, e.version, e.filename) for e in result.entries if e.area == "artifacts"
    }
    for name, (version, files) in locked.items():  # every locked file was downloaded
        for filename in files:
            kind = Kind.WHEEL if filename.endswith(".whl") else Kind.SDIST
            assert (kind, name, version, filename) in artifacts
    built = {e.filename for e in result.entries if e.kind == Kind.BUILT_WHEEL}
    assert built == {"docopt-0.6.2-py2.py3-none-any.whl"}  # built beside its sdist

    env = clean_env(home, POETRY_CACHE_DIR=str(cache), POETRY_CONFIG_DIR=str(home / "cfg"))
    listed = subprocess.run(
        [str(poetry_bin), "cache", "list"],
        env=env,
        cwd=proj,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert fmt.repositories(result) == listed and "loop" in listed

    releases = {
        (e.project, e.version): e
        for e in result.entries
        if e.kind == Kind.METADATA and e.area == "cache/repositories/loop"
    }
    for name, (version, _) in locked.items():
        assert (name, version) in releases
    pages = {e.project for e in result.entries if e.kind == Kind.INDEX_PAGE}
    assert set(locked) <= pages
    downloads = {
        e.filename
        for e in result.entries
        if e.area.endswith("/_http_") and e.kind in (Kind.WHEEL, Kind.SDIST)
    }
    assert {f for _, files in locked.values() for f in files} <= downloads

    # `poetry cache clear loop:six:1.16.0` removes exactly the record we call six 1.16.0's
    six = releases[("six", "1.16.0")]
    before = set(on_disk)
    subprocess.run(
        [str(poetry_bin), "cache", "clear", "loop:six:1.16.0", "--no-interaction"],
        env=env,
        cwd=proj,
        check=True,
        capture_output=True,
    )
    after = {str(p) for p in cache.rglob("*") if p.is_file()}
    assert before - after == {six.files[0].path}


def test_remove_a_project_then_poetry_installs_it_again(
    copy: tuple[Path, Path, Path], poetry_bin: Path
) -> None:
    proj, cache, home = copy
    entries = fmt.scan(HOST, str(cache)).entries
    chosen = by_pattern(entries, "docopt")
    chosen += fmt.closure(entries, [e for e, _ in chosen])
    kinds = {e.kind for e, _ in chosen}
    assert {Kind.SDIST, Kind.BUILT_WHEEL, Kind.METADATA, Kind.INDEX_PAGE} <= kinds
    plan = make_plan(chosen, host=HOST)
    result = execute(HOST, plan)
    assert result.skipped == (), result.skipped[:3]
    gone = {f.path for item in plan.items for f in item.entry.files}
    assert set(result.removed) == gone
    left = fmt.scan(HOST, str(cache))
    assert not [e for e in left.entries if e.project == "docopt"]
    assert left.problems == ()
    _install(poetry_bin, proj, cache, home)  # fetches and builds docopt again
    again = fmt.scan(HOST, str(cache)).entries
    assert {e.kind for e in again if e.project == "docopt"} >= {Kind.SDIST, Kind.BUILT_WHEEL}
    out = subprocess.run(
        [str(proj / ".venv/bin/python"), "-c", "import docopt, six; print(docopt.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "0.6.2"


def test_closure_and_prune_rules(copy: tuple[Path, Path, Path]) -> None:
    _, cache, _ = copy
    entries = fmt.scan(HOST, str(cache)).entries
    sdist = next(e for e in entries if e.kind == Kind.SDIST and e.area == "artifacts")
    follow = {(e.kind, e.area, e.filename) for e, _ in fmt.closure(entries, [sdist])}
    assert (Kind.BUILT_WHEEL, "artifacts", "docopt-0.6.2-py2.py3-none-any.whl") in follow
    assert any(area.endswith("/_http_") and f == sdist.filename for _, area, f in follow)
    assert all(fmt.purgeable(e) for e in entries)  # a clean cache: everything rebuildable
    assert fmt.prune(entries) == []
    # an interrupted download and an expired release record are what prune takes
    art_dir = Path(sdist.files[0].path).parent
    (art_dir / "tmpab12cd_9").write_bytes(b"partial")
    release = next(e for e in entries if e.kind == Kind.METADATA)
    path = Path(release.files[0].path)
    path.write_text("0000000001" + path.read_text()[10:])
    pruned = {e.key: why for e, why in fmt.prune(fmt.scan(HOST, str(cache)).entries)}
    assert set(pruned) == {release.key, str(art_dir / "tmpab12cd_9")[len(str(cache)) + 1 :]}


def test_cache_shapes_and_strays(tmp_path: Path) -> None:
    h = "ab" * 32
    release = "/".join(h[i : i + 2] for i in range(0, 16, 2)) + "/" + h
    assert fmt.cache_shape(f"cache/repositories/pypi/{release}") == "record"
    assert fmt.cache_shape(f"cache/repositories/pypi/{release[3:]}") is None
    rec = "abcde" + "0" * 51
    assert fmt.cache_shape(f"cache/repositories/pypi/_http_/a/b/c/d/e/{rec}") == "record"
    assert fmt.cache_shape(f"cache/repositories/pypi/_http_/a/b/c/d/e/{rec}.body") == "body"
    assert fmt.cache_shape(f"cache/repositories/pypi/_http_/a/b/c/d/e/{rec}.body.lock") == "tmp"
    assert fmt.cache_shape(f"cache/repositories/pypi/_http/a/b/c/d/e/{rec}.body") is None
    assert fmt.cache_shape(f"cache/repositories/pypi/_http_/a/b/c/d/f/{rec}") is None
    art = "artifacts/0a/1b/2c/" + "d" * 58
    assert fmt.cache_shape(f"{art}/six-1.16.0-py2.py3-none-any.whl") == "wheel"
    assert fmt.cache_shape(f"{art}/docopt-0.6.2.tar.gz") == "record"
    assert fmt.cache_shape(f"{art}/.created_from_git_dependency") == "origin"
    assert fmt.cache_shape(f"{art}/notes.txt") is None
    assert fmt.cache_shape("virtualenvs/demo-abc-py3.11/bin/python") is None
    assert fmt.cache_shape("config.toml") is None
    # a scan of an odd tree: strays, a symlink never followed, venvs kept apart
    top = tmp_path / "c"
    (top / art).mkdir(parents=True)
    (top / art / "six-1.16.0-py2.py3-none-any.whl").write_bytes(b"x")
    (top / art / "README").write_text("mine")
    (top / "virtualenvs/demo-py3.11/bin").mkdir(parents=True)
    (top / "virtualenvs/demo-py3.11/bin/activate").write_text("")
    (top / "cache/repositories/pypi").mkdir(parents=True)
    (top / "cache/repositories/pypi/elsewhere").symlink_to("/etc")
    (top / "cache/repositories/pypi" / "00").mkdir()
    (top / "cache/repositories/pypi/00/garbage").write_text("x")
    result = fmt.scan(HOST, str(top))
    kinds = {e.key: (e.kind, e.detail) for e in result.entries}
    assert kinds[f"{art}/six-1.16.0-py2.py3-none-any.whl"][0] == Kind.WHEEL
    assert kinds[f"{art}/README"][0] == Kind.STRAY
    assert kinds["virtualenvs/demo-py3.11"][0] == Kind.STRAY
    assert kinds["cache/repositories/pypi/elsewhere"] == (Kind.STRAY, "symlink")
    assert kinds["cache/repositories/pypi/00/garbage"][0] == Kind.STRAY
    assert not any(fmt.purgeable(e) for e in result.entries if e.kind == Kind.STRAY)
    assert fmt.looks_like(HOST, str(top)) and not fmt.looks_like(HOST, str(tmp_path))
