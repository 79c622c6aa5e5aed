"""A user's variables: the login view plus each distinct process environment (a union).

Threat (cachecensus issue 12): alice runs ``PIP_CACHE_DIR=~/alt sleep 300``; root's census
of alice must still hold her real cache (the one every login of hers uses) and add ``~/alt``
labelled with the process, never replace the first with the second. The fast tests run the
real resolvers on a fake machine whose processes are scripted; the slow one runs a real
process of a real user (``useradd``) and the real command line.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cachecensus.census import build_census
from cachecensus.discover import discover
from cachecensus.discover.variables import (
    LOGIN,
    MAX_PROCESS_VIEWS,
    OWN,
    VariableView,
    user_views,
)
from cachecensus.host import Host, ProcessInfo
from cachecensus.models import Census, User
from cachecensus.targets import interpreter_caches
from support.realusers import chown_tree
from support.realusers import real_user as support_real_user
from test_discover import ALICE, fake_machine, venv


class ScriptedHost(Host):
    """A fake machine that is live for its processes (scripted, per instance)."""

    procs: tuple[ProcessInfo, ...] = ()

    @property
    def live(self) -> bool:
        return True

    def processes(self) -> list[ProcessInfo]:
        return list(self.procs)


def proc(pid: int, uid: int, environ: dict[str, str], name: str = "bash") -> ProcessInfo:
    return ProcessInfo(
        pid=pid,
        uid=uid,
        name=name,
        exe=None,
        cwd=None,
        cmdline=(),
        environ=environ,
        create_time=float(pid),
    )


def machine(tmp_path: Path, *procs: ProcessInfo) -> tuple[ScriptedHost, Path, User]:
    root = fake_machine(tmp_path)
    host = ScriptedHost(root=str(root), env={"HOME": "/root", "USER": "root"})
    host.procs = procs
    alice = host.user_by_name("alice")
    assert alice is not None
    return host, root, alice


def caches_of(census: Census) -> dict[tuple[str, str], set[str]]:
    """(tool, path) -> the origins of its uses."""
    return {(c.tool, c.path): {u.origin for u in c.used_by} for c in census.caches}


def test_a_process_pip_cache_dir_adds_a_cache_and_never_hides_the_login_one(
    tmp_path: Path,
) -> None:
    shell = {"HOME": "/home/alice", "PIP_CACHE_DIR": "/home/alice/alt", "PWD": "/tmp"}
    host, _, alice = machine(tmp_path, proc(12215, ALICE, shell, name="bash"))
    census = build_census(host, [alice], [], tools=["pip"])
    found = caches_of(census)
    assert found[("pip", "/home/alice/.cache/pip")] == {LOGIN}
    assert found[("pip", "/home/alice/alt")] == {"PIP_CACHE_DIR of PID 12215 (bash)"}
    (alt,) = [res for usage, res in census.resolutions if res.cache_dir == "/home/alice/alt"]
    decisive = [d for d in alt.decided_by if d.effective]
    assert [(d.source, d.where) for d in decisive] == [("env", "PIP_CACHE_DIR of PID 12215 (bash)")]


def test_a_process_that_changes_nothing_adds_nothing(tmp_path: Path) -> None:
    """A shell with only noise (PWD, a session id) is the login view: no second pair."""
    noise = {"HOME": "/home/alice", "PWD": "/srv", "XDG_SESSION_ID": "7", "TERM": "xterm"}
    host, _, alice = machine(tmp_path, proc(10, ALICE, noise))
    assert [v.origin for v in user_views(host, alice)] == [LOGIN]
    census = build_census(host, [alice], [], tools=["pip"])
    assert [(u.origin, r.cache_dir) for u, r in census.resolutions] == [
        (LOGIN, "/home/alice/.cache/pip")
    ]


def test_every_tools_login_cache_survives_a_process_that_moves_it(tmp_path: Path) -> None:
    """uv, poetry, pdm, pipenv, conda (and pip): each login cache stays; each process
    variable adds its directory, labelled with the variable and the process."""
    host, root, alice = machine(tmp_path)
    home = root / "home/alice"
    moved = {
        "uv": ("UV_CACHE_DIR", ".cache/uv", "alt-uv"),
        "poetry": ("POETRY_CACHE_DIR", ".cache/pypoetry", "alt-poetry"),
        "pdm": ("PDM_CACHE_DIR", ".cache/pdm", "alt-pdm"),
        "pipenv": ("PIPENV_CACHE_DIR", ".cache/pipenv", "alt-pipenv"),
        "pip": ("PIP_CACHE_DIR", ".cache/pip", "alt-pip"),
    }
    environ = {"HOME": "/home/alice"}
    for var, default, alt in moved.values():
        (home / default).mkdir(parents=True, exist_ok=True)
        (home / alt).mkdir()
        environ[var] = f"/home/alice/{alt}"
    # conda: the login view knows no installation; a shell with CONDA_EXE does
    (home / "miniconda3/pkgs").mkdir(parents=True)
    (home / "alt-conda").mkdir()
    environ["CONDA_EXE"] = "/home/alice/miniconda3/bin/conda"
    environ["CONDA_PKGS_DIRS"] = "/home/alice/alt-conda"
    for dirpath, dirnames, _ in os.walk(home):
        for name in dirnames:
            os.lchown(os.path.join(dirpath, name), ALICE, ALICE)
    host.procs = (proc(300, ALICE, environ, name="zsh"),)
    found = caches_of(build_census(host, [alice], []))
    for tool, (var, default, alt) in moved.items():
        assert LOGIN in found[(tool, f"/home/alice/{default}")], tool
        assert found[(tool, f"/home/alice/{alt}")] == {f"{var} of PID 300 (zsh)"}, tool
    conda = found[("conda", "/home/alice/alt-conda")]
    assert conda == {"CONDA_PKGS_DIRS of PID 300 (zsh)"}


def test_many_processes_with_the_same_variables_are_one_view(tmp_path: Path) -> None:
    same = {"HOME": "/home/alice", "PIP_CACHE_DIR": "/home/alice/alt"}
    procs = [proc(100 + i, ALICE, {**same, "PWD": f"/tmp/{i}"}) for i in range(200)]
    host, _, alice = machine(tmp_path, *procs)
    views = user_views(host, alice)
    assert [v.origin for v in views] == [LOGIN, "PID 100 (bash) and 199 others"]
    census = build_census(host, [alice], [], tools=["pip"])
    assert len(census.resolutions) == 2


def test_distinct_process_environments_past_the_limit_are_counted_not_read(
    tmp_path: Path,
) -> None:
    """A user cannot make root resolve caches without bound: 16 process views, the rest a
    problem that says how many were left out."""
    procs = [proc(100 + i, ALICE, {"PIP_CACHE_DIR": f"/home/alice/c{i}"}) for i in range(40)]
    host, _, alice = machine(tmp_path, *procs)
    views = user_views(host, alice)
    assert len(views) == 1 + MAX_PROCESS_VIEWS and views[0].omitted == 40 - MAX_PROCESS_VIEWS
    census = build_census(host, [alice], [], tools=["pip"])
    assert len({r.cache_dir for _, r in census.resolutions}) == 1 + MAX_PROCESS_VIEWS
    assert any("24 more distinct process environments" in p.message for p in census.problems)


def test_a_process_name_with_terminal_escapes_is_labelled_harmlessly(tmp_path: Path) -> None:
    hostile = "\x1b]0;pwned\x07\n"
    host, _, alice = machine(tmp_path, proc(77, ALICE, {"PIP_CACHE_DIR": "/x"}, name=hostile))
    assert user_views(host, alice)[1].origin == "PID 77 (?]0;pwned??)"


def test_other_users_processes_and_unreadable_environments_are_no_view(tmp_path: Path) -> None:
    host, _, alice = machine(
        tmp_path,
        proc(1, 0, {"PIP_CACHE_DIR": "/root/x"}),
        proc(2, ALICE + 1, {"PIP_CACHE_DIR": "/home/bob/x"}),
        ProcessInfo(3, ALICE, "bash", None, None, (), None, 3.0),
    )
    assert [v.origin for v in user_views(host, alice)] == [LOGIN]


def test_a_home_the_user_does_not_own_is_not_her_home(tmp_path: Path) -> None:
    """``sudo -u alice`` keeping root's HOME: her caches are not under /root."""
    host, root, alice = machine(
        tmp_path,
        proc(5, ALICE, {"HOME": "/root", "PIP_CACHE_DIR": "/home/alice/alt"}),
        proc(6, ALICE, {"HOME": "/home/alice/sandbox"}),
    )
    (root / "home/alice/sandbox").mkdir()
    os.chown(root / "home/alice/sandbox", ALICE, ALICE)
    views = user_views(host, alice)
    assert [v.variables.get("HOME") for v in views] == [
        "/home/alice",
        "/home/alice",
        "/home/alice/sandbox",
    ]
    census = build_census(host, [alice], [], tools=["pip"])
    assert not any(r.cache_dir and r.cache_dir.startswith("/root") for _, r in census.resolutions)
    assert "/home/alice/sandbox/.cache/pip" in {r.cache_dir for _, r in census.resolutions}


