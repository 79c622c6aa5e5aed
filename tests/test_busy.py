"""What uses a cache (act/busy.py): a running installer's *own* cache, resolved as it would,
counts; a process that cannot write the cache never does.

Fast tests on a fake machine (``Host(root=tmp)`` with a passwd, venvs and caches on disk,
the processes a test says); the real-user, real-process tests are in the second half."""

from __future__ import annotations

import json
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from cachecensus.act import busy
from cachecensus.act.busy import installer_of, users_of_cache
from cachecensus.host import Host, ProcessInfo

ME = os.getuid()  # owns every file a fake machine has: its "alice"
MALLORY = ME + 4242  # another user: cannot write alice's cache
CACHECENSUS = str(Path(sys.executable).parent / "cachecensus")
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root and real users")


class FakeMachine(Host):
    """A machine under ``tmp`` with the processes (and their open files) a test says."""

    def __init__(self, root: Path) -> None:
        super().__init__(root=str(root))
        self.procs: list[ProcessInfo] = []
        self.files: dict[int, tuple[str, ...]] = {}
        self.listed = 0

    def processes(self) -> list[ProcessInfo]:
        self.listed += 1
        return self.procs

    def open_files(self, pid: int) -> tuple[str, ...]:
        return tuple(self.root + p for p in self.files.get(pid, ()))

    def path(self, system: str) -> Path:
        return Path(self.real(system))

    def run(
        self,
        pid: int,
        *cmdline: str,
        uid: int = ME,
        env: Mapping[str, str] | None = None,
        cwd: str | None = "/home/alice",
        exe: str | None = None,
        files: tuple[str, ...] = (),
    ) -> None:
        home = "/home/mallory" if uid == MALLORY else "/home/alice"
        self.procs.append(
            ProcessInfo(
                pid=pid,
                uid=uid,
                name=os.path.basename(cmdline[0]),
                exe=exe,
                cwd=cwd,
                cmdline=cmdline,
                environ={"HOME": home, "PATH": "/usr/bin:/bin"} if env is None else dict(env),
                create_time=0.0,
            )
        )
        self.files[pid] = files


@pytest.fixture
def m(tmp_path: Path) -> Iterator[FakeMachine]:
    """alice (uid ME) with a default pip cache, a venv and a uv cache; mallory (another
    uid) with a home of her own; caches 0755 (mallory may read, not write)."""
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text(
        f"alice:x:{ME}:{os.getgid()}::/home/alice:/bin/sh\n"
        f"mallory:x:{MALLORY}:{MALLORY}::/home/mallory:/bin/sh\n"
        "root:x:0:0::/root:/bin/sh\n"
    )
    (tmp_path / "etc" / "group").write_text("")
    for d in ("home/alice/.cache/pip/http-v2", "home/alice/.cache/uv", "home/mallory/bin"):
        (tmp_path / d).mkdir(parents=True)
    venv = tmp_path / "home/alice/venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.12.1\n")
    (venv / "bin" / "python").write_bytes(b"\x7fELF not really")
    (venv / "bin" / "python").chmod(0o755)
    for d in (tmp_path / "home/alice/.cache/pip", tmp_path / "home/alice/.cache/uv"):
        d.chmod(0o755)
    busy._memo.clear()
    yield FakeMachine(tmp_path)
    busy._memo.clear()


PIP_CACHE = "/home/alice/.cache/pip"


def test_a_pip_on_its_default_cache_is_busy_though_nothing_names_it(m: FakeMachine) -> None:
    """The incident of issue 11: her pip install loop named no cache; root's purge took the
    wheel it had just built."""
    m.run(101, "/home/alice/venv/bin/python", "-m", "pip", "install", "tinypkg")
    m.run(102, "/home/alice/venv/bin/python", "/home/alice/venv/bin/pip", "wheel", "x")
    assert users_of_cache(m, PIP_CACHE) == [
        "101 python (its default cache)",
        "102 python (its default cache)",
    ]


def test_its_own_home_and_xdg_decide_not_the_login_defaults(m: FakeMachine) -> None:
    elsewhere = "/home/alice/xdg/pip"
    m.path(elsewhere).mkdir(parents=True)
    env = {"HOME": "/home/alice", "XDG_CACHE_HOME": "/home/alice/xdg"}
    m.run(101, "/home/alice/venv/bin/python", "-m", "pip", "install", "x", env=env)
    assert users_of_cache(m, PIP_CACHE) == []
    assert users_of_cache(m, elsewhere) == ["101 python (its default cache)"]


