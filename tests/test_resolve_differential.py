"""Differential tests: ``cachecensus dir --python VENV/bin/python`` must print exactly what
``VENV/bin/python -m pip cache dir`` prints, for real pip 26.3 and 23.2.1, across scenarios
of variables x config layers x sections x XDG x disabled caches x path forms.

Every scenario runs in a private HOME and XDG tree; the machine's own /etc/pip.conf and
/etc/xdg files are read by both sides (they set no cache-dir here), as they would be for
a user.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from conftest import PIP_NEW, PIP_OLD, REPO

CACHECENSUS = str(Path(sys.executable).parent / "cachecensus")


@dataclass
class Scenario:
    name: str
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # {path template: content}
    links: dict[str, str] = field(default_factory=dict)  # {link template: target template}
    cwd: str = "{tmp}/work"
    chown_nobody: tuple[str, ...] = ()  # dirs (templates) to create and give to nobody


C = "[global]\ncache-dir = {v}\n"
S: list[Scenario] = [
    Scenario("default"),
    Scenario("env PIP_CACHE_DIR", env={"PIP_CACHE_DIR": "{tmp}/envcache"}),
    Scenario("env PIP_CACHE_DIR with ~", env={"PIP_CACHE_DIR": "~/tilde-cache"}),
    Scenario("env PIP_CACHE_DIR relative", env={"PIP_CACHE_DIR": "rel/cache"}),
    Scenario("env PIP_CACHE_DIR empty is ignored", env={"PIP_CACHE_DIR": ""}),
    Scenario("env PIP_CACHE_DIR with dots", env={"PIP_CACHE_DIR": "{tmp}/a/../b/./c"}),
    Scenario("XDG_CACHE_HOME absolute", env={"XDG_CACHE_HOME": "{tmp}/xdgcache"}),
    Scenario("XDG_CACHE_HOME relative (versions differ)", env={"XDG_CACHE_HOME": "relxdg"}),
    Scenario("XDG_CACHE_HOME blank", env={"XDG_CACHE_HOME": "  "}),
    Scenario("HOME elsewhere", env={"HOME": "{tmp}/otherhome"}),
    Scenario("global xdg file", files={"{tmp}/xdgsys/pip/pip.conf": C.format(v="{tmp}/g")}),
    Scenario(
        "two XDG_CONFIG_DIRS, both read, later wins",
        env={"XDG_CONFIG_DIRS": "{tmp}/xdgsys:{tmp}/xdgsys2"},
        files={
            "{tmp}/xdgsys/pip/pip.conf": C.format(v="{tmp}/g1"),
            "{tmp}/xdgsys2/pip/pip.conf": C.format(v="{tmp}/g2"),
        },
    ),
    Scenario("user legacy ~/.pip/pip.conf", files={"{home}/.pip/pip.conf": C.format(v="{tmp}/u")}),
    Scenario(
        "user XDG file",
        files={"{home}/.config/pip/pip.conf": C.format(v="{tmp}/ux")},
    ),
    Scenario(
        "user XDG beats legacy",
        files={
            "{home}/.pip/pip.conf": C.format(v="{tmp}/legacy"),
            "{home}/.config/pip/pip.conf": C.format(v="{tmp}/new"),
        },
    ),
    Scenario(
        "XDG_CONFIG_HOME moves the user file",
        env={"XDG_CONFIG_HOME": "{tmp}/cfg"},
        files={"{tmp}/cfg/pip/pip.conf": C.format(v="{tmp}/moved")},
    ),
    Scenario(
        "user beats global",
        files={
            "{tmp}/xdgsys/pip/pip.conf": C.format(v="{tmp}/g"),
            "{home}/.config/pip/pip.conf": C.format(v="{tmp}/u"),
        },
    ),
    Scenario("site file in the venv", files={"{venv}/pip.conf": C.format(v="{tmp}/site")}),
    Scenario(
        "site beats user",
        files={
            "{home}/.config/pip/pip.conf": C.format(v="{tmp}/u"),
            "{venv}/pip.conf": C.format(v="{tmp}/site"),
        },
    ),
    Scenario(
        "PIP_CONFIG_FILE beats site",
        env={"PIP_CONFIG_FILE": "{tmp}/envfile.conf"},
        files={
            "{venv}/pip.conf": C.format(v="{tmp}/site"),
            "{tmp}/envfile.conf": C.format(v="{tmp}/envfile"),
        },
    ),
    Scenario(
        "existing PIP_CONFIG_FILE skips user files",
        env={"PIP_CONFIG_FILE": "{tmp}/empty.conf"},
        files={"{tmp}/empty.conf": "", "{home}/.config/pip/pip.conf": C.format(v="{tmp}/u")},
    ),
    Scenario(
        "missing PIP_CONFIG_FILE keeps user files",
        env={"PIP_CONFIG_FILE": "{tmp}/nope.conf"},
        files={"{home}/.config/pip/pip.conf": C.format(v="{tmp}/u")},
    ),
    Scenario(
        "PIP_CONFIG_FILE=/dev/null skips every file",
        env={"PIP_CONFIG_FILE": "/dev/null"},
        files={
            "{home}/.config/pip/pip.conf": C.format(v="{tmp}/u"),
            "{venv}/pip.conf": C.format(v="{tmp}/site"),
        },
    ),
    Scenario(
        "PIP_CONFIG_FILE=/dev/null keeps variables",
        env={"PIP_CONFIG_FILE": "/dev/null", "PIP_CACHE_DIR": "{tmp}/var"},
    ),
    Scenario(
        "relative PIP_CONFIG_FILE",
        env={"PIP_CONFIG_FILE": "rel.conf"},
        files={"{tmp}/work/rel.conf": C.format(v="{tmp}/relconf")},
    ),
    Scenario(
        "[cache] section beats [global] for pip cache",
        files={
            "{home}/.config/pip/pip.conf": "[global]\ncache-dir = {tmp}/g\n"
            "[cache]\ncache-dir = {tmp}/c\n"
        },
    ),
    Scenario(
        "[install] section does not apply to pip cache",
        files={
            "{home}/.config/pip/pip.conf": "[global]\ncache-dir = {tmp}/g\n"
            "[install]\ncache-dir = {tmp}/i\n"
        },
    ),
    Scenario(
        "global-file [cache] beats user-file [global]",
        files={
            "{tmp}/xdgsys/pip/pip.conf": "[cache]\ncache-dir = {tmp}/gc\n",
            "{home}/.config/pip/pip.conf": C.format(v="{tmp}/ug"),
        },
    ),
    Scenario(
        "variable beats every file",
        env={"PIP_CACHE_DIR": "{tmp}/var"},
        files={"{home}/.config/pip/pip.conf": "[cache]\ncache-dir = {tmp}/c\n"},
    ),
    Scenario(
        "empty value in a later file hides the earlier one",
        files={
            "{home}/.config/pip/pip.conf": C.format(v="{tmp}/u"),
            "{venv}/pip.conf": "[global]\ncache-dir =\n",
        },
    ),
    Scenario("~ in a config value", files={"{home}/.config/pip/pip.conf": C.format(v="~/cfgc")}),
    Scenario("relative config value", files={"{home}/.config/pip/pip.conf": C.format(v="relc")}),
    Scenario(
        "key spelled with underscores and colon",
        files={"{home}/.config/pip/pip.conf": "[global]\nCACHE_DIR: {tmp}/under\n"},
    ),
    Scenario(
        "--cache-dir spelled as the long option",
        files={"{home}/.config/pip/pip.conf": "[global]\n--cache-dir = {tmp}/long\n"},
    ),
    Scenario(
        "symlinked cache dir is resolved",
        env={"PIP_CACHE_DIR": "{tmp}/link"},
        links={"{tmp}/link": "{tmp}/real"},
        files={"{tmp}/real/.keep": ""},
    ),
    Scenario("PIP_NO_CACHE_DIR=1", env={"PIP_NO_CACHE_DIR": "1"}),
    Scenario("PIP_NO_CACHE_DIR=false still disables", env={"PIP_NO_CACHE_DIR": "false"}),
    Scenario("PIP_NO_CACHE_DIR=off", env={"PIP_NO_CACHE_DIR": "off"}),
    Scenario("PIP_NO_CACHE_DIR=yes", env={"PIP_NO_CACHE_DIR": "yes"}),
    Scenario("PIP_NO_CACHE_DIR empty is ignored", env={"PIP_NO_CACHE_DIR": ""}),
    Scenario("PIP_NO_CACHE_DIR invalid is pip's error", env={"PIP_NO_CACHE_DIR": "maybe"}),
    Scenario(
        "no-cache-dir in [global] beats a later cache-dir",
        env={"PIP_CACHE_DIR": "{tmp}/var"},
        files={"{home}/.config/pip/pip.conf": "[global]\nno-cache-dir = no\n"},
    ),
    Scenario(
        "no-cache-dir in [install] does not apply to pip cache",
        files={"{home}/.config/pip/pip.conf": "[install]\nno-cache-dir = true\n"},
    ),
    Scenario(
        "no-cache-dir in [cache]",
        files={"{venv}/pip.conf": "[cache]\nno-cache-dir = 0\n"},
    ),
    Scenario(
        "malformed user file: pip refuses to start",
        files={"{home}/.config/pip/pip.conf": C.format(v="{tmp}/x") + "garbage line\n"},
    ),
    Scenario(
        "no-cache-dir invalid in a config file",
        files={"{home}/.config/pip/pip.conf": "[global]\nno-cache-dir = perhaps\n"},
    ),
    Scenario(
        "cache_dir and cache-dir in one section (versions differ)",
        files={
            "{home}/.config/pip/pip.conf": "[global]\ncache_dir = {tmp}/a\ncache-dir = {tmp}/b\n"
        },
    ),
    Scenario(
        "PIP_CONFIG_FILE naming a global file (versions differ)",
        env={"PIP_CONFIG_FILE": "{tmp}/xdgsys/pip/pip.conf"},
        files={
            "{tmp}/xdgsys/pip/pip.conf": C.format(v="{tmp}/g"),
            "{venv}/pip.conf": C.format(v="{tmp}/site"),
        },
    ),
    Scenario(
        "[DEFAULT] keys reach every section",
        files={"{home}/.config/pip/pip.conf": "[DEFAULT]\ncache-dir = {tmp}/d\n[cache]\n"},
    ),
    Scenario(
        "relative XDG_CONFIG_DIRS entry (versions differ)",
        env={"XDG_CONFIG_DIRS": "relsys:{tmp}/xdgsys"},
        files={"{tmp}/work/relsys/pip/pip.conf": C.format(v="{tmp}/relsys")},
    ),
    Scenario(
        "relative XDG_CONFIG_HOME (versions differ)",
        env={"XDG_CONFIG_HOME": "relcfg"},
        files={"{tmp}/work/relcfg/pip/pip.conf": C.format(v="{tmp}/relcfg")},
    ),
    Scenario(
        "CRLF line endings",
        files={"{home}/.config/pip/pip.conf": "[cache]\r\ncache-dir = {tmp}/crlf\r\n"},
    ),
    Scenario(
        "a global dir listed twice in XDG_CONFIG_DIRS (versions differ)",
        env={"XDG_CONFIG_DIRS": "{tmp}/xdgsys:{tmp}/xdgsys2:{tmp}/xdgsys"},
        files={
            "{tmp}/xdgsys/pip/pip.conf": C.format(v="{tmp}/g1"),
            "{tmp}/xdgsys2/pip/pip.conf": C.format(v="{tmp}/g2"),
        },
    ),
    Scenario(
        "dangling symlink: pip uses its target",
        env={"PIP_CACHE_DIR": "{tmp}/dangling"},
        links={"{tmp}/dangling": "{tmp}/not-yet/cache"},
    ),
    Scenario(
        "symlink loop as cache dir: ownership check fails",
        env={"PIP_CACHE_DIR": "{tmp}/loop1"},
        links={"{tmp}/loop1": "{tmp}/loop2", "{tmp}/loop2": "{tmp}/loop1"},
    ),
    Scenario(
        "below a symlink loop",
        env={"PIP_CACHE_DIR": "{tmp}/loop1/sub"},
        links={"{tmp}/loop1": "{tmp}/loop2", "{tmp}/loop2": "{tmp}/loop1"},
    ),
    Scenario(
        "cache dir owned by nobody is disabled for root",
        env={"PIP_CACHE_DIR": "{tmp}/nobodys"},
        chown_nobody=("{tmp}/nobodys",),
    ),
    Scenario(
        "missing cache dir under a nobody-owned parent",
        env={"PIP_CACHE_DIR": "{tmp}/nobodys/sub/cache"},
        chown_nobody=("{tmp}/nobodys",),
    ),
]


def _fill(text: str, tmp: Path, home: Path, venv: Path) -> str:
    return text.format(tmp=tmp, home=home, venv=venv)


@pytest.fixture(params=[PIP_NEW, PIP_OLD], ids=lambda v: f"pip{v}")
def venv_python(request: pytest.FixtureRequest, pip_venv: Callable[[str], Path]) -> Path:
    return pip_venv(request.param)


@pytest.fixture
def site_conf(venv_python: Path) -> Iterator[Path]:
    """The venv's own pip.conf, removed after every test (venvs are shared)."""
    conf = venv_python.parent.parent / "pip.conf"
    conf.unlink(missing_ok=True)
    yield conf
    conf.unlink(missing_ok=True)