def test_the_invoking_user_has_one_view_their_own_environment(tmp_path: Path) -> None:
    host, _, _ = machine(tmp_path, proc(9, 0, {"PIP_CACHE_DIR": "/elsewhere"}))
    me = host.current_user()
    assert user_views(host, me) == (VariableView(OWN, host.env),)
    assert user_views(host, me)[0].variables is host.env


def test_a_workon_home_in_one_shell_adds_its_venvs_to_discovery(tmp_path: Path) -> None:
    host, root, alice = machine(tmp_path)
    venv(root, "/home/alice/wk/tool", "/usr/bin/python3.11", "3.11.2")
    os.lchown(root / "home/alice/wk", ALICE, ALICE)
    host.procs = (proc(7, ALICE, {"WORKON_HOME": "/home/alice/wk"}),)
    envs, _ = discover(host, [alice], scan_budget_s=-1.0)
    prefixes = {e.prefix for e in envs}
    assert {"/home/alice/wk/tool", "/home/alice/.virtualenvs/work"} <= prefixes


def test_python_selection_holds_the_login_cache_and_the_processes(tmp_path: Path) -> None:
    shell = {"PIP_CACHE_DIR": "/home/alice/alt"}
    host, _, alice = machine(tmp_path, proc(42, ALICE, shell, name="sh"))
    found = interpreter_caches(host, "/usr/bin/python3.11", [alice])
    origins = {c.path: {u.origin for u in c.used_by} for c in found.caches}
    assert origins == {
        "/home/alice/.cache/pip": {LOGIN},
        "/home/alice/alt": {"PIP_CACHE_DIR of PID 42 (sh)"},
    }


