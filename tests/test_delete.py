"""Removal: what goes, what never goes, and the accounting — on real caches, as root."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cachecensus.act.delete import cache_shape, execute
from cachecensus.caches.pip import scan
from cachecensus.host import Host
from cachecensus.models import Entry, FileInfo, Kind
from cachecensus.select import by_pattern, make_plan, purge, select
from conftest import PIP_NEW, REPO

CACHECENSUS = str(Path(sys.executable).parent / "cachecensus")
HOST = Host.local()
NOBODY = 65534
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (CI runs as root)")


def digests(top: Path) -> dict[str, str]:
    return {
        str(p.relative_to(top)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in top.rglob("*")
        if p.is_file() and not p.is_symlink()
    }


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CACHECENSUS_MEMO="off")
    return subprocess.run(
        [CACHECENSUS, *args], capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL
    )


@pytest.fixture
def world_dir() -> Iterator[Path]:
    """A directory every user can reach (pytest's tmp dirs are root-only)."""
    top = Path(tempfile.mkdtemp(prefix="cc-delete-"))
    os.chmod(top, 0o755)
    yield top
    shutil.rmtree(top, ignore_errors=True)


def test_remove_six_everywhere_then_pip_downloads_it_again(
    real_caches: Path, pip_venv: Callable[[str], Path], loopback_index: str, tmp_path: Path
) -> None:
    names = ("pip-26.3", "pip-23.2.1", "pip-23-then-26")
    before = {n: digests(real_caches / n) for n in names}
    args = [a for n in names for a in ("--cache-dir", str(real_caches / n))]
    proc = run("remove", "six", "--yes", "--json", *args)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == 1 and doc["skipped"] == []
    assert doc["freed_bytes"] == doc["plan"]["freed_bytes"] > 0
    removed = set(doc["removed"])
    for n in names:
        left = scan(HOST, str(real_caches / n))
        assert not [e for e in left.entries if e.project == "six"], n
        after = digests(real_caches / n)
        for rel, digest in after.items():  # every other file is byte-identical
            assert before[n][rel] == digest
        gone = set(before[n]) - set(after)
        assert gone == {
            r
            for r in (
                str(Path(p).relative_to(real_caches / n))
                for p in removed
                if p.startswith(f"{real_caches / n}/")
            )
        }
    # empty hash dirs were cleaned up, the area dirs kept
    assert (real_caches / "pip-26.3" / "http-v2").is_dir()
    for d in (real_caches / "pip-26.3" / "http-v2").rglob("*"):
        assert not d.is_dir() or any(d.iterdir())
    # and real pip, pointed at that cache, fetches six again (it was really gone)
    cache = real_caches / "pip-26.3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "XDG_"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    subprocess.run(
        [
            str(pip_venv(PIP_NEW)),
            "-m",
            "pip",
            "download",
            "--no-deps",
            "-d",
            str(tmp_path / "o"),
            "--index-url",
            loopback_index,
            "--trusted-host",
            "127.0.0.1",
            "--cache-dir",
            str(cache),
            "six==1.16.0",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    again = scan(HOST, str(cache))
    assert [e.version for e in again.entries if e.project == "six" and e.kind == Kind.WHEEL] == [
        "1.16.0"
    ]


def test_dry_run_and_no_terminal_delete_nothing(real_caches: Path) -> None:
    cache = real_caches / "pip-26.3"
    before = digests(cache)
    dry = run("purge", "--cache-dir", str(cache), "--dry-run", "--json")
    assert dry.returncode == 0 and json.loads(dry.stdout)["plan"]["entries"] == 15
    refused = run("purge", "--cache-dir", str(cache))
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert digests(cache) == before


def test_purge_keeps_selfcheck_and_strays(real_caches: Path) -> None:
    cache = real_caches / "pip-26.3"
    (cache / "selfcheck").mkdir()
    (cache / "selfcheck" / "abc.json").write_text("{}")
    (cache / "README-mine.txt").write_text("mine")
    (cache / "http-v2" / "notes.txt").write_text("mine too")
    proc = run("purge", "--cache-dir", str(cache), "--yes", "--json")
    assert proc.returncode == 0, proc.stderr
    left = {str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file()}
    assert left == {"selfcheck/abc.json", "README-mine.txt", "http-v2/notes.txt"}


def test_cache_dir_set_to_a_home_loses_nothing_of_the_user(world_dir: Path) -> None:
    home = world_dir / "home"
    (home / "wheels" / "my-project").mkdir(parents=True)
    (home / ".bashrc").write_text("export X=1\n")
    (home / "notes.txt").write_text("important")
    (home / "wheels" / "my-project" / "mine-1.0-py3-none-any.whl").write_bytes(b"PK\x03\x04")
    (home / "http-v2").mkdir()
    (home / "http-v2" / "thesis.pdf").write_bytes(b"%PDF")
    before = digests(home)
    proc = run("purge", "--cache-dir", str(home), "--yes", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["plan"]["entries"] == 0
    assert digests(home) == before


def _six_plan(cache: Path) -> tuple[object, list[Path]]:
    result = scan(HOST, str(cache))
    chosen = [(e, "test") for e in select(result.entries, "six")]
    files = [Path(f.path) for e, _ in chosen for f in e.files]
    return make_plan(chosen), files


def test_a_hash_dir_swapped_for_a_symlink_is_not_followed(
    real_caches: Path, tmp_path: Path
) -> None:
    cache = real_caches / "pip-26.3"
    plan, files = _six_plan(cache)
    sentinel_dir = tmp_path / "victim"
    sentinel_dir.mkdir()
    target = files[0]
    # the leaf hash dir of six's first file becomes a symlink to a dir holding a file of
    # the very same name: following it would delete the sentinel
    shutil.copy(target, sentinel_dir / target.name)
    shutil.rmtree(target.parent)
    os.symlink(sentinel_dir, target.parent)
    result = execute(HOST, plan)  # type: ignore[arg-type]
    assert (sentinel_dir / target.name).exists()
    assert any("symlink" in why for _, why in result.skipped)


def test_cache_dir_itself_a_symlink_is_refused(real_caches: Path, tmp_path: Path) -> None:
    cache = real_caches / "pip-26.3"
    plan, _ = _six_plan(cache)
    moved = tmp_path / "moved"
    cache.rename(moved)
    os.symlink(moved, cache)
    result = execute(HOST, plan)  # type: ignore[arg-type]
    assert result.removed == () and result.skipped
    assert len(digests(moved)) == 30


def test_racing_symlink_swaps_never_reach_the_sentinel(world_dir: Path) -> None:
    """A thread keeps swapping hash dirs for symlinks to a sentinel dir while a purge of a
    600-entry cache runs; the sentinel survives every round."""
    sys.path.insert(0, str(REPO / "scripts"))
    from benchlib.cachegen import build_pip_cache

    cache = world_dir / "cache"
    build_pip_cache(str(cache), entries=600, total_bytes=3_000_000, seed=5)
    victim = world_dir / "victim"
    victim.mkdir()
    leaves = sorted({p.parent for p in (cache / "http-v2").rglob("*.body")})
    planted = 0
    for leaf in leaves[:50]:
        for f in leaf.iterdir():
            (victim / f.name).write_bytes(b"sentinel")
            planted += 1
    result_scan = scan(HOST, str(cache))
    plan = make_plan(purge(result_scan.entries))
    stop = threading.Event()

    def swapper() -> None:
        i = 0
        while not stop.is_set() and i < 5000:
            leaf = leaves[i % 50]
            i += 1
            try:
                aside = leaf.with_name(leaf.name + ".aside")
                leaf.rename(aside)
                os.symlink(victim, leaf)
                time.sleep(0)
                os.unlink(leaf)
                aside.rename(leaf)
            except OSError:
                continue

    thread = threading.Thread(target=swapper)
    thread.start()
    try:
        execute(HOST, plan)
    finally:
        stop.set()
        thread.join()
    survivors = list(victim.iterdir())
    assert len(survivors) == planted  # not one sentinel was deleted through a symlink
    assert all(p.read_bytes() == b"sentinel" for p in survivors)


@root_only
def test_root_acts_as_the_owner_of_a_users_cache(real_caches_dir: Path, world_dir: Path) -> None:
    cache = world_dir / "nobodys-cache"
    shutil.copytree(real_caches_dir / "pip-26.3", cache)
    for dirpath, dirnames, filenames in os.walk(cache):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), NOBODY, NOBODY)
    os.lchown(cache, NOBODY, NOBODY)
    # a root-owned, root-only hash dir inside nobody's cache: nobody cannot delete in it
    plan, files = _six_plan(cache)
    guarded = files[0].parent
    os.chown(guarded, 0, 0)
    os.chmod(guarded, 0o755)
    result = execute(HOST, plan)  # type: ignore[arg-type]
    assert files[0].exists(), "root must not have deleted it: the child ran as nobody"
    assert any(why == "permission denied" for _, why in result.skipped)
    others = [f for f in files if f.parent != guarded]
    assert others and not any(f.exists() for f in others)


@root_only
def test_read_only_dirs_are_skipped_with_a_reason(real_caches_dir: Path, world_dir: Path) -> None:
    cache = world_dir / "ro-cache"
    shutil.copytree(real_caches_dir / "pip-26.3", cache)
    for dirpath, dirnames, filenames in os.walk(cache):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), NOBODY, NOBODY)
    os.lchown(cache, NOBODY, NOBODY)
    plan, files = _six_plan(cache)
    os.chmod(files[0].parent, 0o555)
    result = execute(HOST, plan)  # type: ignore[arg-type]
    assert files[0].exists()
    assert (str(files[0]), "permission denied") in result.skipped
    assert len(result.removed) == len(files) - 2  # that entry's record and body both stay