def _build(scenario: Scenario, tmp: Path, venv: Path) -> tuple[dict[str, str], Path]:
    home = tmp / "home"
    for path in (home, tmp / "work", tmp / "xdgsys", tmp / "otherhome"):
        path.mkdir(parents=True, exist_ok=True)
    for template, content in scenario.files.items():
        path = Path(_fill(template, tmp, home, venv))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_fill(content, tmp, home, venv))
    for link, target in scenario.links.items():
        os.symlink(_fill(target, tmp, home, venv), _fill(link, tmp, home, venv))
    for template in scenario.chown_nobody:
        path = Path(_fill(template, tmp, home, venv))
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, 65534, 65534)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "XDG_"))}
    env.update(HOME=str(home), XDG_CONFIG_DIRS=str(tmp / "xdgsys"))
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    for key, value in scenario.env.items():
        env[key] = _fill(value, tmp, home, venv)
    return env, Path(_fill(scenario.cwd, tmp, home, venv))


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    return proc.returncode, proc.stdout.strip()


@pytest.mark.parametrize("scenario", S, ids=[s.name for s in S])
def test_dir_matches_pip(
    scenario: Scenario, venv_python: Path, site_conf: Path, tmp_path: Path
) -> None:
    if scenario.chown_nobody and os.geteuid() != 0:
        pytest.skip("the ownership scenarios need root (CI runs as root)")
    venv = venv_python.parent.parent
    env, cwd = _build(scenario, tmp_path, venv)
    pip_rc, pip_out = _run([str(venv_python), "-m", "pip", "cache", "dir"], env, cwd)
    our_rc, our_out = _run([CACHECENSUS, "dir", "--python", str(venv_python)], env, cwd)
    assert our_out == pip_out, f"{scenario.name}: pip said {pip_out!r}, we said {our_out!r}"
    assert (pip_rc == 0) == (our_rc == 0), f"{scenario.name}: exit {pip_rc} vs {our_rc}"
    if pip_rc == 0:
        assert Path(pip_out).is_absolute()


