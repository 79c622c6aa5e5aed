"""Shared by tests/test_poetry.py and tests/test_pdm.py: real poetry and pdm in throwaway
venvs (kept under ``.venv/test-work/``), and a loopback index that also serves setuptools
(both tools build the docopt sdist in an isolated environment that needs it)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

SETUPTOOLS = "setuptools==75.8.0"


def tool_venv(work: Path, name: str, requirements: Sequence[str]) -> Path:
    """A venv ``work/name`` (built once, reused) with exactly ``requirements``; its bin dir."""
    home = work / name
    marker = home / ".ready"
    wanted = "\n".join(requirements)
    if not marker.exists() or marker.read_text() != wanted:
        shutil.rmtree(home, ignore_errors=True)
        home.parent.mkdir(parents=True, exist_ok=True)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(home)], check=True)
        subprocess.run(
            [
                str(home / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-cache-dir",
                "--disable-pip-version-check",
                *requirements,
            ],
            check=True,
            env={k: v for k, v in os.environ.items() if not k.startswith(("PIP_CACHE", "XDG_"))},
        )
        marker.write_text(wanted)
    return home / "bin"


def build_dists(work: Path, index_dists: Path) -> Path:
    """``index_dists`` plus setuptools, in ``work/dists-build`` (downloaded once)."""
    from conftest import pip_download

    dest = work / "dists-build"
    marker = dest / ".ready"
    wanted = "\n".join(sorted(p.name for p in index_dists.iterdir() if not p.name.startswith(".")))
    if not marker.exists() or marker.read_text() != wanted:
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        for dist in index_dists.iterdir():
            if not dist.name.startswith("."):
                shutil.copy2(dist, dest / dist.name)
        pip_download([SETUPTOOLS], dest)
        marker.write_text(wanted)
    return dest


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """A minimal environment: PATH (system dirs and this interpreter's), a private HOME."""
    base_bin = os.path.dirname(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    env = {
        "PATH": f"/usr/local/bin:/usr/bin:/bin:{base_bin}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
        "COLUMNS": "2000",
    }
    env.update(extra)
    return env


@dataclass
class Scenario:
    """One case of a differential test of a tool's cache-dir answer: its variables, the
    files it finds (``{tmp}``/``{home}`` filled in) and the working directory."""

    name: str
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    cwd: str = "{tmp}/work"


def fill(text: str, tmp: Path, home: Path) -> str:
    return text.replace("{tmp}", str(tmp)).replace("{home}", str(home))


def expand(raw: str, env: dict[str, str], cwd: str) -> str:
    """What the tool prints made absolute: ``~`` from ``HOME`` (the passwd home when
    unset), relative to ``cwd``."""
    if raw.startswith("~"):
        raw = env.get("HOME", pwd.getpwuid(os.getuid()).pw_dir).rstrip("/") + raw[1:]
    return os.path.normpath(os.path.join(cwd, raw))