def test_hard_linked_files_free_nothing_while_the_other_link_lives(
    real_caches: Path, tmp_path: Path
) -> None:
    cache = real_caches / "pip-26.3"
    subprocess.run(["cp", "-al", str(cache), str(tmp_path / "copy")], check=True)
    proc = run("remove", "six", "--cache-dir", str(cache), "--yes", "--json")
    doc = json.loads(proc.stdout)
    assert doc["plan"]["bytes"] > 0 and doc["plan"]["freed_bytes"] == 0
    assert doc["freed_bytes"] == 0 and doc["removed"]
    both = run(
        "remove",
        "idna",
        "--cache-dir",
        str(cache),
        "--cache-dir",
        str(tmp_path / "copy"),
        "--dry-run",
        "--json",
    )
    plan = json.loads(both.stdout)["plan"]
    assert plan["freed_bytes"] * 2 == plan["bytes"]  # both links go: freed once per inode


def test_a_purge_killed_midway_leaves_a_cache_pip_can_use(
    world_dir: Path, pip_venv: Callable[[str], Path], loopback_index: str, tmp_path: Path
) -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    from benchlib.cachegen import build_pip_cache

    cache = world_dir / "cache"
    build_pip_cache(str(cache), entries=3000, total_bytes=30_000_000, seed=3)
    proc = subprocess.Popen(
        [CACHECENSUS, "purge", "--cache-dir", str(cache), "--yes"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, CACHECENSUS_MEMO="off"),
    )

    def bodies() -> int:  # os.walk shrugs at directories the purge removes under it
        return sum(n.endswith(".body") for _, _, names in os.walk(cache) for n in names)

    deadline = time.monotonic() + 60
    start = bodies()
    while time.monotonic() < deadline and proc.poll() is None:
        if bodies() < start * 0.8:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < bodies() < start, "the purge was not caught mid-way"
    # never a record without its body: pip would take that for a hit and fail
    for record in (cache / "http-v2").rglob("*"):
        if record.is_file() and not record.name.endswith(".body"):
            assert record.with_name(record.name + ".body").exists(), record
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "XDG_"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    subprocess.run(
        [
            str(pip_venv(PIP_NEW)),
            "-m",
            "pip",
            "download",
            "--no-deps",
            "-d",
            str(tmp_path / "o"),
            "--index-url",
            loopback_index,
            "--trusted-host",
            "127.0.0.1",
            "--cache-dir",
            str(cache),
            "six==1.16.0",
            "idna==3.7",
        ],
        env=env,
        check=True,
        capture_output=True,
    )


