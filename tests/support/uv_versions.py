"""The uv version matrix: real uvs installed from PyPI into venvs kept under the test work
dir, caches grown by each of them from a loopback index (kept too, so a rerun starts warm),
and the file-by-file helpers the differential tests compare with."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from support.poetry_pdm_helpers import tool_venv

#: One uv per minor series the issue names, oldest first; the last is the newest uv.
MATRIX = ("0.4.30", "0.6.17", "0.8.24", "0.10.12", "0.12.24", "0.13.9")
#: What a grown cache holds: index wheels, a wheel reinstalled with --refresh, an sdist
#: from the index built with setuptools (docopt), a local project built by the tiny
#: backend, a find-links wheel (certifi), and a cached environment of ``uv run --with``.
RECIPE = "v1: six idna attrs | localpkg | docopt | certifi find-links | refresh six | run packaging"
PROJECT_TOML = """[build-system]
requires = []
build-backend = "uv_tinybackend"
backend-path = ["."]

[project]
name = "localpkg"
version = "0.1"
"""
SUPPORT = Path(__file__).resolve().parent


def uv_binary(work: Path, version: str) -> Path:
    """The ``uv`` of ``version``, installed once into ``work/venv-uv-VERSION``."""
    return tool_venv(work, f"venv-uv-{version}", [f"uv=={version}"]) / "uv"


def clean_env(home: Path, tmp: Path, **extra: str) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(tmp), "NO_COLOR": "1"}
    env.update(extra)
    return env


def run_uv(uv: Path, *args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(uv), *args], env=clean_env(home, cwd), cwd=cwd, capture_output=True, text=True
    )
    assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc


def grown_cache(work: Path, version: str, index_url: str, find_links: Path) -> Path:
    """A cache grown by uv ``version`` (:data:`RECIPE`), kept at
    ``work/uv-grown-VERSION/cache`` (its absolute symlinks, uv < 0.12's, point there)."""
    uv = uv_binary(work, version)
    top = work / f"uv-grown-{version}"
    cache = top / "cache"
    marker = top / ".ready"
    if marker.exists() and marker.read_text() == RECIPE:
        return cache
    shutil.rmtree(top, ignore_errors=True)
    for sub in ("home", "proj"):
        (top / sub).mkdir(parents=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(top / "venv")], check=True)
    python = str(top / "venv" / "bin" / "python")
    proj = top / "proj"
    (proj / "pyproject.toml").write_text(PROJECT_TOML)
    (proj / "localpkg.py").write_text("VALUE = 1\n")
    shutil.copy(SUPPORT / "uv_tinybackend.py", proj)
    home = top / "home"
    common = ["--python", python, "--cache-dir", str(cache)]
    index = ["--index-url", index_url]
    steps: list[list[str]] = [
        ["pip", "install", *common, *index, "six==1.16.0", "idna==3.7", "attrs==23.2.0"],
        ["pip", "install", *common, *index, str(proj)],
        ["pip", "install", *common, *index, "docopt==0.6.2"],
        ["pip", "install", *common, "--no-index", "--find-links", str(find_links), "certifi"],
        ["pip", "install", *common, *index, "--reinstall", "--refresh", "six==1.16.0"],
        [
            "run",
            "--no-project",
            *common,
            *index,
            "--with",
            "packaging==24.1",
            "python",
            "-c",
            "pass",
        ],
    ]
    for step in steps:
        run_uv(uv, *step, cwd=top, home=home)
    marker.write_text(RECIPE)
    return cache


def copy_cache(source: Path, dest: Path) -> Path:
    """A copy of a grown cache at ``dest``, as if uv had grown it there: symlinks kept, an
    absolute one into ``source`` pointed at the same place in ``dest`` (uv < 0.12 writes
    absolute links; a plain copy would point the copy's pointers at the original)."""
    shutil.copytree(source, dest, symlinks=True)
    prefix = str(source) + "/"
    for here, dirs, files in os.walk(dest):
        for name in dirs + files:
            path = os.path.join(here, name)
            if os.path.islink(path):
                target = os.readlink(path)
                if target.startswith(prefix):
                    os.unlink(path)
                    os.symlink(str(dest) + "/" + target[len(prefix) :], path)
    return dest


def tree(top: Path) -> set[str]:
    """Every non-directory under ``top`` (files and symlinks), relative; never follows."""
    found: set[str] = set()
    stack = [top]
    while stack:
        here = stack.pop()
        with os.scandir(here) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                else:
                    found.add(os.path.relpath(entry.path, top))
    return found
