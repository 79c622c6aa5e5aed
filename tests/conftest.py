"""Shared fixtures: real pip in throwaway venvs, the real-caches fixture, a loopback index.

Expensive things (venvs with pinned pip, downloaded distributions) are built once and kept
under ``.venv/test-work/`` so a second run of the suite starts warm; CI starts cold and
builds them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SUPPORT = Path(__file__).resolve().parent / "support"
WORK = Path(os.environ.get("CACHECENSUS_TEST_WORK", REPO / ".venv" / "test-work"))

# Hypothesis profiles (the hostile tier, tests/hostile/). "ci", the default: a few examples,
# the same ones every run (derandomized, no example database), no per-example deadline
# (each example runs the CLI; the subprocess timeout bounds it). "long" searches for real:
# --hypothesis-profile=long or CACHECENSUS_HYPOTHESIS_PROFILE=long.
settings.register_profile(
    "ci",
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile("long", settings.get_profile("ci"), max_examples=300, derandomize=False)
# loaded only by the hostile tier (tests/hostile/conftest.py), so other property tests
# keep their own settings


#: Everything a test runs (in process or as a child) records completion candidates in this
#: throwaway file, never in the invoking user's own (``envs``/``audit``/``list``/``remove``
#: all rewrite it).  Tests that mean a candidates file name their own.
COMPLETION_FILE_ENV = "CACHECENSUS_COMPLETION_FILE"
SESSION_COMPLETION_FILE = os.path.join(
    tempfile.mkdtemp(prefix="cachecensus-test-completion-"), "completion-candidates.txt"
)
os.environ[COMPLETION_FILE_ENV] = SESSION_COMPLETION_FILE


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(os.path.dirname(SESSION_COMPLETION_FILE), ignore_errors=True)


#: pip versions the differential tests run against: the newest and the last with ``http/``.
PIP_NEW = "26.3"
PIP_OLD = "23.2.1"

#: Small distributions the loopback index serves (name==version, sdist or wheel as on PyPI).
INDEX_DISTS = (
    "six==1.16.0",
    "six==1.17.0",
    "idna==3.7",
    "attrs==23.2.0",
    "packaging==24.1",
    "docopt==0.6.2",
    "requests==2.32.3",
    "certifi==2024.7.4",
    "charset-normalizer==3.3.2",
    "urllib3==2.2.2",
)


def _clean_env() -> dict[str, str]:
    """The environment for a child pip: no PIP_* or XDG_* from the developer's shell."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "XDG_"))}


def build_pip_venv(version: str) -> Path:
    """A venv (kept across runs under WORK) with exactly ``pip==VERSION``; its python."""
    home = WORK / f"venv-pip-{version}"
    python = home / "bin" / "python"
    marker = home / ".ready"
    if not marker.exists():
        shutil.rmtree(home, ignore_errors=True)
        home.parent.mkdir(parents=True, exist_ok=True)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(home)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-cache-dir",
                "--disable-pip-version-check",
                f"pip=={version}",
            ],
            check=True,
            env=_clean_env(),
        )
        marker.write_text(version)
    return python


@pytest.fixture(scope="session")
def pip_venv() -> Callable[[str], Path]:
    """Factory: a venv (kept across runs) with exactly ``pip==VERSION``; returns its python."""
    return build_pip_venv


@pytest.fixture(scope="session")
def pip_venvs() -> Callable[[Sequence[str]], dict[str, Path]]:
    """Factory: ``pip_venv`` for many versions, the missing ones built two at a time."""

    def make(versions: Sequence[str]) -> dict[str, Path]:
        with ThreadPoolExecutor(2) as pool:
            return dict(zip(versions, pool.map(build_pip_venv, versions), strict=True))

    return make


@pytest.fixture(scope="session")
def real_caches_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real-caches fixture unpacked once (read-only use: copy before changing)."""
    dest = tmp_path_factory.mktemp("real-caches-src")
    with tarfile.open(FIXTURES / "real-caches.tar.gz") as tar:
        tar.extractall(dest, filter="tar") if sys.version_info >= (3, 12) else tar.extractall(dest)
    return dest / "real-caches"


@pytest.fixture
def real_caches(real_caches_dir: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the real-caches fixture for one test."""
    dest = tmp_path / "real-caches"
    shutil.copytree(real_caches_dir, dest, symlinks=True)
    return dest


def pip_download(specs: Sequence[str], dest: Path) -> None:
    """Download exactly these distributions (no dependencies, no cache) into ``dest``."""
    for spec in specs:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-cache-dir",
                "--disable-pip-version-check",
                "-d",
                str(dest),
                spec,
            ],
            check=True,
        )


@pytest.fixture(scope="session")
def index_dists() -> Path:
    """A folder of the distributions in INDEX_DISTS, downloaded once from PyPI."""
    dest = WORK / "dists"
    marker = dest / ".ready"
    if not marker.exists() or marker.read_text() != "\n".join(INDEX_DISTS):
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        pip_download(INDEX_DISTS, dest)
        marker.write_text("\n".join(INDEX_DISTS))
    return dest


@contextmanager
def serve_index(dists: Path) -> Iterator[str]:
    """Run the loopback index (``support/pypi_like_index.py``, PyPI's caching headers) on
    ``dists``; yields its simple-index URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, str(SUPPORT / "pypi_like_index.py"), str(dists), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("loopback index did not start")
        yield f"http://127.0.0.1:{port}/simple/"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def loopback_index(index_dists: Path) -> Iterator[str]:
    """URL of a loopback simple index with PyPI's caching headers (pip caches its answers)."""
    with serve_index(index_dists) as url:
        yield url


@pytest.fixture
def pip_runner(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run a real pip with a private HOME and no inherited PIP_/XDG_ variables.

    ``pip_runner(python, *args, env={...}, cwd=...)``; the global config files of the
    machine still apply, as they would for a user.
    """
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)

    def run(
        python: Path,
        *args: str,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        check: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        full = _clean_env()
        full["HOME"] = str(home)
        full["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        full.update(env or {})
        return subprocess.run(
            [str(python), "-m", "pip", *args],
            env=full,
            cwd=cwd or tmp_path,
            capture_output=True,
            text=True,
            check=check,
        )

    return run
