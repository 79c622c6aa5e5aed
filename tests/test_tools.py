"""The tool registry (:mod:`cachecensus.tools`) is the one place a tool is known: every
consumer (formats, resolvers, the CLI's ``--tool`` choices, the busy-cache check's
installer names, the variables worth a process view, the census's environment kinds)
covers every registered tool, and a tool added to the registry alone flows through them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from cachecensus import tools
from cachecensus.act.busy import installer_of
from cachecensus.caches import CacheFormat, format_for
from cachecensus.census import build_census
from cachecensus.cli.dirs import _PER_USER
from cachecensus.cli.scanning import ToolChoice
from cachecensus.discover.variables import relevant
from cachecensus.host import Host, ProcessInfo
from cachecensus.models import Environment, EnvKind, Resolution, User

NAMES = tools.names()


def running(*cmdline: str) -> ProcessInfo:
    return ProcessInfo(1, 1000, cmdline[0], None, None, cmdline, None, 0.0)


@pytest.mark.parametrize("name", NAMES)
def test_every_registered_tool_has_a_format_instance_that_keeps_the_contract(name: str) -> None:
    tool = tools.tool(name)
    fmt = format_for(name)
    assert isinstance(fmt, CacheFormat)
    assert tool.format == fmt.TOOL  # pipenv's cache is written in pip's format
    assert format_for(tool.format) is fmt


@pytest.mark.parametrize("name", NAMES)
def test_every_registered_tool_but_pip_has_a_resolver(name: str) -> None:
    """pip alone is resolved per environment and per view (resolve.pip); every other tool
    names the one resolver the census, ``dir --tool`` and the busy check call."""
    resolver = tools.tool(name).resolver
    assert (resolver is None) == (name == "pip")
    if resolver is not None:
        assert name in _PER_USER.split(", ")


def test_the_cli_tool_choices_are_the_registry_in_its_order() -> None:
    assert [c.value for c in ToolChoice] == list(NAMES)
    assert [c.name for c in ToolChoice] == list(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_registered_tool_is_an_installer_the_busy_check_knows(name: str) -> None:
    assert tools.tool(name).installers
    found = installer_of(running(f"/usr/bin/{name}", "install", "x"))
    assert found is not None and found.tool == name and found.args == ("install", "x")
    by_module = installer_of(running("/usr/bin/python3", "-m", name, "install"))
    assert by_module is not None and by_module.tool == name


def test_installer_names_keep_their_tools_apart() -> None:
    """``pip3.12`` is pip, ``pipenv`` is not pip, mamba is conda read mamba's way."""
    expect = {"pip3.12": "pip", "pipenv": "pipenv", "uvx": "uv", "micromamba": "conda"}
    for command, tool in expect.items():
        found = installer_of(running(command, "install"))
        assert found is not None and found.tool == tool, command
    mamba = installer_of(running("mamba", "install"))
    assert mamba is not None and mamba.flavor == "mamba"
    assert installer_of(running("pipx", "install")) is None


@pytest.mark.parametrize("name", NAMES)
def test_every_registered_tools_variables_make_a_process_view(name: str) -> None:
    assert relevant(f"{name.upper()}_CACHE_DIR")


def test_each_environment_kind_belongs_to_one_tool_at_most() -> None:
    kinds = [k for t in tools.REGISTRY for k in t.env_kinds]
    assert len(kinds) == len(set(kinds))
    assert tools.of_kind(EnvKind.POETRY) == "poetry"
    assert tools.of_kind(EnvKind.VENV) is None


# ------------------------------------------------------------- a tool in the registry only


class FakeResolver:
    """The resolver of ``fakepkg``: ``$FAKEPKG_CACHE_DIR`` or ``~/.cache/fakepkg``; for an
    environment it made, ``<prefix>/cache``."""

    def __init__(self) -> None:
        self.environments: list[str | None] = []

    def __call__(
        self,
        host: Host,
        *,
        user: User,
        env: Mapping[str, str],
        project_dir: str | None = None,
        environment: Environment | None = None,
    ) -> tuple[Resolution, ...]:
        self.environments.append(environment.prefix if environment else None)
        path = env.get("FAKEPKG_CACHE_DIR", f"{user.home}/.cache/fakepkg")
        if environment is not None:
            path = f"{environment.prefix}/cache"
        return (Resolution("fakepkg", "default", path, False, "fake"),)


