"""Discovery on a fake machine tree (``Host(root=tmp)``), and on this real machine."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cachecensus.discover import discover
from cachecensus.discover.base import Context
from cachecensus.discover.conda import CondaProvider
from cachecensus.discover.interpreter import inspect_interpreter
from cachecensus.discover.pipx import PipxProvider
from cachecensus.discover.processes import ProcessProvider
from cachecensus.discover.pyenv import PyenvProvider
from cachecensus.discover.scan import PyvenvScan
from cachecensus.discover.uv import UvPythonProvider, UvToolProvider
from cachecensus.discover.venvhomes import (
    PoetryProvider,
    VirtualenvwrapperProvider,
    poetry_path,
)
from cachecensus.host import Host, ProcessInfo
from cachecensus.models import Environment, EnvKind, Problem

ALICE = 1000
BOB = 1001


def python_build(root: Path, prefix: str, version: str, pip: str | None = "24.0") -> None:
    """A CPython build as it lies on disk: bin/pythonX.Y (+ links), stdlib, header, pip."""
    xy = ".".join(version.split(".")[:2])
    base = root / prefix.lstrip("/")
    (base / "bin").mkdir(parents=True, exist_ok=True)
    (base / "bin" / f"python{xy}").write_bytes(b"\x7fELF fake interpreter\x00")
    for alias in ("python3", "python"):
        if not (base / "bin" / alias).exists():
            os.symlink(f"python{xy}", base / "bin" / alias)
    (base / "lib" / f"python{xy}" / "site-packages").mkdir(parents=True, exist_ok=True)
    (base / "lib" / f"python{xy}" / "os.py").write_text("")
    (base / "include" / f"python{xy}").mkdir(parents=True, exist_ok=True)
    (base / "include" / f"python{xy}" / "patchlevel.h").write_text(
        f'#define PY_VERSION "{version}"\n'
    )
    if pip:
        (base / "lib" / f"python{xy}" / "site-packages" / f"pip-{pip}.dist-info").mkdir()


def venv(root: Path, prefix: str, base_python: str, version: str, pip: str | None = "26.3") -> None:
    """A venv as ``python -m venv`` lays it out: pyvenv.cfg and absolute symlinks."""
    xy = ".".join(version.split(".")[:2])
    base = root / prefix.lstrip("/")
    (base / "bin").mkdir(parents=True)
    os.symlink(base_python, base / "bin" / "python")
    os.symlink("python", base / "bin" / "python3")
    home = os.path.dirname(base_python)
    (base / "pyvenv.cfg").write_text(
        f"home = {home}\ninclude-system-site-packages = false\nversion = {version}\n"
    )
    site = base / "lib" / f"python{xy}" / "site-packages"
    site.mkdir(parents=True)
    if pip:
        (site / f"pip-{pip}.dist-info").mkdir()


def fake_machine(tmp_path: Path) -> Path:
    root = tmp_path / "machine"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/bash\n"
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
        f"alice:x:{ALICE}:{ALICE}::/home/alice:/bin/bash\n"
        f"bob:x:{BOB}:{BOB}::/home/bob:/bin/zsh\n"
    )
    for home, uid in (("root", 0), ("home/alice", ALICE), ("home/bob", BOB)):
        (root / home).mkdir(parents=True)
        os.chown(root / home, uid, uid)
    python_build(root, "/usr", "3.11.2", pip="23.0.1")
    os.symlink("/usr/bin", root / "bin")  # usrmerge: /bin/python3 is /usr/bin/python3
    python_build(root, "/home/alice/.pyenv/versions/3.12.1", "3.12.1")
    python_build(root, "/home/alice/.local/share/uv/python/cpython-3.13.0-linux", "3.13.0")
    python_build(root, "/home/bob/miniconda3", "3.10.4", pip="23.1")
    (root / "home/bob/miniconda3/conda-meta").mkdir()
    python_build(root, "/home/bob/miniconda3/envs/science", "3.9.7", pip=None)
    (root / "home/bob/miniconda3/envs/science/conda-meta").mkdir()
    (root / "home/bob/.conda").mkdir()
    (root / "home/bob/.conda/environments.txt").write_text("/home/bob/miniconda3/envs/science\n")
    py312 = "/home/alice/.pyenv/versions/3.12.1/bin/python3.12"
    venv(root, "/home/alice/proj/.venv", py312, "3.12.1")
    venv(root, "/home/alice/.local/share/pipx/venvs/black", py312, "3.12.1")
    venv(root, "/home/alice/.local/share/uv/tools/ruff", py312, "3.12.1", pip=None)
    venv(root, "/home/alice/.virtualenvs/work", "/usr/bin/python3.11", "3.11.2")
    venv(root, "/home/alice/.local/share/virtualenvs/app-x1y2", "/usr/bin/python3.11", "3.11.2")
    venv(
        root,
        "/home/alice/.cache/pypoetry/virtualenvs/lib-abc-py3.11",
        "/usr/bin/python3.11",
        "3.11.2",
    )
    venv(root, "/home/alice/a/b/c/d/e/too-deep", "/usr/bin/python3.11", "3.11.2")
    venv(root, "/home/alice/web/node_modules/pkg/venv", "/usr/bin/python3.11", "3.11.2")
    venv(root, "/home/bob/dangling", "/usr/bin/python3.99", "3.99.0")  # base gone
    (root / "home/bob/brokencfg/bin").mkdir(parents=True)
    os.symlink("/usr/bin/python3.11", root / "home/bob/brokencfg/bin/python")
    (root / "home/bob/brokencfg/pyvenv.cfg").write_text("garbage without keys\n")
    for dirpath, dirnames, filenames in os.walk(root / "home/alice"):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), ALICE, ALICE)
    for dirpath, dirnames, filenames in os.walk(root / "home/bob"):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), BOB, BOB)
    return root


def by_prefix(envs: tuple[Environment, ...]) -> dict[str, Environment]:
    return {e.prefix: e for e in envs}


def test_fake_machine_every_source(tmp_path: Path) -> None:
    root = fake_machine(tmp_path)
    host = Host(root=str(root))
    envs, problems = discover(host, host.users())
    found = by_prefix(envs)
    system = found["/usr"]
    assert system.kind == EnvKind.SYSTEM and system.version == "3.11.2"
    assert system.pip_version == "23.0.1" and system.owner == "root"
    assert system.interpreter == "/usr/bin/python3.11"
    assert "/usr/bin/python3" in system.aliases and "/bin/python3" in system.aliases

    pyenv = found["/home/alice/.pyenv/versions/3.12.1"]
    assert pyenv.kind == EnvKind.PYENV and pyenv.version == "3.12.1" and pyenv.owner == "alice"
    assert pyenv.found_by == ("pyenv",)
    uvpy = found["/home/alice/.local/share/uv/python/cpython-3.13.0-linux"]
    assert uvpy.kind == EnvKind.UV_MANAGED and uvpy.version == "3.13.0"

    proj = found["/home/alice/proj/.venv"]
    assert proj.kind == EnvKind.VENV and proj.name == "proj/.venv"
    assert proj.base_interpreter == "/home/alice/.pyenv/versions/3.12.1/bin/python3.12"
    assert proj.pip_version == "26.3" and proj.owner == "alice"
    assert proj.interpreter == "/home/alice/proj/.venv/bin/python"
    assert proj.aliases == ("/home/alice/proj/.venv/bin/python3",) or not proj.aliases
    assert any(f.startswith("scan of /home/alice") for f in proj.found_by)

    kinds = {
        "/home/alice/.local/share/pipx/venvs/black": EnvKind.PIPX,
        "/home/alice/.local/share/uv/tools/ruff": EnvKind.UV_TOOL,
        "/home/alice/.virtualenvs/work": EnvKind.VIRTUALENVWRAPPER,
        "/home/alice/.local/share/virtualenvs/app-x1y2": EnvKind.PIPENV,
        "/home/alice/.cache/pypoetry/virtualenvs/lib-abc-py3.11": EnvKind.POETRY,
        "/home/bob/miniconda3": EnvKind.CONDA,
        "/home/bob/miniconda3/envs/science": EnvKind.CONDA,
    }
    for prefix, kind in kinds.items():
        assert found[prefix].kind == kind, prefix
    assert found["/home/alice/.local/share/uv/tools/ruff"].pip_version is None
    science = found["/home/bob/miniconda3/envs/science"]
    assert science.version == "3.9.7" and "conda environments.txt" in science.found_by

    # pruned and bounded: node_modules is skipped, and so is a venv deeper than the limit
    assert "/home/alice/web/node_modules/pkg/venv" not in found
    assert "/home/alice/a/b/c/d/e/too-deep" not in found
    deep, _ = discover(host, host.users(), scan_dirs=["/home/alice/a/b/c"])
    assert "/home/alice/a/b/c/d/e/too-deep" in by_prefix(deep)

    # broken things are listed as broken, never raised
    dangling = [e for e in envs if e.interpreter.startswith("/home/bob/dangling/")]
    assert dangling and dangling[0].problem and "dangling" in dangling[0].problem
    names = [e.name for e in envs]
    assert len(names) == len(set(names))
    assert problems == ()


def test_broken_cfg_and_interpreter_problems(tmp_path: Path) -> None:
    root = fake_machine(tmp_path)
    host = Host(root=str(root))
    env = inspect_interpreter(host, "/home/bob/brokencfg/bin/python")
    assert env.problem is not None and "home" in env.problem
    assert inspect_interpreter(host, "/nope/python").problem == "no such file"
    os.symlink("/loop2", root / "loop1")
    os.symlink("/loop1", root / "loop2")
    assert inspect_interpreter(host, "/loop1").problem == "symlink loop"


def test_real_machine_finds_this_venv_and_the_system_python() -> None:
    host = Host.local()
    envs, _ = discover(host, [host.current_user()])
    prefixes = {e.prefix: e for e in envs}
    assert sys.prefix in prefixes, "the test suite's own venv (a running process) is found"
    assert prefixes[sys.prefix].kind == EnvKind.VENV
    if Path("/usr/bin/python3").exists():
        system = [e for e in envs if e.prefix == "/usr"]
        assert system and system[0].kind == EnvKind.SYSTEM


def test_sources_absent_for_a_user_are_not_created(tmp_path: Path) -> None:
    root = fake_machine(tmp_path)
    host = Host(root=str(root))
    bob = host.user_by_name("bob")
    alice = host.user_by_name("alice")
    assert bob is not None and alice is not None
    env = {"HOME": bob.home}
    assert PyenvProvider.create(host, bob, env) is None  # bob has no ~/.pyenv
    assert PipxProvider.create(host, bob, env) is None
    assert ProcessProvider.create(host, bob, env) is None  # not a live host
    conda = CondaProvider.create(host, bob, env)
    assert conda is not None
    found = {(c.path, c.kind, c.found_by) for c in conda.find()}
    assert (
        "/home/bob/miniconda3/envs/science/bin/python",
        EnvKind.CONDA,
        "conda environments.txt",
    ) in found
    pyenv = PyenvProvider.create(host, alice, {"HOME": alice.home})
    assert pyenv is not None
    assert pyenv.roots == ("/home/alice/.pyenv/versions",)


def test_variables_move_the_tool_homes(tmp_path: Path) -> None:
    root = fake_machine(tmp_path)
    host = Host(root=str(root))
    alice = host.user_by_name("alice")
    assert alice is not None
    python_build(root, "/srv/pythons/cpython-3.12.3-linux", "3.12.3")
    python_build(root, "/srv/pyenv/versions/3.10.14", "3.10.14")
    venv(root, "/srv/pipx/venvs/httpie", "/usr/bin/python3.11", "3.11.2")
    venv(root, "/srv/tools/pre-commit", "/usr/bin/python3.11", "3.11.2")
    venv(root, "/srv/workon/api", "/usr/bin/python3.11", "3.11.2")
    venv(root, "/srv/poetry-envs/lib-py3.11", "/usr/bin/python3.11", "3.11.2")
    env = {
        "HOME": alice.home,
        "UV_PYTHON_INSTALL_DIR": "/srv/pythons",
        "PYENV_ROOT": "/srv/pyenv",
        "PIPX_HOME": "/srv/pipx",
        "UV_TOOL_DIR": "/srv/tools",
        "WORKON_HOME": "/srv/workon",
        "POETRY_VIRTUALENVS_PATH": "/srv/poetry-envs",
    }
    envs, _ = discover(
        Host(root=str(root), env=env), [alice], scan_budget_s=10.0
    )  # a foreign root: variables come from the user's (absent) processes, i.e. defaults
    assert "/srv/pipx/venvs/httpie" not in by_prefix(envs)
    found: dict[str, EnvKind | None] = {}
    for cls in (
        UvPythonProvider,
        PyenvProvider,
        PipxProvider,
        UvToolProvider,
        VirtualenvwrapperProvider,
        PoetryProvider,
    ):
        provider = cls.create(host, alice, env)
        assert provider is not None, cls
        for cand in provider.find():
            found[cand.path.rsplit("/bin/", 1)[0]] = cand.kind
    assert found["/srv/pythons/cpython-3.12.3-linux"] == EnvKind.UV_MANAGED
    assert found["/srv/pyenv/versions/3.10.14"] == EnvKind.PYENV
    assert found["/srv/pipx/venvs/httpie"] == EnvKind.PIPX
    assert found["/srv/tools/pre-commit"] == EnvKind.UV_TOOL
    assert found["/srv/workon/api"] == EnvKind.VIRTUALENVWRAPPER
    assert found["/srv/poetry-envs/lib-py3.11"] == EnvKind.POETRY


def test_poetry_config_toml_names_the_virtualenvs_path(tmp_path: Path) -> None:
    root = fake_machine(tmp_path)
    host = Host(root=str(root))
    alice = host.user_by_name("alice")
    assert alice is not None
    (root / "home/alice/.config/pypoetry").mkdir(parents=True)
    (root / "home/alice/.config/pypoetry/config.toml").write_text(
        '[virtualenvs]\npath = "~/poetry-venvs"\n'
    )
    venv(root, "/home/alice/poetry-venvs/svc-py3.11", "/usr/bin/python3.11", "3.11.2")
    poetry = PoetryProvider.create(host, alice, {"HOME": alice.home})
    assert poetry is not None and poetry.roots == ("/home/alice/poetry-venvs",)
    (root / "home/alice/.config/pypoetry/config.toml").write_text("not = [toml\n")
    assert poetry_path(Context(host, alice, {})) == "/home/alice/.cache/pypoetry/virtualenvs"


def test_path_shims_are_skipped_and_symlinks_are_one_environment(tmp_path: Path) -> None:
    root = fake_machine(tmp_path)
    shims = root / "home/alice/.pyenv/shims"
    shims.mkdir(parents=True)
    (shims / "python3").write_text('#!/usr/bin/env bash\nexec pyenv exec "$0" "$@"\n')
    (root / "usr/local/bin").mkdir(parents=True)
    os.symlink("/usr/bin/python3.11", root / "usr/local/bin/python3")
    os.symlink("/usr/bin/python3.42", root / "usr/local/bin/python3.42")  # dangling
    host = Host(root=str(root), env={"PATH": "/home/alice/.pyenv/shims:/usr/local/bin"})
    envs, problems = discover(host, [])
    assert not any(
        "/shims/" in e.interpreter or any("/shims/" in a for a in e.aliases) for e in envs
    )
    usr = [e for e in envs if e.prefix == "/usr"]
    assert len(usr) == 1
    assert "/usr/local/bin/python3" in usr[0].aliases
    assert {"/usr/bin", "/usr/local/bin"} <= set(usr[0].found_by)
    broken = [e for e in envs if e.interpreter == "/usr/local/bin/python3.42"]
    assert broken and broken[0].problem == "dangling symlink to /usr/bin/python3.42"
    assert problems == ()


def test_opt_is_searched_two_levels_deep(tmp_path: Path) -> None:
    root = fake_machine(tmp_path)
    python_build(root, "/opt/python3.12", "3.12.4")
    python_build(root, "/opt/vendor/py", "3.8.19", pip=None)
    python_build(root, "/opt/a/b/c", "3.7.17")  # /opt/a/b/c/bin: too deep for /opt
    envs, _ = discover(Host(root=str(root)), [])
    found = by_prefix(envs)
    assert found["/opt/python3.12"].kind == EnvKind.OTHER
    assert found["/opt/python3.12"].found_by == ("/opt",)
    assert (
        found["/opt/vendor/py"].version == "3.8.19" and found["/opt/vendor/py"].pip_version is None
    )
    assert "/opt/a/b/c" not in found


def test_pyenv_virtualenv_envs_are_venvs(tmp_path: Path) -> None:
    root = fake_machine(tmp_path)
    venv(
        root,
        "/home/alice/.pyenv/versions/tools",
        "/home/alice/.pyenv/versions/3.12.1/bin/python3.12",
        "3.12.1",
    )
    host = Host(root=str(root))
    alice = host.user_by_name("alice")
    assert alice is not None
    found = by_prefix(discover(host, [alice])[0])
    tools = found["/home/alice/.pyenv/versions/tools"]
    assert tools.kind == EnvKind.VENV and tools.found_by[0] == "pyenv"
    assert tools.base_interpreter == "/home/alice/.pyenv/versions/3.12.1/bin/python3.12"


def test_scan_never_follows_symlinked_dirs_and_reports_its_budget(tmp_path: Path) -> None:
    root = fake_machine(tmp_path)
    host = Host(root=str(root))
    alice = host.user_by_name("alice")
    assert alice is not None
    os.symlink("/home/bob", root / "home/alice/bobs")  # would reach bob's venvs
    walker = PyvenvScan(host, ["/home/alice"], max_depth=4, budget_s=60.0)
    prefixes = {c.path.rsplit("/bin/", 1)[0] for c in walker.find()}
    assert "/home/alice/proj/.venv" in prefixes
    assert not any(p.startswith(("/home/alice/bobs", "/home/bob")) for p in prefixes)
    assert "/home/alice/.cache/pypoetry/virtualenvs/lib-abc-py3.11" not in prefixes  # .cache
    assert walker.stopped is False
    spent = PyvenvScan(host, ["/home/alice"], max_depth=4, budget_s=-1.0)
    assert list(spent.find()) == [] and spent.stopped
    _, problems = discover(host, [alice], scan_budget_s=-1.0)
    assert any("budget" in p.message for p in problems)
    _, problems = discover(host, [alice], scan_dirs=["/nowhere"])
    assert problems == (Problem(path="/nowhere", message="--scan: not a directory"),)


class LiveFake(Host):
    """A fake machine that claims to be live, with scripted processes."""

    procs: tuple[ProcessInfo, ...] = ()
    calls: int = 0

    @property
    def live(self) -> bool:
        return True

    def processes(self) -> list[ProcessInfo]:
        type(self).calls += 1
        return list(self.procs)


def test_running_processes_are_found_once_per_discovery(tmp_path: Path) -> None:
    root = fake_machine(tmp_path)
    venv(root, "/srv/app/venv", "/usr/bin/python3.11", "3.11.2")

    def proc(pid: int, uid: int, **kw: object) -> ProcessInfo:
        fields: dict[str, object] = {
            "name": "python3",
            "exe": None,
            "cwd": None,
            "cmdline": (),
            "environ": None,
            "create_time": 1.0,
        }
        fields.update(kw)
        return ProcessInfo(pid=pid, uid=uid, **fields)  # type: ignore[arg-type]

    LiveFake.procs = (
        proc(10, ALICE, environ={"VIRTUAL_ENV": "/srv/app/venv", "HOME": "/home/alice"}),
        proc(11, ALICE, exe="/usr/bin/python3.11", cmdline=("python3",)),
        proc(
            12, BOB, exe="/usr/bin/python3.11", cmdline=("bin/python", "x.py"), cwd="/srv/app/venv"
        ),
    )
    LiveFake.calls = 0
    host = LiveFake(root=str(root))
    alice = host.user_by_name("alice")
    bob = host.user_by_name("bob")
    assert alice is not None and bob is not None
    provider = ProcessProvider.create(host, alice, {})
    assert provider is not None
    assert [(c.path, c.found_by) for c in provider.find()] == [
        ("/srv/app/venv/bin/python", "process 10"),
        ("/usr/bin/python3.11", "process 11"),
    ]
    LiveFake.calls = 0
    envs, _ = discover(host, [alice, bob])
    app = by_prefix(envs)["/srv/app/venv"]
    assert app.kind == EnvKind.VENV and set(app.found_by) == {"process 10", "process 12"}
    # one listing for every provider and every user's variable views (shared_snapshot)
    assert LiveFake.calls == 1
