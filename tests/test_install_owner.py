"""Root's ``cachecensus install`` into a user's venv runs pip as her: her ``.pth`` never runs as
root and nothing in her venv ends up root's — with a real user and her real venv."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cachecensus.act import install as act
from cachecensus.host import Host
from support.realusers import as_user, chown_tree, real_user, root_only, user_python, world_dir

CACHECENSUS = Path(sys.executable).parent / "cachecensus"
USER = "cc_runner_a"


def _wheel(dest: Path) -> Path:
    """A minimal pure-Python wheel, ``tinyowner 1.0``."""
    path = dest / "tinyowner-1.0-py3-none-any.whl"
    files = {
        "tinyowner/__init__.py": b"VALUE = 1\n",
        "tinyowner-1.0.dist-info/METADATA": (
            b"Metadata-Version: 2.1\nName: tinyowner\nVersion: 1.0\n"
        ),
        "tinyowner-1.0.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append("tinyowner-1.0.dist-info/RECORD,,")
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr("tinyowner-1.0.dist-info/RECORD", "\n".join(record) + "\n")
    return path


def _cc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "XDG_"))}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", CACHECENSUS_MEMO="off")
    return subprocess.run(
        [str(CACHECENSUS), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


@root_only
@pytest.mark.slow
def test_root_installing_into_her_venv_never_runs_her_code_as_root(tmp_path: Path) -> None:
    """Her venv (made by her) has a ``.pth`` that records the uid of every interpreter that
    starts in it. Root's ``cachecensus install`` (from a directory she cannot read) says it
    runs as her, her ``.pth`` only ever sees her uid, the package is installed, and no file
    in her venv is root's; ``cachecensus pip`` does the same and says so in --json."""
    pw = real_user(USER)
    python = user_python(pw)
    with world_dir() as top:
        home = top / "hers"
        home.mkdir()
        chown_tree(home, pw)
        venv = home / "venv"
        made = as_user(pw, [python, "-m", "venv", str(venv)], cwd="/", timeout=300)
        assert made.returncode == 0, made.stderr
        uids = home / "uids"
        site = as_user(
            pw,
            [
                str(venv / "bin" / "python"),
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ],
            cwd="/",
        ).stdout.strip()
        pth = Path(site) / "zz_record_uid.pth"
        pth.write_text(f"import os; open({str(uids)!r}, 'a').write('%d\\n' % os.getuid())\n")
        os.chown(pth, pw.pw_uid, pw.pw_gid)
        wheel = _wheel(top)

        proc = _cc(
            "install",
            "--python",
            str(venv / "bin" / "python"),
            "--no-index",
            str(wheel),
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
        assert f"running as {USER}, the environment's owner" in proc.stderr
        assert (Path(site) / "tinyowner" / "__init__.py").is_file()

        listed = _cc(
            "pip", "--python", str(venv / "bin" / "python"), "--json", "--", "list", cwd=tmp_path
        )
        assert listed.returncode == 0, listed.stderr
        doc = json.loads(listed.stdout)
        assert doc["user"] == USER and doc["exit_code"] == 0
        assert "tinyowner" in listed.stderr  # pip's own output, on stderr with --json

        seen = uids.read_text().split()
        assert len(seen) >= 2 and set(seen) == {str(pw.pw_uid)}
        roots = [str(p) for p in venv.rglob("*") if os.lstat(p).st_uid == 0]
        assert roots == []


@root_only
def test_only_an_environment_another_user_owns_is_run_as_her() -> None:
    pw = real_user(USER)
    host = Host.local()
    with world_dir() as top:
        prefix = top / "env"
        site = prefix / "lib" / "python3.11" / "site-packages"
        site.mkdir(parents=True)
        (prefix / "bin").mkdir()
        python = prefix / "bin" / "python"
        python.symlink_to(sys.executable)
        target = act.Target(python=str(python), prefix=str(prefix), pip_version="26.3")
        assert act.environment_owner(host, target) is None  # all root's: runs as root
        os.chown(site, pw.pw_uid, pw.pw_gid)  # a site-packages she can write: her code
        who = act.environment_owner(host, target)
        assert who is not None and (who.uid, who.name, who.home) == (pw.pw_uid, USER, pw.pw_dir)
        os.chown(site, 0, 0)
        os.lchown(python, pw.pw_uid, pw.pw_gid)  # her link to the interpreter
        assert act.environment_owner(host, target) == who
