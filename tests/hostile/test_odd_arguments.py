"""Single odd inputs whose right answer is known exactly (the property runs of
test_properties.py look for the ones nobody thought of)."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from hostile.checks import Report, read_only_problems, removal_problems, system_key
from hostile.machine import World
from hostile.runner import Cli
from hostile.strategies import plant_odd_targets
from hostile.treesum import diff, tree_sum

pytestmark = [pytest.mark.hostile, pytest.mark.slow]


@pytest.mark.parametrize("pattern", ["", " ", "\t", "\n"], ids=repr)
def test_an_empty_or_blank_pattern_removes_nothing(
    make_world: Callable[..., World], cli: Cli, pattern: str
) -> None:
    """``remove ''`` names no project: a usage error, or a plan of nothing; never every
    entry of every cache (an unset shell variable in ``remove "$PKG"`` must not purge)."""
    world = make_world()
    before = tree_sum(world.top)
    result = cli("remove", pattern, "--all-users", "--root", str(world.root), "--yes", "--json")
    after = tree_sum(world.top)
    report = Report()
    problems = removal_problems(result, before, after, system_key(os.fsencode(world.root)), [])
    doc = result.doc if isinstance(result.doc, dict) else {}
    planned = (doc.get("plan") or {}).get("entries", 0)
    if planned:
        problems.append(f"an empty pattern planned {planned} entries")
    if diff(before, after):
        problems.append("an empty pattern removed files")
    report.add(result, problems)
    report.check()


def test_a_newline_in_a_name_never_splits_a_table_row(
    make_world: Callable[..., World], cli: Cli
) -> None:
    """Plain tables are for grep and awk: one entry, one line, whatever its names hold."""
    world = make_world(hostile=["newline_names"])
    report = Report()
    before = tree_sum(world.top)
    as_json = cli("list", "--all-users", "--json", "--root", str(world.root))
    plain = cli("list", "--all-users", "--root", str(world.root))
    after = tree_sum(world.top)
    report.add(as_json, read_only_problems(as_json, before, after))
    problems = plain.problems()
    entries = len(as_json.doc["entries"]) if isinstance(as_json.doc, dict) else None
    lines = plain.stdout.decode("utf-8", "replace").splitlines()
    rule = next((i for i, line in enumerate(lines) if line.startswith("---")), None)
    rows = len([line for line in lines[rule + 1 :] if line.strip()]) if rule is not None else 0
    if entries is not None and rows != entries:
        problems.append(f"{entries} entries printed as {rows} table rows")
    report.add(plain, problems)
    report.check()


#: Command lines whose every run must keep the rules (``--root`` added where it applies;
#: ``/odd/`` holds a FIFO, /dev/zero, a symlink loop, names with bytes that are not UTF-8
#: and with a newline: see strategies.plant_odd_targets). ROOT stands for the fake root.
ODD_LINES = [
    ["audit", "--cache-dir", "/odd/loop", "--json"],
    ["purge", "--cache-dir", "/odd/loop", "--dry-run", "--json"],
    ["audit", "--cache-dir", "/odd/\udcff", "--json"],
    ["audit", "--cache-dir", "/odd/fifo", "--json"],
    ["list", "--cache-dir", "/odd/zero"],
    ["dir", "--python", "/odd/new\nline", "--json"],
    ["dir", "--python", "/odd/fifo", "--json"],
    ["dir", "--python", "/odd/zero", "--json"],
    ["info", "--python", "/odd/loop"],
    ["envs", "--scan", "/odd/loop", "--json"],
    ["envs", "--scan", "/odd/fifo", "--json"],
    ["prune", "--max-size", "9" * 400, "--dry-run"],
    ["prune", "--older-than", "9" * 400 + "d", "--dry-run"],
    ["prune", "--index-pages-older-than", "9" * 400 + "w", "--dry-run"],
    ["prune", "--keep-latest", "9" * 40, "--dry-run"],
    ["audit", "--stale-days", "1e309"],
    ["audit", "--stale-days", "nan"],
    ["list", "--version", "===\n"],
    ["remove", "six", "--version", "==1.*.2", "--dry-run"],
    ["dir", "--user", "\udcff"],
    ["audit", "--user", ""],
]
#: Lines without ``--root`` (it is their argument, or they take none).
ODD_LINES_NO_ROOT = [
    ["audit", "--root", "ROOT/odd/fifo"],
    ["envs", "--root", "ROOT/odd/loop", "--json"],
    ["envs", "--root", "ROOT/odd/zero", "--json"],
    ["audit", "--root", "ROOT/odd/locked"],
    ["completion", "show", ""],
    ["completion", "show", "\udcff"],
    ["install", "--python", "ROOT/odd/fifo", "--", "six"],
    ["pip", "--python", "ROOT/odd/zero", "--", "list"],
    ["install", "--env", "\udcff", "--", "six"],
]


@pytest.mark.parametrize(
    "args",
    [*ODD_LINES, *ODD_LINES_NO_ROOT],
    ids=lambda a: (
        " ".join(w if len(w) < 24 else f"{w[:6]}...({len(w)})" for w in a)
        .encode("unicode_escape")
        .decode()
    ),
)
def test_an_odd_argument_is_a_one_line_answer(
    make_world: Callable[..., World], cli: Cli, args: list[str]
) -> None:
    """Paths to FIFOs, devices and loops, undecodable bytes, newlines, numbers past any
    range: an answer or a one-line usage error (exit 2), never a traceback or a hang; and
    nothing changes (``--dry-run`` where a removal is asked)."""
    world = make_world()
    plant_odd_targets(world)
    root = str(world.root)
    line = [a.replace("ROOT", root) for a in args]
    if args in ODD_LINES:
        line += ["--root", root]
    before = tree_sum(world.top)
    result = cli(*line)
    after = tree_sum(world.top)
    report = Report()
    report.add(result, read_only_problems(result, before, after))
    report.check()
