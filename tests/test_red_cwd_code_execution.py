"""Red team: root must never import a user's Python from its working directory.

An admin runs cachecensus as root from wherever they stand: ``/tmp`` (every user may
write there), or a user's home they were inspecting. A hostile user plants
``cachecensus/__init__.py`` there. Any Python cachecensus starts itself with ``-c`` or
``-m`` gets the working directory first on ``sys.path``, so it imports her package, as
root, instead of ours:

- the pip scan's identification workers (``caches.pip._Pool``: ``python -c "from
  cachecensus.caches.pip import _worker; ..."``), started by every ``audit``/``list``/
  ``purge`` of a pip cache with :data:`~cachecensus.caches.pip.POOL_MIN` new entries;
- the completion scripts' fallback (``PY -m cachecensus._complete``), run by root's shell
  on TAB when the candidates file is missing or stale.
"""

from __future__ import annotations

import hashlib
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cachecensus.caches.pip import scan
from cachecensus.cli.completion_scripts import render
from cachecensus.host import Host
from support.realusers import as_user, chown_tree, real_user, root_only, user_python

pytestmark = [root_only, pytest.mark.slow]

SRC = Path(__file__).resolve().parent.parent / "src"
#: What her package does when imported: leave proof of who ran it, then stop the process.
PAYLOAD = (
    "import os\n"
    "open(os.path.join(os.path.dirname(os.path.dirname(__file__)), "
    "'ran-as-%d' % os.getuid()), 'a').close()\n"
    "raise SystemExit(0)\n"
)


def _plant(pw: pwd.struct_passwd, where: Path) -> None:
    """Her ``cachecensus`` package in ``where`` (written by her)."""
    code = (
        "import os, sys\n"
        "d = os.path.join(sys.argv[1], 'cachecensus')\n"
        "os.makedirs(d, exist_ok=True)\n"
        "open(os.path.join(d, '__init__.py'), 'w').write(sys.argv[2])\n"
    )
    done = as_user(pw, [user_python(pw), "-c", code, str(where), PAYLOAD], cwd="/")
    assert done.returncode == 0, done.stderr


def _her_pip_cache(pw: pwd.struct_passwd, top: Path, n: int) -> None:
    for i in range(n):
        h = hashlib.sha224(str(i).encode()).hexdigest()
        d = top / "http-v2" / h[0] / h[1] / h[2] / h[3] / h[4]
        d.mkdir(parents=True, exist_ok=True)
        (d / h).write_bytes(b"cc=4," + b"\x80" * 8)
        (d / f"{h}.body").write_bytes(b"x" * 10)
    chown_tree(top, pw)


def _ran_as_root(where: Path) -> bool:
    return (where / "ran-as-0").exists()


def test_a_users_package_in_roots_cwd_never_runs_in_the_pip_scan_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pw = real_user("cc_red_a")
    home = Path(pw.pw_dir)
    shutil.rmtree(home / "cachecensus", ignore_errors=True)
    (home / "ran-as-0").unlink(missing_ok=True)
    cache = home / "red-cwd-cache"
    shutil.rmtree(cache, ignore_errors=True)
    _her_pip_cache(pw, cache, 20)
    _plant(pw, home)
    monkeypatch.chdir(home)  # root inspecting her home (or standing in /tmp)
    try:
        scan(Host.local(), str(cache), workers=2)  # the pool, as POOL_MIN new entries start it
        assert not _ran_as_root(home), "root imported her cachecensus/ from its cwd"
    finally:
        shutil.rmtree(home / "cachecensus", ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)
        (home / "ran-as-0").unlink(missing_ok=True)


def test_a_users_package_in_roots_cwd_never_runs_on_tab(tmp_path: Path) -> None:
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    pw = real_user("cc_red_a")
    home = Path(pw.pw_dir)
    shutil.rmtree(home / "cachecensus", ignore_errors=True)
    (home / "ran-as-0").unlink(missing_ok=True)
    _plant(pw, home)
    # the cachecensus on root's PATH: a script whose #! is our interpreter (as pip makes it)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "cachecensus"
    exe.write_text(f"#!{sys.executable}\nfrom cachecensus.cli.app import main\nmain()\n")
    exe.chmod(0o755)
    script = tmp_path / "completion.bash"
    script.write_text(render("bash"))
    env = {
        "PATH": f"{bindir}:/usr/bin:/bin",
        "HOME": str(tmp_path / "roothome"),  # no candidates file yet: the fallback runs
        "PYTHONPATH": str(SRC),
    }
    try:
        subprocess.run(
            ["bash", "-c", f"source {script}; _cachecensus_dynamic project ''"],
            cwd=home,
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert not _ran_as_root(home), "root's TAB imported her cachecensus/ from its cwd"
    finally:
        shutil.rmtree(home / "cachecensus", ignore_errors=True)
        (home / "ran-as-0").unlink(missing_ok=True)
