"""A messy machine in a fake root: users' homes holding real pip and uv caches (the
real-caches fixture) and poetry, pdm and conda caches laid out as those tools write them;
then hostile objects planted in the caches and as config files, one named planter each.

The *world* is what the whole-tree checksum covers::

    top/root/      the machine cachecensus audits (``--root top/root``)
    top/outside/   beside it: what a link escaping the root would reach

As root the homes belong to their (fake) users, so removal really drops to them; as
another user every file is the invoker's and the planters that need root are skipped.
"""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import stat
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from test_discover import python_build, venv

IS_ROOT = os.geteuid() == 0

#: The users of the fake passwd (uids as root; everything is the invoker's otherwise).
UIDS = {"root": 0, "alice": 2101, "bob": 2102, "evil": 2104}
#: What every home must keep whatever runs: files of the user's own that are shaped like a
#: tool's cache entries (a guess that takes $HOME for a cache would take them).
PERSONAL = ("notes.txt", "packages", "wheels", "hashes")
#: The system's own directories in the fake root: never a cache, whoever names them.
SYSTEM_DIRS = ("etc", "usr", "srv", "dev")

# uv's real archives in the fixture, by the project each unpacks
UV_IDNA, UV_SIX = "khn_EPV4yai4qrkA", "R6KQz86mbwt2Tgku"
UV_PACKAGING, UV_ATTRS = "ZDWHk6z3zzj4Ycb4", "mcBv4XXwQGjtWtzU"
SIXTY = "0123456789abcdef" * 4


def uid(name: str) -> int:
    return UIDS[name] if IS_ROOT else os.getuid()


#: How old every file and directory of a new machine looks (atime and mtime): its caches
#: were filled long ago, so age rules have something to take.
AGE_DAYS = 100
#: A directory changed this recently makes a scan "racy" and keeps it out of the snapshots
#: (cachecensus.snapshot.RACY_S): only a machine settled this long exercises them.
SETTLE_S = 2.2


@dataclass
class World:
    top: Path
    real_caches: Path
    planted: list[str] = field(default_factory=list)
    built_at: float = 0.0

    def settle(self) -> None:
        """Wait until every directory's change time is older than a racy scan's window, so
        that a read-only command keeps its scan as a snapshot and the next one loads it."""
        time.sleep(max(0.0, SETTLE_S - (time.time() - self.built_at)))

    @property
    def root(self) -> Path:
        return self.top / "root"

    @property
    def outside(self) -> Path:
        return self.top / "outside"

    def real(self, system: str | bytes) -> bytes:
        """This machine's path of a system path (bytes: names need not be UTF-8)."""
        return os.fsencode(self.root) + os.fsencode(system)

    def home(self, user: str) -> Path:
        return self.root / ("root" if user == "root" else f"home/{user}")

    def pip(self, user: str = "alice") -> Path:
        return self.home(user) / ".cache/pip"

    def uv(self) -> Path:
        return self.home("alice") / ".cache/uv"

    def poetry(self) -> Path:
        return self.home("alice") / ".cache/pypoetry"

    def pdm(self) -> Path:
        return self.home("alice") / ".cache/pdm"

    def conda(self) -> Path:
        return self.home("alice") / "miniconda3/pkgs"

    def records(self, cache: Path) -> list[Path]:
        """The http-v2 records of a pip cache, sorted (planters take fixed ones)."""
        return sorted(
            p for p in (cache / "http-v2").rglob("*") if p.is_file() and p.suffix != ".body"
        )

    def canaries(self, users: Iterable[str] = ("root", "alice", "bob", "evil")) -> list[bytes]:
        """Checksum keys of subtrees no command may change or plan: the system's own dirs,
        a root-owned cache nobody configured, everything outside the root, each home's
        personal files, and the whole home of every user the command is not about."""
        keys = [os.fsencode(p) for p in (self.outside, *(self.root / d for d in SYSTEM_DIRS))]
        chosen = set(users)
        for name in UIDS:
            home = os.fsencode(self.home(name))
            if name in chosen:
                keys += [home + b"/" + p.encode() for p in PERSONAL]
            else:
                keys.append(home)
        return keys

    def give(self, path: Path | bytes, user: str) -> None:
        """``lchown`` one new object to ``user`` (as root)."""
        if IS_ROOT:
            os.lchown(path, uid(user), uid(user))


