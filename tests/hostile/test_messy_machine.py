"""Every command against a messy machine (``--root``): real caches with every hostile
object of :mod:`hostile.machine` planted at once, then each object alone.

What each run must show: an exit code in {0, 1, 2}, no traceback, one-line messages, an
end before the timeout; a read-only command changes nothing; a removal changes nothing
but files its printed plan listed, and its plan lists no file of the system, of a
root-owned cache nobody configured, of anything outside the root, of a user's own
(non-cache) files, nor of a user the command was not asked about."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from hostile.checks import Report, read_only_problems, removal_problems, system_key
from hostile.machine import HOSTILE, IS_ROOT, World, build
from hostile.runner import Cli
from hostile.treesum import tree_sum

pytestmark = [pytest.mark.hostile, pytest.mark.slow]

#: Commands that only look (``--root`` is added).
READ_ONLY: list[list[str]] = [
    ["envs", "--all-users", "--json"],
    ["envs", "--all-users"],
    ["audit", "--all-users", "--json"],
    ["audit", "--all-users", "--toml"],
    ["audit", "--all-users", "--rescan"],
    ["list", "--all-users", "--json"],
    ["list", "--all-users"],
    ["info", "--cache-dir", "/home/alice/.cache/pip", "--json"],
    ["info", "--cache-dir", "/home/bob/.cache/pip"],
    ["dedupe", "--all-users", "--json"],
    ["remove", "six", "--all-users", "--dry-run", "--json"],
    ["purge", "--all-users", "--dry-run"],
    *(
        ["dir", "--user", user, "--tool", tool, "--json"]
        for user in ("alice", "bob", "evil")
        for tool in ("pip", "uv", "poetry", "pdm", "pipenv", "conda")
    ),
    ["dir", "--user", "alice", "--python", "/home/alice/proj/.venv/bin/python", "--json"],
    ["dir", "--user", "alice", "--python", "/home/alice/fifo/.venv/bin/python", "--json"],
]

#: Removals (``--root``, ``--yes`` and ``--json`` are added) and the users whose caches
#: they may take (every other home is a canary).
EVERYONE = ("root", "alice", "bob", "evil")
REMOVALS: list[tuple[list[str], tuple[str, ...]]] = [
    (["remove", "six", "--all-users"], EVERYONE),
    (["remove", "*", "--all-users"], EVERYONE),
    (["purge", "--all-users"], EVERYONE),
    (["prune", "--all-users"], EVERYONE),
    (["prune", "--older-than", "0d", "--all-users"], EVERYONE),
    (["prune", "--max-size", "0", "--keep-latest", "1", "--all-users"], EVERYONE),
    (["dedupe", "--link", "--all-users"], EVERYONE),
    (["purge", "--user", "alice"], ("alice",)),
    (["purge", "--user", "bob"], ("bob",)),
    (["purge", "--user", "evil"], ("evil",)),
    (["remove", "*", "--user", "evil"], ("evil",)),
    (["dedupe", "--link", "--user", "evil"], ("evil",)),
    (["purge", "--cache-dir", "/home/alice"], ("alice",)),
    (["purge", "--cache-dir", "/"], ()),
    (["purge", "--cache-dir", "/usr"], ()),
    (["purge", "--cache-dir", "/etc"], ()),
    (["purge", "--cache-dir", "/home/evil/.cache/pip"], ("evil",)),
]


def _read_only(cli: Cli, world: World, report: Report, commands: list[list[str]]) -> None:
    before = tree_sum(world.top)
    for args in commands:
        result = cli(*args, "--root", str(world.root))
        after = tree_sum(world.top)
        report.add(result, read_only_problems(result, before, after))
        before = after


def _removal(
    cli: Cli, world: World, report: Report, args: list[str], users: tuple[str, ...]
) -> None:
    before = tree_sum(world.top)
    result = cli(*args, "--root", str(world.root), "--yes", "--json")
    after = tree_sum(world.top)
    key = system_key(os.fsencode(world.root))
    report.add(result, removal_problems(result, before, after, key, world.canaries(users)))


def test_read_only_commands_change_nothing_on_the_messy_machine(
    make_world: Callable[..., World], cli: Cli
) -> None:
    world = make_world(hostile=HOSTILE)
    world.settle()  # so the first look keeps snapshots and the next ones load them
    report = Report()
    _read_only(cli, world, report, READ_ONLY)
    report.check()


@pytest.mark.parametrize(("args", "users"), REMOVALS, ids=[" ".join(a) for a, _ in REMOVALS])
def test_a_removal_on_the_messy_machine_changes_only_its_plan(
    make_world: Callable[..., World], cli: Cli, args: list[str], users: tuple[str, ...]
) -> None:
    world = make_world(hostile=HOSTILE)
    report = Report()
    _removal(cli, world, report, args, users)
    report.check()


#: Per hostile object: a few looks (the second loads the first's snapshots), then a
#: removal of everything cachecensus may take.
ALONE_READ_ONLY = [
    ["audit", "--all-users", "--json"],
    ["list", "--all-users", "--json"],
    ["envs", "--all-users"],
]


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory, real_caches_dir: Path) -> dict[str, World]:
    """A machine per hostile object, built together so all are settled by the first test
    (each test then takes its own: it runs last on it)."""
    top = tmp_path_factory.mktemp("alone")
    worlds = {name: build(top / name, real_caches_dir, [name]) for name in sorted(HOSTILE)}
    for world in worlds.values():
        world.settle()
    return worlds


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_each_hostile_object_alone(alone: dict[str, World], cli: Cli, name: str) -> None:
    if HOSTILE[name][1] and not IS_ROOT:
        pytest.skip("planting it needs root")
    world = alone[name]
    cli.shorten[str(world.top)] = "$W"
    report = Report()
    _read_only(cli, world, report, ALONE_READ_ONLY)
    _removal(cli, world, report, ["purge", "--all-users"], EVERYONE)
    report.check()
