"""What a command says about the directories it is pointed at: a typo is a usage error, a
directory that is no cache is a warning, a cache this user may not read is unreadable (not
absent), and advice about a working setup is not a failure."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cachecensus.cli.app import app
from cachecensus.models import UNREADABLE
from test_discover import python_build, venv

ENV = {"CACHECENSUS_MEMO": "off", "COLUMNS": "250"}
#: Every command that takes --cache-dir, with what it needs besides.
CACHE_DIR_COMMANDS = [
    ["audit"],
    ["list", "six"],
    ["info"],
    ["remove", "six", "-n"],
    ["purge", "-n"],
    ["prune", "-n"],
    ["dedupe"],
]
NOBODY = 65534


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), env=ENV)


@pytest.mark.parametrize("command", CACHE_DIR_COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_a_mistyped_cache_dir_is_a_usage_error_not_an_empty_cache(
    command: list[str], json_flag: list[str], tmp_path: Path
) -> None:
    """`audit --cache-dir /tmp/nope` said "(absent) 0 bytes" and exit 0; `list six
    --cache-dir /nonexistent` "No matching cache entries"."""
    typo = tmp_path / "nope"
    result = _invoke(*command, *json_flag, "--cache-dir", str(typo))
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == f"cachecensus: error: --cache-dir {typo}: no such directory\n"
    (tmp_path / "file").write_text("")
    result = _invoke(*command, "--cache-dir", str(tmp_path / "file"))
    assert result.exit_code == 2
    assert result.stderr.endswith(": not a directory\n") and result.stderr.count("\n") == 1


def _like_etc(tmp_path: Path) -> Path:
    etc = tmp_path / "etc"
    (etc / "apt" / "sources.list.d").mkdir(parents=True)
    for name in ("passwd", "hosts", "fstab"):
        (etc / name).write_text("x\n")
    (etc / "apt" / "sources.list.d" / "debian.sources").write_text("x\n")
    return etc


def test_a_directory_shaped_like_no_cache_is_a_warning_and_exit_1(tmp_path: Path) -> None:
    """`audit --cache-dir /etc` counted 1 064 "stray" files and said nothing."""
    etc = _like_etc(tmp_path)
    text = _invoke("audit", "--cache-dir", str(etc))
    assert text.exit_code == 1
    assert f"note: {etc}: does not look like any tool's cache" in text.stdout
    doc = json.loads(_invoke("audit", "--json", "--cache-dir", str(etc)).stdout)
    assert [p["path"] for p in doc["problems"]] == [str(etc)]
    assert "counted as strays" in doc["problems"][0]["message"]
    uv = _invoke("list", "--json", "--tool", "uv", "--cache-dir", str(etc))
    assert uv.exit_code == 1
    assert "does not look like uv's cache" in json.loads(uv.stdout)["problems"][0]["message"]


def test_an_empty_or_cache_shaped_directory_is_no_warning(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    shaped = tmp_path / "pip"
    (shaped / "http-v2").mkdir(parents=True)
    (shaped / "stray.txt").write_text("x")
    for cache in (empty, shaped):
        result = _invoke("audit", "--json", "--cache-dir", str(cache))
        assert result.exit_code == 0, result.stdout
        assert json.loads(result.stdout)["problems"] == []


# ------------------------------------------------------------------ as an unprivileged user


def _as_nobody(*args: str) -> tuple[int, str, str]:
    """Run the CLI in a forked child that dropped to ``nobody`` (as the tool's own runner
    does: every import done first, by a run as root, since nobody cannot read root's Python):
    (exit code, stdout, stderr)."""
    _invoke(*args)  # imports everything this command needs
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            env = dict(ENV, HOME="/nonexistent", XDG_CACHE_HOME="/nonexistent/cache")
            result = CliRunner().invoke(app, list(args), env=env)
            out = json.dumps([result.exit_code, result.stdout, result.stderr])
            os.write(write_fd, out.encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    code, stdout, stderr = json.loads(data)
    return code, stdout, stderr


@pytest.fixture
def private_cache() -> Iterator[Path]:
    """A pip cache inside a root-only directory (under /tmp: nobody may reach /tmp)."""
    top = Path(tempfile.mkdtemp(prefix="cc-cli-private-"))
    try:
        (top / "pip" / "http-v2").mkdir(parents=True)
        os.chmod(top, 0o700)
        yield top / "pip"
    finally:
        shutil.rmtree(top, ignore_errors=True)


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (drops to nobody)")


@needs_root
def test_a_cache_this_user_may_not_read_is_unreadable_not_absent(private_cache: Path) -> None:
    """As a user who may not look inside, /root/.cache/pip showed "(absent)" and
    "exists": false."""
    code, stdout, stderr = _as_nobody("audit", "--cache-dir", str(private_cache))
    assert code == 1, stderr
    assert f"pip: {private_cache} (unreadable: permission denied)" in stdout
    assert "(absent)" not in stdout
    assert f"note: {private_cache}: {UNREADABLE}" in stdout
    code, stdout, _ = _as_nobody("audit", "--json", "--cache-dir", str(private_cache))
    doc = json.loads(stdout)
    assert code == 1
    assert doc["caches"][0]["exists"] is True
    assert {"path": str(private_cache), "message": UNREADABLE} in doc["problems"]


@pytest.fixture
def user_with_private_cache_dir() -> Iterator[str]:
    """A real user whose home anyone may enter but whose ~/.cache only they may."""
    name = "cc_cli_quiet"
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "-m", name], check=True, capture_output=True)
    home = Path(pwd.getpwnam(name).pw_dir)
    os.chmod(home, 0o755)
    cache = home / ".cache"
    shutil.rmtree(cache, ignore_errors=True)
    (cache / "pip" / "http-v2").mkdir(parents=True)
    uid = pwd.getpwnam(name).pw_uid
    for path in (cache, cache / "pip", cache / "pip" / "http-v2"):
        os.chown(path, uid, uid)
    os.chmod(cache, 0o700)
    yield name


@needs_root
def test_envs_says_unreadable_for_a_cache_it_may_not_look_into(
    user_with_private_cache_dir: str,
) -> None:
    """`envs` said "exists: no" and exit 0 for a cache it could not see."""
    name = user_with_private_cache_dir
    path = f"{pwd.getpwnam(name).pw_dir}/.cache/pip"
    code, stdout, _ = _as_nobody("envs", "--user", name, "--json")
    doc = json.loads(stdout)
    (cache,) = [c for c in doc["caches"] if c["path"] == path]
    assert cache["exists"] is True
    assert {"path": path, "message": UNREADABLE} in doc["problems"]
    assert code == 1
    code, stdout, _ = _as_nobody("envs", "--user", name)
    assert code == 1
    row = next(line for line in stdout.splitlines() if line.startswith(f"pip   {path}"))
    assert "unreadable" in row.split()


# ------------------------------------------------------------------ advice is not failure


def test_envs_exits_0_when_pip_cache_would_clean_another_dir_than_installs_use(
    tmp_path: Path,
) -> None:
    """A venv whose [cache] section names another directory than [install] is a working
    setup: `envs` says so in a note and exits 0 (it exited 1)."""
    root = tmp_path / "machine"
    (root / "etc").mkdir(parents=True)
    uid = os.geteuid()  # ann is whoever runs the test: the venv is hers
    (root / "etc" / "passwd").write_text(f"ann:x:{uid}:{uid}::/home/ann:/bin/sh\n")
    (root / "home" / "ann").mkdir(parents=True)
    python_build(root, "/usr", "3.11.2", pip="23.0.1")
    venv(root, "/home/ann/proj/.venv", "/usr/bin/python3.11", "3.11.2")
    (root / "home/ann/proj/.venv/pip.conf").write_text("[cache]\ncache-dir = /srv/elsewhere\n")
    args = ["envs", "--root", str(root), "--user", "ann"]
    result = _invoke(*args, "--json")
    doc = json.loads(result.stdout)
    assert doc["problems"] == [], doc["problems"]
    assert any("'pip cache' works on /srv/elsewhere" in n["message"] for n in doc["notes"])
    assert result.exit_code == 0
    text = _invoke(*args)
    assert text.exit_code == 0
    assert "note: /home/ann/proj/.venv/bin/python: for ann, installs use" in text.stdout