# ---------------------------------------------------------------------- pieces


def _copy(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, symlinks=True)


def _own_tree(top: Path | bytes, user: str) -> None:
    _chown_tree(top, uid(user))


def _chown_tree(top: Path | bytes, n: int) -> None:
    """``lchown`` everything under ``top`` (itself included) to uid and gid ``n``."""
    if not IS_ROOT:
        return
    os.lchown(top, n, n)
    for dirpath, dirnames, filenames in os.walk(os.fsencode(top)):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), n, n)


def _wheels_of(cache: Path) -> dict[str, bytes]:
    """``name-version`` -> bytes of each wheel body in a pip cache (found by reading it)."""
    found: dict[str, bytes] = {}
    for body in sorted((cache / "http-v2").rglob("*.body")):
        data = body.read_bytes()
        if not data.startswith(b"PK"):
            continue
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for name in zf.namelist():
                top = name.split("/")[0]
                if top.endswith(".dist-info"):
                    found[top[: -len(".dist-info")]] = data
                    break
    return found


def _poetry_cache(dest: Path, pip_cache: Path, wheels: dict[str, bytes]) -> None:
    for n, (stem, data) in enumerate(sorted(wheels.items())):
        d = dest / "artifacts" / f"{n:02x}" / "ab" / "cd" / (SIXTY[:56] + f"{n:02x}")
        d.mkdir(parents=True)
        (d / f"{stem}-py3-none-any.whl").write_bytes(data)
    _copy(pip_cache / "http-v2", dest / "cache/repositories/PyPI/_http_")


def _pdm_cache(dest: Path, wheels: dict[str, bytes]) -> None:
    six = wheels["six-1.16.0"]
    w = dest / "wheels/aa/bb/cc" / SIXTY[:50]
    w.mkdir(parents=True)
    (w / "six-1.16.0-py2.py3-none-any.whl").write_bytes(six)
    h = dest / "hashes/aa/bb/cc/dd"
    h.mkdir(parents=True)
    (h / SIXTY[:48]).write_text("sha256:" + SIXTY)
    (dest / "metadata").mkdir()
    (dest / "metadata" / f"package_meta_{SIXTY[:40]}.json").write_text('{"name": "six"}')
    pkg = dest / "packages/six-1.16.0-py2.py3-none-any.whl.cache"
    with zipfile.ZipFile(io.BytesIO(six)) as zf:
        zf.extractall(pkg)
    (pkg / ".referrers").write_text("")
    (dest / "http").mkdir()
    with sqlite3.connect(dest / "http/http-cache.db") as db:
        db.execute("CREATE TABLE entries (id TEXT PRIMARY KEY, data BLOB)")
    db.close()


def _conda_root(root: Path, home: Path) -> None:
    base = home / "miniconda3"
    python_build(root, "/" + str(base.relative_to(root)), "3.11.4")
    (base / "conda-meta").mkdir()
    (base / "conda-meta/history").write_text("==> 2024-01-01 00:00:00 <==\n")
    pkgs = base / "pkgs"
    pkgs.mkdir()
    channel = "https://repo.anaconda.com/pkgs/main/noarch"
    names = ["six-1.16.0-py_0", "idna-3.7-py_0", "attrs-23.2.0-py_0"]
    (pkgs / "urls.txt").write_text("".join(f"{channel}/{n}.conda\n" for n in names))
    for n in names:
        (pkgs / f"{n}.conda").write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip
        name, version, build = n.rsplit("-", 2)
        info = pkgs / n / "info"
        info.mkdir(parents=True)
        (info / "index.json").write_text(
            f'{{"name": "{name}", "version": "{version}", "build": "{build}"}}'
        )
        (pkgs / n / "site-packages").mkdir()
        (pkgs / n / "site-packages" / f"{name}.py").write_text("# " + n)
    (pkgs / "cache").mkdir()
    (pkgs / "cache/497deca9.json").write_text('{"info": {}, "packages": {}}')


