"""cachecensus's own state (the memo, the completion candidates) is never written through
a symlink nor into a directory someone else controls: root run with a user's environment
(``sudo -E``: her HOME, XDG_CACHE_HOME, CACHECENSUS_MEMO) writes nothing of hers."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from cachecensus import _complete, complete, memo, statedir
from cachecensus.memo import open_memo

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")
ALICE = 4242  # a uid that is neither root nor the test's


@pytest.fixture(autouse=True)
def _never_hang() -> Iterator[None]:
    def stuck(signum: int, frame: object) -> None:
        raise TimeoutError("blocked on a state file")

    old = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(20)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _alices(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, ALICE, ALICE)
    return path


def test_a_dangling_symlink_as_the_memo_path_is_never_followed(tmp_path: Path) -> None:
    link = tmp_path / "memo.sqlite"
    link.symlink_to(tmp_path / "elsewhere" / "created.db")
    (tmp_path / "elsewhere").mkdir()
    opened = open_memo(env={"CACHECENSUS_MEMO": str(link)})
    assert opened.conn is None and opened.warning and "symlink" in opened.warning
    assert not (tmp_path / "elsewhere" / "created.db").exists()
    assert link.is_symlink()


def test_a_symlink_to_a_file_as_the_memo_path_never_writes_the_file(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "memo.sqlite").symlink_to(victim)
    opened = open_memo(str(tmp_path / "m" / "memo.sqlite"))
    assert opened.conn is None and victim.read_bytes() == b"precious"


def test_a_fifo_as_the_memo_path_never_hangs(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "memo.sqlite")
    opened = open_memo(str(tmp_path / "memo.sqlite"))
    assert opened.conn is None and opened.warning and "not a regular file" in opened.warning


def test_a_memo_dir_others_may_write_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # even sticky: sqlite opens -wal and -shm beside it by name
    opened = open_memo(str(shared / "memo.sqlite"))
    assert opened.conn is None and "writable by others" in (opened.warning or "")
    assert list(shared.iterdir()) == []


def test_a_memo_under_a_sticky_dir_in_a_private_dir_is_fine(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp").chmod(0o1777)
    opened = open_memo(str(tmp_path / "tmp" / "me" / "memo.sqlite"))
    try:
        assert opened.conn is not None, opened.warning
        assert (tmp_path / "tmp" / "me").stat().st_mode & 0o777 == 0o700
    finally:
        opened.close()


@needs_root
def test_root_with_a_users_home_never_writes_its_memo_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sudo -E: HOME and XDG_CACHE_HOME are alice's; root's memo goes to root's own home
    (from passwd; here a temporary stand-in), alice's directory stays untouched."""
    home = _alices(tmp_path / "alice")
    own = tmp_path / "root-home-cache"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.delenv("CACHECENSUS_MEMO", raising=False)
    monkeypatch.setattr(statedir, "home_cache_dir", lambda uid=None: str(own))
    opened = open_memo()
    try:
        assert opened.conn is not None and opened.warning is None
        assert opened.path == str(own / "memo.sqlite")
    finally:
        opened.close()
    assert list(home.iterdir()) == []


@needs_root
def test_root_with_a_users_memo_variable_works_without_a_memo(tmp_path: Path) -> None:
    home = _alices(tmp_path / "alice")
    opened = open_memo(env={"CACHECENSUS_MEMO": str(home / "memo.sqlite")})
    assert opened.conn is None and f"owned by uid {ALICE}" in (opened.warning or "")
    assert list(home.iterdir()) == []


@needs_root
def test_a_symlink_owned_by_another_user_on_the_way_is_not_followed(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    link = tmp_path / "via"
    link.symlink_to(mine)
    os.lchown(link, ALICE, ALICE)
    with pytest.raises(statedir.Untrusted, match="symlink owned by uid"):
        statedir.trusted_dir(str(link / "cachecensus"))
    os.lchown(link, 0, 0)  # root's own symlink: followed
    assert statedir.trusted_dir(str(link / "cachecensus")) == str(mine / "cachecensus")


def test_memo_in_a_fresh_dir_is_private(tmp_path: Path) -> None:
    opened = open_memo(str(tmp_path / "a" / "b" / "memo.sqlite"))
    try:
        assert opened.conn is not None
        assert (tmp_path / "a").stat().st_mode & 0o777 == 0o700
        assert (tmp_path / "a" / "b" / "memo.sqlite").stat().st_mode & 0o777 == 0o600
        assert opened.path == str(tmp_path / "a" / "b" / memo.FILE_NAME)
    finally:
        opened.close()


# ---------------------------------------------------------------------- completion


@needs_root
def test_root_with_a_users_home_never_writes_her_completion_candidates(tmp_path: Path) -> None:
    home = _alices(tmp_path / "alice")
    target = complete.candidates_path({"HOME": str(home)})
    assert complete.write_candidates(["six"], None, target) is None
    assert list(home.iterdir()) == []


def test_a_fifo_or_symlink_as_the_candidates_file_never_hangs_or_is_followed(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    assert complete.read_candidates(str(fifo)) == ({k: [] for k in complete.KINDS}, {})
    secret = tmp_path / "secret"
    secret.write_text(f"{complete.HEADER}\t1\t0\nproject\tleaked\n")
    link = tmp_path / "link.txt"
    link.symlink_to(secret)
    assert complete.read_candidates(str(link))[0][complete.PROJECT] == []


def test_candidates_keep_an_interpreter_path_not_utf8(tmp_path: Path) -> None:
    class Env:
        name = "odd"
        interpreter = os.fsdecode(b"/home/me/caf\xe9/bin/python")

    path = complete.write_candidates(None, [Env()], str(tmp_path / "c.txt"))
    assert path is not None
    assert complete.read_candidates(path)[0][complete.PYTHON] == [Env.interpreter]


def test_the_refresh_marker_is_never_written_through_a_symlink(tmp_path: Path) -> None:
    path = str(tmp_path / "c.txt")
    victim = tmp_path / "victim"
    Path(f"{path}.refreshing-{complete.PROJECT}").symlink_to(victim)
    assert _complete.start_background_refresh(complete.PROJECT, path) is False
    assert not victim.exists()


def test_a_group_writable_dir_of_the_users_own_group_is_fine(tmp_path: Path) -> None:
    """umask 002 with user private groups makes ~/.cache 0775: still the user's alone."""
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o775)
    os.chown(cache, os.geteuid(), os.getegid())
    assert statedir.trusted_dir(str(cache)) == str(cache)
    if os.geteuid() == 0:
        os.chown(cache, 0, ALICE)  # group-writable by alice's group: others
        with pytest.raises(statedir.Untrusted, match="writable by others"):
            statedir.trusted_dir(str(cache))
