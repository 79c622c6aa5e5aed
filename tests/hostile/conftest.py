"""Fixtures of the hostile tier: the messy machine in a fake root, the environment the CLI
runs with, and (as root) real users with real processes carrying hostile variables."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import stat
import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import hypothesis
import pytest

from hostile.machine import World, build
from hostile.runner import Cli


def _restore_modes(top: Path) -> None:
    """Give back search permission to the mode-000 dirs a planter made (so a non-root
    cleanup can remove them)."""
    for dirpath, dirnames, _ in os.walk(top):
        for name in dirnames:
            path = os.path.join(dirpath, name)
            try:
                if not os.path.islink(path):
                    os.chmod(path, stat.S_IMODE(os.lstat(path).st_mode) | 0o700)
            except OSError:
                pass


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(home=tmp_path / "invoker")


@pytest.fixture
def make_world(tmp_path: Path, real_caches_dir: Path, cli: Cli) -> Iterator[Callable[..., World]]:
    """Factory: ``make_world(hostile=[names])`` builds a fresh machine under tmp_path."""
    made: list[Path] = []

    def make(hostile: Iterable[str] = ()) -> World:
        top = tmp_path / f"world{len(made)}"
        made.append(top)
        world = build(top, real_caches_dir, hostile)
        cli.shorten[str(top)] = "$W"
        return world

    yield make
    for top in made:
        _restore_modes(top)
        shutil.rmtree(top, ignore_errors=True)


# ---------------------------------------------------------------------- real users

REAL_USERS = ("cc_hostile_a", "cc_hostile_b", "cc_hostile_c", "cc_hostile_d", "cc_hostile_e")


@dataclass
class RealUsers:
    """Real accounts (``useradd -m``) and processes of theirs that carry hostile cache
    variables; ``victim`` is a root-owned directory holding caches nobody configured."""

    homes: dict[str, Path]
    victim: Path
    pids: list[int]

    def home(self, name: str) -> Path:
        return self.homes[name]


def _useradd(name: str) -> Path:
    subprocess.run(["userdel", "-r", name], capture_output=True, check=False)
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], check=True, capture_output=True)
    return Path(pwd.getpwnam(name).pw_dir)


def _give(top: Path, name: str) -> None:
    entry = pwd.getpwnam(name)
    for dirpath, dirnames, filenames in os.walk(top):
        os.lchown(dirpath, entry.pw_uid, entry.pw_gid)
        for item in dirnames + filenames:
            os.lchown(os.path.join(dirpath, item), entry.pw_uid, entry.pw_gid)


def _start_as(name: str, env: Mapping[bytes, bytes]) -> int:
    """A real process of ``name`` (``sleep``) with exactly ``env``; its pid."""
    entry = pwd.getpwnam(name)
    proc = subprocess.Popen(
        ["sleep", "900"],
        user=entry.pw_uid,
        group=entry.pw_gid,
        extra_groups=[],
        env=dict(env),
        cwd=entry.pw_dir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return proc.pid


@pytest.fixture(scope="module")
def real_users(
    tmp_path_factory: pytest.TempPathFactory, real_caches_dir: Path
) -> Iterator[RealUsers]:
    """As root only: users cc_hostile_a (whose processes claim root's and b's caches, and
    disagree with each other), cc_hostile_b (whose caches a's claims point at),
    cc_hostile_c (whose process environment holds bytes that are not UTF-8 and relative
    paths), cc_hostile_d (whose variables name a FIFO and /dev/zero as config files) and
    cc_hostile_e (whose variables name /, /etc and /usr as caches)."""
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        pytest.skip("real users need root and useradd")
    homes = {name: _useradd(name) for name in REAL_USERS}
    victim = tmp_path_factory.mktemp("victim")
    os.chmod(victim, 0o755)
    shutil.copytree(real_caches_dir / "pip-26.3", victim / "pip")
    shutil.copytree(real_caches_dir / "uv-0.13.9", victim / "uv")
    (victim / "conda").mkdir()
    (victim / "conda/urls.txt").write_text("https://example.org/six-1.16.0-py_0.conda\n")
    (victim / "conda/six-1.16.0-py_0.conda").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    a, b, c, d, e = (homes[n] for n in REAL_USERS)
    shutil.copytree(real_caches_dir / "pip-26.3", a / ".cache/pip")
    shutil.copytree(real_caches_dir / "uv-0.13.9", a / ".cache/uv")
    shutil.copytree(real_caches_dir / "pip-23.2.1", a / "other-pip")
    wheel = a / "wheels/ab/cd/ef" / ("0123456789abcdef" * 4)[:50]
    wheel.mkdir(parents=True)
    (wheel / "mine-1.0-py3-none-any.whl").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    (a / "notes.txt").write_text("a's own\n")
    shutil.copytree(real_caches_dir / "pip-23.2.1", b / ".cache/pip")
    shutil.copytree(real_caches_dir / "uv-0.13.9", b / ".cache/uv")
    odd = os.fsencode(c) + b"/\xff\xfe"
    shutil.copytree(real_caches_dir / "pip-23.2.1", os.fsdecode(odd))
    os.mkfifo(d / "fifo")
    for name in REAL_USERS:
        _give(homes[name], name)
    path = os.environb.get(b"PATH", b"/usr/bin:/bin")
    ab, bb, cb, db, vb = (os.fsencode(p) for p in (a, b, c, d, victim))
    envs = [
        (  # a claims root's and b's caches
            "cc_hostile_a",
            {
                b"HOME": ab,
                b"PATH": path,
                b"PIP_CACHE_DIR": vb + b"/pip",
                b"UV_CACHE_DIR": bb + b"/.cache/uv",
                b"CONDA_PKGS_DIRS": vb + b"/conda",
                b"PIPENV_CACHE_DIR": bb + b"/.cache/pip",
            },
        ),
        (  # a again, disagreeing: her own second pip cache
            "cc_hostile_a",
            {b"HOME": ab, b"PATH": path, b"PIP_CACHE_DIR": ab + b"/other-pip"},
        ),
        ("cc_hostile_a", {b"HOME": ab, b"PATH": path, b"PDM_CACHE_DIR": ab}),  # $HOME
        (  # c: bytes that are not UTF-8, relative paths, an empty value
            "cc_hostile_c",
            {
                b"HOME": cb,
                b"PATH": path,
                b"PIP_CACHE_DIR": odd,
                b"XDG_CACHE_HOME": b"\xff\n",
                b"UV_CACHE_DIR": b"relative/\xfe",
                b"PIP_NO_CACHE_DIR": b"\xff",
                b"\xff\xfe": b"\x01\x02",
                b"PDM_CACHE_DIR": b"",
            },
        ),
        (  # d: config files that never end or never open
            "cc_hostile_d",
            {
                b"HOME": db,
                b"PATH": path,
                b"PIP_CONFIG_FILE": b"/dev/zero",
                b"UV_CONFIG_FILE": db + b"/fifo",
                b"CONDARC": db + b"/fifo",
                b"POETRY_CONFIG_DIR": b"/dev/zero",
                b"PDM_CONFIG_FILE": db + b"/fifo",
            },
        ),
        (  # e: the system's directories as caches
            "cc_hostile_e",
            {
                b"HOME": os.fsencode(e),
                b"PATH": path,
                b"POETRY_CACHE_DIR": b"/",
                b"PDM_CACHE_DIR": b"/etc",
                b"CONDA_PKGS_DIRS": b"/usr,/",
                b"UV_CACHE_DIR": b"/usr",
            },
        ),
    ]
    pids: list[int] = []
    try:
        for name, env in envs:
            pids.append(_start_as(name, env))
        yield RealUsers(homes=homes, victim=victim, pids=pids)
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)  # the session each one leads, by its id
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        for name in REAL_USERS:
            subprocess.run(["userdel", "-r", name], capture_output=True, check=False)


# the hostile tier's hypothesis profile ("ci" unless CACHECENSUS_HYPOTHESIS_PROFILE names
# another; registered in tests/conftest.py)
hypothesis.settings.load_profile(os.environ.get("CACHECENSUS_HYPOTHESIS_PROFILE", "ci"))
