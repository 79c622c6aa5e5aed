"""Root as a safe deputy: a directory a user named (a variable of her processes, her config
file, a symlink) is her *claim*, not a fact (cachecensus issue 11, items 2-4).

Real users (``useradd``), real processes carrying the user's variables (what root reads
them from), real trees checked byte for byte (every file's content, every link's target,
every mode and owner) before and after root runs the documented commands. The fast tests
at the end pin the rules on a fake machine (``Host(root=...)``), no root needed.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cachecensus.act.delete import cache_shape, execute
from cachecensus.caches import detect, never_a_cache, trash_index, with_trash
from cachecensus.caches import uv as uv_format
from cachecensus.claims import claim, follow
from cachecensus.host import Host
from cachecensus.models import User
from cachecensus.select import make_plan, purge

CACHECENSUS = str(Path(sys.executable).parent / "cachecensus")
HOST = Host.local()
A, B = "cc_claims_a", "cc_claims_b"
TRASH = ".cachecensus-trash-0123456789ab"
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root and real users (CI: root)")


# ---------------------------------------------------------------------- helpers


def tree(top: Path) -> dict[str, tuple[object, ...]]:
    """Everything under ``top`` (``top`` included): type, mode, owner, and content (sha256)
    or link target; never through a symlink."""
    found: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in ["", *dirnames, *filenames]:
            path = os.path.join(dirpath, name) if name else dirpath
            if not name and dirpath != str(top):
                continue  # each directory is listed by its parent
            st = os.lstat(path)
            rel = os.path.relpath(path, top)
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", os.readlink(path), st.st_uid)
            elif stat.S_ISREG(st.st_mode):
                digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
                found[rel] = ("file", st.st_mode, st.st_uid, digest)
            else:
                found[rel] = ("dir", st.st_mode, st.st_uid)
    return found


def run(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        CACHECENSUS_MEMO="off",
        CACHECENSUS_COMPLETION_FILE=str(tmp / "candidates.txt"),
    )
    return subprocess.run(
        [CACHECENSUS, *args], capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL
    )


def run_json(*args: str, tmp: Path) -> tuple[int, dict[str, object]]:
    proc = run(*args, "--json", tmp=tmp)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def messages(doc: dict[str, object]) -> str:
    problems = doc.get("problems")
    assert isinstance(problems, list)
    return "\n".join(f"{p['path']}: {p['message']}" for p in problems)


def chown_tree(top: Path, uid: int, gid: int) -> None:
    for dirpath, dirnames, filenames in os.walk(top):
        for name in [*dirnames, *filenames]:
            os.lchown(os.path.join(dirpath, name), uid, gid)
    os.lchown(top, uid, gid)


def _user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], check=True)
        return pwd.getpwnam(name)


@pytest.fixture(scope="module")
def users() -> Iterator[tuple[pwd.struct_passwd, pwd.struct_passwd]]:
    """The attacker (A) and another user (B), real accounts with real homes."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    yield _user(A), _user(B)


@pytest.fixture
def homes(users: tuple[pwd.struct_passwd, pwd.struct_passwd]) -> Iterator[tuple[Path, Path]]:
    """A's and B's homes, emptied before and after each test."""

    def reset() -> None:
        for pw in users:
            home = Path(pw.pw_dir)
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir(mode=0o755)
            os.chown(home, pw.pw_uid, pw.pw_gid)

    reset()
    yield Path(users[0].pw_dir), Path(users[1].pw_dir)
    reset()