def test_its_pip_cache_dir_variable_counts_and_is_said(m: FakeMachine) -> None:
    m.path("/srv/pc").mkdir(parents=True)
    env = {"HOME": "/home/alice", "PIP_CACHE_DIR": "/srv/pc"}
    m.run(101, "/usr/bin/python3", "-m", "pip", "download", "x", env=env)
    assert users_of_cache(m, "/srv/pc") == ["101 python3 (its PIP_CACHE_DIR)"]
    assert users_of_cache(m, PIP_CACHE) == []


def test_the_venvs_pip_conf_moves_the_cache_its_pip_uses(m: FakeMachine) -> None:
    """The interpreter it runs decides which environment's config applies (a venv's own
    pip.conf), though psutil's exe is the resolved base interpreter."""
    m.path("/srv/venvcache").mkdir(parents=True)
    m.path("/home/alice/venv/pip.conf").write_text("[global]\ncache-dir = /srv/venvcache\n")
    m.run(101, "/home/alice/venv/bin/python", "-m", "pip", "install", "x", exe="/usr/bin/python3")
    (found,) = users_of_cache(m, "/srv/venvcache")
    assert found.startswith("101 python (its config ") and "venv/pip.conf" in found
    assert users_of_cache(m, PIP_CACHE) == []
    # the same pip run as a bare `python` is found on its PATH, venv first
    m.procs.clear()
    busy._memo.clear()
    env = {"HOME": "/home/alice", "PATH": "/home/alice/venv/bin:/usr/bin"}
    m.run(102, "python", "-m", "pip", "install", "x", env=env, exe="/usr/bin/python3")
    assert users_of_cache(m, "/srv/venvcache") == [found.replace("101", "102", 1)]


def test_an_explicit_no_cache_dir_uses_no_cache(m: FakeMachine) -> None:
    m.run(101, "/home/alice/venv/bin/python", "-m", "pip", "install", "--no-cache-dir", "x")
    m.run(102, "uv", "pip", "install", "--no-cache", "x", exe="/usr/bin/uv")
    m.run(103, "uv", "-n", "pip", "install", "x", exe="/usr/bin/uv")
    assert users_of_cache(m, PIP_CACHE) == []
    assert users_of_cache(m, "/home/alice/.cache/uv") == []


def test_pip_isolated_ignores_its_variables_so_its_default_counts(m: FakeMachine) -> None:
    m.path("/srv/pc").mkdir(parents=True)
    env = {"HOME": "/home/alice", "PIP_CACHE_DIR": "/srv/pc"}
    m.run(101, "/home/alice/venv/bin/python", "-m", "pip", "--isolated", "install", "x", env=env)
    assert users_of_cache(m, PIP_CACHE) == ["101 python (its default cache)"]
    assert users_of_cache(m, "/srv/pc") == []


def test_directories_are_compared_physically_not_by_spelling(m: FakeMachine) -> None:
    m.path("/home/alice/link").symlink_to(".cache")
    m.path("/home/alice/.cache/pip2").mkdir()
    m.run(101, "pip", "download", "--cache-dir", "/home/alice/link/pip", "x")
    m.run(102, "pip", "download", "--cache-dir=.cache/pip/", "x")  # relative to its cwd
    m.run(103, "pip", "download", "--cache-dir", "~/.cache/pip", "x")  # pip expands ~
    m.run(104, "pip", "download", "--cache-dir", "/home/alice/.cache/pip2", "x")  # lookalike
    m.run(105, "pip", "install", "--no-cache-dir", "/home/alice/link/pip/http-v2")  # inside
    assert users_of_cache(m, PIP_CACHE) == [
        "101 pip (its --cache-dir)",
        "102 pip (its --cache-dir)",
        "103 pip (its --cache-dir)",
        "105 pip (its command line)",
    ]


