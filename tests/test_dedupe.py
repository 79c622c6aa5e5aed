"""``dedupe --link``: copies become hard links to one kept copy — as the caches' owner, through
descriptors, never through a path a user can swap (a real racing attacker of hers)."""

from __future__ import annotations

import hashlib
import os
import pwd
import subprocess
from pathlib import Path

import pytest

from cachecensus.act.dedupe import Group, find_duplicates, link_duplicates
from cachecensus.caches.pip import scan
from cachecensus.host import Host
from support.realusers import as_user, chown_tree, real_user, root_only, user_python, world_dir

HOST = Host.local()
USER = "cc_runner_a"
OTHER = "cc_runner_b"
WHEEL = "pkg-1.0-py3-none-any.whl"
ATTACKER = Path(__file__).resolve().parent / "support" / "swap_attacker.py"


def _leaf(cache: Path, seed: str) -> Path:
    h = hashlib.sha224(seed.encode()).hexdigest()
    return cache / "wheels" / h[:2] / h[2:4] / h[4:6] / h[6:]


def _caches(top: Path, data: bytes, copies: int) -> tuple[Path, Path, list[Path]]:
    """Cache A holding the wheel once (the kept copy), cache B holding ``copies`` copies of
    it (distinct inodes); the paths of B's copies."""
    a, b = top / "cache-a", top / "cache-b"
    keeper = _leaf(a, "keeper")
    keeper.mkdir(parents=True)
    (keeper / WHEEL).write_bytes(data)
    files = []
    for i in range(copies):
        leaf = _leaf(b, f"copy{i}")
        leaf.mkdir(parents=True)
        (leaf / WHEEL).write_bytes(data)
        files.append(leaf / WHEEL)
    return a, b, files


def _groups(a: Path, b: Path) -> list[Group]:
    return find_duplicates(HOST, [scan(HOST, str(a)), scan(HOST, str(b))])


def _inode(path: Path) -> tuple[int, int]:
    st = os.lstat(path)
    return st.st_dev, st.st_ino


# ---------------------------------------------------------------------- linking works


@pytest.mark.parametrize("owner", ["ourselves", "a user"])
def test_copies_become_one_inode_with_the_kept_copy_and_free_their_bytes(owner: str) -> None:
    data = os.urandom(300_000)
    with world_dir() as top:
        a, b, copies = _caches(top, data, 3)
        pw: pwd.struct_passwd | None = None
        if owner == "a user":
            pw = real_user(USER)
            chown_tree(a, pw)
            chown_tree(b, pw)
        groups = _groups(a, b)
        assert len(groups) == 1 and len(groups[0].pairs()) == 3
        keeper = _leaf(a, "keeper") / WHEEL
        before = _inode(keeper)
        result = link_duplicates(HOST, groups)
        assert result.skipped == []
        assert sorted(result.linked) == sorted(str(c) for c in copies)
        assert result.freed == 3 * len(data)
        assert all(_inode(c) == before for c in [keeper, *copies])
        assert os.lstat(keeper).st_nlink == 4 and keeper.read_bytes() == data
        if pw is not None:  # the link was made as her: nothing of root's in her caches
            assert all(os.lstat(p).st_uid == pw.pw_uid for p in [*a.rglob("*"), *b.rglob("*")])
        leftovers = [p for p in b.rglob("*") if "cachecensus" in p.name]
        assert leftovers == []
        # a second run finds nothing left to link
        assert link_duplicates(HOST, _groups(a, b)).linked == []


def test_a_copy_changed_since_the_scan_is_not_linked() -> None:
    data = os.urandom(50_000)
    with world_dir() as top:
        a, b, copies = _caches(top, data, 2)
        groups = _groups(a, b)
        copies[0].write_bytes(os.urandom(50_000))  # same inode, other content
        other = copies[1].with_name("other")
        other.write_bytes(data)
        other.rename(copies[1])  # same content, another inode (made before the old one went)
        result = link_duplicates(HOST, groups)
        assert result.linked == [] and result.freed == 0
        assert sorted(r for _, r in result.skipped) == [
            "changed since the scan",
            "content changed since the scan",
        ]


def test_a_file_in_the_way_of_the_temporary_link_is_left_alone() -> None:
    """A file named like the temporary link beside a copy is not ours: it stays, and that
    copy is skipped; a leftover that is the keeper's own link (an interrupted run) is used."""
    data = os.urandom(20_000)
    with world_dir() as top:
        a, b, copies = _caches(top, data, 2)
        keeper = _leaf(a, "keeper") / WHEEL
        theirs = copies[0].with_name(WHEEL + ".cachecensus-link")
        theirs.write_bytes(b"not ours")
        os.link(keeper, copies[1].with_name(WHEEL + ".cachecensus-link"))
        result = link_duplicates(HOST, _groups(a, b))
        assert result.linked == [str(copies[1])] and _inode(copies[1]) == _inode(keeper)
        assert result.skipped == [(str(copies[0]), f"{theirs.name} is in the way")]
        assert theirs.read_bytes() == b"not ours" and copies[0].read_bytes() == data
        assert not copies[1].with_name(WHEEL + ".cachecensus-link").exists()