@pytest.fixture
def world() -> Iterator[Path]:
    """A root-owned directory every user can traverse (pytest's tmp dirs are root-only)."""
    top = Path(tempfile.mkdtemp(prefix="cc-claims-"))
    os.chmod(top, 0o755)
    yield top
    shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def as_user() -> Iterator[Callable[[pwd.struct_passwd, dict[str, str]], subprocess.Popen[bytes]]]:
    """Start a real process of a user with exactly these variables (root reads a user's
    variables from her running processes)."""
    started: list[subprocess.Popen[bytes]] = []

    def start(pw: pwd.struct_passwd, env: dict[str, str]) -> subprocess.Popen[bytes]:
        full = {"HOME": pw.pw_dir, "USER": pw.pw_name, "PATH": "/usr/bin:/bin", **env}
        proc = subprocess.Popen(
            ["sleep", "300"],
            user=pw.pw_uid,
            group=pw.pw_gid,
            extra_groups=[],
            env=full,
            cwd=pw.pw_dir,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def as_owner(pw: pwd.struct_passwd, *argv: str) -> None:
    """Run a command as the user (she makes her own links and files)."""
    subprocess.run(argv, user=pw.pw_uid, group=pw.pw_gid, extra_groups=[], check=True)


def copy_cache(src: Path, dest: Path, owner: pwd.struct_passwd | None = None) -> Path:
    shutil.copytree(src, dest, symlinks=True)
    if owner is not None:
        chown_tree(dest, owner.pw_uid, owner.pw_gid)
    return dest


# ---------------------------------------------------------------------- item 2: symlinks


@root_only
@pytest.mark.slow
def test_a_users_symlinked_cache_never_empties_a_root_owned_ci_cache(
    users: tuple[pwd.struct_passwd, pwd.struct_passwd],
    homes: tuple[Path, Path],
    world: Path,
    real_caches_dir: Path,
    tmp_path: Path,
) -> None:
    """``ln -s /srv/ci-uvcache ~/.cache/uv`` (and the same for pip): root's
    ``purge``/``remove``/``prune --user A --yes`` leave the root-owned caches identical,
    and say why."""
    a, _ = users
    home_a, _ = homes
    ci_uv = copy_cache(real_caches_dir / "uv-0.13.9", world / "ci-uvcache")
    ci_pip = copy_cache(real_caches_dir / "pip-26.3", world / "ci-pipcache")
    as_owner(a, "mkdir", "-p", str(home_a / ".cache"))
    as_owner(a, "ln", "-s", str(ci_uv), str(home_a / ".cache" / "uv"))
    as_owner(a, "ln", "-s", str(ci_pip), str(home_a / ".cache" / "pip"))
    before = tree(world)
    for command in (("purge",), ("remove", "six"), ("prune",)):
        code, doc = run_json(*command, "--user", A, "--yes", tmp=tmp_path)
        assert tree(world) == before, command
        assert code == 1 and doc["removed"] == []
        said = messages(doc)
        assert f"{ci_uv}: uv cache of {A}" in said and f"is owned by root, not {A}" in said
    # root naming A's link on the command line: the link is A's, not root's
    for link in (home_a / ".cache" / "uv", home_a / ".cache" / "pip"):
        code, doc = run_json("purge", "--cache-dir", str(link), "--yes", tmp=tmp_path)
        assert tree(world) == before
        assert code == 1 and f"a symlink owned by {A}" in messages(doc)


@root_only
@pytest.mark.slow
def test_a_symlink_to_another_users_cache_never_empties_hers(
    users: tuple[pwd.struct_passwd, pwd.struct_passwd],
    homes: tuple[Path, Path],
    real_caches_dir: Path,
    tmp_path: Path,
) -> None:
    """A points her ``~/.cache/uv`` and ``~/.cache/pip`` at B's real caches: root acting
    for A (by ``--user`` or ``--cache-dir`` through A's links) changes nothing of B's; root
    acting for B does empty them (they are real, removable caches)."""
    a, b = users
    home_a, home_b = homes
    as_owner(b, "mkdir", "-p", str(home_b / ".cache"))
    copy_cache(real_caches_dir / "uv-0.13.9", home_b / ".cache" / "uv", b)
    copy_cache(real_caches_dir / "pip-26.3", home_b / ".cache" / "pip", b)
    as_owner(a, "mkdir", "-p", str(home_a / ".cache"))
    as_owner(a, "ln", "-s", str(home_b / ".cache" / "uv"), str(home_a / ".cache" / "uv"))
    as_owner(a, "ln", "-s", str(home_b / ".cache" / "pip"), str(home_a / ".cache" / "pip"))
    before = tree(home_b)
    code, doc = run_json("purge", "--user", A, "--yes", tmp=tmp_path)
    assert tree(home_b) == before and doc["removed"] == []
    assert f"is owned by {B}, not {A}" in messages(doc)
    for tool in ("uv", "pip"):
        link = str(home_a / ".cache" / tool)
        code, doc = run_json("purge", "--cache-dir", link, "--yes", tmp=tmp_path)
        assert code == 1 and tree(home_b) == before
    # the same caches, for their owner: real caches a purge would empty
    code, doc = run_json("purge", "--user", B, "--dry-run", tmp=tmp_path)
    plan = doc["plan"]
    assert isinstance(plan, dict) and plan["entries"] > 0
    assert set(plan["caches"]) >= {str(home_b / ".cache/uv"), str(home_b / ".cache/pip")}


@root_only
@pytest.mark.slow
def test_a_users_own_links_to_her_own_dirs_still_work_and_two_names_are_one_cache(
    users: tuple[pwd.struct_passwd, pwd.struct_passwd],
    homes: tuple[Path, Path],
    world: Path,
    real_caches_dir: Path,
    tmp_path: Path,
) -> None:
    """Legitimate links: A's ``~/.cache/uv`` -> her own ``~/uv-real`` is her cache, and
    planned for her; root's link to it and its own path are one cache, not two."""
    a, _ = users
    home_a, _ = homes
    real = copy_cache(real_caches_dir / "uv-0.13.9", home_a / "uv-real", a)
    as_owner(a, "mkdir", "-p", str(home_a / ".cache"))
    as_owner(a, "ln", "-s", str(real), str(home_a / ".cache" / "uv"))
    os.symlink(real, world / "root-link")  # root's own link: trusted for anyone
    code, doc = run_json(
        "purge",
        "--cache-dir",
        str(world / "root-link"),
        "--cache-dir",
        str(real),
        "--dry-run",
        tmp=tmp_path,
    )
    plan = doc["plan"]
    assert code == 0 and isinstance(plan, dict)
    assert plan["caches"] == [str(real)] and plan["entries"] > 0
    _, doc = run_json("purge", "--user", A, "--tool", "uv", "--dry-run", tmp=tmp_path)
    plan = doc["plan"]
    assert isinstance(plan, dict) and plan["caches"] == [str(real)] and plan["entries"] > 0
    assert "never removed" not in messages(doc)


# ---------------------------------------------------------------------- item 3: settings


def _victims(world: Path, b: pwd.struct_passwd, real_caches_dir: Path) -> dict[str, Path]:
    """Directories a hostile user names in her settings: root's package state shaped like
    conda's (with conda's own marker, so only ownership protects it), npm's sources,
    a sticky /var/tmp with another user's in-flight ``.tmpXXXXXX`` dirs and a uv tag."""
    ucf = world / "var-lib-ucf"
    (ucf / "cache").mkdir(parents=True)
    (ucf / "cache" / "0123abcd.json").write_text("dpkg state")
    (ucf / "hashfile").write_text("ucf hashes")
    (ucf / "urls.txt").write_text("")
    (ucf / "backup-2024-06.tar.bz2").write_bytes(b"BZh9 backup")
    (ucf / ".trash").mkdir()
    (ucf / ".trash" / "kept").write_text("x")
    npm = world / "usr-lib-node_modules-npm-lib"
    (npm / "cli-1.0-0" / "info").mkdir(parents=True)
    (npm / "cli-1.0-0" / "info" / "index.json").write_text("{}")
    (npm / "cli-1.0-0" / "npm.js").write_text("module.exports = 1")
    (npm / "urls.txt").write_text("")
    vartmp = world / "var-tmp"
    vartmp.mkdir()
    os.chmod(vartmp, 0o1777)
    (vartmp / "CACHEDIR.TAG").write_bytes(uv_format.TAG_SIGNATURE + b"\n")
    inflight = vartmp / ".tmpAbC123"
    inflight.mkdir()
    (inflight / "upload.part").write_text("someone else's data")
    chown_tree(inflight, b.pw_uid, b.pw_gid)
    vartmp2 = world / "var-tmp-2"
    copy_cache(real_caches_dir / "uv-0.13.9", vartmp2)
    return {"ucf": ucf, "npm": npm, "vartmp": vartmp, "vartmp2": vartmp2}


@root_only
@pytest.mark.slow
def test_a_users_variables_naming_system_dirs_make_root_delete_nothing(
    users: tuple[pwd.struct_passwd, pwd.struct_passwd],
    homes: tuple[Path, Path],
    world: Path,
    real_caches_dir: Path,
    as_user: Callable[[pwd.struct_passwd, dict[str, str]], subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    """A process of A carries ``CONDA_PKGS_DIRS=<ucf>,<npm>`` and ``UV_CACHE_DIR=<var/tmp>``,
    and her ``uv.toml`` names another root-owned uv cache: root's ``purge``/``prune`` for
    her (and for every user) leaves every victim identical and reports each refusal."""
    a, b = users
    home_a, _ = homes
    victims = _victims(world, b, real_caches_dir)
    hers = as_user(
        a,
        {
            "CONDA_EXE": "/opt/nowhere/bin/conda",
            "CONDA_PKGS_DIRS": f"{victims['ucf']},{victims['npm']}",
            "UV_CACHE_DIR": str(victims["vartmp"]),
        },
    )
    before = tree(world)
    for command in (("purge",), ("prune",)):
        code, doc = run_json(*command, "--user", A, "--yes", tmp=tmp_path)
        assert tree(world) == before, command
        said = messages(doc)
        assert code == 1 and doc["removed"] == []
        for name in ("ucf", "npm", "vartmp"):
            assert f"{victims[name]}: " in said and f"is owned by root, not {A}" in said
        # each refusal names the setting that made the claim (a process's variable: its PID)
        assert "CONDA_PKGS_DIRS" in said and "UV_CACHE_DIR of PID" in said
    # the same claim from her config file (no process needed)
    hers.kill()
    hers.wait()
    as_owner(a, "mkdir", "-p", str(home_a / ".config" / "uv"))
    config = home_a / ".config" / "uv" / "uv.toml"
    as_owner(a, "sh", "-c", f"echo 'cache-dir = \"{victims['vartmp2']}\"' > {config}")
    code, doc = run_json("purge", "--user", A, "--tool", "uv", "--yes", tmp=tmp_path)
    assert tree(world) == before and code == 1
    assert f"{victims['vartmp2']}: uv cache of {A} ({config}:1" in messages(doc)
    # every user: nothing of the victims is even planned
    as_user(a, {"UV_CACHE_DIR": str(victims["vartmp"])})
    code, doc = run_json(
        "purge", "--all-users", "--tool", "uv", "--tool", "conda", "--dry-run", tmp=tmp_path
    )
    plan = doc["plan"]
    assert isinstance(plan, dict)
    assert not [c for c in plan["caches"] if str(c).startswith(str(world))]
    assert tree(world) == before


# ---------------------------------------------------------------------- item 4: $HOME


HOME_FILES = {
    "cache/notes.txt": "conda's cache/<anything>",
    "backup-2024-06.tar.bz2": "conda's NAME-VER-BUILD.tar.bz2",
    ".trash/old-draft.txt": "conda's .trash/",
    ".logs/build.log": "conda's .logs/",
    "my-proj-v2/info/index.json": "conda's extracted package",
    "my-proj-v2/src/main.py": "conda's extracted package",
    "git-v2/notes.txt": "uv's git bucket",
    "python-v1/setup.py": "uv's python bucket",
    "builds-v0/thesis.tex": "uv's builds bucket",
    ".tmpAbC123/draft.txt": "uv's leftover temporary dir",
    "metadata/package_meta_" + "0" * 40 + ".json": "pdm's metadata",
    "packages/x-1.0-py3-none-any.whl.cache/mod.py": "pdm's packages",
    "http/http-cache.db": "pdm's HTTP database",
    "wheels/my-project/mine-1.0-py3-none-any.whl": "pip's wheels/",
    f"other/.cache/uv/archive-v0/{TRASH}/six.py": "a nested cache's trash",
    f"{TRASH}/kept.txt": "a trash name at the top",
}


@root_only
@pytest.mark.slow
@pytest.mark.parametrize("markers", [False, True], ids=["bare-home", "home-with-markers"])
def test_home_as_every_tools_cache_loses_none_of_the_users_files(
    users: tuple[pwd.struct_passwd, pwd.struct_passwd],
    homes: tuple[Path, Path],
    as_user: Callable[[pwd.struct_passwd, dict[str, str]], subprocess.Popen[bytes]],
    tmp_path: Path,
    markers: bool,
) -> None:
    """Every tool's cache misconfigured as A's home (her own directory, so her claim is
    accepted): root's purge/prune for her lose nothing, even when the tools' markers are
    there too (a home is never a cache to remove from); ``--cache-dir ~A --tool T`` too."""
    a, _ = users
    home_a, _ = homes
    for rel, _why in HOME_FILES.items():
        as_owner(a, "mkdir", "-p", str((home_a / rel).parent))
        as_owner(a, "sh", "-c", f"echo 'mine: {rel}' > '{home_a / rel}'")
    if markers:
        tag = uv_format.TAG_SIGNATURE.decode()
        as_owner(a, "sh", "-c", f"printf '{tag}' > {home_a}/CACHEDIR.TAG")
        as_owner(a, "touch", str(home_a / "urls.txt"))
        as_owner(a, "mkdir", str(home_a / "self-check"))
    home = str(home_a)
    as_user(
        a,
        {
            "PIP_CACHE_DIR": home,
            "UV_CACHE_DIR": home,
            "CONDA_EXE": "/opt/nowhere/bin/conda",
            "CONDA_PKGS_DIRS": home,
            "PDM_CACHE_DIR": home,
            "POETRY_CACHE_DIR": home,
            "PIPENV_CACHE_DIR": home,
        },
    )
    before = tree(home_a)
    for command in (("purge",), ("prune",)):
        code, doc = run_json(*command, "--user", A, "--yes", tmp=tmp_path)
        assert tree(home_a) == before, command
        assert doc["removed"] == [] and code == 1
        assert f"{home}: {A}'s home directory, not a cache" in messages(doc)
    for tool in ("uv", "conda", "pdm", "pip", "poetry"):
        code, doc = run_json("purge", "--cache-dir", home, "--tool", tool, "--yes", tmp=tmp_path)
        assert tree(home_a) == before, tool
        assert code == 1 and "not removing anything there" in messages(doc)


@root_only
def test_purge_cache_dir_of_a_home_refuses_to_guess(
    users: tuple[pwd.struct_passwd, pwd.struct_passwd], homes: tuple[Path, Path], tmp_path: Path
) -> None:
    """``purge --cache-dir /home/A`` (no ``--tool``): not guessed to be any tool's cache
    (it once was guessed uv's for two directories named like buckets)."""
    a, _ = users
    home_a, _ = homes
    as_owner(a, "mkdir", "-p", str(home_a / "git-v2"), str(home_a / "python-v1"))
    as_owner(a, "touch", str(home_a / ".lock"), str(home_a / "git-v2" / "notes.txt"))
    before = tree(home_a)
    code, doc = run_json("purge", "--cache-dir", str(home_a), "--yes", tmp=tmp_path)
    assert code == 1 and tree(home_a) == before
    plan = doc["plan"]
    assert isinstance(plan, dict) and plan["entries"] == 0
    assert f"{A}'s home directory, not any tool's cache: not guessing" in messages(doc)
    assert detect(HOST, str(home_a)) is None
    for system in ("/", "/etc", "/usr", "/var", "/tmp", "/root", "/home"):
        assert detect(HOST, system) is None and never_a_cache(HOST, system)


# ---------------------------------------------------------------------- trash, TOCTOU


def test_nested_trash_at_depth_is_never_touched(real_caches: Path, tmp_path: Path) -> None:
    """A ``.cachecensus-trash-<hex>`` counts as our leftover only where the delete engine
    makes one (beside an entry directory the format names): in a pip cache (no entry
    directories at all), in a nested cache, or at another depth of a uv cache, it is the
    user's, and purge/prune never touch it; the real leftover in ``archive-v0`` goes."""
    pipc = real_caches / "pip-26.3"
    for rel in (
        f"{TRASH}/kept.txt",
        f"http-v2/{TRASH}/kept.txt",
        f"projects/app/.cache/uv/archive-v0/{TRASH}/six.py",
        f"projects/app/.cache/pdm/packages/{TRASH}/mod.py",
    ):
        (pipc / rel).parent.mkdir(parents=True, exist_ok=True)
        (pipc / rel).write_text("mine")
    uvc = real_caches / "uv-0.13.9"
    for rel in (f"sdists-v11/{TRASH}/kept.txt", f"sdists-v11/pypi/{TRASH}/kept.txt"):
        (uvc / rel).parent.mkdir(parents=True, exist_ok=True)
        (uvc / rel).write_text("mine")
    leftover = uvc / "archive-v0" / TRASH
    (leftover / "six").mkdir(parents=True)
    (leftover / "six" / "__init__.py").write_text("an interrupted removal's")
    keep = {p: p.read_bytes() for p in [*pipc.rglob("kept.txt"), *pipc.rglob("*.py")]}
    keep |= {p: p.read_bytes() for p in uvc.rglob("kept.txt")}
    for command in ("purge", "prune"):
        for cache, tool in ((pipc, "pip"), (uvc, "uv")):
            proc = run(command, "--cache-dir", str(cache), "--tool", tool, "--yes", tmp=tmp_path)
            assert "Traceback" not in proc.stderr
    assert {p: p.read_bytes() for p in keep} == keep
    assert not leftover.exists()


@root_only
@pytest.mark.slow
def test_a_root_owned_dir_swapped_in_by_a_racing_user_is_never_emptied(
    users: tuple[pwd.struct_passwd, pwd.struct_passwd], world: Path, real_caches_dir: Path
) -> None:
    """A's cache was accepted (hers); while root removes, a thread swaps a root-owned copy
    in and out under the same name: the removal only ever works in a directory owned by
    A (as A), and the root-owned copy stays identical."""
    a, _ = users
    mine = copy_cache(real_caches_dir / "uv-0.13.9", world / "cache", a)
    bait = copy_cache(real_caches_dir / "uv-0.13.9", world / "bait")
    aside = world / "aside"
    scan = with_trash(uv_format.scan(HOST, str(mine)))
    found = claim(HOST, str(mine), User(A, a.pw_uid, a.pw_gid, a.pw_dir, "/bin/sh"))
    assert found.refused is None and found.uid == a.pw_uid
    plan = make_plan(purge(scan.entries))
    before = tree(bait)
    owners = {str(mine): a.pw_uid}
    # once: the root-owned copy sits under the accepted name when removal opens it
    mine.rename(aside)
    bait.rename(mine)
    refused = execute(HOST, plan, force=True, owners=owners)
    mine.rename(bait)
    aside.rename(mine)
    assert refused.removed == () and refused.skipped
    assert all("owned by uid 0 now, not uid" in why for _, why in refused.skipped)
    assert tree(bait) == before
    stop = threading.Event()

    def swapper() -> None:
        while not stop.is_set():
            try:
                mine.rename(aside)
                bait.rename(mine)
                time.sleep(0)
                mine.rename(bait)
                aside.rename(mine)
            except OSError:
                continue

    results = []
    thread = threading.Thread(target=swapper)
    thread.start()
    try:
        for _ in range(3):
            results.append(execute(HOST, plan, force=True, owners=owners))
    finally:
        stop.set()
        thread.join()
    if not mine.exists():
        aside.rename(mine)
    if not bait.exists():
        mine.rename(bait)
    assert tree(bait) == before
    reasons = {why for r in results for _, why in r.skipped}
    assert all("Traceback" not in why for why in reasons)


# ---------------------------------------------------------------------- the rules, fast


def _machine(tmp_path: Path) -> tuple[Host, Path]:
    root = tmp_path / "m"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text(
        "root:x:0:0::/root:/bin/sh\n"
        "alice:x:1000:1000::/home/alice:/bin/sh\n"
        "bob:x:1001:1001::/home/bob:/bin/sh\n"
    )
    for home in ("root", "home/alice", "home/bob", "srv/ci"):
        (root / home).mkdir(parents=True)
    return Host(root=str(root)), root


@root_only
def test_follow_resolves_only_trusted_links(tmp_path: Path) -> None:
    host, root = _machine(tmp_path)
    (root / "home/alice/real").mkdir()
    os.chown(root / "home/alice/real", 1000, 1000)
    os.symlink("/home/alice/real", root / "home/alice/mine")
    os.lchown(root / "home/alice/mine", 1000, 1000)
    os.symlink("/srv/ci", root / "home/bob/to-ci")
    os.lchown(root / "home/bob/to-ci", 1001, 1001)
    os.symlink("../alice/real", root / "home/bob/rel")  # root-owned: trusted for anyone
    assert follow(host, "/home/alice/mine", {0, 1000}) == ("/home/alice/real", None)
    path, why = follow(host, "/home/bob/to-ci/x", {0, 1000})
    assert path == "/home/bob/to-ci/x" and why == (
        "is reached through /home/bob/to-ci, a symlink owned by bob"
    )
    assert follow(host, "/home/bob/rel/../real", {0}) == ("/home/alice/real", None)
    os.symlink("loop", root / "home/alice/loop")
    assert "too many levels" in str(follow(host, "/home/alice/loop", {0})[1])
    alice = User("alice", 1000, 1000, "/home/alice", "/bin/sh")
    assert claim(host, "/home/alice/mine", alice) == claim(host, "/home/alice/real", alice)
    assert claim(host, "/home/alice/real", alice).uid == 1000
    assert claim(host, "/srv/ci", alice).refused == "is owned by root, not alice"
    assert claim(host, "/home/bob/to-ci", alice).refused is not None
    assert claim(host, "/srv/ci", None).refused is None  # root's own choice
    assert claim(host, "/home/alice/mine", None).refused is not None  # alice's link
    assert claim(host, "/home/alice/absent", alice) == claim(host, "/home/alice/absent", None)


def test_trash_only_where_the_engine_makes_it() -> None:
    t = TRASH
    assert trash_index("uv", ["archive-v0", t, "six.py"]) == 1
    assert trash_index("uv", [t, "x"]) == 0  # an interrupted uv's .tmpXXXXXX, moved aside
    assert trash_index("uv", ["git-v2", "checkouts", t, "f"]) == 2
    assert trash_index("uv", ["sdists-v11", "pypi", "six", t, "f"]) == 3
    assert trash_index("uv", ["sdists-v11", t, "f"]) is None
    assert trash_index("uv", ["archive-v0", "abc", t, "f"]) is None
    assert trash_index("conda", [t, "info", "index.json"]) == 0
    assert trash_index("conda", ["cache", t, "x"]) is None
    assert trash_index("pdm", ["packages", t, "mod.py"]) == 1
    assert trash_index("pdm", ["projects", "x", "packages", t, "mod.py"]) is None
    for tool in ("pip", "poetry", "pipenv"):
        assert trash_index(tool, [t, "x"]) is None
    assert cache_shape(f"home/alice/.cache/uv/archive-v0/{t}/six.py", "uv") is None
    assert cache_shape(f"archive-v0/{t}/six.py", "uv") == "member"
    assert cache_shape(f"other/{t}/x", "pip") is None


def test_loose_names_are_not_uvs_or_condas() -> None:
    for rel in ("git-v2/notes.txt", "python-v1/setup.py", "builds-v0/thesis.tex"):
        assert cache_shape(rel, "uv") is None, rel
    assert cache_shape("git-v2/db/4fb6e22a3474ab70/HEAD", "uv") == "member"
    assert cache_shape("git-v2/elsewhere/4fb6e22a3474ab70/HEAD", "uv") is None
    assert cache_shape("python-v1/downloads-json/4fb6e22a3474ab70.msgpack", "uv") == "member"
    assert cache_shape("cache/notes.txt", "conda") is None
    assert cache_shape("cache/497deca9.json", "conda") == "record"


def test_a_tag_of_another_tool_is_not_uvs(tmp_path: Path) -> None:
    """uv is guessed only from its own CACHEDIR.TAG (the signature) beside a bucket."""
    (tmp_path / "git-v2").mkdir()
    (tmp_path / "python-v1").mkdir()
    assert not uv_format.looks_like(HOST, str(tmp_path))  # two bucket names alone
    (tmp_path / "CACHEDIR.TAG").write_text("not a tag\n")
    assert not uv_format.looks_like(HOST, str(tmp_path))
    (tmp_path / "CACHEDIR.TAG").write_bytes(uv_format.TAG_SIGNATURE)
    assert uv_format.looks_like(HOST, str(tmp_path))
