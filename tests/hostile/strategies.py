"""Hypothesis strategies: command lines of every command with odd values, and cache trees
of odd shapes (names that are not UTF-8 or hold newlines, FIFOs, sockets, devices, links
out of the cache, loops, sparse giants, unreadable directories, other owners' files)."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from hostile.machine import (
    IS_ROOT,
    SIXTY,
    UV_ATTRS,
    UV_IDNA,
    UV_PACKAGING,
    UV_SIX,
    World,
    empty,
    escape_to,
    fifo,
    junk,
    sock,
    sparse,
    symlink_to,
    text,
    uid,
    zero_dev,
)

# ---------------------------------------------------------------------- odd things on disk

#: System paths of odd objects every machine of the property tests holds (``/odd``).
ODD_TARGETS = (
    "/odd/fifo",
    "/odd/zero",
    "/odd/loop",
    "/odd/dangling",
    "/odd/file",
    "/odd/locked",
    "/odd/\udcff",
    "/odd/new\nline",
    "/odd/to-victim",
    "/odd/empty-dir",
)


def plant_odd_targets(world: World) -> None:
    """``/odd/``: a FIFO, a device (as root), a symlink loop, a dangling link, a file, a
    mode-000 dir, names not UTF-8 and with a newline, a link to root's cache, an empty dir."""
    odd = os.fsencode(world.root) + b"/odd"
    os.makedirs(odd)
    os.mkfifo(odd + b"/fifo")
    if IS_ROOT:
        os.mknod(odd + b"/zero", 0o666 | stat.S_IFCHR, os.makedev(1, 5))
    os.symlink(b"loop", odd + b"/loop")
    os.symlink(b"/nowhere/at/all", odd + b"/dangling")
    with open(odd + b"/file", "wb") as fh:
        fh.write(b"just a file\n")
    os.makedirs(odd + b"/locked/inside")
    os.chmod(odd + b"/locked", 0)
    os.makedirs(odd + b"/\xff/http-v2")
    os.makedirs(odd + b"/new\nline/http-v2")
    os.symlink(b"/srv/victim/pip", odd + b"/to-victim")
    os.makedirs(odd + b"/empty-dir")


# ---------------------------------------------------------------------- command lines

ODD_VALUES = (
    "",
    " ",
    "*",
    "?",
    "[",
    "-",
    "--",
    "-1",
    "0",
    "1e309",
    "nan",
    "inf",
    "9" * 40,
    "9" * 400,
    "9" * 400 + "d",
    "-" + "9" * 30,
    "0x10",
    "1.5Gi",
    "5G",
    "30d",
    "2w",
    "a\nb",
    "\udcff\udcfe",
    "caf\udce9",
    "~",
    "~root",
    "~nobody/x",
    ".",
    "..",
    "/",
    "/etc",
    "/usr",
    "/root",
    "/home/alice",
    "/home/alice/.cache/pip",
    "/home/alice/.cache/uv",
    "/home/alice/miniconda3/pkgs",
    "/home/alice/proj/.venv/bin/python",
    "/srv/victim/pip",
    "x" * 300,
    "six",
    "six-1.16",
    "Six_",
    "six==1",
    "six-*",
    ">=1,<2",
    "===1",
    "!!",
    "alice",
    "bob",
    "evil",
    "root",
    "nobody",
    "pip",
    "uv",
    "conda",
    "wheel",
    "corrupt",
    "install",
    "bash",
    *ODD_TARGETS,
)

#: Odd text: the values above, any short text, any short bytes (as the OS would hand them
#: to Python: undecodable bytes as surrogates). argv cannot hold a NUL.
odd_value = st.one_of(
    st.sampled_from(ODD_VALUES),
    st.text(max_size=12).map(lambda t: t.replace("\0", "_")),
    st.binary(min_size=1, max_size=12).map(
        lambda b: b.replace(b"\0", b"_").decode("utf-8", "surrogateescape")
    ),
)

