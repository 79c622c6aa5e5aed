"""The machine seam: path mapping inside a foreign root, passwd, symlink resolution."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cachecensus.host import Host


def make_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "home" / "alice").mkdir(parents=True)
    (root / "root").mkdir()
    uid = os.getuid()
    (root / "etc" / "passwd").write_text(
        f"root:x:0:0:root:/root:/bin/bash\n"
        f"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
        f"alice:x:{uid if uid else 1000}:1000:Alice:/home/alice:/bin/bash\n"
        f"ghost:x:1001:1001::/home/ghost:/bin/bash\n"
        f"# a comment\n"
        f"broken line\n"
    )
    return root


def test_real_and_system_paths_round_trip(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    host = Host(root=str(root))
    assert host.real("/etc/pip.conf") == f"{root}/etc/pip.conf"
    assert host.system(f"{root}/etc/pip.conf") == "/etc/pip.conf"
    assert host.real("/") == str(root)
    assert host.system(str(root)) == "/"
    with pytest.raises(ValueError):
        host.system("/elsewhere")


def test_absolute_symlinks_stay_inside_root(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / "python3.11").write_text("")
    os.symlink("/usr/bin/python3.11", root / "usr" / "bin" / "python3")
    os.symlink("python3", root / "usr" / "bin" / "python")
    os.symlink("/etc/passwd", root / "usr" / "bin" / "escape")  # must not reach the host's
    host = Host(root=str(root))
    assert host.realpath("/usr/bin/python") == "/usr/bin/python3.11"
    assert host.realpath("/usr/bin/escape") == "/etc/passwd"
    assert "ghost" in host.read_text("/usr/bin/escape")  # the image's passwd, not ours
    assert host.is_file("/usr/bin/python")


def test_symlink_loop_is_an_oserror(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    os.symlink("/a", root / "b")
    os.symlink("/b", root / "a")
    host = Host(root=str(root))
    with pytest.raises(OSError):
        host.realpath("/a/x")
    assert not host.exists("/a")


def test_users_have_real_homes_root_first(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    host = Host(root=str(root))
    names = [u.name for u in host.users()]
    # daemon's home does not exist in the image; ghost's neither; root's does.
    assert names[0] == "root"
    assert "daemon" not in names and "ghost" not in names
    assert {u.name for u in host.all_accounts()} == {"root", "daemon", "alice", "ghost"}
    assert host.user_by_name("alice") is not None
    assert host.expanduser("~alice/x") == "/home/alice/x"
    assert host.expanduser("~nobody-here/x") == "~nobody-here/x"


def test_live_host_sees_this_process() -> None:
    host = Host.local()
    assert host.live and host.root == "/"
    me = host.current_user()
    assert me.uid == os.geteuid()
    assert any(p.pid == os.getpid() for p in host.processes())


def test_foreign_root_must_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        Host.local(str(tmp_path / "missing"))
