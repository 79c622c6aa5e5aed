"""Version-keyed rules of poetry, pdm and pipenv (issue 16), each proven against the real
version: poetry 1.8.5 / 2.1.4 / 2.5.1 (``poetry config cache-dir``), pdm 2.22.4 / 2.26.9 /
2.29.4 (``pdm config cache_dir``), pipenv 2024.4.1 / 2026.10.3 (its own ``Setting`` after
loading the project's ``.env``, in a subprocess of that pipenv's venv). The version a user
runs is read from the tool's dist-info behind its command on ``PATH``."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
from pathlib import Path

import pytest

from cachecensus.host import Host
from cachecensus.models import User
from cachecensus.resolve.pdm import known_keys, resolve_pdm
from cachecensus.resolve.pipenv import parse_dotenv, resolve_pipenv
from cachecensus.resolve.poetry import resolve_poetry
from cachecensus.resolve.toolversion import installed_version, version_key
from conftest import WORK
from support.poetry_pdm_helpers import Scenario, clean_env, expand, fill, tool_venv
from test_pdm import SCENARIOS as PDM_OLD
from test_pdm import _setup as pdm_setup
from test_poetry import SCENARIOS as POETRY_OLD

HOST = Host.local()
ME = pwd.getpwuid(os.getuid())
USER = User(ME.pw_name, ME.pw_uid, ME.pw_gid, ME.pw_dir, ME.pw_shell)
POETRYS = ("1.8.5", "2.1.4", "2.5.1")
PDMS = ("2.22.4", "2.26.9", "2.29.4")
PIPENVS = ("2024.4.1", "2026.10.3")
PEP621_ONLY = '[project]\nname = "demo"\nversion = "0.1.0"\n'


def _lay_out(scenario: Scenario, tmp: Path) -> tuple[dict[str, str], str]:
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    env = clean_env(home)
    env.update({k: fill(v, tmp, home) for k, v in scenario.env.items()})
    for where, text in scenario.files.items():
        path = Path(fill(where, tmp, home))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(fill(text, tmp, home))
    cwd = fill(scenario.cwd, tmp, home)
    Path(cwd).mkdir(parents=True, exist_ok=True)
    return env, cwd


# ---------------------------------------------------------------------- version from files


def test_the_version_is_read_from_the_dist_info_behind_the_command(tmp_path: Path) -> None:
    root = tmp_path / "root"
    site = root / "home/a/.local/pipx/venvs/poetry/lib/python3.12/site-packages"
    (site / "poetry-1.8.5.dist-info").mkdir(parents=True)
    (site / "poetry_core-1.9.1.dist-info").mkdir()
    bin_dir = root / "home/a/.local/bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "poetry").write_text("#!/home/a/.local/pipx/venvs/poetry/bin/python\nimport x\n")
    host = Host(root=str(root))
    env = {"PATH": "/home/a/.local/bin:/usr/bin"}
    version, where = installed_version(host, env, "poetry")
    assert version == "1.8.5" and where.endswith("poetry-1.8.5.dist-info")
    assert installed_version(host, {"PATH": "/usr/bin"}, "poetry")[0] is None
    (bin_dir / "pdm").write_text("#!/usr/bin/env python3\n")  # whichever python: unknown
    assert installed_version(host, env, "pdm") == (
        None,
        "/home/a/.local/bin/pdm: no interpreter named on its first line",
    )
    alice = User("a", 1000, 1000, "/home/a", "/bin/sh")
    unknown = resolve_poetry(host, user=alice, env={"HOME": "/home/a", "PATH": "/usr/bin"})
    assert "poetry version unknown" in unknown.reason and "2.5.1's rules" in unknown.reason
    known = resolve_poetry(host, user=alice, env={"HOME": "/home/a", **env})
    assert "poetry 1.8.5's rules" in known.reason
    assert version_key("2024.4.1") == (2024, 4, 1) and version_key("2.0.0rc1") == (2, 0, 0)


# ---------------------------------------------------------------------- poetry


POETRY_SCENARIOS = [
    *POETRY_OLD,
    Scenario(
        "{data-dir} in cache-dir",
        files={"{home}/.config/pypoetry/config.toml": 'cache-dir = "{data-dir}/cache"\n'},
    ),
    Scenario(
        "{data-dir} with POETRY_DATA_DIR",
        env={"POETRY_DATA_DIR": "{tmp}/pdata"},
        files={"{home}/.config/pypoetry/config.toml": 'cache-dir = "{data-dir}/cache"\n'},
    ),
    Scenario(
        "poetry.toml beside a [project]-only pyproject",
        cwd="{tmp}/proj",
        files={
            "{tmp}/proj/pyproject.toml": PEP621_ONLY,
            "{tmp}/proj/poetry.toml": 'cache-dir = "{tmp}/fromproject"\n',
        },
    ),
    Scenario(
        "poetry.toml beside a non-package [tool.poetry]",
        cwd="{tmp}/proj/sub",
        files={
            "{tmp}/proj/pyproject.toml": PEP621_ONLY + "[tool.poetry]\npackage-mode = false\n",
            "{tmp}/proj/poetry.toml": 'cache-dir = "{tmp}/fromproject"\n',
        },
    ),
    Scenario(
        "empty POETRY_DATA_DIR keeps {data-dir} literal",
        env={"POETRY_DATA_DIR": "", "POETRY_CACHE_DIR": "{data-dir}/c"},
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize("version", POETRYS)
def test_poetry_versions_match_real_poetry(version: str, tmp_path: Path) -> None:
    poetry = tool_venv(WORK, f"venv-poetry-{version}", [f"poetry=={version}"]) / "poetry"
    for number, scenario in enumerate(POETRY_SCENARIOS):
        top = tmp_path / str(number)
        top.mkdir()
        env, cwd = _lay_out(scenario, top)
        proc = subprocess.run(
            [str(poetry), "config", "cache-dir", "--no-interaction"],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, (scenario.name, proc.stderr)
        expected = expand(proc.stdout.strip(), env, cwd)
        got = resolve_poetry(HOST, user=USER, env=env, project_dir=cwd, version=version)
        assert (scenario.name, got.cache_dir) == (scenario.name, expected), got.reason
        assert f"poetry {version}'s rules" in got.reason


# ---------------------------------------------------------------------- pdm


PDM_SCENARIOS = [
    *PDM_OLD,
    Scenario(
        "cache-dir with a dash is unknown",
        files={"{home}/.config/pdm/config.toml": 'cache-dir = "{tmp}/dash"\n'},
    ),
    Scenario(
        "a [cache] table is unknown",
        files={"{home}/.config/pdm/config.toml": '[cache]\ndir = "{tmp}/table"\n'},
    ),
    Scenario(
        "an unknown key in PDM_CONFIG_FILE",
        env={"PDM_CONFIG_FILE": "{tmp}/pdm.toml"},
        files={"{tmp}/pdm.toml": 'cache_dir = "{tmp}/x"\nbogus = 1\n'},
    ),
    Scenario(
        "an unknown key in the site config",
        env={"XDG_CONFIG_DIRS": "{tmp}/site:/etc/xdg"},
        files={"{tmp}/site/pdm/config.toml": 'cache_dir = "{tmp}/site-cache"\n[cache]\nx = 1\n'},
    ),
    Scenario(
        "site config's cache_dir",
        env={"XDG_CONFIG_DIRS": "{tmp}/site"},
        files={"{tmp}/site/pdm/config.toml": 'cache_dir = "{tmp}/site-cache"\n'},
    ),
    Scenario(
        "a [pypi.extra] source is known",
        files={
            "{home}/.config/pdm/config.toml": 'cache_dir = "{tmp}/beforesource"\n'
            '[pypi.extra]\nurl = "http://127.0.0.1:9/"\n'
        },
    ),
]


PDM_FAILS = {
    "cache-dir with a dash is unknown",
    "a [cache] table is unknown",
    "an unknown key in PDM_CONFIG_FILE",
    "an unknown key in the site config",
}


@pytest.mark.slow
@pytest.mark.parametrize("version", PDMS)
def test_pdm_versions_match_real_pdm(version: str, tmp_path: Path) -> None:
    pdm = tool_venv(WORK, f"venv-pdm-{version}", [f"pdm=={version}"]) / "pdm"
    probe = "from pdm.project.config import Config; print(*sorted(Config._config_map))"
    keys = subprocess.run(
        [str(pdm.parent / "python"), "-c", probe], capture_output=True, text=True, check=True
    )
    assert set(keys.stdout.split()) == known_keys(version)  # the rules' table is this pdm's
    for number, scenario in enumerate(PDM_SCENARIOS):
        top = tmp_path / str(number)
        top.mkdir()
        env, cwd = pdm_setup(scenario, top)
        proc = subprocess.run(
            [str(pdm), "config", "cache_dir"], env=env, cwd=cwd, capture_output=True, text=True
        )
        got = resolve_pdm(HOST, user=USER, env=env, project_dir=cwd, version=version)
        assert (scenario.name, proc.returncode != 0) == (scenario.name, scenario.name in PDM_FAILS)
        if proc.returncode != 0:
            assert "NoConfigError" in proc.stderr or "No such config" in proc.stderr, (
                scenario.name,
                proc.stderr,
            )
            assert got.cache_dir is None and got.error and "NoConfigError" in got.error
            continue
        lines = proc.stdout.strip().splitlines()
        expected = expand(lines[-1] if lines else "", env, cwd)  # "": Path("") is the cwd
        assert (scenario.name, got.cache_dir) == (scenario.name, expected), got.reason


# ---------------------------------------------------------------------- pipenv

PIPENV_PROBE = """
import os, sys
from pipenv.project import Project
from pipenv.utils.environment import load_dot_env
p = Project()
load_dot_env(p, quiet=True)
print(p.s.PIPENV_CACHE_DIR)
"""

PIPENV_SCENARIOS = [
    Scenario("default"),
    Scenario("XDG_CACHE_HOME absolute", env={"XDG_CACHE_HOME": "{tmp}/xdg"}),
    Scenario("XDG_CACHE_HOME blank", env={"XDG_CACHE_HOME": "  "}),
    Scenario("PIPENV_CACHE_DIR", env={"PIPENV_CACHE_DIR": "{tmp}/envcache"}),
    Scenario("PIPENV_CACHE_DIR relative", env={"PIPENV_CACHE_DIR": "rel/pc"}),
    Scenario(
        ".env in the working dir beats the variable",
        env={"PIPENV_CACHE_DIR": "{tmp}/envcache"},
        files={"{tmp}/work/.env": 'export BASE={tmp}/b\nPIPENV_CACHE_DIR="${BASE}/pc"  # c\n'},
    ),
    Scenario(
        "PIPENV_DONT_LOAD_ENV",
        env={"PIPENV_DONT_LOAD_ENV": "1"},
        files={"{tmp}/work/.env": "PIPENV_CACHE_DIR={tmp}/ignored\n"},
    ),
    Scenario(
        "PIPENV_DOTENV_LOCATION",
        env={"PIPENV_DOTENV_LOCATION": "{tmp}/elsewhere.env"},
        files={"{tmp}/elsewhere.env": "PIPENV_CACHE_DIR={tmp}/fromlocation\n"},
    ),
    Scenario(
        "${VAR:-default} with VAR empty",
        env={"EMPTY": ""},
        files={"{tmp}/work/.env": "PIPENV_CACHE_DIR={tmp}/x${EMPTY:-dflt}\n"},
    ),
    Scenario(
        ".env of a Pipfile deeper than PIPENV_MAX_DEPTH is not found",
        env={"PIPENV_MAX_DEPTH": "1"},
        cwd="{tmp}/proj/a/b",
        files={
            "{tmp}/proj/Pipfile": "[packages]\n",
            "{tmp}/proj/.env": "PIPENV_CACHE_DIR={tmp}/toofar\n",
        },
    ),
    Scenario("HOME empty", env={"HOME": ""}),
    Scenario("XDG_CACHE_HOME with spaces", env={"XDG_CACHE_HOME": " {tmp}/xdg "}),
    Scenario(
        ".env beside the Pipfile in a parent",
        cwd="{tmp}/proj/src/pkg",
        files={
            "{tmp}/proj/Pipfile": "[packages]\n",
            "{tmp}/proj/.env": "PIPENV_CACHE_DIR={tmp}/fromdotenv\n",
        },
    ),
    Scenario(
        "${VAR} inside single quotes",
        cwd="{tmp}/proj",
        env={"BASE": "{tmp}/base"},
        files={
            "{tmp}/proj/Pipfile": "[packages]\n",
            "{tmp}/proj/.env": "PIPENV_CACHE_DIR='${BASE}/single'\n",
        },
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize("version", PIPENVS)
def test_pipenv_versions_match_real_pipenv(version: str, tmp_path: Path) -> None:
    python = tool_venv(WORK, f"venv-pipenv-{version}", [f"pipenv=={version}"]) / "python"
    for number, scenario in enumerate(PIPENV_SCENARIOS):
        top = tmp_path / str(number)
        top.mkdir()
        env, cwd = _lay_out(scenario, top)
        proc = subprocess.run(
            [str(python), "-c", PIPENV_PROBE], env=env, cwd=cwd, capture_output=True, text=True
        )
        assert proc.returncode == 0, (scenario.name, proc.stderr)
        raw = proc.stdout.rstrip("\n").splitlines()[-1]  # spaces are part of the answer
        expected = os.path.normpath(os.path.join(cwd, raw))
        got = resolve_pipenv(HOST, user=USER, env=env, project_dir=cwd, version=version)
        assert (scenario.name, got.cache_dir) == (scenario.name, expected), got.reason


# ---------------------------------------------------------------------- rules on a fake root


def _root(tmp: Path, files: dict[str, str]) -> Host:
    root = tmp / "root"
    for where, text in files.items():
        path = root / where.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "home/a").mkdir(parents=True, exist_ok=True)
    return Host(root=str(root))


ALICE = User("a", 1000, 1000, "/home/a", "/bin/sh")


def test_poetry_1_8_keeps_data_dir_literal_and_skips_a_pep621_only_poetry_toml(
    tmp_path: Path,
) -> None:
    host = _root(
        tmp_path,
        {
            "/home/a/.config/pypoetry/config.toml": 'cache-dir = "{data-dir}/c"\n',
            "/srv/p/pyproject.toml": PEP621_ONLY,
            "/srv/p/poetry.toml": 'cache-dir = "/srv/local"\n',
        },
    )
    env = {"HOME": "/home/a"}
    old = resolve_poetry(host, user=ALICE, env=env, version="1.8.5")
    new = resolve_poetry(host, user=ALICE, env=env, version="2.5.1")
    assert old.cache_dir == "/home/a/{data-dir}/c" and "1.8.5's rules" in old.reason
    assert new.cache_dir == "/home/a/.local/share/pypoetry/c"
    in_project = resolve_poetry(host, user=ALICE, env=env, project_dir="/srv/p", version="1.8.5")
    assert in_project.cache_dir == "/srv/p/{data-dir}/c"
    assert resolve_poetry(host, user=ALICE, env=env, project_dir="/srv/p").cache_dir == (
        "/srv/local"
    )


def test_an_unknown_key_in_pdms_global_config_is_pdms_error(tmp_path: Path) -> None:
    for text in ('cache-dir = "/x"\n', '[cache]\ndir = "/x"\n'):
        host = _root(tmp_path, {"/home/a/.config/pdm/config.toml": text})
        for version in PDMS:
            got = resolve_pdm(host, user=ALICE, env={"HOME": "/home/a"}, version=version)
            assert got.cache_dir is None and got.error and "NoConfigError" in got.error
    host = _root(tmp_path, {"/home/a/.config/pdm/config.toml": "[lock]\nformat = 'pylock'\n"})
    newer = resolve_pdm(host, user=ALICE, env={"HOME": "/home/a"}, version="2.26.9")
    assert newer.cache_dir == "/home/a/.cache/pdm"
    older = resolve_pdm(host, user=ALICE, env={"HOME": "/home/a"}, version="2.22.4")
    assert older.error and "lock.format" in older.error


def test_pipenv_home_empty_parent_dotenv_and_xdg_spaces(tmp_path: Path) -> None:
    host = _root(
        tmp_path,
        {
            "/srv/p/Pipfile": "[packages]\n",
            "/srv/p/.env": "PIPENV_CACHE_DIR='${BASE}/pc'\n",
        },
    )
    empty = resolve_pipenv(host, user=ALICE, env={"HOME": ""}, version="2026.10.3")
    assert empty.cache_dir == "/.cache/pipenv"
    deep = resolve_pipenv(
        host, user=ALICE, env={"HOME": "/home/a", "BASE": "/b"}, project_dir="/srv/p/src/x"
    )
    assert deep.cache_dir == "/b/pc"
    assert [d.where for d in deep.decided_by if d.key == "PIPENV_CACHE_DIR" and d.effective] == [
        "/srv/p/.env:1"
    ]
    spaced = {"HOME": "/home/a", "XDG_CACHE_HOME": " /x "}
    old = resolve_pipenv(host, user=ALICE, env=spaced, project_dir="/w", version="2024.4.1")
    new = resolve_pipenv(host, user=ALICE, env=spaced, project_dir="/w", version="2026.10.3")
    assert (old.cache_dir, new.cache_dir) == ("/w/ /x /pipenv", "/x/pipenv")


DOTENV_SAMPLE = (
    'A="x\\ty" # c\nB=\'a\\\'b ${A}\'\nC="q\\"r"\nD="p"junk\nexport E = ${NOPE:-d} # c\n'
    "F=${EMPTY:-d}\n#G=1\nH\n"
)


@pytest.mark.slow
@pytest.mark.parametrize("version", PIPENVS)
def test_dotenv_parsing_matches_pipenvs_python_dotenv(version: str, tmp_path: Path) -> None:
    python = tool_venv(WORK, f"venv-pipenv-{version}", [f"pipenv=={version}"]) / "python"
    sample = tmp_path / "sample.env"
    sample.write_text(DOTENV_SAMPLE)
    probe = (
        "import json, sys; from pipenv.vendor import dotenv; "
        "print(json.dumps(dotenv.dotenv_values(sys.argv[1])))"
    )
    env = {"PATH": "/usr/bin:/bin", "EMPTY": ""}
    proc = subprocess.run(
        [str(python), "-c", probe, str(sample)], env=env, capture_output=True, text=True
    )
    real = {k: v for k, v in json.loads(proc.stdout).items() if v is not None}
    ours = {k: v for k, v, _ in parse_dotenv(DOTENV_SAMPLE, env)}
    assert ours == real
