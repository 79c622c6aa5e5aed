"""The dropped-privilege runner (act/runner.py): who a child is, what it may still load,
how it dies, and how its failures come back — with real users and real processes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from cachecensus.act import runner
from cachecensus.host import Host
from conftest import REPO
from support.realusers import as_user, chown_tree, real_user, root_only, world_dir

USER = "cc_runner_a"


def _collect(tasks: list[runner.Task], who: runner.Identity | None) -> tuple[list[Any], str | None]:
    got: list[Any] = []
    failure = runner.run(tasks, who, got.append)
    return got, failure


# ---------------------------------------------------------------------- as ourselves


def test_values_stream_back_in_order_from_every_child() -> None:
    def task(n: int) -> runner.Task:
        def run(send: runner.Send) -> None:
            for i in range(200):
                send([n, i, "caf\udce9"])  # a non-UTF-8 file name survives the pipe

        return run

    got, failure = _collect([task(0), task(1), task(2)], None)
    assert failure is None
    for n in range(3):
        assert [v[1] for v in got if v[0] == n] == list(range(200))
    assert {v[2] for v in got} == {"caf\udce9"}


def test_an_exception_in_a_child_comes_back_as_a_value() -> None:
    def task(send: runner.Send) -> None:
        send("before")
        raise ValueError("broken\nacross lines")

    got, failure = _collect([task], None)
    assert got == ["before"]
    assert failure == "could not act as a worker: broken across lines"


def test_a_child_killed_midway_is_reported_not_raised() -> None:
    def task(send: runner.Send) -> None:
        send("hello")
        os.kill(os.getpid(), signal.SIGKILL)

    got, failure = _collect([task], None)
    assert got == ["hello"]
    assert failure is not None and "ended early" in failure


def test_a_lazy_import_after_the_fork_is_refused_on_every_machine() -> None:
    """A module first imported in the child would have to be read from disk after the drop,
    where root's site-packages may be unreadable: the runner refuses it everywhere, so a
    forgotten lazy import fails in every test run, not only on machines with a private
    venv. Modules named in ``needs`` are imported before the fork and work."""
    for name in ("xml.dom.minidom", "cachecensus.links"):
        sys.modules.pop(name, None)

    def lazy(send: runner.Send) -> None:
        import xml.dom.minidom  # noqa: F401  (not loaded in the parent)

        send("imported")

    got, failure = _collect([lazy], None)
    assert got == [] and failure is not None
    assert "xml" in failure and "imported after the fork" in failure

    def needed(send: runner.Send) -> None:
        from cachecensus import links

        send(links.__name__)

    got = []
    assert runner.run([needed], None, got.append, needs=["cachecensus.links"]) is None
    assert got == ["cachecensus.links"]


# ---------------------------------------------------------------------- as another user


@root_only
def test_a_child_acting_as_a_user_has_her_ids_and_nothing_of_roots() -> None:
    pw = real_user(USER)
    who = runner.identity(Host.local(), pw.pw_uid)
    assert (who.uid, who.gid, who.name, who.home) == (pw.pw_uid, pw.pw_gid, USER, pw.pw_dir)

    def task(send: runner.Send) -> None:
        send(
            {
                "res_uid": list(os.getresuid()),
                "res_gid": list(os.getresgid()),
                "groups": os.getgroups(),
                "env": [os.environ.get(k) for k in ("HOME", "USER", "LOGNAME")],
                "can_read_shadow": os.access("/etc/shadow", os.R_OK),
            }
        )

    got, failure = _collect([task], who)
    assert failure is None
    (seen,) = got
    assert seen["res_uid"] == [pw.pw_uid] * 3 and seen["res_gid"] == [pw.pw_gid] * 3
    assert seen["groups"] in ([], [pw.pw_gid])
    assert seen["env"] == [pw.pw_dir, USER, USER]
    assert seen["can_read_shadow"] is False


@root_only
def test_a_child_acting_as_a_user_dies_with_its_parent() -> None:
    """PR_SET_PDEATHSIG is armed after the drop (a change of credentials clears it): when
    the process that forked her child is killed, the child does not live on as her."""
    pw = real_user(USER)
    script = f"""
import os, sys, time
sys.path[:0] = {[str(REPO / "src")]!r}
from cachecensus.act import runner
from cachecensus.host import Host
who = runner.identity(Host.local(), {pw.pw_uid})
def task(send):
    send(os.getpid())
    while True:
        time.sleep(0.05)