def test_scenario_count() -> None:
    assert len(S) >= 40  # the issue asks for at least 40, each run against two pip versions


def test_install_view_is_where_downloads_land(
    pip_venv: Callable[[str], Path], loopback_index: str, tmp_path: Path
) -> None:
    """``--for download`` names the directory a real ``pip download`` fills (its
    [download] section differs from [cache])."""
    python = pip_venv(PIP_NEW)
    home = tmp_path / "home"
    (home / ".config" / "pip").mkdir(parents=True)
    (home / ".config" / "pip" / "pip.conf").write_text(
        f"[cache]\ncache-dir = {tmp_path}/cache-view\n"
        f"[download]\ncache-dir = {tmp_path}/download-view\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "XDG_"))}
    env.update(HOME=str(home), PIP_DISABLE_PIP_VERSION_CHECK="1")
    rc, ours = _run(
        [CACHECENSUS, "dir", "--python", str(python), "--for", "download"], env, tmp_path
    )
    assert rc == 0 and ours == f"{tmp_path}/download-view"
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "download",
            "--no-deps",
            "-d",
            str(tmp_path / "out"),
            "--index-url",
            loopback_index,
            "--trusted-host",
            "127.0.0.1",
            "six==1.16.0",
        ],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    written = {p.name for p in (tmp_path / "download-view" / "http-v2").rglob("*") if p.is_file()}
    assert written, "pip download wrote nothing where --for download said"
    assert not (tmp_path / "cache-view").exists()


