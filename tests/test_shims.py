"""``install``'s interpreter on a pyenv or asdf machine: the shim resolved, never run.

Threat (cachecensus issue 12): the user's ``python3`` is pyenv's shim for 3.11.7, and
``cachecensus install`` ran ``/usr/bin/python3`` instead (the user then got pip's
"externally-managed-environment"). Each test builds a real pyenv or asdf tree (versions
whose ``bin/python3`` is a link to a real interpreter, shims that are scripts) and asks
:func:`choose_python` what the shell's ``python3`` would be from a working directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from cachecensus.act.install import choose_python, target_at
from cachecensus.host import Host
from test_discover import python_build, venv

REAL_PYTHON = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
CACHECENSUS = Path(sys.executable).parent / "cachecensus"

PYENV_SHIM = """#!/usr/bin/env bash
set -e
[ -n "$PYENV_DEBUG" ] && set -x

program="${{0##*/}}"

export PYENV_ROOT="{root}"
exec "{root}/libexec/pyenv" exec "$program" "$@"
"""

ASDF_SHIM = """#!/usr/bin/env bash
# asdf-plugin: python 3.11.7
exec asdf exec "python3" "$@" # asdf_allow: ' asdf '
"""


@dataclass
class Machine:
    tmp: Path
    home: Path
    pyenv: Path  # PYENV_ROOT
    asdf: Path  # ASDF_DATA_DIR
    system: Path  # a system bin dir with a real python3

    def host(self, manager: str, **env: str) -> Host:
        shims = (self.pyenv if manager == "pyenv" else self.asdf) / "shims"
        path = f"{shims}:{self.tmp / 'missing'}:{self.system}"
        return Host(root="/", env={"PATH": path, "HOME": str(self.home), **env}, euid=os.geteuid())

    def project(self, *parts: str) -> Path:
        where = self.tmp.joinpath("work", *parts)
        where.mkdir(parents=True, exist_ok=True)
        return where


def interpreter(bindir: Path) -> Path:
    bindir.mkdir(parents=True, exist_ok=True)
    (bindir / "python3").symlink_to(REAL_PYTHON)
    return bindir / "python3"


def script(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    home = tmp_path / "home"
    home.mkdir()
    pyenv = home / ".pyenv"
    for version in ("3.11.7", "3.11.2", "3.10.4"):
        interpreter(pyenv / "versions" / version / "bin")
    interpreter(pyenv / "versions" / "3.11.9rc1" / "bin")  # a pre-release is never "3.11"
    script(pyenv / "shims" / "python3", PYENV_SHIM.format(root=pyenv))
    asdf = home / ".asdf"
    for version in ("3.11.7", "3.12.1"):
        interpreter(asdf / "installs" / "python" / version / "bin")
    script(asdf / "shims" / "python3", ASDF_SHIM)
    system = tmp_path / "usr" / "bin"
    interpreter(system)
    return Machine(tmp_path, home, pyenv, asdf, system)


def chosen(m: Machine, manager: str, cwd: Path, **env: str) -> tuple[str | None, str]:
    choice = choose_python(m.host(manager, **env), str(cwd))
    return choice.python, choice.why


# ------------------------------------------------------------------------------ pyenv


def test_a_pyenv_shim_runs_the_version_in_pyenv_version_not_usr_bin_python3(
    machine: Machine,
) -> None:
    python, why = chosen(machine, "pyenv", machine.project(), PYENV_VERSION="3.10.4")
    assert python == f"{machine.pyenv}/versions/3.10.4/bin/python3"
    assert "pyenv version 3.10.4 (set by PYENV_VERSION)" in why
    assert f"{machine.pyenv}/shims/python3 is pyenv's shim" in why


def test_a_python_version_file_in_a_parent_dir_decides(machine: Machine) -> None:
    (machine.project("proj") / ".python-version").write_text("# pinned\n\n3.11.7\n")
    deep = machine.project("proj", "src", "pkg")
    python, why = chosen(machine, "pyenv", deep)
    assert python == f"{machine.pyenv}/versions/3.11.7/bin/python3"
    assert f"set by {machine.tmp}/work/proj/.python-version" in why


def test_pyenv_dir_is_searched_before_the_working_dir(machine: Machine) -> None:
    (machine.project("a") / ".python-version").write_text("3.10.4\n")
    (machine.project("b") / ".python-version").write_text("3.11.7\n")
    a, b = machine.tmp / "work/a", machine.tmp / "work/b"
    assert chosen(machine, "pyenv", b, PYENV_DIR=str(a))[0] == (
        f"{machine.pyenv}/versions/3.10.4/bin/python3"
    )


def test_the_global_version_file_decides_when_no_local_one(machine: Machine) -> None:
    (machine.pyenv / "version").write_text("3.10.4\n")
    python, why = chosen(machine, "pyenv", machine.project("plain"))
    assert python == f"{machine.pyenv}/versions/3.10.4/bin/python3"
    assert f"set by {machine.pyenv}/version" in why


def test_a_version_prefix_means_the_newest_installed_release(machine: Machine) -> None:
    (machine.project("p") / ".python-version").write_text("3.11\n")
    python, _ = chosen(machine, "pyenv", machine.tmp / "work/p")
    assert python == f"{machine.pyenv}/versions/3.11.7/bin/python3"
    python, _ = chosen(machine, "pyenv", machine.project(), PYENV_VERSION="python-3.10.4")
    assert python == f"{machine.pyenv}/versions/3.10.4/bin/python3"


def test_no_version_set_runs_system_the_next_python3_past_the_shims(machine: Machine) -> None:
    python, why = chosen(machine, "pyenv", machine.project("none"))
    assert python == f"{machine.system}/python3"
    assert "no version set" in why and "system" in why


def test_a_version_not_installed_falls_through_to_system_and_says_so(machine: Machine) -> None:
    python, why = chosen(machine, "pyenv", machine.project(), PYENV_VERSION="3.9.1:3.8.0")
    assert python == f"{machine.system}/python3"
    assert "3.9.1, 3.8.0 not installed (set by PYENV_VERSION)" in why
    # the first installed one of several wins
    python, _ = chosen(machine, "pyenv", machine.project(), PYENV_VERSION="3.9.1:3.11.2")
    assert python == f"{machine.pyenv}/versions/3.11.2/bin/python3"


def test_a_version_name_that_climbs_out_of_versions_is_never_followed(machine: Machine) -> None:
    """pyenv's CVE-2022-35861 guard: ``../../evil`` in a .python-version names no binary."""
    interpreter(machine.tmp / "evil" / "bin")
    (machine.project("x") / ".python-version").write_text("../../../evil\n")
    python, _ = chosen(machine, "pyenv", machine.tmp / "work/x")
    assert python == f"{machine.system}/python3"