def test_the_other_tools_resolve_their_own_default_caches(m: FakeMachine) -> None:
    uv = "/home/alice/.cache/uv"
    m.run(101, "uv", "pip", "install", "x", exe="/usr/local/bin/uv")
    m.run(102, "/usr/bin/python3", "/home/alice/.local/bin/poetry", "install")
    m.path("/home/alice/.cache/pypoetry").mkdir()
    assert users_of_cache(m, uv) == ["101 uv (its default cache)"]
    assert users_of_cache(m, "/home/alice/.cache/pypoetry") == ["102 python3 (its default cache)"]
    assert users_of_cache(m, PIP_CACHE) == []


def test_earlier_detection_still_holds(m: FakeMachine) -> None:
    """Moved from test_delete: names on the command line, the tool's variable, open files;
    a shell exporting PIP_CACHE_DIR and an editor are not installers."""
    c = PIP_CACHE
    m.run(101, "/usr/bin/python3", "-m", "pip", "install", "--cache-dir", c, "x")
    m.run(102, "/venv/bin/pip", "download", f"--cache-dir={c}/", "x")
    m.run(103, "uv", "pip", "install", "x", env={"HOME": "/home/alice", "UV_CACHE_DIR": c})
    m.run(104, "/venv/bin/pip3", "install", "x", env={"HOME": "/elsewhere"})
    m.files[104] = (f"{c}/http-v2",)
    m.run(105, "bash", env={"PIP_CACHE_DIR": c})
    m.run(106, "pip", "download", "--cache-dir", c + "2")
    m.run(107, "vim", f"{c}/notes")
    found = users_of_cache(m, c)
    assert [b.split()[0] for b in found] == ["101", "102", "103", "104"]
    assert found[2].endswith("(its UV_CACHE_DIR)") and found[3].endswith("(its open files)")
    assert users_of_cache(m, "/elsewhere") == []


