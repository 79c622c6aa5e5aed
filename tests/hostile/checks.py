"""The invariants of the tier, as functions returning one-line problems (empty: kept).

A test collects them over many commands and fails once with every reproduction, so a
report shows each broken command on its own line (``cachecensus ARGS: what broke``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from hostile.runner import Run
from hostile.treesum import Tree, diff, show, under, unplanned

#: A system path (as the JSON spells it) -> the key of the same file in a checksum.
ToKey = Callable[[str], bytes]


def plan_of(doc: Any, to_key: ToKey) -> tuple[set[bytes], list[bytes], set[bytes] | None]:
    """(planned files, their cache dirs, files a dedupe may relink) of a ``--json``
    document of ``remove``/``purge``/``prune`` (``plan.items[].files``) or ``dedupe``
    (``groups[].copies[].path``: only relinked, never removed)."""
    if doc.get("command") == "dedupe":
        copies = {to_key(c["path"]) for g in doc.get("groups", []) for c in g.get("copies", [])}
        return set(), [], copies
    items = (doc.get("plan") or {}).get("items", [])
    planned = {to_key(f) for item in items for f in item.get("files", [])}
    return planned, [to_key(item["cache_dir"]) for item in items], None


def removal_problems(
    run: Run,
    before: Tree,
    after: Tree,
    to_key: ToKey,
    canaries: Sequence[bytes],
) -> list[str]:
    """Everything a removal run (``--yes --json``) did wrong: the rules of every run, a
    change the printed plan did not list, a plan naming a file no command may touch
    (``canaries``), a file reported removed that is still there or was never planned."""
    problems = run.problems()
    changes = diff(before, after)
    doc = run.doc if isinstance(run.doc, dict) else None
    if doc is None:
        if changes:
            problems.append("changed the machine without printing a plan: ")
            problems[-1] += "; ".join(changes.lines(4))
        return problems
    planned, caches, relinked = plan_of(doc, to_key)
    problems += unplanned(changes, planned, caches, relinked)
    for canary in canaries:
        touched = sorted(p for p in planned | (relinked or set()) if under(p, [canary]))
        if touched:
            gone = sum(1 for p in touched if before.get(p) != after.get(p))
            problems.append(
                f"the plan lists {len(touched)} files under {show(canary)}, which is no cache "
                f"of the users asked for ({gone} of them removed or changed; e.g. "
                f"{show(touched[0])})"
            )
    reported = doc.get("removed") or []
    for path in reported:
        key = to_key(path)
        if key not in planned:
            problems.append(f"reported removed but not planned: {show(key)}")
        elif key in after:
            problems.append(f"reported removed but still there: {show(key)}")
    for path in doc.get("linked") or []:
        if relinked is not None and to_key(path) not in relinked:
            problems.append(f"reported linked but not a planned copy: {show(to_key(path))}")
    return problems


def read_only_problems(run: Run, before: Tree, after: Tree) -> list[str]:
    """A command that only looks must keep every rule and change nothing at all."""
    problems = run.problems()
    changes = diff(before, after)
    if changes:
        problems.append("a read-only command changed the machine: " + "; ".join(changes.lines(4)))
    return problems


@dataclass
class Report:
    """Problems of many runs; ``report.check()`` fails with every one."""

    failures: list[str] = field(default_factory=list)
    runs: int = 0

    def add(self, run: Run, problems: Iterable[str]) -> None:
        self.runs += 1
        for problem in problems:
            self.failures.append(f"{run.shown}: {run.short(problem)}")

    @property
    def ok(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        return f"{len(self.failures)} problems in {self.runs} runs:\n" + "\n".join(self.failures)

    def check(self) -> None:
        """Fail the test with every problem, one line each (no traceback: the lines are
        the reproductions)."""
        assert self.runs, "no command was run"
        if self.failures:
            pytest.fail(str(self), pytrace=False)


def system_key(root: bytes) -> ToKey:
    """System paths of a machine mounted at ``root`` -> this machine's paths."""
    return lambda path: root + os.fsencode(path)