def test_prune_rules(real_caches: Path) -> None:
    cache = real_caches / "pip-26.3"
    keep = run("prune", "--keep-latest", "1", "--cache-dir", str(cache), "--dry-run", "--json")
    items = json.loads(keep.stdout)["plan"]["items"]
    assert [(i["project"], i["version"]) for i in items] == [("six", "1.16.0")]
    budget = run("prune", "--max-size", "100k", "--cache-dir", str(cache), "--dry-run", "--json")
    plan = json.loads(budget.stdout)["plan"]
    assert plan["entries"] > 0
    assert 261183 - plan["bytes"] <= 100_000  # what is left fits the budget
    old = run("prune", "--older-than", "36500d", "--cache-dir", str(cache), "--dry-run", "--json")
    assert json.loads(old.stdout)["plan"]["entries"] == 0
    for bad in (
        ["prune", "--max-size", "lots", "--cache-dir", str(cache)],
        ["prune", "--older-than", "soon", "--cache-dir", str(cache)],
        ["remove", "six", "--kind", "stray", "--cache-dir", str(cache)],
    ):
        proc = run(*bad)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, bad


def test_prune_without_rules_is_the_tools_own_prune(real_caches: Path) -> None:
    """pip has no prune of its own: with no rule, prune takes only pip's half entries (a
    body whose record is gone can never be served)."""
    cache = real_caches / "pip-26.3"
    records = sorted(
        p for p in (cache / "http-v2").rglob("*") if p.is_file() and p.suffix != ".body"
    )
    records[0].unlink()  # its .body is now an orphan
    proc = run("prune", "--cache-dir", str(cache), "--dry-run", "--json")
    assert proc.returncode == 0, proc.stderr
    items = json.loads(proc.stdout)["plan"]["items"]
    assert [(i["kind"], i["files"]) for i in items] == [("orphan", [str(records[0]) + ".body"])]


