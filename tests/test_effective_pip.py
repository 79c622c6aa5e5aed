"""Which pip ``python -m pip`` runs (discover/syspath.py), and that ``dir`` applies that
pip's rules: a user-site pip, a pip on PYTHONPATH, a ``--system-site-packages`` venv
without its own pip all run another pip than the environment's own.

Fast tests build interpreters on a fake root (``Host(root=tmp)``); the slow ones run the
real interpreters and compare ``cachecensus dir`` with the real ``pip cache dir``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cachecensus.discover.syspath import effective_pip, sys_path
from cachecensus.host import Host
from cachecensus.models import User
from cachecensus.resolve.pip import resolve_pip

CACHECENSUS = str(Path(sys.executable).parent / "cachecensus")
SITE = "lib/python3.11/site-packages"
ME = os.geteuid()  # the fake root's files are ours: pip's ownership check passes


class Root:
    """A fake machine: Debian's /usr/bin/python3.11 (pip 23.0.1 in dist-packages) and
    alice, whose home may get a user-site pip and venvs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.alice = User("alice", 1000, 1000, "/home/alice", "/bin/sh")
        self.write("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
        self.write("/usr/lib/python3.11/os.py", "")
        self.write("/usr/lib/python3.11/site.py", "# Debian: .../dist-packages\n")
        self.pip("/usr/lib/python3/dist-packages", "23.0.1", "platformdirs==2.6.2")
        (root / "home/alice").mkdir(parents=True)
        self.host = Host(root=str(root), env={}, euid=1000, platform="linux")

    def write(self, path: str, text: str) -> None:
        real = self.root / path.lstrip("/")
        real.parent.mkdir(parents=True, exist_ok=True)
        real.write_text(text)

    def pip(self, site: str, version: str, vendored: str | None = None) -> None:
        self.write(f"{site}/pip/__init__.py", f'__version__ = "{version}"\n')
        if vendored is not None:
            self.write(f"{site}/pip/_vendor/vendor.txt", f"distlib==0.3\n{vendored}\n")

    def venv(self, path: str, *, system_site: bool, pip: str | None = None) -> str:
        flag = "true" if system_site else "false"
        self.write(
            f"{path}/pyvenv.cfg",
            f"home = /usr/bin\ninclude-system-site-packages = {flag}\nversion = 3.11.2\n",
        )
        (self.root / path.lstrip("/") / SITE).mkdir(parents=True, exist_ok=True)
        if pip is not None:
            self.pip(f"{path}/{SITE}", pip)
        return path

    def found(self, prefix: str, cwd: str = "/home/alice", **env: str) -> str | None:
        variables = {"HOME": "/home/alice", **env}
        pip = effective_pip(self.host, prefix, env=variables, home="/home/alice", cwd=cwd)
        assert pip is not None
        return pip.version


@pytest.fixture
def r(tmp_path: Path) -> Root:
    return Root(tmp_path / "root")


def test_a_user_site_pip_shadows_the_system_pip(r: Root) -> None:
    assert r.found("/usr") == "23.0.1"
    r.pip(f"/home/alice/.local/{SITE}", "26.3", "platformdirs==4.12.4")
    assert r.found("/usr") == "26.3"
    assert r.found("/usr", PYTHONNOUSERSITE="1") == "23.0.1"
    r.pip(f"/opt/base/{SITE}", "24.0")  # PYTHONUSERBASE moves the user site
    assert r.found("/usr", PYTHONUSERBASE="/opt/base") == "24.0"


def test_the_vendored_platformdirs_comes_with_the_pip_found(r: Root) -> None:
    pip = effective_pip(r.host, "/usr", env={}, home="/home/alice", cwd="/")
    assert pip is not None
    assert (pip.path, pip.version, pip.dirs) == (
        "/usr/lib/python3/dist-packages/pip",
        "23.0.1",
        "platformdirs 2.6.2",
    )


def test_a_venv_without_system_site_packages_sees_only_its_own_pip(r: Root) -> None:
    r.pip(f"/home/alice/.local/{SITE}", "26.3")
    venv = r.venv("/home/alice/v", system_site=False)
    pip = effective_pip(r.host, venv, env={}, home="/home/alice", cwd="/")
    assert pip is not None and pip.path is None  # no pip at all: python -m pip fails
    r.pip(f"{venv}/{SITE}", "24.0")
    assert r.found(venv) == "24.0"


def test_a_system_site_packages_venv_without_pip_runs_the_user_then_the_base_pip(
    r: Root,
) -> None:
    venv = r.venv("/home/alice/v", system_site=True)
    assert r.found(venv) == "23.0.1"  # Debian's dist-packages of the base
    r.pip(f"/home/alice/.local/{SITE}", "26.3")
    assert r.found(venv) == "26.3"  # the user site comes before the base's
    r.pip(f"{venv}/{SITE}", "25.3")
    assert r.found(venv) == "25.3"  # the venv's own comes before the user site


def test_pythonpath_comes_before_every_site_directory(r: Root) -> None:
    r.pip("/opt/pp", "20.3.4", "appdirs==1.4.4")
    venv = r.venv("/home/alice/v", system_site=False, pip="24.0")
    assert r.found(venv, PYTHONPATH="/nowhere:/opt/pp") == "20.3.4"
    r.pip("/home/alice/work", "22.3.1")
    assert r.found(venv, cwd="/home/alice/work", PYTHONPATH="/nowhere::/opt/pp") == "22.3.1"


def test_the_working_directory_comes_first_for_python_m(r: Root) -> None:
    r.pip("/home/alice/src", "21.3.1")
    assert r.found("/usr", cwd="/home/alice/src") == "21.3.1"
    assert r.found("/usr", cwd="/home/alice/src", PYTHONSAFEPATH="1") == "23.0.1"


def test_a_pth_file_adds_its_existing_directories_after_its_site_dir(r: Root) -> None:
    venv = r.venv("/home/alice/v", system_site=False)
    r.pip("/opt/editable", "25.0.1")
    r.write(
        f"{venv}/{SITE}/a.pth",
        "# comment\nimport sys; sys.path.insert(0, '/opt/ignored')\n/missing\n/opt/editable\n",
    )
    assert r.found(venv) == "25.0.1"
    path = sys_path(r.host, venv, env={}, home="/home/alice", cwd="/")
    assert path == ["/", f"{venv}/{SITE}", "/opt/editable"]


def test_an_unknown_layout_is_not_taken_for_no_pip(r: Root) -> None:
    """No lib/pythonX.Y: the site directories are unknown, so is the pip."""
    (r.root / "odd").mkdir()
    assert effective_pip(r.host, "/odd", env={}, home="/home/alice", cwd="/") is None


def test_dir_applies_the_rules_of_the_pip_that_runs(r: Root) -> None:
    """Debian's pip 23.0.1 takes a relative XDG_CACHE_HOME from the working dir; pip 26.3
    in the user site ignores it. ``pip_version`` (the environment's own) is not what runs."""
    env = {"HOME": "/home/alice", "XDG_CACHE_HOME": "rel"}
    kwargs = {"user": r.alice, "prefix": "/usr", "view": "cache", "cwd": "/work", "euid": ME}
    res = resolve_pip(r.host, env=env, pip_version="23.0.1", **kwargs)  # type: ignore[arg-type]
    assert res.cache_dir == "/work/rel/pip" and res.tool_version == "23.0.1"
    r.pip(f"/home/alice/.local/{SITE}", "26.3", "platformdirs==4.12.4")
    res = resolve_pip(r.host, env=env, pip_version="23.0.1", **kwargs)  # type: ignore[arg-type]
    assert res.cache_dir == "/home/alice/.cache/pip" and res.tool_version == "26.3"


def test_dir_says_pip_would_fail_without_a_pip(r: Root) -> None:
    venv = r.venv("/home/alice/v", system_site=False)
    env = {"HOME": "/home/alice"}
    kwargs = {"user": r.alice, "env": env, "prefix": venv, "cwd": "/", "euid": ME}
    res = resolve_pip(r.host, view="cache", **kwargs)  # type: ignore[arg-type]
    assert res.error is not None and "No module named pip" in res.error
    res = resolve_pip(r.host, view="install", **kwargs)  # type: ignore[arg-type]
    assert res.error is None and res.cache_dir == "/home/alice/.cache/pip"


# ------------------------------------------------------------------ the real interpreters


def _base_python() -> str:
    return str(getattr(sys, "_base_executable", sys.executable))


def _site_of(python: Path) -> Path:
    return python.parent.parent / SITE


def _both(python: str, env: dict[str, str], cwd: Path) -> tuple[str, str]:
    pip = subprocess.run(
        [python, "-m", "pip", "cache", "dir"], env=env, cwd=cwd, capture_output=True, text=True
    )
    ours = subprocess.run(
        [CACHECENSUS, "dir", "--python", python], env=env, cwd=cwd, capture_output=True, text=True
    )
    assert "Traceback" not in ours.stderr, ours.stderr
    assert (pip.returncode == 0) == (ours.returncode == 0), (pip.stderr, ours.stderr)
    return pip.stdout, ours.stdout


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "XDG_", "PYTHON"))}
    env.update(HOME=str(home), PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")  # our source, for cachecensus
    return env


@pytest.fixture
def user_site_pip(pip_venv: Callable[[str], Path], tmp_path: Path) -> Path:
    """A home whose user site holds pip 20.3.4 (``pip install --user pip==20.3.4``): it
    takes an empty XDG_CACHE_HOME as the working dir, which no platformdirs pip does."""
    home = tmp_path / "home"
    site = home / ".local" / SITE
    site.mkdir(parents=True)
    shutil.copytree(_site_of(pip_venv("20.3.4")) / "pip", site / "pip")
    (tmp_path / "work").mkdir()
    return home


@pytest.mark.slow
def test_a_user_site_pip_upgrade_decides_for_the_base_interpreter(
    user_site_pip: Path, tmp_path: Path
) -> None:
    python, work = _base_python(), tmp_path / "work"
    pip, ours = _both(python, _env(user_site_pip, XDG_CACHE_HOME=""), work)
    assert pip == ours == f"{work}/pip\n"  # pip 20.3.4 from the user site ran
    pip, ours = _both(python, _env(user_site_pip, XDG_CACHE_HOME="", PYTHONNOUSERSITE="1"), work)
    assert pip == ours == f"{user_site_pip}/.cache/pip\n"  # the interpreter's own pip ran


@pytest.mark.slow
def test_a_pip_on_pythonpath_decides(pip_venv: Callable[[str], Path], tmp_path: Path) -> None:
    python = pip_venv("26.3")
    old = _site_of(pip_venv("20.3.4"))
    env = _env(tmp_path, XDG_CACHE_HOME="")
    env["PYTHONPATH"] = f"{old}:{env['PYTHONPATH']}"  # the pip for python, our src for us
    pip, ours = _both(str(python), env, tmp_path)
    assert pip == ours == f"{tmp_path}/pip\n"


@pytest.mark.slow
def test_a_system_site_packages_venv_without_pip_runs_another_pip(
    user_site_pip: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "ssp"
    subprocess.run(
        [_base_python(), "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
        check=True,
    )
    python, work = str(venv / "bin" / "python"), tmp_path / "work"
    pip, ours = _both(python, _env(user_site_pip, XDG_CACHE_HOME=""), work)
    assert pip == ours == f"{work}/pip\n"  # the user site's pip 20.3.4
    pip, ours = _both(python, _env(user_site_pip, XDG_CACHE_HOME="", PYTHONNOUSERSITE="1"), work)
    assert pip == ours  # the base interpreter's own pip (or none: both fail)


def test_lib64_only_where_the_base_python_is_built_with_it(r: Root) -> None:
    """A venv's ``lib64`` symlink adds nothing on Debian (platlibdir ``lib``); a Fedora-like
    base (a real ``lib64/python3.11``) has its ``lib64`` site-packages first."""
    venv = r.venv("/home/alice/v", system_site=False, pip="24.0")
    os.symlink("lib", r.root / "home/alice/v/lib64")
    path = sys_path(r.host, venv, env={}, home="/home/alice", cwd="/")
    assert path == ["/", f"{venv}/{SITE}"]
    fedora = Root(r.root.parent / "fedora")
    fedora.write("/usr/lib64/python3.11/os.py", "")
    fedora.write("/usr/lib64/python3.11/site.py", "# CPython's own\n")
    (fedora.root / "usr/lib/python3.11/site.py").unlink()  # not Debian's
    fedora.pip("/usr/lib64/python3.11/site-packages", "25.3")
    fedora.pip("/usr/lib/python3.11/site-packages", "21.3.1")
    assert fedora.found("/usr") == "25.3"