def test_another_users_fake_pip_naming_her_cache_cannot_veto(
    m: FakeMachine, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 11 item 9: mallory cannot write alice's cache, so whatever her processes say
    they use (command line, variables, open files) keeps nothing of alice's alive."""
    c = PIP_CACHE
    mallory = {"HOME": "/home/mallory", "UV_CACHE_DIR": c}
    m.run(201, "/bin/sh", "/home/mallory/bin/pip", "--cache-dir", c, uid=MALLORY, cwd=None)
    m.run(202, "uv", "pip", "install", "x", uid=MALLORY, env=mallory)
    m.run(203, "pip", "install", f"{c}/http-v2", uid=MALLORY, files=(f"{c}/http-v2",))
    with caplog.at_level(logging.DEBUG, logger="cachecensus.act.busy"):
        assert users_of_cache(m, c) == []
    ignored = [r.getMessage() for r in caplog.records]
    assert len(ignored) == 3 and all("cannot write it: ignored" in r for r in ignored)


def test_roots_own_installer_naming_her_cache_counts(m: FakeMachine) -> None:
    m.run(301, "/bin/sh", "/tmp/x/pip", "--cache-dir", PIP_CACHE, uid=0, cwd="/")
    assert users_of_cache(m, PIP_CACHE) == ["301 sh (its --cache-dir)"]


def test_a_group_writable_shared_cache_counts_its_groups_processes(m: FakeMachine) -> None:
    shared = m.path("/srv/shared")
    shared.mkdir(parents=True)
    m.run(201, "pip", "download", "--cache-dir", "/srv/shared", "x", uid=MALLORY)
    assert users_of_cache(m, "/srv/shared") == []  # 0755: mallory cannot write it
    shared.chmod(0o2775)
    m.path("/etc/group").write_text(f"devs:x:{shared.stat().st_gid}:mallory\n")
    assert users_of_cache(m, "/srv/shared") == ["201 pip (its --cache-dir)"]


def test_a_missing_cache_dir_has_no_users(m: FakeMachine) -> None:
    m.run(101, "pip", "install", "x")
    assert users_of_cache(m, "/home/alice/nothing") == []


@pytest.mark.parametrize(
    ("cmdline", "exe", "tool"),
    [
        (("/usr/bin/python3", "-m", "pip", "install"), None, "pip"),
        (("/v/bin/python", "/v/bin/pip3.12", "install"), None, "pip"),
        (("python", "-c", "code", "pip", "download"), None, "pip"),
        (("uv", "pip", "install"), None, "uv"),
        (("/x/uvx", "ruff"), None, "uv"),
        (("micromamba", "install"), None, "conda"),
        (("python", "/opt/conda/bin/conda", "install"), None, "conda"),
        (("python", "-m", "pipenv", "install"), None, "pipenv"),
        (("something",), "/usr/bin/poetry", "poetry"),
        (("bash",), "/bin/bash", None),
        (("python", "-m", "pipx", "run"), None, None),
        (("vim", "pip.conf"), None, None),
    ],
)
def test_installer_of(cmdline: tuple[str, ...], exe: str | None, tool: str | None) -> None:
    proc = ProcessInfo(1, 0, "x", exe, None, cmdline, None, 0.0)
    found = installer_of(proc)
    assert (found.tool if found else None) == tool


def test_only_installers_are_resolved_and_each_kind_once(
    m: FakeMachine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checking many caches against many processes stays cheap: non-installers are never
    resolved, and the same (uid, variables, cwd, interpreter) is resolved once."""
    calls: list[busy.Spec] = []
    real = busy._resolve

    def counting(host: Host, spec: busy.Spec) -> tuple[tuple[str, str], ...]:
        calls.append(spec)
        return real(host, spec)

    monkeypatch.setattr(busy, "_resolve", counting)
    for pid in range(1000, 1300):
        m.run(pid, "bash", "-c", "sleep 1")
    for pid in range(2000, 2040):
        m.run(pid, "/home/alice/venv/bin/python", "-m", "pip", "install", "x")
    others = [f"/home/alice/c{i}" for i in range(10)]
    for c in others:
        m.path(c).mkdir()
    started = time.monotonic()
    for c in [*others, PIP_CACHE]:
        users_of_cache(m, c)
    assert len(calls) == 1
    assert len(users_of_cache(m, PIP_CACHE)) == 40
    assert time.monotonic() - started < 5


# ---------------------------------------------------------------------- real users


def _system_python_with_pip() -> str | None:
    """A system interpreter (readable by every user) whose own pip runs."""
    for name in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(name):
            check = subprocess.run([name, "-m", "pip", "--version"], capture_output=True)
            if check.returncode == 0:
                return name
    return None


def _real_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "-m", name], check=True, capture_output=True)
        return pwd.getpwnam(name)


def _give(path: Path, user: pwd.struct_passwd) -> None:
    for top, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.lchown(os.path.join(top, name), user.pw_uid, user.pw_gid)
    os.chown(path, user.pw_uid, user.pw_gid)


def _digests(top: Path) -> dict[str, int]:
    return {str(p.relative_to(top)): p.stat().st_size for p in top.rglob("*") if p.is_file()}


def _purge(*args: str) -> tuple[int, dict[str, object]]:
    env = dict(os.environ, CACHECENSUS_MEMO="off")
    done = subprocess.run(
        [CACHECENSUS, "purge", *args, "--yes", "--json"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert done.stdout, done.stderr
    doc: dict[str, object] = json.loads(done.stdout)
    return done.returncode, doc


@pytest.fixture
def alice(real_caches_dir: Path) -> Iterator[tuple[pwd.struct_passwd, Path]]:
    """Real user cc_busy_a with a real pip cache at her default place, hers."""
    user = _real_user("cc_busy_a")
    home = Path(user.pw_dir)
    shutil.rmtree(home / ".cache", ignore_errors=True)
    cache = home / ".cache" / "pip"
    shutil.copytree(real_caches_dir / "pip-26.3", cache, symlinks=True)
    _give(home / ".cache", user)
    yield user, cache
    shutil.rmtree(home / ".cache", ignore_errors=True)


@pytest.fixture
def hanging_index() -> Iterator[tuple[str, threading.Event]]:
    """A loopback index that accepts connections and never answers: a pip asking it for
    anything stays running (the slow download of the incident), for as long as needed."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    asked = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            asked.set()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/simple/", asked
    server.close()
    for conn in held:
        conn.close()


def _as(user: pwd.struct_passwd, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        user=user.pw_uid,
        group=user.pw_gid,
        extra_groups=[],
        env=env,
        cwd=user.pw_dir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill ``proc`` and what it started (a fake pip's ``sleep``): its own session's group."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


@root_only
@pytest.mark.slow
def test_her_real_pip_on_its_default_cache_stops_roots_purge_of_it(
    alice: tuple[pwd.struct_passwd, Path], hanging_index: tuple[str, threading.Event]
) -> None:
    """Issue 11 item 8, for real: cc_busy_a's pip (her venv, no --cache-dir, no
    PIP_CACHE_DIR: her default cache) is downloading from a slow index when root runs
    ``purge --user cc_busy_a``: refused, naming her pip, nothing removed; once her pip is
    gone the same purge removes."""
    python = _system_python_with_pip()
    if python is None:
        pytest.skip("needs a system python3 with pip (readable by every user)")
    user, cache = alice
    url, asked = hanging_index
    venv = Path(user.pw_dir) / "venv"
    if not (venv / "bin" / "python").exists():
        drop = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]
        make = [python, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)]
        subprocess.run([*drop, *make], check=True)
    env = {
        "HOME": user.pw_dir,
        "PATH": f"{venv}/bin:/usr/bin:/bin",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    argv = [str(venv / "bin" / "python"), "-m", "pip", "download", "--no-deps", "-d"]
    argv += [f"{user.pw_dir}/dl", "--index-url", url, "--timeout", "600", "--retries", "0"]
    before = _digests(cache)
    her_pip = _as(user, [*argv, "tinypkg"], env)
    try:
        assert asked.wait(60), "her pip never asked the index"
        code, doc = _purge("--user", "cc_busy_a", "--tool", "pip")
        skipped = doc["skipped"]
        assert code == 1 and doc["removed"] == [] and isinstance(skipped, list) and skipped
        reason = f"in use by {her_pip.pid} python"
        assert all(reason in s["reason"] and "(its default cache)" in s["reason"] for s in skipped)
        assert _digests(cache) == before
    finally:
        _stop(her_pip)
    code, doc = _purge("--user", "cc_busy_a", "--tool", "pip")
    assert code == 0 and doc["removed"] and _digests(cache) != before


@pytest.fixture
def mallory() -> pwd.struct_passwd:
    """Real user cc_busy_m with a fake ``~/bin/pip`` that only sleeps."""
    user = _real_user("cc_busy_m")
    fake = Path(user.pw_dir) / "bin" / "pip"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text("#!/bin/sh\nsleep 600\n")
    fake.chmod(0o755)
    _give(fake.parent, user)
    return user


@root_only
@pytest.mark.slow
def test_another_users_fake_pip_naming_her_cache_does_not_stop_roots_purge(
    alice: tuple[pwd.struct_passwd, Path], mallory: pwd.struct_passwd
) -> None:
    """Issue 11 item 9, for real: cc_busy_m's ``~/bin/pip --cache-dir <her cache>`` (it only
    sleeps; she cannot write that cache) no longer vetoes root's clean-up of it."""
    _, cache = alice
    fake = _as(
        mallory,
        [f"{mallory.pw_dir}/bin/pip", "--cache-dir", str(cache)],
        {"HOME": mallory.pw_dir, "PIP_CACHE_DIR": str(cache), "PATH": "/usr/bin:/bin"},
    )
    try:
        code, doc = _purge("--user", "cc_busy_a", "--tool", "pip")
        assert code == 0 and doc["removed"] and doc["skipped"] == []
        assert fake.poll() is None  # it was running all along
    finally:
        _stop(fake)


@root_only
@pytest.mark.slow
def test_roots_own_installer_naming_her_cache_stops_the_purge(
    alice: tuple[pwd.struct_passwd, Path], tmp_path: Path
) -> None:
    """Root can write every cache: its own (fake) pip naming hers keeps it alive."""
    _, cache = alice
    before = _digests(cache)
    script = tmp_path / "pip"
    script.write_text("#!/bin/sh\nsleep 600\n")
    script.chmod(0o755)
    mine = subprocess.Popen(
        [str(script), "--cache-dir", str(cache)], stdin=subprocess.DEVNULL, start_new_session=True
    )
    try:
        code, doc = _purge("--user", "cc_busy_a", "--tool", "pip")
        skipped = doc["skipped"]
        assert code == 1 and doc["removed"] == [] and isinstance(skipped, list) and skipped
        assert all(f"in use by {mine.pid} pip (its --cache-dir)" in s["reason"] for s in skipped)
        assert _digests(cache) == before
    finally:
        _stop(mine)
