"""Reading what a user controls (cachecensus.userfile and every config reader through it):
a FIFO never hangs, /dev/zero or a sparse 8 GiB file never exhausts memory, a NUL or a
byte that is not UTF-8 is one problem naming the file, never a traceback.

Unit tests run in-process under an alarm (a hang fails the test instead of the suite);
the command-line tests run ``cachecensus`` in a subprocess with a timeout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cachecensus import userfile
from cachecensus.discover.interpreter import read_pyvenv_cfg
from cachecensus.host import Host
from cachecensus.models import Resolution, User
from cachecensus.resolve import resolve_tool
from cachecensus.resolve.pip import resolve_pip
from cachecensus.userfile import MAX_CONFIG_BYTES, Refused

CACHECENSUS = str(Path(sys.executable).parent / "cachecensus")
ME = os.getuid() or 1000
HUGE = 8 << 30  # the sparse file: 8 GiB that cost no disk


@pytest.fixture(autouse=True)
def _never_hang() -> Iterator[None]:
    """A read that blocks fails the test after 20 s instead of hanging the suite."""

    def stuck(signum: int, frame: object) -> None:
        raise TimeoutError("blocked reading a user's file")

    old = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(20)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# ---------------------------------------------------------------------- hazards


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _sparse(path: Path) -> None:
    with open(path, "wb") as fh:
        fh.truncate(HUGE)


def _nul(path: Path) -> None:
    path.write_bytes(b"[global]\ncache-dir = /tmp/a\0b\n")


def _not_utf8(path: Path) -> None:
    path.write_bytes(b"# caf\xe9\n")


def _directory(path: Path) -> None:
    path.mkdir()


HAZARDS: dict[str, Callable[[Path], None]] = {
    "fifo": _fifo,
    "dev-zero": _dev_zero,
    "sparse-8GiB": _sparse,
    "nul": _nul,
    "not-utf8": _not_utf8,
}
#: What the refusal says for each hazard.
SAYS = {
    "fifo": "a FIFO",
    "dev-zero": "a character device",
    "sparse-8GiB": "larger than",
    "nul": "NUL",
    "not-utf8": "not UTF-8",
}


# ---------------------------------------------------------------------- the primitive


@pytest.mark.parametrize("hazard", ["fifo", "dev-zero", "sparse-8GiB"])
def test_the_primitive_refuses_what_would_hang_or_exhaust_memory(
    tmp_path: Path, hazard: str
) -> None:
    path = tmp_path / "pip.conf"
    HAZARDS[hazard](path)
    with pytest.raises(Refused) as caught:
        userfile.read_bytes(str(path))
    assert SAYS[hazard] in caught.value.strerror
    assert str(caught.value).startswith(f"{path}: ")  # one line naming the file


def test_a_fifo_is_never_opened_for_reading_so_a_writer_waiting_is_never_released(
    tmp_path: Path,
) -> None:
    """O_PATH first: the FIFO is not opened, so a writer blocked on it stays blocked (an
    ordinary open would have been its reader)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = subprocess.Popen(
        [sys.executable, "-c", f"open({str(fifo)!r}, 'w').write('x'); print('released')"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        with pytest.raises(Refused):
            userfile.read_bytes(str(fifo))
        with pytest.raises(subprocess.TimeoutExpired):
            writer.wait(timeout=0.5)
    finally:
        writer.kill()
        writer.communicate()


def test_the_cap_is_the_size_of_a_config(tmp_path: Path) -> None:
    at_cap = tmp_path / "at"
    at_cap.write_bytes(b"x" * MAX_CONFIG_BYTES)
    assert len(userfile.read_bytes(str(at_cap))) == MAX_CONFIG_BYTES
    over = tmp_path / "over"
    over.write_bytes(b"x" * (MAX_CONFIG_BYTES + 1))
    with pytest.raises(Refused, match="larger than"):
        userfile.read_bytes(str(over))
    assert userfile.read_bytes(str(over), cap=MAX_CONFIG_BYTES + 1) == b"x" * (MAX_CONFIG_BYTES + 1)


def test_a_head_read_takes_the_start_of_a_big_file_only(tmp_path: Path) -> None:
    path = tmp_path / "python3"
    _sparse(path)
    assert userfile.read_bytes(str(path), head=16) == b"\0" * 16


def test_a_symlink_to_a_regular_file_is_followed_unless_told_not_to(tmp_path: Path) -> None:
    (tmp_path / "dotfiles.conf").write_text("[global]\n")
    link = tmp_path / "pip.conf"
    link.symlink_to(tmp_path / "dotfiles.conf")
    assert userfile.read_text(str(link)) == "[global]\n"  # stow-style dotfiles work
    with pytest.raises(Refused, match="a symlink"):
        userfile.read_text(str(link), follow=False)


def test_a_dangling_symlink_is_not_created_through(tmp_path: Path) -> None:
    link = tmp_path / "state"
    link.symlink_to(tmp_path / "target")
    with pytest.raises(OSError):
        userfile.read_bytes(str(link), follow=False)
    assert not (tmp_path / "target").exists()


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"a\nb\0c\n", "line 2: a NUL byte"),
        (b"[global]\n\ncache-dir = /caf\xe9\n", "line 3: byte 0xe9 is not UTF-8"),
        (b"\xff\xfe[\0g\0]\0", "NUL"),  # UTF-16 with a BOM
    ],
)
def test_bad_text_is_one_line_naming_file_and_line(tmp_path: Path, data: bytes, says: str) -> None:
    path = tmp_path / "uv.toml"
    path.write_bytes(data)
    with pytest.raises(Refused) as caught:
        userfile.read_text(str(path))
    assert says in str(caught.value) and str(caught.value).startswith(str(path))
    assert "\n" not in str(caught.value)


