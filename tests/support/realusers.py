"""Real accounts and places they can reach, for tests where root acts for a user.

``real_user("cc_runner_a")`` creates the account (``useradd -m``) the first time and returns
its passwd entry; tests that need one skip cleanly when not root. ``world_dir()`` is a
directory every user can reach (pytest's tmp dirs are root-only). ``user_python(pw)`` is a
Python interpreter that account can run (the test's own may live under ``/root``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (CI runs as root)")


def real_user(name: str) -> pwd.struct_passwd:
    """The account ``name``, created with ``useradd -m`` if it does not exist yet."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create real users (CI runs as root)")
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    subprocess.run([useradd, "-m", "-s", "/bin/sh", name], check=True, capture_output=True)
    return pwd.getpwnam(name)


@contextmanager
def world_dir(prefix: str = "cc-runner-") -> Iterator[Path]:
    """A fresh root-owned directory (0755) every user can reach; removed afterwards."""
    top = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(top, 0o755)
    try:
        yield top
    finally:
        shutil.rmtree(top, ignore_errors=True)


def chown_tree(top: Path, pw: pwd.struct_passwd) -> None:
    """Give ``top`` and everything below it to ``pw`` (symlinks themselves, not targets)."""
    os.lchown(top, pw.pw_uid, pw.pw_gid)
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), pw.pw_uid, pw.pw_gid)


def as_user(
    pw: pwd.struct_passwd, argv: list[str], **kwargs: object
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` as ``pw`` (no supplementary groups, her HOME)."""
    env = dict(os.environ, HOME=pw.pw_dir, USER=pw.pw_name, LOGNAME=pw.pw_name)
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        argv,
        user=pw.pw_uid,
        group=pw.pw_gid,
        extra_groups=[],
        env=env,
        capture_output=True,
        text=True,
        **kwargs,
    )


def user_python(pw: pwd.struct_passwd) -> str:
    """An interpreter ``pw`` can run, with ``venv`` and ``ensurepip`` (skips if none)."""
    candidates = [
        getattr(sys, "_base_executable", sys.executable),
        sys.executable,
        "/usr/bin/python3",
        "/usr/local/bin/python3",
        shutil.which("python3") or "",
    ]
    for python in dict.fromkeys(c for c in candidates if c):
        try:
            probe = as_user(pw, [python, "-c", "import venv, ensurepip"], cwd="/")
        except OSError:  # she may not even execute it (a Python under /root)
            continue
        if probe.returncode == 0:
            return python
    pytest.skip(f"no Python interpreter that {pw.pw_name} may run")
