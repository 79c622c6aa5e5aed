"""Red team: a user's variables never put terminal escapes on root's screen.

A running process of hers carries ``UV_CACHE_DIR``/``PIP_CACHE_DIR`` naming a directory
whose name holds ESC/BEL sequences (an OSC title set, a screen clear) and a newline (a
forged second line). Root's ``purge``/``prune --user`` notes the unmarked dir it leaves
out, and ``dir --user`` notes where her process's pip goes: each printed the name raw.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.realusers import real_user, root_only, user_python

pytestmark = [root_only, pytest.mark.slow]

SRC = Path(__file__).resolve().parent.parent / "src"
EVIL = "esc\x1b]0;pwned\x07\x1b[2Jred\nnote: forged line"


def _cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "XDG_"))}
    env["PYTHONPATH"] = str(SRC)
    return subprocess.run(
        [sys.executable, "-m", "cachecensus", *args],
        cwd="/",
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )


def test_a_users_escape_laden_cache_variable_never_reaches_roots_terminal() -> None:
    pw = real_user("cc_red_b")
    target = os.path.join(pw.pw_dir, EVIL)
    code = (
        "import os, sys, time\n"
        "os.makedirs(os.path.join(sys.argv[1], 'http-v2'), exist_ok=True)\n"
        "print('ready', flush=True)\n"
        "time.sleep(120)\n"
    )
    env = {
        "HOME": pw.pw_dir,
        "PATH": "/usr/bin:/bin",
        "PIP_CACHE_DIR": target,
        "UV_CACHE_DIR": target,
    }
    proc = subprocess.Popen(
        [user_python(pw), "-c", code, target],
        user=pw.pw_uid,
        group=pw.pw_gid,
        extra_groups=[],
        env=env,
        cwd="/",
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        time.sleep(0.2)
        outputs = {
            "purge": _cli("purge", "--user", pw.pw_name, "--dry-run"),
            "prune": _cli("prune", "--user", pw.pw_name, "--dry-run"),
            "dir": _cli("dir", "--user", pw.pw_name),
        }
        for name, done in outputs.items():
            text = done.stdout + done.stderr
            assert b"\x1b" not in text and b"\x07" not in text, (name, text)
            assert b"\nnote: forged line" not in text, (name, text)
    finally:
        proc.kill()
        proc.communicate()
        import shutil

        shutil.rmtree(target, ignore_errors=True)