def test_dedupe_reports_and_links_same_owner_copies(real_caches: Path) -> None:
    a, b = real_caches / "pip-26.3", real_caches / "pip-23-then-26"
    report = run("dedupe", "--cache-dir", str(a), "--cache-dir", str(b), "--json")
    doc = json.loads(report.stdout)
    projects = {(g["project"], g["version"]) for g in doc["groups"]}
    assert ("six", "1.17.0") in projects and ("packaging", "24.1") in projects
    linked = run(
        "dedupe", "--link", "--yes", "--json", "--cache-dir", str(a), "--cache-dir", str(b)
    )
    out = json.loads(linked.stdout)
    assert linked.returncode == 0, linked.stderr
    assert out["linked"] and out["freed_bytes"] == doc["linkable_bytes"]
    after = json.loads(run("audit", "--json", "--cache-dir", str(a), "--cache-dir", str(b)).stdout)
    assert after["totals"]["size"] < sum(c["size"] for c in after["caches"])
    # the linked caches still scan the same
    assert {(e.project, e.version) for e in scan(HOST, str(b)).entries if e.project}


def test_a_cache_in_use_by_pip_is_left_alone_unless_forced(real_caches: Path) -> None:
    cache = real_caches / "pip-26.3"
    before = digests(cache)
    # a process whose command line is a pip run on that cache (it only sleeps)
    busy = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; time.sleep(60)",
            "pip",
            "download",
            "--cache-dir",
            str(cache),
        ]
    )
    try:
        time.sleep(0.3)
        refused = run("purge", "--cache-dir", str(cache), "--yes", "--json")
        doc = json.loads(refused.stdout)
        assert refused.returncode == 1 and doc["removed"] == []
        assert all("in use by" in s["reason"] for s in doc["skipped"])
        assert str(busy.pid) in doc["skipped"][0]["reason"]
        assert digests(cache) == before
        forced = run("purge", "--cache-dir", str(cache), "--yes", "--force", "--json")
        assert forced.returncode == 0 and json.loads(forced.stdout)["removed"]
    finally:
        busy.kill()
        busy.wait()


# ---------------------------------------------------------------------- library level


@pytest.mark.parametrize(
    ("rel", "shaped"),
    [
        ("http-v2/a/b/c/d/e/abcde" + "0" * 51, True),
        ("http-v2/a/b/c/d/e/abcde" + "0" * 51 + ".body", True),
        ("http/a/b/c/d/e/abcde" + "0" * 51, True),
        ("http-v2/a/b/c/d/e/abcde" + "0" * 51 + ".bodyx1y2z3ab.tmp", True),
        ("http-v2/a/b/c/d/f/abcde" + "0" * 51, False),  # dirs are not the hash's prefix
        ("http-v2/a/b/c/d/e/ABCDE" + "0" * 51, False),
        ("http-v2/a/b/c/d/abcde" + "0" * 51, False),
        ("http-v2/a/b/c/d/e/abcde" + "0" * 50, False),
        ("http-v2/a/b/c/d/e/abcde" + "0" * 51 + ".txt", False),
        ("http-v2/a/b/c/d/e/../abcde" + "0" * 51, False),
        ("wheels/ef/76/24/" + "4" * 50 + "/docopt-0.6.2-py2.py3-none-any.whl", True),
        ("wheels/ef/76/24/" + "4" * 50 + "/origin.json", True),
        ("wheels/ef/76/24/" + "4" * 50 + "/notes.txt", False),
        ("wheels/ef/76/24/" + "4" * 49 + "/origin.json", False),
        ("wheels/my-project/mine-1.0-py3-none-any.whl", False),
        ("selfcheck/abc.json", False),
        (".bashrc", False),
        ("notes.txt", False),
        ("", False),
    ],
)
def test_cache_shape(rel: str, shaped: bool) -> None:
    assert (cache_shape(rel) is not None) is shaped