SELECT = ["--cache-dir", "--python", "--user", "--all-users", "--scan", "--tool"]
#: The options of each command (flags take no value); ``PATTERN`` is a positional.
COMMANDS: dict[str, list[str]] = {
    "envs": ["--user", "--all-users", "--scan", "--tool", "--json"],
    "dir": ["--python", "--user", "--for", "--tool", "--json"],
    "audit": [*SELECT, "--json", "--toml", "--stale-days", "--rescan"],
    "list": ["PATTERN", "--version", "--kind", *SELECT, "--json", "--rescan"],
    "info": ["--python", "--cache-dir", "--user", "--json", "--rescan"],
    "remove": ["PATTERN", "--version", "--kind", *SELECT, "--dry-run", "--force"],
    "purge": [*SELECT, "--dry-run", "--force"],
    "prune": [
        "--older-than",
        "--max-size",
        "--machine-wide",
        "--keep-latest",
        "--index-pages-older-than",
        *SELECT,
        "--dry-run",
        "--force",
    ],
    "dedupe": ["--link", *[s for s in SELECT if s != "--python"], "--dry-run"],
}
FLAGS = {
    "--all-users",
    "--json",
    "--toml",
    "--rescan",
    "--dry-run",
    "--force",
    "--machine-wide",
    "--link",
}
REMOVALS = {"remove", "purge", "prune", "dedupe"}
CHOICES = {
    "--tool": ["pip", "uv", "poetry", "pdm", "pipenv", "conda"],
    "--kind": ["wheel", "sdist", "index-page", "built-wheel", "corrupt", "orphan", "archive"],
    "--for": ["install", "cache", "download", "wheel"],
    "--user": ["alice", "bob", "evil", "root"],
}


@st.composite
def command_lines(draw: st.DrawFn) -> tuple[str, list[str]]:
    """(command, its arguments): some of its options, each with a fitting or odd value,
    in any order. ``--root`` (and for removals ``--yes --json``) the caller adds: a
    removal never runs on this machine, only on the fake one."""
    command = draw(st.sampled_from(sorted(COMMANDS)))
    options = draw(st.lists(st.sampled_from(COMMANDS[command]), max_size=5))
    args: list[str] = []
    if "PATTERN" in COMMANDS[command] and (command == "remove" or draw(st.booleans())):
        args.append(draw(odd_value))
    for option in options:
        if option == "PATTERN":
            continue
        args.append(option)
        if option in FLAGS:
            continue
        fitting = CHOICES.get(option)
        value = draw(st.sampled_from(fitting) | odd_value) if fitting else draw(odd_value)
        args.append(value)
    return command, args


# ---------------------------------------------------------------------- cache trees


@dataclass(frozen=True)
class Node:
    """One object to put at ``parts`` (relative to a cache dir)."""

    parts: tuple[str, ...]
    kind: str
    detail: str = ""


hexes = st.text("0123456789abcdef", min_size=1, max_size=1)
odd_names = st.sampled_from(
    ["\n", "a\nb", "\udcff", "caf\udce9.whl", " ", "-", ".hidden", "x" * 255, "...", "*"]
)


def _leaf(prefix: str) -> st.SearchStrategy[str]:
    record = st.text("0123456789abcdef", min_size=51, max_size=51).map(lambda t: prefix + t)
    return st.one_of(
        record,
        record.map(lambda r: r + ".body"),
        st.sampled_from(
            [
                "origin.json",
                "six-1.16.0-py2.py3-none-any.whl",
                "six-1.16.0.tar.gz",
                "selfcheck.json",
                "x.tmp",
                "abcdefgh.tmp",
            ]
        ),
        odd_names,
    )


@st.composite
def _pip_parts(draw: st.DrawFn) -> tuple[str, ...]:
    area = draw(st.sampled_from(["http-v2", "http", "wheels", "selfcheck", "", "other"]))
    if area in ("http-v2", "http"):
        dirs = tuple(draw(hexes) for _ in range(5))
        return (area, *dirs, draw(_leaf("".join(dirs))))
    if area == "wheels":
        two = st.text("0123456789abcdef", min_size=2, max_size=2)
        return ("wheels", draw(two), draw(two), draw(two), SIXTY[:50], draw(_leaf("")))
    if area == "selfcheck":
        return ("selfcheck", draw(_leaf("")))
    if area == "":
        return (draw(_leaf("")),)
    return (draw(odd_names), draw(_leaf("")))


