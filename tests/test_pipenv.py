"""pipenv: where its pip cache is (resolver rules on fake roots, then a real pipenv).

The real runs install pipenv 2026.10.3 into a throwaway venv under ``.venv/test-work/`` and
run ``pipenv install six`` against the loopback index with a private HOME and
``PIPENV_VENV_IN_PROJECT=1``; the cache entries must land where the resolver says.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cachecensus.caches import pip as pipfmt
from cachecensus.host import Host
from cachecensus.models import Kind, User
from cachecensus.resolve.pipenv import parse_dotenv, resolve_pipenv

REPO = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("CACHECENSUS_TEST_WORK", REPO / ".venv" / "test-work"))
PIPENV = "2026.10.3"
ME = os.getuid() or 1000


@pytest.fixture
def box(tmp_path: Path) -> tuple[Host, User, Path]:
    root = tmp_path / "root"
    (root / "home/alice/proj").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "etc/passwd").write_text(f"alice:x:{ME}:{ME}::/home/alice:/bin/sh\n")
    if os.geteuid() == 0:
        for p in (root, root / "home/alice", root / "home/alice/proj"):
            os.chown(p, ME, ME)
    return (
        Host(root=str(root), env={}, euid=ME),
        User("alice", ME, ME, "/home/alice", "/bin/sh"),
        root,
    )


def test_default_xdg_and_variable(box: tuple[Host, User, Path]) -> None:
    host, alice, _ = box
    env = {"HOME": "/home/alice"}
    res = resolve_pipenv(host, user=alice, env=env)
    assert (res.cache_dir, res.tool, res.view) == ("/home/alice/.cache/pipenv", "pipenv", "default")
    assert res.reason.startswith("pipenv's default") and res.decided_by[0].effective
    res = resolve_pipenv(host, user=alice, env={**env, "XDG_CACHE_HOME": " /xdg "})
    assert res.cache_dir == "/xdg/pipenv"  # platformdirs strips the value
    res = resolve_pipenv(
        host, user=alice, env={**env, "PIPENV_CACHE_DIR": "~/pc", "PIP_CACHE_DIR": "/pip"}
    )
    assert (
        res.cache_dir == "/home/alice/pc"
    )  # pip expands ~; the user's PIP_CACHE_DIR is overridden
    assert [(d.source, d.where, d.effective) for d in res.decided_by] == [
        ("default", "default: ~/.cache/pipenv", False),
        ("env", "PIPENV_CACHE_DIR", True),
    ]
    host_mac = Host(root=host.root, env={}, euid=ME, platform="darwin")
    assert (
        resolve_pipenv(host_mac, user=alice, env=env).cache_dir
        == "/home/alice/Library/Caches/pipenv"
    )


def test_dotenv_and_pip_settings(box: tuple[Host, User, Path]) -> None:
    host, alice, root = box
    env = {"HOME": "/home/alice"}
    (root / "home/alice/proj/.env").write_text(
        '# mine\nexport BASE=/data\nPIPENV_CACHE_DIR="${BASE}/pc"  \n'
    )
    res = resolve_pipenv(host, user=alice, env=env, project_dir="/home/alice/proj")
    assert res.cache_dir == "/data/pc"
    assert (
        res.decided_by[-1].where == "/home/alice/proj/.env:3"
        and res.decided_by[-1].source == "config"
    )
    dont = resolve_pipenv(
        host, user=alice, env={**env, "PIPENV_DONT_LOAD_ENV": "1"}, project_dir="/home/alice/proj"
    )
    assert dont.cache_dir == "/home/alice/.cache/pipenv"
    (root / "home/alice/proj/.env").write_text("PIPENV_CACHE_DIR=rel\n")
    assert (
        resolve_pipenv(host, user=alice, env=env, project_dir="/home/alice/proj").cache_dir
        == "/home/alice/proj/rel"
    )
    # a pip.conf saying no-cache-dir is never read (PIP_CONFIG_FILE=/dev/null)...
    (root / "home/alice/.config/pip").mkdir(parents=True)
    (root / "home/alice/.config/pip/pip.conf").write_text(
        "[global]\nno-cache-dir = 1\ncache-dir = /x\n"
    )
    clean = resolve_pipenv(host, user=alice, env=env)
    assert clean.cache_dir == "/home/alice/.cache/pipenv" and "sync" not in clean.reason
    # ...but PIP_NO_CACHE_DIR in the environment stops `pipenv sync` caching, not locking
    res = resolve_pipenv(host, user=alice, env={**env, "PIP_NO_CACHE_DIR": "1"})
    assert res.cache_dir == "/home/alice/.cache/pipenv" and not res.disabled
    assert "pipenv sync" in res.reason and "locking still writes here" in res.reason
    assert any(d.key == "no-cache-dir" and not d.effective for d in res.decided_by)
    bad = resolve_pipenv(host, user=alice, env={**env, "PIPENV_CACHE_DIR": "true"})
    assert bad.cache_dir is None and bad.error and "boolean" in bad.error


def test_parse_dotenv() -> None:
    text = "A=1 # c\nB='${A} raw'\nC=\"${A}x${NOPE:-d}\"\nnot a line\nexport D = 4\n"
    assert parse_dotenv(text, {}) == [
        ("A", "1", 1),
        ("B", "1 raw", 2),  # pipenv's python-dotenv expands inside single quotes too
        ("C", "1xd", 3),
        ("D", "4", 5),
    ]


# ---------------------------------------------------------------------- real pipenv


def _pipenv() -> Path:
    venv = WORK / f"venv-pipenv-{PIPENV}"
    exe = venv / "bin" / "pipenv"
    if not (venv / ".ready").exists():
        shutil.rmtree(venv, ignore_errors=True)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin/python"), "-m", "pip", "install", "--quiet", f"pipenv=={PIPENV}"],
            check=True,
        )
        (venv / ".ready").write_text(PIPENV)
    return exe


def _pipenv_env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    """A clean environment for a real pipenv run: its venv in the project, no prompts, its
    temporary files (the resolver leaves request/response JSON behind) under ``home``."""
    tmp = home / "tmp"
    tmp.mkdir(exist_ok=True)
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
        "PIPENV_VENV_IN_PROJECT": "1",
        "PIPENV_YES": "1",
        "PIPENV_NOSPIN": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        **extra,
    }


def _run_pipenv(tmp_path: Path, index: str, extra: dict[str, str]) -> tuple[Path, Path]:
    home = tmp_path / "home"
    proj = tmp_path / "proj"
    home.mkdir()
    proj.mkdir()
    (proj / "Pipfile").write_text(
        f'[[source]]\nurl = "{index}"\nverify_ssl = false\nname = "loop"\n\n[packages]\n'
    )
    done = subprocess.run(
        [str(_pipenv()), "--python", sys.executable, "install", "six"],
        cwd=proj,
        env=_pipenv_env(home, extra),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return home, proj


@pytest.mark.parametrize("setting", ["default", "PIPENV_CACHE_DIR"])
def test_real_pipenv_caches_where_resolved(
    tmp_path: Path, loopback_index: str, setting: str
) -> None:
    extra = {"PIP_CACHE_DIR": str(tmp_path / "pip-own")}  # ignored by pipenv's pip
    if setting == "PIPENV_CACHE_DIR":
        extra["PIPENV_CACHE_DIR"] = str(tmp_path / "pc")
    home, proj = _run_pipenv(tmp_path, loopback_index, extra)
    host = Host.local()
    user = User("me", os.geteuid(), os.getegid(), str(home), "/bin/sh")
    res = resolve_pipenv(
        host, user=user, env={"HOME": str(home), **extra}, project_dir=str(proj), version=PIPENV
    )
    expected = str(tmp_path / "pc") if setting != "default" else str(home / ".cache" / "pipenv")
    assert res.cache_dir == os.path.realpath(expected)
    scan = pipfmt.scan(host, res.cache_dir)
    got = {(e.kind, e.project) for e in scan.entries}
    assert (Kind.WHEEL, "six") in got and (Kind.INDEX_PAGE, "six") in got
    assert not (tmp_path / "pip-own").exists()
    if setting != "default":
        assert not (home / ".cache" / "pipenv").exists()


def test_remove_from_pipenvs_cache_then_pipenv_installs_again(
    tmp_path: Path, loopback_index: str
) -> None:
    """``cachecensus remove six --tool pipenv`` finds pipenv's cache for the user (from
    ``PIPENV_CACHE_DIR``, with no ``--cache-dir``), removes six's download and index page
    from it, and a real ``pipenv install`` afterwards downloads six again."""
    cache = tmp_path / "pc"
    extra = {"PIPENV_CACHE_DIR": str(cache)}
    home, proj = _run_pipenv(tmp_path, loopback_index, extra)
    env = dict(os.environ, CACHECENSUS_MEMO="off", HOME=str(home), **extra)
    cli = str(Path(sys.executable).parent / "cachecensus")
    proc = subprocess.run(
        [cli, "remove", "six", "--tool", "pipenv", "--yes", "--json"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["plan"]["caches"] == [str(cache)]
    assert {i["kind"] for i in doc["plan"]["items"]} >= {"wheel", "index-page"}
    assert not [e for e in pipfmt.scan(Host.local(), str(cache)).entries if e.project == "six"]
    shutil.rmtree(proj / ".venv")
    again = subprocess.run(
        [str(_pipenv()), "--python", sys.executable, "install"],
        cwd=proj,
        env=_pipenv_env(home, extra),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    refetched = {(e.kind, e.project) for e in pipfmt.scan(Host.local(), str(cache)).entries}
    assert (Kind.WHEEL, "six") in refetched