def test_surrogateescape_keeps_every_byte(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    path.write_bytes(b"u:x:1:1::/home/caf\xe9:/bin/sh\n")
    text = userfile.read_text(str(path), errors="surrogateescape")
    assert text.encode("utf-8", "surrogateescape") == path.read_bytes()


def test_a_nul_in_the_name_is_a_refusal_not_a_value_error() -> None:
    with pytest.raises(Refused, match="NUL"):
        userfile.read_bytes("/etc/pa\0sswd")
    with pytest.raises(OSError, match="NUL"):
        Host.local().read_text("/etc/pa\0sswd")


# ---------------------------------------------------------------------- every reader


class Machine:
    """Alice, whose home is a real directory of this machine (so a symlink to /dev/zero
    is one), owning it; the host is this machine."""

    def __init__(self, tmp: Path) -> None:
        self.home = str(tmp / "alice")
        self.alice = User("alice", ME, ME, self.home, "/bin/sh")
        (tmp / "alice" / "project").mkdir(parents=True)
        if os.geteuid() == 0:
            for sub in ("alice", "alice/project"):
                os.chown(tmp / sub, ME, ME)
        self.host = Host(root="/", env={}, euid=ME)

    def put(self, path: str) -> Path:
        real = Path(path.replace("~", self.home, 1))
        real.parent.mkdir(parents=True, exist_ok=True)
        return real


@pytest.fixture
def m(tmp_path: Path) -> Machine:
    return Machine(tmp_path)


def _messages(results: tuple[Resolution, ...]) -> str:
    return " | ".join(p for r in results for p in (*r.problems, r.error or "", r.reason))


#: (tool, the config file of alice's it reads, extra variables)
CONFIGS = [
    ("pip", "~/.config/pip/pip.conf", {}),
    ("pip", "~/pip-env.conf", {"PIP_CONFIG_FILE": "~/pip-env.conf"}),
    ("uv", "~/.config/uv/uv.toml", {}),
    ("conda", "~/.condarc", {"CONDA_EXE": "/opt/conda/bin/conda"}),
    ("poetry", "~/.config/pypoetry/config.toml", {}),
    ("pdm", "~/.config/pdm/config.toml", {}),
    ("pipenv", "~/project/.env", {}),
]
#: Readers whose tool skips what is not a regular file without a word (conda's
#: ``is_file()`` search, pipenv's ``isfile`` before loading ``.env``): so do we.
SKIPS_SPECIAL = {"conda", "pipenv"}


def _resolve(m: Machine, tool: str, extra: dict[str, str]) -> tuple[Resolution, ...]:
    env = {"HOME": m.home, **{k: v.replace("~", m.home) for k, v in extra.items()}}
    if tool == "pip":
        return (resolve_pip(m.host, user=m.alice, env=env, prefix=None, pip_version="26.3"),)
    project = m.home + "/project" if tool == "pipenv" else None
    return resolve_tool(tool, m.host, user=m.alice, env=env, project_dir=project)


@pytest.mark.parametrize("hazard", sorted(HAZARDS))
@pytest.mark.parametrize(("tool", "config", "extra"), CONFIGS, ids=lambda v: str(v))
def test_every_config_reader_turns_a_hostile_file_into_a_problem(
    m: Machine, tool: str, config: str, extra: dict[str, str], hazard: str
) -> None:
    path = m.put(config)
    HAZARDS[hazard](path)
    results = _resolve(m, tool, extra)  # returns (the alarm fails a hang), never raises
    said = _messages(results)
    if hazard in ("fifo", "dev-zero") and tool in SKIPS_SPECIAL:
        assert str(path) not in said
        return
    assert str(path) in said, said
    if hazard == "nul" and tool == "pip":
        assert "a NUL byte" in said
    elif hazard == "not-utf8" and tool == "pip":
        assert "invalid utf-8" in said  # pip's own words: it refuses to start
    elif hazard in ("fifo", "dev-zero"):
        assert "not a regular file" in said, said
    else:
        assert SAYS[hazard] in said, said


def test_a_nul_escaped_in_toml_never_reaches_a_path_as_a_traceback(m: Machine) -> None:
    m.put("~/.config/uv/uv.toml").write_text('cache-dir = "/tmp/a\\u0000b"\n')
    (res,) = _resolve(m, "uv", {})
    assert res.cache_dir is None or "\0" in res.cache_dir  # reported as given, not crashed


@pytest.mark.parametrize("hazard", sorted(HAZARDS))
def test_pyvenv_cfg_is_read_through_the_primitive(m: Machine, hazard: str) -> None:
    cfg = m.put("~/venv/pyvenv.cfg")
    HAZARDS[hazard](cfg)
    with pytest.raises(OSError) as caught:
        read_pyvenv_cfg(m.host, str(cfg))
    assert SAYS[hazard] in str(caught.value)


def test_passwd_homes_keep_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_bytes(
        b"root:x:0:0:root:/root:/bin/sh\nbob:x:1001:1001::/home/caf\xe9:/bin/sh\n"
        b"bad:x:1002:1002::/home/a\0b:/bin/sh\n"
    )
    host = Host(root=str(tmp_path), env={}, euid=0)
    bob = host.user_by_name("bob")
    assert bob is not None and os.fsencode(bob.home) == b"/home/caf\xe9"
    assert host.user_by_name("bad") is None  # a NUL: the line is not an account


def test_a_fifo_as_passwd_in_an_image_never_hangs(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    os.mkfifo(tmp_path / "etc" / "passwd")
    assert Host(root=str(tmp_path), env={}, euid=0).all_accounts() == []


# ---------------------------------------------------------------------- the command line


def _run(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "CACHECENSUS_MEMO": "off", **env}
    for name in [k for k in full if k.startswith(("PIP_", "XDG_", "UV_", "CONDA"))]:
        if name not in env:
            del full[name]
    return subprocess.run(
        [CACHECENSUS, *args], capture_output=True, text=True, env=full, timeout=timeout
    )


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / ".config" / "pip").mkdir(parents=True)
    return home


@pytest.mark.slow
@pytest.mark.parametrize("hazard", ["fifo", "dev-zero", "sparse-8GiB", "nul", "not-utf8"])
def test_a_fifo_as_pip_conf_never_hangs_audit(tmp_path: Path, hazard: str) -> None:
    """(and /dev/zero, 8 GiB, a NUL, bytes not UTF-8): audit ends, naming the file."""
    home = _home(tmp_path)
    conf = home / ".config" / "pip" / "pip.conf"
    HAZARDS[hazard](conf)
    proc = _run("audit", "--json", "--tool", "pip", env={"HOME": str(home)})
    assert "Traceback" not in proc.stderr, proc.stderr
    doc = json.loads(proc.stdout)
    assert any(str(conf) in p["message"] for p in doc["problems"]), doc["problems"]


@pytest.mark.slow
def test_a_fifo_as_pip_config_file_never_hangs_dir(tmp_path: Path) -> None:
    home = _home(tmp_path)
    fifo = tmp_path / "conf"
    os.mkfifo(fifo)
    proc = _run(
        "dir",
        "--python",
        sys.executable,
        env={"HOME": str(home), "PIP_CONFIG_FILE": str(fifo)},
    )
    assert "Traceback" not in proc.stderr and proc.returncode in (0, 1), proc.stderr
    assert f"{fifo}: a FIFO, not a regular file" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_a_root_image_with_a_fifo_etc_pip_conf_never_hangs(tmp_path: Path) -> None:
    image = tmp_path / "image"
    (image / "etc").mkdir(parents=True)
    (image / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (image / "root").mkdir()
    os.mkfifo(image / "etc" / "pip.conf")
    os.mkfifo(image / "etc" / "group")
    for command in (("audit", "--json"), ("envs", "--json")):
        proc = _run(*command, "--root", str(image), env={})
        assert "Traceback" not in proc.stderr, proc.stderr
        problems = json.loads(proc.stdout)["problems"]
        said = [p["message"] for p in problems]
        assert "/etc/pip.conf: a FIFO, not a regular file: not read" in said, command


@pytest.mark.slow
@pytest.mark.parametrize("hazard", ["fifo", "dev-zero", "not-utf8"])
def test_a_fifo_as_condas_urls_txt_never_hangs_the_scan(tmp_path: Path, hazard: str) -> None:
    pkgs = tmp_path / "pkgs"
    pkgs.mkdir()
    (pkgs / "six-1.16.0-pyhd3eb1b0_1.tar.bz2").write_bytes(b"not really")
    HAZARDS[hazard](pkgs / "urls.txt")
    proc = _run("list", "--json", "--tool", "conda", "--cache-dir", str(pkgs), env={})
    assert "Traceback" not in proc.stderr, proc.stderr
    doc = json.loads(proc.stdout)
    assert any(p["path"].endswith("urls.txt") for p in doc["problems"]), doc