def test_json_layout(pip_venv: Callable[[str], Path], tmp_path: Path) -> None:
    import json

    python = pip_venv(PIP_NEW)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "XDG_"))}
    env.update(HOME=str(tmp_path), PIP_CACHE_DIR=str(tmp_path / "c"), PIP_NO_CACHE_DIR="")
    rc, out = _run([CACHECENSUS, "dir", "--python", str(python), "--json"], env, tmp_path)
    doc = json.loads(out)
    assert rc == 0 and doc["schema"] == 1 and doc["cache_dir"] == f"{tmp_path}/c"
    assert doc["disabled"] is False and doc["view"] == "cache"
    effective = [d for d in doc["decided_by"] if d["effective"]]
    assert [d["where"] for d in effective] == ["PIP_CACHE_DIR"]
    assert doc["decided_by"][0]["source"] == "default"


def test_bad_inputs_are_one_line_errors(tmp_path: Path) -> None:
    for argv in (
        [CACHECENSUS, "dir", "--python", str(tmp_path / "missing")],
        [CACHECENSUS, "dir", "--user", "no-such-user-here"],
        [CACHECENSUS, "dir", "--for", "bogus"],
    ):
        proc = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
        assert proc.returncode == 2, argv
        assert "Traceback" not in proc.stderr
        assert proc.stderr.strip()