def test_a_fifo_as_python_version_never_hangs_and_counts_as_absent(machine: Machine) -> None:
    (machine.project("outer") / ".python-version").write_text("3.10.4\n")
    os.mkfifo(machine.project("outer", "inner") / ".python-version")
    python, _ = chosen(machine, "pyenv", machine.tmp / "work/outer/inner")
    assert python == f"{machine.pyenv}/versions/3.10.4/bin/python3"


# ------------------------------------------------------------------------------ asdf


def test_an_asdf_shim_runs_the_tool_versions_python(machine: Machine) -> None:
    (machine.project("svc") / ".tool-versions").write_text(
        "nodejs 20.1.0\npython 3.11.7 3.12.1  # pinned\n"
    )
    python, why = chosen(machine, "asdf", machine.project("svc", "app"))
    assert python == f"{machine.asdf}/installs/python/3.11.7/bin/python3"
    assert f"asdf python 3.11.7 (set by {machine.tmp}/work/svc/.tool-versions)" in why


def test_asdf_python_version_and_data_dir_variables_decide(machine: Machine) -> None:
    other = machine.tmp / "asdf-data"
    interpreter(other / "installs" / "python" / "3.12.1" / "bin")
    python, why = chosen(
        machine, "asdf", machine.project(), ASDF_PYTHON_VERSION="3.12.1", ASDF_DATA_DIR=str(other)
    )
    assert python == f"{other}/installs/python/3.12.1/bin/python3"
    assert "set by ASDF_PYTHON_VERSION" in why


