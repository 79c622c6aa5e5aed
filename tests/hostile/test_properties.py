"""Property-based runs (hypothesis): any command line of any command, and any cache tree
of odd shapes, keep the rules every run owes (exit code in {0, 1, 2}, no traceback,
one-line messages, an end before the timeout); a read-only command changes nothing, and
a removal changes nothing but what its printed plan listed, and never plans the system's
files, root's unclaimed cache, anything outside the root or a user's own files.

Bounded by the "ci" hypothesis profile (tests/conftest.py: a few derandomized examples);
``--hypothesis-profile=long`` searches for real."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from hostile.checks import Report, read_only_problems, removal_problems, system_key
from hostile.machine import UIDS, World, build
from hostile.runner import Cli
from hostile.strategies import (
    REMOVALS,
    Node,
    cache_trees,
    command_lines,
    plant_odd_targets,
    plant_tree,
)
from hostile.treesum import tree_sum

pytestmark = [pytest.mark.hostile, pytest.mark.slow]


def _fresh(tmp_path: Path, real_caches: Path, cli: Cli) -> World:
    top = Path(tempfile.mkdtemp(dir=tmp_path))
    world = build(top / "w", real_caches)
    plant_odd_targets(world)
    cli.shorten[str(top / "w")] = "$W"
    return world


def _drop(world: World) -> None:
    for dirpath, dirnames, _ in os.walk(world.top):
        for name in dirnames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755)
    shutil.rmtree(world.top.parent, ignore_errors=True)


@given(line=command_lines())
def test_any_command_line_keeps_the_rules(
    line: tuple[str, list[str]], tmp_path: Path, real_caches_dir: Path, cli: Cli
) -> None:
    command, args = line
    world = _fresh(tmp_path, real_caches_dir, cli)
    try:
        report = Report()
        before = tree_sum(world.top)
        extra = ["--yes", "--json"] if command in REMOVALS else []
        result = cli(command, *args, "--root", str(world.root), *extra)
        after = tree_sum(world.top)
        note(result.shown)
        if command in REMOVALS:
            key = system_key(os.fsencode(world.root))
            canaries = world.canaries(UIDS)  # any user may be selected: their own files stay
            report.add(result, removal_problems(result, before, after, key, canaries))
        else:
            report.add(result, read_only_problems(result, before, after))
        report.check()
    finally:
        _drop(world)


REMOVAL_LINES = [
    ["purge"],
    ["remove", "*"],
    ["remove", "six"],
    ["prune"],
    ["prune", "--older-than", "0d"],
    ["prune", "--max-size", "1", "--keep-latest", "1"],
    ["dedupe", "--link"],
]


@given(tree=cache_trees, removal=st.sampled_from(REMOVAL_LINES))
def test_any_cache_tree_keeps_the_rules(
    tree: list[Node], removal: list[str], tmp_path: Path, real_caches_dir: Path, cli: Cli
) -> None:
    world = _fresh(tmp_path, real_caches_dir, cli)
    try:
        for line in plant_tree(world, tree):
            note(line)
        report = Report()
        before = tree_sum(world.top)
        for look in (["audit", "--json"], ["list"]):
            result = cli(*look, "--user", "alice", "--root", str(world.root))
            after = tree_sum(world.top)
            report.add(result, read_only_problems(result, before, after))
            before = after
        result = cli(*removal, "--user", "alice", "--root", str(world.root), "--yes", "--json")
        after = tree_sum(world.top)
        key = system_key(os.fsencode(world.root))
        report.add(result, removal_problems(result, before, after, key, world.canaries(["alice"])))
        report.check()
    finally:
        _drop(world)
