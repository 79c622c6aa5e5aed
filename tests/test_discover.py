"""Discovery on a fake machine tree (``Host(root=tmp)``), and on this real machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cachecensus.census import build_census
from cachecensus.discover import discover
from cachecensus.discover.interpreter import inspect_interpreter
from cachecensus.host import Host
from cachecensus.models import Environment, EnvKind

CACHECENSUS = str(Path(sys.executable).parent / "cachecensus")
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


def test_census_groups_pairs_into_physical_caches(tmp_path: Path) -> None:
    root = fake_machine(tmp_path)
    host = Host(root=str(root))
    alice = host.user_by_name("alice")
    bob = host.user_by_name("bob")
    assert alice is not None and bob is not None
    (root / "home/alice/.cache/pip").mkdir(parents=True)
    for made in ("home/alice/.cache", "home/alice/.cache/pip"):
        os.chown(root / made, ALICE, ALICE)
    os.symlink("/home/alice/.cache/pip", root / "home/alice/pipcache-link")
    # one venv names the same cache through a symlink: still one physical cache
    (root / "home/alice/proj/.venv/pip.conf").write_text(
        "[global]\ncache-dir = /home/alice/pipcache-link\n"
    )
    envs, _ = discover(host, [alice, bob])

    def variables(h: Host, u: object) -> dict[str, str]:
        name = getattr(u, "name", "")
        home = getattr(u, "home", "/")
        extra = {"PIP_CACHE_DIR": "/home/bob/own-cache"} if name == "bob" else {}
        return {"HOME": home, "USER": name, **extra}

    census = build_census(host, [alice, bob], envs, variables=variables)
    caches = {c.path: c for c in census.caches}
    alices = caches["/home/alice/.cache/pip"]
    assert set(alices.names) == {"/home/alice/.cache/pip", "/home/alice/pipcache-link"}
    envs_using = {u.environment for u in alices.used_by if u.user == "alice"}
    assert "/home/alice/proj/.venv/bin/python" in envs_using
    assert "/home/alice/.virtualenvs/work/bin/python" in envs_using
    assert "" in envs_using  # alice's plain pip
    assert {u.user for u in caches["/home/bob/own-cache"].used_by} == {"bob"}
    # pip's ownership check, judged for bob (uid 1001) on a path root owns: disabled
    bobs = [r for u, r in census.resolutions if u.user == "bob" and u.environment == ""]
    assert bobs and bobs[0].cache_dir == "/home/bob/own-cache"  # missing: parent is bob's
    # root's and bob's private environments are not alice's
    assert not any(u.environment.startswith("/home/bob/") for u in alices.used_by)


def test_cli_envs_on_a_foreign_root(tmp_path: Path) -> None:
    root = fake_machine(tmp_path)
    proc = subprocess.run(
        [CACHECENSUS, "envs", "--root", str(root), "--all-users", "--json"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == 1
    assert [u["name"] for u in doc["users"]] == ["root", "alice", "bob"]
    prefixes = {e["prefix"] for e in doc["environments"]}
    assert "/home/alice/proj/.venv" in prefixes and "/usr" in prefixes
    paths = {c["path"] for c in doc["caches"]}
    assert {"/root/.cache/pip", "/home/alice/.cache/pip", "/home/bob/.cache/pip"} <= paths
    for cache in doc["caches"]:
        assert cache["tool"] == "pip" and cache["used_by"]
        assert {"user", "environment", "view"} <= set(cache["used_by"][0])
    assert all({"decided_by", "cache_dir", "reason"} <= set(r) for r in doc["resolutions"])
    assert str(tmp_path) not in proc.stdout  # paths are as seen inside that system


def test_cli_envs_bad_user_is_a_usage_error() -> None:
    proc = subprocess.run(
        [CACHECENSUS, "envs", "--user", "no-such-user-x"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "no such user" in proc.stderr and "Traceback" not in proc.stderr


def test_real_machine_finds_this_venv_and_the_system_python() -> None:
    host = Host.local()
    envs, _ = discover(host, [host.current_user()])
    prefixes = {e.prefix: e for e in envs}
    assert sys.prefix in prefixes, "the test suite's own venv (a running process) is found"
    assert prefixes[sys.prefix].kind == EnvKind.VENV
    if Path("/usr/bin/python3").exists():
        system = [e for e in envs if e.prefix == "/usr"]
        assert system and system[0].kind == EnvKind.SYSTEM