def test_asdf_falls_back_to_the_home_tool_versions(machine: Machine) -> None:
    (machine.home / ".tool-versions").write_text("python 3.12.1\n")
    python, _ = chosen(machine, "asdf", machine.project("elsewhere"))
    assert python == f"{machine.asdf}/installs/python/3.12.1/bin/python3"


def test_asdf_with_no_version_is_no_choice_never_usr_bin_python3(machine: Machine) -> None:
    python, why = chosen(machine, "asdf", machine.project("bare"))
    assert python is None and "no python version is set" in why
    python, why = chosen(machine, "asdf", machine.project(), ASDF_PYTHON_VERSION="3.9.9")
    assert python is None and "none of python 3.9.9 (set by ASDF_PYTHON_VERSION)" in why


def test_asdf_system_is_the_next_python3_on_path(machine: Machine) -> None:
    python, _ = chosen(machine, "asdf", machine.project(), ASDF_PYTHON_VERSION="system")
    assert python == f"{machine.system}/python3"


def test_an_asdf_path_version_is_followed_only_from_a_file_you_own(machine: Machine) -> None:
    """``python path:/tmp/evil`` in a .tool-versions another user left in a shared dir
    must not make root run their binary."""
    theirs = interpreter(machine.tmp / "evil" / "bin").parent.parent
    spot = machine.project("shared")
    (spot / ".tool-versions").write_text(f"python path:{theirs}\n")
    mine, _ = chosen(machine, "asdf", spot)
    assert mine == f"{theirs}/bin/python3"
    os.chown(spot / ".tool-versions", 54321, 54321)
    python, why = chosen(machine, "asdf", spot)
    assert python is None and "path:" in why


# ------------------------------------------------------------------------------ --env PATH


def test_env_accepts_any_environment_prefix_or_interpreter(tmp_path: Path) -> None:
    root = tmp_path / "m"
    python_build(root, "/usr", "3.11.2", pip="23.0.1")
    venv(root, "/srv/undiscovered", "/usr/bin/python3.11", "3.11.2", pip="26.3")
    host = Host(root=str(root))
    target = target_at(host, "/srv/undiscovered")
    assert target is not None
    assert target.python == "/srv/undiscovered/bin/python" and target.pip_version == "26.3"
    direct = target_at(host, "/usr/bin/python3.11")
    assert direct is not None and direct.prefix == "/usr" and direct.pip_version == "23.0.1"
    assert target_at(host, "/srv/nothing-here") is None
    (root / "srv/empty").mkdir()
    assert target_at(host, "/srv/empty") is None


# ------------------------------------------------------------------------------ the CLI