def _personal(home: Path) -> None:
    """Files of the user's own, in shapes a tool could claim (pdm, pip)."""
    (home / "notes.txt").write_text("my notes\n")
    draft = home / "packages/draft-2.whl.cache"
    draft.mkdir(parents=True)
    (draft / "thesis.tex").write_text("\\documentclass{article}\n")
    w = home / "wheels/ab/cd/ef" / SIXTY[:50]
    w.mkdir(parents=True)
    (w / "mine-1.0-py3-none-any.whl").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    h = home / "hashes/aa/bb/cc/dd"
    h.mkdir(parents=True)
    (h / SIXTY[:48]).write_text("my hash\n")


def build(top: Path, real_caches: Path, hostile: Iterable[str] = ()) -> World:
    """The machine at ``top/root`` (plus ``top/outside``), with the named planters run."""
    world = World(top=top, real_caches=real_caches)
    root = world.root
    (root / "etc").mkdir(parents=True)
    lines = ["root:x:0:0:root:/root:/bin/bash", "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin"]
    lines += [f"{n}:x:{uid(n)}:{uid(n)}::/home/{n}:/bin/bash" for n in UIDS if n != "root"]
    (root / "etc/passwd").write_text("\n".join(lines) + "\n")
    (root / "etc/group").write_text("root:x:0:\n")
    (root / "etc/shadow").write_text("root:$6$secret:19000:0:99999:7:::\n")
    os.chmod(root / "etc/shadow", 0o600)
    (root / "dev").mkdir()
    if IS_ROOT:
        os.mknod(root / "dev/zero", 0o666 | stat.S_IFCHR, os.makedev(1, 5))
        os.mknod(root / "dev/null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    python_build(root, "/usr", "3.11.2", pip="23.0.1")
    # /usr holding what looks like a conda package dir: a guess that takes /usr for a
    # cache (a user's pkgs_dirs, --cache-dir /usr) would remove it
    (root / "usr/urls.txt").write_text("https://example.org/six-1.16.0-py_0.conda\n")
    (root / "usr/six-1.16.0-py_0.conda").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    # a root-owned cache nobody configured: every user's claim on it is a lie
    _copy(real_caches / "pip-26.3", root / "srv/victim/pip")
    _copy(real_caches / "uv-0.13.9", root / "srv/victim/uv")
    world.outside.mkdir()
    (world.outside / "secret").write_text("outside the audited root\n")
    _copy(real_caches / "pip-26.3", world.outside / "pip")
    # root's own cache
    (root / "root/.cache").mkdir(parents=True)
    _copy(real_caches / "pip-23-then-26", root / "root/.cache/pip")
    # alice: every tool's cache, a conda root, a venv
    alice = world.home("alice")
    alice.mkdir(parents=True)
    _copy(real_caches / "pip-26.3", world.pip("alice"))
    _copy(real_caches / "uv-0.13.9", world.uv())
    wheels = _wheels_of(world.pip("alice"))
    _poetry_cache(world.poetry(), world.pip("alice"), wheels)
    _pdm_cache(world.pdm(), wheels)
    _conda_root(root, alice)
    venv(root, "/home/alice/proj/.venv", "/usr/bin/python3.11", "3.11.2")
    _personal(alice)
    # bob: an old pip's cache
    bob = world.home("bob")
    bob.mkdir(parents=True)
    _copy(real_caches / "pip-23.2.1", world.pip("bob"))
    _personal(bob)
    # evil: a home and nothing else (the planters give evil ideas)
    world.home("evil").mkdir(parents=True)
    _personal(world.home("evil"))
    for name in UIDS:
        _own_tree(world.home(name), name)
    for name in hostile:
        plant(world, name)
    _age(world.top, AGE_DAYS)
    world.built_at = time.time()
    return world


def _age(top: Path, days: float) -> None:
    """Set atime and mtime of everything under ``top`` (links themselves) ``days`` back."""
    then = time.time() - days * 86400
    for dirpath, dirnames, filenames in os.walk(os.fsencode(top)):
        for name in dirnames + filenames:
            os.utime(os.path.join(dirpath, name), (then, then), follow_symlinks=False)


# ---------------------------------------------------------------------- hostile objects

Planter = Callable[[World], None]
#: name -> (planter, needs root)
HOSTILE: dict[str, tuple[Planter, bool]] = {}


def hostile(name: str, needs_root: bool = False) -> Callable[[Planter], Planter]:
    def register(fn: Planter) -> Planter:
        HOSTILE[name] = (fn, needs_root)
        return fn

    return register


def plant(world: World, name: str) -> None:
    fn, needs_root = HOSTILE[name]
    if needs_root and not IS_ROOT:
        return
    fn(world)
    world.planted.append(name)


def _replace(path: Path | bytes, make: Callable[[bytes], None], user: str | None) -> None:
    """Put what ``make`` creates where ``path`` was (a file, a directory, or nothing)."""
    p = os.fsencode(path)
    if os.path.isdir(p) and not os.path.islink(p):
        shutil.rmtree(p)
    elif os.path.lexists(p):
        os.unlink(p)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    make(p)
    if user is not None and IS_ROOT:
        os.lchown(p, uid(user), uid(user))


def fifo(p: bytes) -> None:
    os.mkfifo(p, 0o644)


def sock(p: bytes) -> None:
    os.mknod(p, 0o644 | stat.S_IFSOCK)


def zero_dev(p: bytes) -> None:
    os.mknod(p, 0o644 | stat.S_IFCHR, os.makedev(1, 5))


def null_dev(p: bytes) -> None:
    os.mknod(p, 0o644 | stat.S_IFCHR, os.makedev(1, 3))


def empty(p: bytes) -> None:
    open(p, "wb").close()


def sparse(p: bytes, size: int = 2 << 30) -> None:
    with open(p, "wb") as fh:
        fh.truncate(size)


def symlink_to(target: str | bytes) -> Callable[[bytes], None]:
    return lambda p: os.symlink(target, p)


def hardlink_to(target: Path | bytes) -> Callable[[bytes], None]:
    return lambda p: os.link(target, p)


def junk(size: int, seed: int = 7) -> Callable[[bytes], None]:
    """Binary junk (NULs, invalid UTF-8, lone CRs) of ``size`` bytes, deterministic."""

    def make(p: bytes) -> None:
        pattern = bytes((i * 131 + seed) % 256 for i in range(4096))
        with open(p, "wb") as fh:
            for _ in range(size // len(pattern)):
                fh.write(pattern)
            fh.write(pattern[: size % len(pattern)])

    return make


def text(data: bytes) -> Callable[[bytes], None]:
    def make(p: bytes) -> None:
        with open(p, "wb") as fh:
            fh.write(data)

    return make


def escape_to(world: World, link: Path, target: Path) -> str:
    """A relative symlink target from ``link``'s directory to ``target`` (which may lie
    outside the root: the link then climbs out of it)."""
    return os.path.relpath(target, link.parent)


# --- in caches


@hostile("non_utf8_names")
def _non_utf8_names(w: World) -> None:
    pip = os.fsencode(w.pip())
    rec = w.records(w.pip())[10]
    make_dirs = [pip + b"/http-v2/\xff\xfe", pip + b"/wheels/aa/bb/cc/" + SIXTY[:50].encode()]
    for d in make_dirs:
        os.makedirs(d, exist_ok=True)
    text(b"not pip's")(pip + b"/http-v2/\xff\xfe/caf\xe9")
    shutil.copyfile(os.fsencode(rec), pip + b"/http-v2/0/4/0/7/6/04076" + b"a" * 51 + b"\xff")
    shutil.copyfile(
        os.fsencode(rec) + b".body", pip + b"/http-v2/0/4/0/7/6/04076" + b"a" * 51 + b"\xff.body"
    )
    shutil.copyfile(os.fsencode(rec) + b".body", make_dirs[1] + b"/caf\xe9-1.0-py3-none-any.whl")
    text(b"x = 1\n")(os.fsencode(w.uv()) + f"/archive-v0/{UV_IDNA}/idna/\xff.py".encode("latin-1"))
    text(b"PK\x05\x06" + b"\0" * 18)(os.fsencode(w.conda()) + b"/caf\xe9-1.0-0.conda")
    for path in (pip, os.fsencode(w.uv()), os.fsencode(w.conda())):
        _own_tree(Path(os.fsdecode(path)), "alice")


@hostile("newline_names")
def _newline_names(w: World) -> None:
    pip = w.pip()
    rec = w.records(pip)[10]
    (pip / "new\nline").mkdir()
    (pip / "new\nline/x").write_text("not pip's")
    odd = rec.parent / (rec.name[:-1] + "\n")
    shutil.copyfile(rec, odd)
    shutil.copyfile(str(rec) + ".body", str(odd) + ".body")
    wheel = pip / "wheels/12/34/56" / SIXTY[:50]
    wheel.mkdir(parents=True)
    shutil.copyfile(str(rec) + ".body", wheel / "evil\nsix-1.16.0-py2.py3-none-any.whl")
    (w.uv() / f"archive-v0/{UV_IDNA}/idna/a\nb.py").write_text("x = 1\n")
    for path in (pip, w.uv()):
        _own_tree(path, "alice")


@hostile("fifos_as_entries")
def _fifos(w: World) -> None:
    recs = w.records(w.pip())
    _replace(Path(str(recs[0]) + ".body"), fifo, "alice")
    _replace(recs[1], fifo, "alice")
    docopt = next((w.pip() / "wheels/ef").rglob("*.whl"))
    _replace(docopt, fifo, "alice")
    _replace(w.uv() / f"archive-v0/{UV_IDNA}/idna/codec.py", fifo, "alice")
    _replace(w.conda() / "idna-3.7-py_0.conda", fifo, "alice")
    _replace(next((w.poetry() / "artifacts").rglob("idna-*.whl")), fifo, "alice")
    _replace(w.pdm() / "http/http-cache.db", fifo, "alice")


@hostile("sockets_as_entries")
def _sockets(w: World) -> None:
    _replace(Path(str(w.records(w.pip())[2]) + ".body"), sock, "alice")
    _replace(w.uv() / ".lock", sock, "alice")


@hostile("device_nodes_as_entries", needs_root=True)
def _devices(w: World) -> None:
    _replace(Path(str(w.records(w.pip())[3]) + ".body"), zero_dev, "alice")
    sgml = next((w.pip() / "wheels/a8").rglob("*.whl"))
    _replace(sgml, zero_dev, "alice")
    _replace(w.uv() / f"archive-v0/{UV_IDNA}/idna/compat.py", null_dev, "alice")
    _replace(w.conda() / "cache/497deca9.json", zero_dev, "alice")


@hostile("symlink_loops")
def _loops(w: World) -> None:
    pip = w.pip()
    _replace(pip / "http-v2/loop", symlink_to("loop"), "alice")
    d = pip / "http-v2/9/9/9/9/9"
    a, b = "99999" + "a" * 51, "99999" + "b" * 51
    _replace(d / a, symlink_to(b), "alice")
    _replace(d / b, symlink_to(a), "alice")
    _replace(d / (a + ".body"), symlink_to(a + ".body"), "alice")
    _own_tree(pip / "http-v2/9", "alice")
    _replace(pip / "wheels/5a", symlink_to("."), "alice")
    _replace(w.uv() / f"archive-v0/{UV_ATTRS}/attrs/loop", symlink_to(".."), "alice")
    _replace(w.conda() / "loop-1.0-0", symlink_to("loop-1.0-0"), "alice")


@hostile("empty_files")
def _empties(w: World) -> None:
    recs = w.records(w.pip())
    _replace(Path(str(recs[4]) + ".body"), empty, "alice")
    _replace(recs[5], empty, "alice")
    wheel = w.pip() / "wheels/00/11/22" / SIXTY[:50]
    _replace(wheel / "empty-1.0-py3-none-any.whl", empty, None)
    _own_tree(w.pip() / "wheels/00", "alice")
    _replace(w.conda() / "empty-1.0-0.conda", empty, "alice")
    _replace(w.uv() / f"archive-v0/{UV_SIX}/six.py", empty, "alice")


@hostile("sparse_2gib_files")
def _sparse(w: World) -> None:
    _replace(Path(str(w.records(w.pip())[6]) + ".body"), sparse, "alice")
    # the same size in root's cache: a dedupe compares equal sizes by hashing them
    _replace(Path(str(w.records(w.pip("root"))[0]) + ".body"), sparse, "root")
    _replace(w.uv() / f"archive-v0/{UV_PACKAGING}/packaging/py.typed", sparse, "alice")


@hostile("unreadable_dirs")
def _unreadable(w: World) -> None:
    pip = w.pip()
    os.chmod(pip / "http-v2/e", 0)  # alice's own, mode 000
    wheel = pip / "wheels/66/77/88" / SIXTY[:50]
    wheel.mkdir(parents=True)
    (wheel / "root-1.0-py3-none-any.whl").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    os.chmod(pip / "wheels/66", 0o700)  # root's, in alice's cache
    os.chmod(w.uv() / f"archive-v0/{UV_PACKAGING}/packaging-24.1.dist-info", 0)


@hostile("hard_links_to_outside_files", needs_root=True)
def _hard_links(w: World) -> None:
    # root may link any file; a user may link her own or (without protected_hardlinks) any
    _replace(Path(str(w.records(w.pip())[7]) + ".body"), hardlink_to(w.root / "etc/shadow"), None)
    _replace(
        w.uv() / f"archive-v0/{UV_ATTRS}/attrs/__init__.py", hardlink_to(w.outside / "secret"), None
    )
    artifact = next((w.poetry() / "artifacts").rglob("six-*.whl"))
    _replace(artifact, hardlink_to(w.root / "usr/bin/python3.11"), None)


@hostile("symlinks_out_of_caches")
def _symlinks_out(w: World) -> None:
    recs = w.records(w.pip())
    _replace(Path(str(recs[8]) + ".body"), symlink_to("/etc/shadow"), "alice")
    _replace(recs[9], symlink_to(escape_to(w, recs[9], w.outside / "secret")), "alice")
    zero = w.pip() / "wheels/33/44/55" / SIXTY[:50] / "zero-1.0-py3-none-any.whl"
    _replace(zero, symlink_to("/dev/zero"), None)
    _own_tree(w.pip() / "wheels/33", "alice")
    _replace(w.uv() / f"archive-v0/{UV_SIX}/six-1.16.0.dist-info", symlink_to("/etc"), "alice")
    _replace(w.conda() / "six-1.16.0-py_0/info/index.json", symlink_to("/dev/zero"), "alice")
    _replace(w.conda() / "attrs-23.2.0-py_0/site-packages", symlink_to("/etc"), "alice")
    pkg = w.pdm() / "packages/six-1.16.0-py2.py3-none-any.whl.cache/six.py"
    _replace(pkg, symlink_to("/etc/shadow"), "alice")


@hostile("dir_symlinks_inside_caches")
def _dir_symlinks(w: World) -> None:
    pip = w.pip()
    shutil.rmtree(pip / "http-v2/d")
    _replace(pip / "http-v2/d", symlink_to("/srv/victim/pip/http-v2/d"), "alice")
    link = pip / "wheels/99"
    _replace(link, symlink_to(escape_to(w, link, w.outside / "pip/wheels/ef")), "alice")
    _replace(
        w.uv() / "archive-v0/ZZZZvictimZZZZZZ",
        symlink_to(f"/srv/victim/uv/archive-v0/{UV_SIX}"),
        "alice",
    )


@hostile("home_cache_symlink_to_roots_cache")
def _evil_cache_link(w: World) -> None:
    """evil's whole ~/.cache is a symlink (evil's) to root's cache tree."""
    _replace(w.home("evil") / ".cache", symlink_to("/srv/victim"), "evil")


@hostile("uv_cache_symlink_to_roots_cache")
def _bob_uv_link(w: World) -> None:
    _replace(w.home("bob") / ".cache/uv", symlink_to("/srv/victim/uv"), "bob")


@hostile("poetry_cache_symlink_out_of_root")
def _alice_poetry_out(w: World) -> None:
    """alice's poetry cache is a relative symlink climbing out of the audited root."""
    shutil.rmtree(w.poetry())
    _copy(w.real_caches / "pip-26.3", w.outside / "poetry/cache/repositories/PyPI/_http_")
    _replace(w.poetry(), symlink_to(escape_to(w, w.poetry(), w.outside / "poetry")), "alice")


# --- as config files: one file each (system path, what it is, its owner)

_BIG_PIP_CONF = b"[global]\n; " + b"y" * (10 << 20) + b"\ncache-dir = /home/bob/.cache/pip\n"
CONFIG_FILES: dict[str, tuple[str, Callable[[bytes], None], str | None]] = {
    "etc_pip_conf_fifo": ("/etc/pip.conf", fifo, None),
    "etc_xdg_pip_conf_fifo": ("/etc/xdg/pip/pip.conf", fifo, None),
    "etc_uv_toml_fifo": ("/etc/uv/uv.toml", fifo, None),
    "etc_condarc_fifo": ("/etc/conda/.condarc", fifo, None),
    "etc_pdm_config_dev_zero": ("/etc/xdg/pdm/config.toml", symlink_to("/dev/zero"), None),
    "user_pip_conf_binary_junk": ("/home/alice/.config/pip/pip.conf", junk(64 << 10), "alice"),
    "user_pip_conf_dev_zero": ("/home/alice/.pip/pip.conf", symlink_to("/dev/zero"), "alice"),
    "user_pip_conf_10mb": ("/home/bob/.pip/pip.conf", text(_BIG_PIP_CONF), "bob"),
    "uv_toml_non_utf8": (
        "/home/alice/.config/uv/uv.toml",
        text(b'cache-dir = "/home/alice/\xff\xfe"\nnative-tls = \xff\n'),
        "alice",
    ),
    "pdm_config_non_utf8": (
        "/home/alice/.config/pdm/config.toml",
        text(b'cache_dir = "/home/alice/\xe9"\n'),
        "alice",
    ),
    "pdm_config_fifo": ("/home/alice/.config/pdm/config.toml", fifo, "alice"),
    "poetry_config_10mb_junk": (
        "/home/alice/.config/pypoetry/config.toml",
        junk(10 << 20),
        "alice",
    ),
    "poetry_auth_toml_dev_zero": (
        "/home/alice/.config/pypoetry/auth.toml",
        symlink_to("/dev/zero"),
        "alice",
    ),
    "condarc_dev_zero": ("/home/alice/.condarc", symlink_to("/dev/zero"), "alice"),
    "root_prefix_condarc_10mb_junk": ("/home/alice/miniconda3/.condarc", junk(10 << 20), "alice"),
    "conda_urls_txt_fifo": ("/home/alice/miniconda3/pkgs/urls.txt", fifo, "alice"),
    "conda_environments_txt_fifo": ("/home/alice/.conda/environments.txt", fifo, "alice"),
    "site_pip_conf_fifo": ("/home/alice/proj/.venv/pip.conf", fifo, "alice"),
    # evil names root's, alice's, bob's and the system's directories as evil's caches
    "pip_conf_claims_roots_cache": (
        "/home/evil/.config/pip/pip.conf",
        text(b"[global]\ncache-dir = /srv/victim/pip\n"),
        "evil",
    ),
    "uv_toml_claims_roots_cache": (
        "/home/evil/.config/uv/uv.toml",
        text(b'cache-dir = "/srv/victim/uv"\n'),
        "evil",
    ),
    "poetry_config_claims_alices_cache": (
        "/home/evil/.config/pypoetry/config.toml",
        text(b'cache-dir = "/home/alice/.cache/pypoetry"\n'),
        "evil",
    ),
    "pdm_config_claims_bobs_pip_cache": (
        "/home/evil/.config/pdm/config.toml",
        text(b'cache_dir = "/home/bob/.cache/pip"\n'),
        "evil",
    ),
    "condarc_claims_system_dirs": (
        "/home/evil/.condarc",
        text(b"pkgs_dirs:\n  - /usr\n  - /etc\n  - /\n  - /home/alice/miniconda3/pkgs\n"),
        "evil",
    ),
}


def _config_planter(system: str, make: Callable[[bytes], None], owner: str | None) -> Planter:
    def place(w: World) -> None:
        path = w.real(system)
        _replace(path, make, owner)
        if owner is not None:  # the directories made on the way are the user's too
            home = os.fsencode(w.home(owner))
            parent = os.path.dirname(path)
            while parent != home and parent.startswith(home):
                w.give(parent, owner)
                parent = os.path.dirname(parent)

    return place


for _name, (_system, _make, _owner) in CONFIG_FILES.items():
    hostile(_name)(_config_planter(_system, _make, _owner))


@hostile("pip_conf_names_non_utf8_cache_dir")
def _non_utf8_cache_dir(w: World) -> None:
    """bob's pip cache at a path that is not UTF-8, named by his pip.conf."""
    odd = os.fsencode(w.home("bob")) + b"/c\xe9che"
    _copy(w.real_caches / "pip-23.2.1", Path(os.fsdecode(odd)))
    _own_tree(Path(os.fsdecode(odd)), "bob")
    text_ = b"[global]\ncache-dir = /home/bob/c\xe9che\n"
    _config_planter("/home/bob/.config/pip/pip.conf", text(text_), "bob")(w)


def _venv_with_cfg(name: str, make: Callable[[bytes], None]) -> Planter:
    def place(w: World) -> None:
        prefix = f"/home/alice/{name}/.venv"
        venv(w.root, prefix, "/usr/bin/python3.11", "3.11.2")
        _replace(w.root / prefix.lstrip("/") / "pyvenv.cfg", make, "alice")
        _own_tree(w.root / f"home/alice/{name}", "alice")

    return place


hostile("pyvenv_cfg_fifo")(_venv_with_cfg("fifo", fifo))
hostile("pyvenv_cfg_dev_zero")(_venv_with_cfg("zero", symlink_to("/dev/zero")))
hostile("pyvenv_cfg_10mb_junk")(_venv_with_cfg("huge", junk(10 << 20)))


@hostile("odd_passwd_entries")
def _odd_passwd(w: World) -> None:
    passwd = w.root / "etc/passwd"
    extra = [
        b"caf\xe9:x:2105:2105::/home/caf\xe9:/bin/sh",
        b"twin:x:2101:2101::/home/alice:/bin/sh",  # alice's uid and home again
        b"slash:x:2106:2106::/:/bin/sh",
        b"etc:x:2107:2107::/etc:/bin/sh",
        b"huge:x:4294967294:4294967294::/home/huge:/bin/sh",
        b"neg:x:-1:-1::/home/neg:/bin/sh",
        b"short:x:2108",
        b"ghost:x:2109:2109::/home/ghost:/bin/sh",
        b"slink:x:2110:2110::/home/slink:/bin/sh",
        b"",
        b"\x00\xff:x:2111:2111::/home/\x00:/bin/sh",
    ]
    with open(passwd, "ab") as fh:
        fh.write(b"\n".join(extra) + b"\n")
    home = os.fsencode(w.root) + b"/home/caf\xe9"
    _copy(w.real_caches / "pip-23.2.1", Path(os.fsdecode(home + b"/.cache/pip")))
    _chown_tree(home, 2105)
    huge = w.root / "home/huge"
    _copy(w.real_caches / "pip-23.2.1", huge / ".cache/pip")
    _chown_tree(huge, 4294967294)
    os.symlink("/srv/victim", w.root / "home/slink")