@root_only
def test_copies_of_two_owners_are_never_linked() -> None:
    """Her caches and another user's hold the same wheel: nothing links across them (her
    clean-up must not change his cache, and quota stays with its owner)."""
    her, him = real_user(USER), real_user(OTHER)
    data = os.urandom(40_000)
    with world_dir() as top:
        a, b, copies = _caches(top, data, 2)
        chown_tree(a, her)
        chown_tree(b, him)
        before = [_inode(p) for p in [_leaf(a, "keeper") / WHEEL, *copies]]
        groups = _groups(a, b)
        assert groups and groups[0].pairs() == []
        assert link_duplicates(HOST, groups).linked == []
        assert [_inode(p) for p in [_leaf(a, "keeper") / WHEEL, *copies]] == before


@root_only
def test_her_files_in_caches_of_two_owners_are_never_linked() -> None:
    """Files of hers in a cache dir another user owns: the caches' owners differ, so root
    acts for neither and links nothing."""
    her, him = real_user(USER), real_user(OTHER)
    data = os.urandom(40_000)
    with world_dir() as top:
        a, b, copies = _caches(top, data, 1)
        chown_tree(a, her)
        chown_tree(b, her)
        os.chown(b, him.pw_uid, him.pw_gid)
        result = link_duplicates(HOST, _groups(a, b))
        assert result.linked == []
        assert result.skipped == [(str(copies[0]), "caches of different owners: never linked")]


# ---------------------------------------------------------------------- the race


def _restore(leaves: list[Path]) -> None:
    """Put back a directory the attacker left swapped (killed mid-swap)."""
    for leaf in leaves:
        aside = leaf.with_name(leaf.name + ".aside")
        if leaf.is_symlink():
            leaf.unlink()
        if aside.exists() and not leaf.exists():
            aside.rename(leaf)


@root_only
@pytest.mark.slow
def test_a_users_racing_symlink_swaps_never_make_root_link_a_root_file() -> None:
    """Her process swaps a cache directory for a symlink to a root-owned directory the
    moment root opens a file in it (the keeper's or a copy's: inotify), while root links
    her duplicates, round after round. Linking by path would then link root's file into
    her tree, or replace root's file by a link to hers (her content in a root path:
    privilege escalation). Linked as her, through descriptors: the victim keeps its inode,
    its link count and its content, and no root-owned file ever appears in her caches."""
    pw = real_user(USER)
    python = user_python(pw)
    data = os.urandom(2 << 20)  # hashing takes long enough for her swap to land mid-way
    secret = b"root's own wheel, never hers\n" * 1000
    rounds, copies_per_round = 6, 8
    with world_dir() as top:
        victim_dir = top / "python-wheels"  # like /usr/share/python-wheels: root's
        victim_dir.mkdir()
        victim = victim_dir / WHEEL
        victim.write_bytes(secret)
        victim_id = _inode(victim)
        a, b, copies = _caches(top, data, copies_per_round)
        leaves = [_leaf(a, "keeper"), *(c.parent for c in copies)]
        linked = skipped = swaps = 0
        for _ in range(rounds):
            for copy in copies:  # fresh copies of her own, each its own inode
                if copy.exists() and _inode(copy) != _inode(leaves[0] / WHEEL):
                    continue
                copy.unlink(missing_ok=True)
                copy.write_bytes(data)
            chown_tree(a, pw)
            chown_tree(b, pw)
            groups = _groups(a, b)
            assert len(groups[0].pairs()) == copies_per_round
            attacker = subprocess.Popen(
                [python, "-c", ATTACKER.read_text(), str(victim_dir), "0.005"]
                + [str(leaf / WHEEL) for leaf in leaves],
                user=pw.pw_uid,
                group=pw.pw_gid,
                extra_groups=[],
                stdout=subprocess.PIPE,
                text=True,
                cwd="/",
            )
            try:
                assert attacker.stdout is not None
                assert attacker.stdout.readline().strip() == "ready"
                result = link_duplicates(HOST, groups)
            finally:
                attacker.terminate()
                out, _ = attacker.communicate(timeout=30)
                _restore(leaves)
            swaps += int(out.split()[-1]) if out.strip() else 0
            linked += len(result.linked)
            skipped += len(result.skipped)
            # the victim: same inode, one link, root's content, alone in its directory
            st = os.lstat(victim)
            assert (st.st_dev, st.st_ino) == victim_id, "root's file was replaced by hers"
            assert (st.st_nlink, st.st_uid) == (1, 0), "root's file was linked elsewhere"
            assert victim.read_bytes() == secret
            assert sorted(p.name for p in victim_dir.iterdir()) == [WHEEL]
            # her tree: nothing root owns, no link to the victim
            for path in [*a.rglob("*"), *b.rglob("*")]:
                st = os.lstat(path)
                assert st.st_uid == pw.pw_uid, f"{path} is owned by uid {st.st_uid}"
                assert (st.st_dev, st.st_ino) != victim_id, f"{path} is root's victim"
        assert swaps >= rounds  # she really raced
        assert linked > 0  # and root still did its work between her swaps


@root_only
@pytest.mark.slow
def test_the_attacker_runs_as_her_and_cannot_touch_the_victim_herself() -> None:
    """The race test's premise: the victim directory is root's (she may point a symlink at
    it, not write in it), and her attacker process really runs as her."""
    pw = real_user(USER)
    python = user_python(pw)
    with world_dir() as top:
        victim = top / WHEEL
        victim.write_bytes(b"root's")
        probe = as_user(
            pw,
            [python, "-c", f"import os; print(os.getuid()); open({str(victim)!r}, 'ab')"],
            cwd="/",
        )
        assert probe.stdout.split()[0] == str(pw.pw_uid)
        assert "PermissionError" in probe.stderr