def _site_packages(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


@pytest.mark.slow
def test_install_on_a_pyenv_machine_runs_the_shims_version_and_says_why(
    machine: Machine, pip_venv: Callable[[str], Path]
) -> None:
    """The issue's machine: PATH has pyenv's shims before a system python3; the project
    pins 3.11.7. install must run 3.11.7's pip (a real venv standing in for the build) and
    say so on stderr and in --json."""
    version = machine.pyenv / "versions" / "3.11.7"
    shutil.rmtree(version)
    subprocess.run([REAL_PYTHON, "-m", "venv", "--without-pip", str(version)], check=True)
    donor = _site_packages(pip_venv("26.3"))
    site = _site_packages(version / "bin" / "python3")
    for name in os.listdir(donor):
        if name == "pip" or (name.startswith("pip-") and name.endswith(".dist-info")):
            shutil.copytree(donor / name, site / name)
    proj = machine.project("proj")
    (proj / ".python-version").write_text("3.11.7\n")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYENV", "ASDF", "XDG_"))
    }
    env.update(
        HOME=str(machine.home),
        PATH=f"{machine.pyenv}/shims:{machine.system}:{os.environ.get('PATH', '')}",
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    result = subprocess.run(
        [str(CACHECENSUS), "pip", "--json", "--", "--version"],
        cwd=proj,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    expected = f"{version}/bin/python3"
    assert doc["python"] == expected
    assert f"pyenv version 3.11.7 (set by {proj}/.python-version)" in doc["python_chosen_by"]
    lines = result.stderr.splitlines()
    said = [n for n, line in enumerate(lines) if line.startswith("cachecensus: python: ")]
    ran = [n for n, line in enumerate(lines) if line.startswith("cachecensus: running: ")]
    assert len(said) == 1 and said[0] < ran[0]
    assert expected in lines[said[0]] and "pyenv version 3.11.7" in lines[said[0]]
    assert f"pip 26.3 from {site}" in result.stderr  # that version's pip really ran
    # --env takes the same build by its prefix, though discovery never named it so
    by_prefix = subprocess.run(
        [str(CACHECENSUS), "pip", "--json", "--env", str(version), "--", "--version"],
        cwd=proj,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert by_prefix.returncode == 0, by_prefix.stderr
    doc = json.loads(by_prefix.stdout)
    assert doc["python"].startswith(f"{version}/bin/python")
    assert doc["python_chosen_by"] == f"--env {version}"


# ------------------------------------------------------------------------------ real pyenv

PYENV = shutil.which("pyenv")

#: (a label, variables, the .python-version files to write: dir -> text, the working dir)
SCENARIOS: list[tuple[str, dict[str, str], dict[str, str], str]] = [
    ("PYENV_VERSION", {"PYENV_VERSION": "3.10.4"}, {}, "p"),
    ("several, first missing", {"PYENV_VERSION": "3.9.1:3.11.2"}, {}, "p"),
    ("python- prefix", {"PYENV_VERSION": "python-3.10.4"}, {}, "p"),
    ("a prefix", {"PYENV_VERSION": "3.11"}, {}, "p"),
    ("not installed", {"PYENV_VERSION": "3.9.1"}, {}, "p"),
    ("system", {"PYENV_VERSION": "system"}, {}, "p"),
    ("file in a parent", {}, {"p": "# pin\n3.11.2\n"}, "p/a/b"),
    ("nearest file wins", {}, {"p": "3.11.2\n", "p/a": "3.10.4\n"}, "p/a/b"),
    ("an empty file stops the search", {}, {"p": "3.11.2\n", "p/a": ""}, "p/a/b"),
    ("PYENV_DIR first", {"PYENV_DIR": "{work}/q"}, {"p": "3.11.2\n", "q": "3.10.4\n"}, "p"),
    ("global version file", {}, {"<root>": "3.10.4\n"}, "p"),
    ("nothing set", {}, {}, "p"),
    ("climbing out", {}, {"p": "../../../evil\n"}, "p"),
]


@pytest.mark.slow
@pytest.mark.skipif(PYENV is None, reason="pyenv is not installed")
@pytest.mark.parametrize(("label", "env", "files", "cwd"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_the_shim_resolves_as_real_pyenv_which_does(
    machine: Machine, label: str, env: dict[str, str], files: dict[str, str], cwd: str
) -> None:
    """The same tree, variables and working dir: what ``pyenv exec python3`` (what the shim
    runs; ``pyenv which`` skips its version normalisation) really starts, and what
    :func:`choose_python` names without running anything, are the same interpreter."""
    assert PYENV is not None
    interpreter(machine.tmp / "evil" / "bin")
    work = machine.tmp / "work"
    for where, text in files.items():
        path = machine.pyenv / "version" if where == "<root>" else machine.project(where)
        (path if where == "<root>" else path / ".python-version").write_text(text)
    here = machine.project(*cwd.split("/"))
    variables = {k: v.replace("{work}", str(work)) for k, v in env.items()}
    host = machine.host("pyenv", **variables)
    real = subprocess.run(
        [PYENV, "exec", "python3", "-c", "import sys; print(sys.executable)"],
        cwd=here,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("PYENV")},
            **host.env,
            "PATH": f"{host.env['PATH']}:/usr/bin:/bin",
            "PYENV_ROOT": str(machine.pyenv),
        },
        capture_output=True,
        text=True,
    )
    assert real.returncode == 0, real.stderr
    assert choose_python(host, str(here)).python == real.stdout.strip(), label