@pytest.mark.parametrize("version", [PIP_NEW, PIP_OLD])
def test_the_error_names_the_file_pip_names(
    version: str, pip_venv: Callable[[str], Path], tmp_path: Path
) -> None:
    """With two malformed files pip exits on the first it reads: a global file for pip 26,
    the PIP_CONFIG_FILE file for pip 23.2 (which read it first)."""
    python = pip_venv(version)
    (tmp_path / "xdgsys" / "pip").mkdir(parents=True)
    (tmp_path / "xdgsys" / "pip" / "pip.conf").write_text("[global]\nbad-global\n")
    (tmp_path / "env.conf").write_text("[global]\nbad-env\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "XDG_"))}
    env.update(
        HOME=str(tmp_path),
        XDG_CONFIG_DIRS=str(tmp_path / "xdgsys"),
        PIP_CONFIG_FILE=str(tmp_path / "env.conf"),
    )
    pip = subprocess.run(
        [str(python), "-m", "pip", "cache", "dir"], env=env, capture_output=True, text=True
    )
    ours = subprocess.run(
        [CACHECENSUS, "dir", "--python", str(python)], env=env, capture_output=True, text=True
    )
    assert pip.returncode != 0 and ours.returncode != 0 and not ours.stdout
    named = "env.conf" if version == PIP_OLD else "xdgsys/pip/pip.conf"
    assert f"{named}'" in pip.stderr
    (error,) = [line for line in ours.stderr.splitlines() if "pip would fail" in line]
    assert f"{tmp_path}/{named}:2: cannot parse 'bad-" in error


def _system_python_with_pip() -> str | None:
    """A system interpreter (readable by every user) whose own pip runs."""
    for name in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(name):
            check = subprocess.run([name, "-m", "pip", "--version"], capture_output=True)
            if check.returncode == 0:
                return name
    return None


def _other_nobody_processes() -> bool:
    for proc in psutil.process_iter(["uids"]):
        uids = proc.info.get("uids")
        if uids is not None and uids.effective == 65534:
            return True
    return False


def test_user_view_matches_pip_run_as_that_user() -> None:
    """``sudo cachecensus dir --user nobody``: a running process of nobody's has its own
    ``HOME``; ``dir`` answers for nobody's login and names that process's cache under
    ``elsewhere`` (with its PID), where nobody's config file in that ``HOME`` decides and
    the ownership check is nobody's — equal to what pip says when nobody runs it with
    those variables, before and after the directory becomes nobody's."""
    python = _system_python_with_pip()
    if os.geteuid() != 0 or shutil.which("setpriv") is None or python is None:
        pytest.skip("needs root, setpriv and a system python3 with pip")
    if _other_nobody_processes():
        pytest.skip("another process of nobody would lend us its variables")
    base = Path(tempfile.mkdtemp(prefix="cachecensus-nobody-", dir="/tmp"))
    drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env", "-i"]
    env = ["PATH=/usr/bin:/bin", f"HOME={base}/home", "PIP_DISABLE_PIP_VERSION_CHECK=1"]
    sleeper = None
    try:
        base.chmod(0o755)
        (base / "home" / ".config" / "pip").mkdir(parents=True)
        (base / "shared").mkdir()
        (base / "home" / ".config" / "pip" / "pip.conf").write_text(
            f"[cache]\ncache-dir = {base}/shared/pip\n"
        )
        os.chown(base / "home", 65534, 65534)
        sleeper = subprocess.Popen([*drop, *env, "sleep", "300"])
        for _ in range(200):  # until its variables are readable (exec'd into sleep)
            try:
                if "HOME" in psutil.Process(sleeper.pid).environ():
                    break
            except psutil.Error:
                pass
            time.sleep(0.01)
        ours_argv = [CACHECENSUS, "dir", "--python", python, "--user", "nobody", "--json"]
        path_only = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        for owner in (0, 65534):  # /shared is root's: nobody cannot write; then nobody's
            os.chown(base / "shared", owner, owner)
            pip_argv = [*drop, *env, python, "-m", "pip", "cache", "dir"]
            pip_rc, pip_out = _run(pip_argv, path_only, base)
            _, our_out = _run(ours_argv, dict(os.environ), base)
            elsewhere = json.loads(our_out)["elsewhere"]
            theirs = [pip_out] if pip_rc == 0 else []
            assert [e["cache_dir"] for e in elsewhere] == theirs, owner
            assert all(f"PID {sleeper.pid} (sleep)" in e["origin"] for e in elsewhere)
        assert theirs == [f"{base}/shared/pip"]
    finally:
        if sleeper is not None:
            sleeper.terminate()
            sleeper.wait(timeout=10)
        shutil.rmtree(base, ignore_errors=True)