@st.composite
def _uv_parts(draw: st.DrawFn) -> tuple[str, ...]:
    archive = draw(st.sampled_from([UV_IDNA, UV_SIX, UV_PACKAGING, UV_ATTRS, "NEWarchive000000"]))
    shapes: list[tuple[str, ...]] = [
        ("archive-v0", archive, draw(odd_names | st.just("mod.py"))),
        ("archive-v0", archive),
        ("wheels-v8", "index", "e2d87b9a957f792a", "six", "1.16.0-py2.py3-none-any.http"),
        ("simple-v28", "index", "e2d87b9a957f792a", draw(odd_names | st.just("six.rkyv"))),
        ("sdists-v11", draw(odd_names)),
        (".lock",),
        ("CACHEDIR.TAG",),
    ]
    return draw(st.sampled_from(shapes))


NODE_KINDS = [
    "file",
    "empty",
    "junk",
    "sparse",
    "fifo",
    "socket",
    "device",
    "symlink",
    "hardlink",
    "dir",
    "locked-dir",
    "roots-file",
]
LINK_TARGETS = [".", "..", "/etc/shadow", "/srv/victim/pip", "/dev/zero", "OUTSIDE", "SELF", "/x"]


@st.composite
def nodes(draw: st.DrawFn) -> Node:
    tool = draw(st.sampled_from(["pip", "uv"]))
    parts = draw(_pip_parts() if tool == "pip" else _uv_parts())
    kind = draw(st.sampled_from(NODE_KINDS))
    detail = draw(st.sampled_from(LINK_TARGETS)) if kind in ("symlink", "hardlink") else ""
    return Node((tool, *parts), kind, detail)


cache_trees = st.lists(nodes(), min_size=1, max_size=8)


def _make(world: World, node: Node, path: bytes) -> Callable[[bytes], None] | None:
    # a real body from the fixture, never from the world: that may hold FIFOs by now
    body = next((world.real_caches / "pip-26.3").rglob("*.body")).read_bytes()
    makers: dict[str, Callable[[bytes], None] | None] = {
        "file": text(body),
        "empty": empty,
        "junk": junk(3000, seed=len(path)),
        "sparse": sparse,
        "fifo": fifo,
        "socket": sock,
        "device": zero_dev if IS_ROOT else None,
    }
    if node.kind in makers:
        return makers[node.kind]
    if node.kind == "symlink":
        if node.detail == "OUTSIDE":
            link = Path(os.fsdecode(path))
            return symlink_to(escape_to(world, link, world.outside / "secret"))
        return symlink_to(os.path.basename(path) if node.detail == "SELF" else node.detail)
    if node.kind == "hardlink":
        target = {"/etc/shadow": world.root / "etc/shadow", "OUTSIDE": world.outside / "secret"}
        source = target.get(node.detail, world.root / "srv/victim/pip/http-v2/f/a/4/2/1")
        if not source.is_file():
            source = next(p for p in (world.root / "srv/victim/pip").rglob("*") if p.is_file())
        return (lambda p: os.link(source, p)) if IS_ROOT else None
    return None


def plant_tree(world: World, tree: list[Node]) -> list[str]:
    """Put each node into alice's pip or uv cache (replacing what is there; a node whose
    parent is not a directory is left out); what was planted, as lines."""
    planted: list[str] = []
    for node in tree:
        cache = world.pip() if node.parts[0] == "pip" else world.uv()
        rel = [p for p in node.parts[1:] if p]
        if not rel:
            continue
        path = os.fsencode(cache) + b"/" + b"/".join(os.fsencode(p) for p in rel)
        parent = os.path.dirname(path)
        try:
            os.makedirs(parent, exist_ok=True)
        except (FileExistsError, NotADirectoryError, PermissionError):
            continue
        if not os.path.isdir(parent) or os.path.islink(parent):
            continue
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.unlink(path)
        if node.kind in ("dir", "locked-dir"):
            os.makedirs(path + b"/inside")
            with open(path + b"/inside/f", "wb") as fh:
                fh.write(b"x")
            if node.kind == "locked-dir":
                os.chmod(path, 0)
        elif node.kind == "roots-file":
            with open(path, "wb") as fh:
                fh.write(b"root's")
        else:
            make = _make(world, node, path)
            if make is None:
                continue
            make(path)
        if IS_ROOT and node.kind != "roots-file" and node.kind != "hardlink":
            os.lchown(path, uid("alice"), uid("alice"))
            walk = parent
            top = os.fsencode(cache)
            while walk.startswith(top):
                os.lchown(walk, uid("alice"), uid("alice"))
                walk = os.path.dirname(walk)
        planted.append(f"{node.kind} {node.detail} at {'/'.join(node.parts)!r}")
    return planted