def forged(cache: Path, rels: list[str]) -> Entry:
    """An entry a broken scanner might hand over: real files, any path, kind WHEEL."""
    files = []
    for rel in rels:
        files.append(FileInfo.of(str(cache / rel), os.lstat(cache / rel)))
    return Entry(
        tool="pip",
        cache_dir=str(cache),
        area=rels[0].split("/", 1)[0],
        key=rels[0],
        kind=Kind.WHEEL,
        files=tuple(files),
        project="six",
        version="1.16.0",
    )


def test_forged_entries_of_a_home_lose_nothing(world_dir: Path) -> None:
    """Whatever a plan claims, only cache-shaped files can go: a cache dir set to a home."""
    home = world_dir / "home"
    (home / "wheels" / "my-project").mkdir(parents=True)
    (home / ".bashrc").write_text("export X=1\n")
    (home / "notes.txt").write_text("important")
    (home / "wheels" / "my-project" / "mine-1.0-py3-none-any.whl").write_bytes(b"PK\x03\x04")
    (home / "selfcheck").mkdir()
    (home / "selfcheck" / "state.json").write_text("{}")
    real = "http-v2/a/b/c/d/e/abcde" + "0" * 51
    (home / real).parent.mkdir(parents=True)
    (home / real).write_bytes(b"cc=4,")
    (home / (real + ".body")).write_bytes(b"PK")
    before = digests(home)
    plan = make_plan(
        [
            (forged(home, [".bashrc", "notes.txt"]), "forged"),
            (forged(home, ["wheels/my-project/mine-1.0-py3-none-any.whl"]), "forged"),
            (forged(home, ["selfcheck/state.json"]), "forged"),
            (forged(home, [real, real + ".body"]), "a real entry"),
        ]
    )
    result = execute(HOST, plan)
    assert set(result.removed) == {str(home / real), str(home / (real + ".body"))}
    assert {Path(p).name for p, why in result.skipped if "not cache-shaped" in why} == {
        ".bashrc",
        "notes.txt",
        "mine-1.0-py3-none-any.whl",
        "state.json",
    }
    after = digests(home)
    assert after == {k: v for k, v in before.items() if not k.startswith("http-v2/")}
    assert (home / "http-v2").is_dir() and not (home / "http-v2" / "a").exists()


def test_planted_symlinks_are_never_followed(real_caches: Path, tmp_path: Path) -> None:
    cache = real_caches / "pip-26.3"
    entries = scan(HOST, str(cache)).entries
    victim = tmp_path / "victim"
    # 1. the area dir http-v2 becomes a symlink to a copy holding the same names
    shutil.copytree(cache / "http-v2", victim / "http-v2")
    shutil.rmtree(cache / "http-v2")
    os.symlink(victim / "http-v2", cache / "http-v2")
    # 2. a built wheel's file becomes a symlink to a sentinel of the same content
    whl = next(e for e in entries if e.kind == Kind.BUILT_WHEEL)
    target = Path(whl.files[0].path)
    (victim / "wheel").mkdir()
    shutil.copy(target, victim / "wheel" / target.name)
    target.unlink()
    os.symlink(victim / "wheel" / target.name, target)
    before = digests(victim)
    result = execute(HOST, make_plan(purge(entries)))
    assert digests(victim) == before  # every sentinel survives
    reasons = {why for _, why in result.skipped}
    assert any(r.startswith("a directory on the way is") and "not followed" in r for r in reasons)
    assert "not a regular file (a symlink?): not followed" in reasons
    assert target.is_symlink()
    # 3. a dir on the way to the cache dir becomes a symlink: the whole cache is refused
    moved = tmp_path / "moved-caches"
    real_caches.rename(moved)
    os.symlink(moved, real_caches)
    other = scan(HOST, str(moved / "pip-23.2.1")).entries
    plan = make_plan([(e, "t") for e in other if e.area == "http"])
    relinked = [
        Entry(
            **{
                **e.__dict__,
                "cache_dir": str(real_caches / "pip-23.2.1"),
                "files": tuple(
                    FileInfo(**{**f.__dict__, "path": f.path.replace(str(moved), str(real_caches))})
                    for f in e.files
                ),
            }
        )
        for e in (i.entry for i in plan.items)
    ]
    refused = execute(HOST, make_plan([(e, "t") for e in relinked]))
    assert refused.removed == () and refused.skipped
    assert all("is a symlink: not followed" in why for _, why in refused.skipped)