@pytest.fixture
def fakepkg(monkeypatch: pytest.MonkeyPatch) -> FakeResolver:
    resolver = FakeResolver()
    fake = tools.Tool(
        "fakepkg",
        "pip",  # writes pip's format, as pipenv does
        resolver,
        ("fakepkg",),
        (r"FAKEPKG_\w+",),
        ("--no-cache",),
        env_kinds=(EnvKind.PIPX,),
    )
    monkeypatch.setattr(tools, "REGISTRY", (*tools.REGISTRY, fake))
    return resolver


def test_a_tool_added_to_the_registry_alone_joins_the_census(
    fakepkg: FakeResolver, tmp_path: Path
) -> None:
    """One registry line (a format of an existing module, a resolver) and nothing else: the
    census resolves its caches for the user and for the environments of its kind, its
    variables make a process view, the busy check knows its installer and its format
    reads its caches."""
    root = tmp_path / "m"
    for d in ("home/ann/fc", "home/ann/.cache/pip", "opt/fakeenv/cache", "opt/venv/cache"):
        (root / d).mkdir(parents=True)
    host = Host(root=str(root))
    ann = User(name="ann", uid=1000, gid=1000, home="/home/ann", shell="/bin/sh")

    def env_of(prefix: str, kind: EnvKind) -> Environment:
        return Environment(f"{prefix}/bin/python", prefix, kind, "x", owner="ann")

    envs = [env_of("/opt/fakeenv", EnvKind.PIPX), env_of("/opt/venv", EnvKind.VENV)]

    def variables(h: Host, u: User) -> dict[str, str]:
        return {"HOME": u.home, "USER": u.name, "FAKEPKG_CACHE_DIR": "/home/ann/fc"}

    census = build_census(host, [ann], envs, variables=variables, tools=["fakepkg"])
    assert sorted((c.tool, c.path) for c in census.caches) == [
        ("fakepkg", "/home/ann/fc"),
        ("fakepkg", "/opt/fakeenv/cache"),
    ]
    assert fakepkg.environments == [None, "/opt/fakeenv"]  # never the other venv
    everything = build_census(host, [ann], envs, variables=variables)  # tools: all
    assert "fakepkg" in {c.tool for c in everything.caches}

    assert relevant("FAKEPKG_CACHE_DIR")
    found = installer_of(running("fakepkg", "sync"))
    assert found is not None and found.tool == "fakepkg"
    assert format_for("fakepkg") is format_for("pip")
    assert format_for("fakepkg").scan(host, "/home/ann/fc").exists


def test_a_tool_not_in_the_registry_is_no_tool() -> None:
    with pytest.raises(KeyError):
        format_for("fakepkg")
    assert installer_of(running("fakepkg", "sync")) is None


# ------------------------------------------------------------- mypy checks every format


@pytest.mark.slow
def test_a_format_whose_hook_takes_an_extra_argument_fails_mypy(tmp_path: Path) -> None:
    """The regression the registry exists for: a ``prune`` with an extra required parameter
    used to pass mypy and crash at run time; now the format's class fails ``mypy``."""
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent))
    if mypy is None:
        pytest.skip("no mypy next to this python")
    src = str(Path(__file__).resolve().parent.parent / "src")
    bad = tmp_path / "badformat.py"
    bad.write_text(
        textwrap.dedent(
            """
            from collections.abc import Sequence
            from cachecensus.caches.base import CacheFormat
            from cachecensus.models import Entry

            def prune(entries: Sequence[Entry], now: float) -> list[tuple[Entry, str]]:
                return []

            class BadFormat(CacheFormat):
                TOOL = "bad"
                prune = staticmethod(prune)
            """
        )
    )
    run = subprocess.run(
        [mypy, "--strict", "--no-incremental", str(bad)],
        capture_output=True,
        text=True,
        env={"MYPYPATH": src, "PATH": "/usr/bin:/bin"},
        timeout=600,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert 'base class "CacheFormat"' in run.stdout