# ------------------------------------------------------------------ a real user, real process

USER = "cc_census_a"


@pytest.fixture
def real_user() -> pwd.struct_passwd:
    """cc_census_a with an empty home (what an earlier run left there removed)."""
    user = support_real_user(USER)
    for name in (".cache", "alt"):
        shutil.rmtree(Path(user.pw_dir) / name, ignore_errors=True)
    return user


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CACHECENSUS_MEMO="off")
    return subprocess.run(
        [sys.executable, "-m", "cachecensus", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.mark.slow
def test_a_users_process_with_its_own_pip_cache_dir_never_hides_her_real_cache(
    real_user: pwd.struct_passwd, real_caches_dir: Path
) -> None:
    home = Path(real_user.pw_dir)
    cache = home / ".cache" / "pip"
    shutil.copytree(real_caches_dir / "pip-26.3", cache)
    chown_tree(home / ".cache", real_user)
    alt = home / "alt"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "PIP_CACHE_DIR": str(alt)}
    sleeper = subprocess.Popen(
        ["sleep", "120"],
        env=env,
        user=real_user.pw_uid,
        group=real_user.pw_gid,
        extra_groups=[],
    )
    try:
        audit = cli("audit", "--user", USER, "--json")
        assert audit.returncode in (0, 1), audit.stderr
        doc = json.loads(audit.stdout)
        caches = {c["path"]: c for c in doc["caches"] if c["tool"] == "pip"}
        assert set(caches) == {str(cache), str(alt)}
        assert caches[str(cache)]["entries"] == 15
        assert {u["origin"] for u in caches[str(cache)]["used_by"]} == {LOGIN}
        assert {u["origin"] for u in caches[str(alt)]["used_by"]} == {
            f"PIP_CACHE_DIR of PID {sleeper.pid} (sleep)"
        }
        purge = cli("purge", "--user", USER, "--dry-run", "--json")
        assert purge.returncode == 0, purge.stderr
        plan = json.loads(purge.stdout)["plan"]
        assert plan["entries"] == 15 and plan["caches"] == [str(cache)]
        assert all(f.startswith(f"{cache}/") for item in plan["items"] for f in item["files"])
        assert cache.is_dir() and len(list(cache.rglob("*.body"))) == 13  # a plan deletes nothing
        where = cli("dir", "--user", USER, "--for", "install", "--json")
        answer = json.loads(where.stdout)
        assert answer["cache_dir"] == str(cache)  # what her logins use
        assert answer["elsewhere"] == [
            {"origin": f"PIP_CACHE_DIR of PID {sleeper.pid} (sleep)", "cache_dir": str(alt)}
        ]
    finally:
        sleeper.kill()
        sleeper.wait()