def test_execute_accounts_per_inode(real_caches: Path, tmp_path: Path) -> None:
    cache = real_caches / "pip-26.3"
    body = Path(select(scan(HOST, str(cache)).entries, "six", kinds={Kind.WHEEL})[0].files[1].path)
    os.link(body, tmp_path / "elsewhere")  # another link lives outside the cache
    six = select(scan(HOST, str(cache)).entries, "six", kinds={Kind.WHEEL})
    assert six[0].files[1].path == str(body) and six[0].files[1].nlink == 2
    plan = make_plan([(e, "t") for e in six])
    assert plan.freed == plan.size - six[0].files[1].size
    seen: list[int] = []
    result = execute(HOST, plan, progress=seen.append)
    assert result.freed == plan.freed and sum(seen) == len(six)
    assert not result.skipped and (tmp_path / "elsewhere").exists()


def test_hard_linked_copies_in_two_caches_free_once(real_caches: Path, tmp_path: Path) -> None:
    cache = real_caches / "pip-26.3"
    subprocess.run(["cp", "-al", str(cache), str(tmp_path / "copy")], check=True)
    chosen = [
        (e, "t")
        for d in (cache, tmp_path / "copy")
        for e in select(scan(HOST, str(d)).entries, "idna")
    ]
    plan = make_plan(chosen, host=HOST)
    assert len(plan.per_cache()) == 2 and plan.freed * 2 == plan.size
    result = execute(HOST, plan)
    assert not result.skipped and result.freed == plan.freed


def test_remove_six_from_three_real_caches_through_the_library(real_caches: Path) -> None:
    names = ("pip-26.3", "pip-23.2.1", "pip-23-then-26")
    before = {n: digests(real_caches / n) for n in names}
    chosen = [
        pair for n in names for pair in by_pattern(scan(HOST, str(real_caches / n)).entries, "six")
    ]
    plan = make_plan(chosen, host=HOST)
    result = execute(HOST, plan)
    assert not result.skipped and result.freed == plan.freed > 0
    for n in names:
        after = digests(real_caches / n)
        assert not [e for e in scan(HOST, str(real_caches / n)).entries if e.project == "six"]
        assert all(before[n][rel] == digest for rel, digest in after.items())
        assert len(after) < len(before[n])


@pytest.mark.parametrize("as_owner", [False, True])
def test_large_removals_share_the_work_among_workers(
    real_caches_dir: Path, world_dir: Path, monkeypatch: pytest.MonkeyPatch, as_owner: bool
) -> None:
    """From PARALLEL_MIN entries the work is split among worker processes (each dropping
    to the owner when root cleans another user's cache); the result is the same: every
    planned file removed, emptied hash dirs gone, strays and selfcheck kept, each removed
    path reported once."""
    import cachecensus.act.delete as delete

    if as_owner and os.geteuid() != 0:
        pytest.skip("needs root (CI runs as root)")
    monkeypatch.setattr(delete, "PARALLEL_MIN", 2)
    cache = world_dir / "cache"
    shutil.copytree(real_caches_dir / "pip-23-then-26", cache)
    (cache / "http-v2" / "notes.txt").write_text("mine")
    if as_owner:
        for dirpath, dirnames, filenames in os.walk(cache):
            for name in dirnames + filenames:
                os.lchown(os.path.join(dirpath, name), NOBODY, NOBODY)
        os.lchown(cache, NOBODY, NOBODY)
    areas = {p.name for p in cache.iterdir() if p.name != "selfcheck"}
    result = scan(HOST, str(cache))
    plan = make_plan(purge(result.entries), host=HOST)
    assert len(plan.items) >= 4
    done = execute(HOST, plan)
    assert not done.skipped
    planned = sorted(f.path for item in plan.items for f in item.entry.files)
    assert sorted(done.removed) == planned
    left = {str(p.relative_to(cache)) for p in cache.rglob("*")}
    kept = {p for p in left if not p.startswith("selfcheck")}
    assert kept == areas | {"http-v2/notes.txt"}
    assert (cache / "http-v2" / "notes.txt").read_text() == "mine"