runner.run([task], who, lambda pid: print(pid, flush=True))
"""
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert os.stat(f"/proc/{child}").st_uid == pw.pw_uid
    parent.kill()
    parent.communicate()
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    survived = _alive(child)
    if survived:
        os.kill(child, signal.SIGKILL)
    assert not survived, f"child {child} outlived its parent, still running as {USER}"


def _alive(pid: int) -> bool:
    """``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@root_only
def test_a_child_she_stops_never_hangs_roots_run() -> None:
    """The child runs as her, so she may SIGSTOP it: root's run notices the stopped child,
    kills it and reports a value instead of waiting forever."""
    pw = real_user(USER)
    who = runner.identity(Host.local(), pw.pw_uid)
    pids: list[Any] = []

    def task(send: runner.Send) -> None:
        send(os.getpid())
        while True:
            time.sleep(0.05)

    def stop_it(pid: Any) -> None:
        pids.append(pid)
        as_user(pw, ["kill", "-STOP", str(pid)], cwd="/", check=True)

    started = time.monotonic()
    failure = runner.run([task], who, stop_it)
    assert time.monotonic() - started < 30
    assert len(pids) == 1 and not _alive(pids[0])
    assert failure is not None and "stopped by signal" in failure


@root_only
def test_a_failed_drop_comes_back_as_a_value() -> None:
    """A uid the kernel refuses (out of range) makes the drop fail in the child: the parent
    gets 'could not act as uid N: ...', never an exception, and the task never runs."""
    ran: list[Any] = []
    failure = runner.run([lambda send: send("ran")], runner.Identity(-5, -5), ran.append)
    assert ran == []
    assert failure is not None and failure.startswith("could not act as uid -5: ")


# ---------------------------------------------------------------------- the threat


def _uv_archive_cache(top: Path, n: int = 3) -> Path:
    """A uv cache with ``n`` unpacked archives (directories removed whole: renamed aside to a
    random trash name first, which takes ``secrets`` in the child)."""
    cache = top / "uv-cache"
    for i in range(n):
        archive = cache / "archive-v0" / f"Ab{i}cDeFgHiJkLmNoPqRsT"
        (archive / f"pkg{i}").mkdir(parents=True)
        (archive / f"pkg{i}" / "__init__.py").write_text(f"X = {i}\n")
        info = archive / f"pkg{i}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: pkg{i}\nVersion: 1.0\n")
        (info / "RECORD").write_text("")
    (cache / "CACHEDIR.TAG").write_text("Signature: 8a477f597d28d172789f06886806bc55\n")
    return cache


_REMOVE_AS_ROOT = """
import json, sys
import cachecensus
from cachecensus.act.delete import execute
from cachecensus.caches import uv
from cachecensus.host import Host
from cachecensus.select import make_plan, purge
host = Host.local()
scan = uv.scan(host, sys.argv[1])
plan = make_plan(purge(scan.entries))
done = execute(host, plan)
print(json.dumps({
    "code": cachecensus.__file__,
    "planned": sum(len(i.entry.files) for i in plan.items),
    "removed": list(done.removed),
    "skipped": [list(s) for s in done.skipped],
}))
"""


@root_only
def test_root_whose_code_the_user_cannot_read_still_removes_her_uv_archives() -> None:
    """The issue's '3 of 3 archives NOT removed': root runs cachecensus from a directory
    only root can read (a private venv under /root); the child that drops to the cache's
    owner cannot read it, so everything it needs must be loaded before the fork. Her uv
    archives (moved aside under a random name first) all go, and nothing is skipped."""
    pw = real_user(USER)
    with world_dir() as top:
        cache = _uv_archive_cache(top)
        chown_tree(cache, pw)
        private = top / "private"
        private.mkdir(mode=0o700)
        shutil.copytree(
            REPO / "src" / "cachecensus",
            private / "cachecensus",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env.update(PYTHONPATH=str(private), CACHECENSUS_MEMO="off", PYTHONDONTWRITEBYTECODE="1")
        proc = subprocess.run(
            [sys.executable, "-c", _REMOVE_AS_ROOT, str(cache)],
            capture_output=True,
            text=True,
            env=env,
            cwd=top,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        assert doc["code"].startswith(str(private) + "/")  # the unreadable copy ran
        assert doc["skipped"] == []
        assert doc["planned"] == len(doc["removed"]) == 9
        assert list((cache / "archive-v0").iterdir()) == []
