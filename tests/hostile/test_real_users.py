"""On this machine, as root, with real users (``useradd``) and real processes of theirs
whose environments claim other people's and the system's directories as caches, disagree
with each other, name FIFOs and /dev/zero as config files, or hold bytes that are not
UTF-8 (see ``real_users`` in conftest).

Removals run for real only with ``--user cc_hostile_a``, whose claims point at test
directories; what a's plan lists must lie in a's own home, outside a's personal files,
and b's home and the root-owned victim caches must not change. Where a claim names the
system's directories (e), only ``--dry-run`` runs: a wrong plan there must not be carried
out on a shared machine. Never ``--all-users`` for a removal: that is every cache here."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from hostile.checks import Report, read_only_problems, removal_problems
from hostile.conftest import REAL_USERS, RealUsers
from hostile.runner import Cli, Run
from hostile.treesum import tree_sum, under

pytestmark = [pytest.mark.hostile, pytest.mark.slow]

A, B, C, D, E = REAL_USERS
TOOLS = ("pip", "uv", "poetry", "pdm", "pipenv", "conda")


def _tops(users: RealUsers) -> list[Path]:
    return [*(users.home(n) for n in REAL_USERS), users.victim]


def _outside_home(result: Run, home: Path, user: str) -> list[str]:
    """A plan may list files of ``user``'s own home only (never the home itself as a cache:
    it holds the user's own files)."""
    doc = result.doc if isinstance(result.doc, dict) else {}
    top = os.fsencode(home)
    found = sorted(
        {
            path
            for item in (doc.get("plan") or {}).get("items", [])
            for path in item.get("files", [])
            if not under(os.fsencode(path), [top + b"/"])
            or os.fsencode(item.get("cache_dir", "")) == top
        }
    )
    if not found:
        return []
    return [f"the plan lists {found[0]!r} and {len(found) - 1} more, not caches of {user}'s"]


@pytest.mark.parametrize(
    "args",
    [
        ["purge"],
        ["remove", "*"],
        ["remove", "six"],
        ["prune"],
        ["prune", "--older-than", "0d"],
        ["dedupe", "--link"],
    ],
    ids=" ".join,
)
def test_a_users_claims_on_others_caches_never_let_a_removal_touch_them(
    real_users: RealUsers, cli: Cli, args: list[str]
) -> None:
    tops = _tops(real_users)
    before = tree_sum(*tops)
    result = cli(*args, "--user", A, "--yes", "--json")
    after = tree_sum(*tops)
    a = os.fsencode(real_users.home(A))
    canaries = [os.fsencode(t) for t in tops[1:]] + [a + b"/notes.txt", a + b"/wheels"]
    problems = removal_problems(result, before, after, os.fsencode, canaries)
    report = Report()
    report.add(result, problems + _outside_home(result, real_users.home(A), A))
    report.check()


def test_every_cache_a_users_processes_name_is_hers_or_refused(
    real_users: RealUsers, cli: Cli
) -> None:
    """a's processes name her default caches and a second pip cache of hers (accepted,
    though the processes disagree), her $HOME (refused: never a cache) and root's and b's
    caches (refused: not hers). The audit shows exactly hers."""
    result = cli("audit", "--user", A, "--json")
    problems = result.problems()
    doc = result.doc if isinstance(result.doc, dict) else {"caches": []}
    paths = [c["path"] for c in doc["caches"]]
    home = str(real_users.home(A))
    for wanted in (f"{home}/.cache/pip", f"{home}/other-pip", f"{home}/.cache/uv"):
        if wanted not in paths:
            problems.append(f"{wanted} (named by a's processes, hers) is not audited")
    for path in paths:
        if not path.startswith(home + "/"):
            problems.append(f"audits {path}, which is no cache of {A}'s")
    report = Report()
    report.add(result, problems)
    report.check()


LOOKS = [
    ["envs", "--json"],
    ["envs"],
    ["audit", "--json"],
    ["list"],
    *(["dir", "--tool", tool, "--json"] for tool in TOOLS),
    ["purge", "--dry-run", "--json"],
]


@pytest.mark.parametrize("user", [C, D])
def test_odd_variables_of_a_users_processes_keep_the_rules(
    real_users: RealUsers, cli: Cli, user: str
) -> None:
    """c's process has undecodable bytes in names and values and relative cache paths; d's
    names a FIFO and /dev/zero as config files. Every look at them answers (in one-line
    messages, before the timeout) and changes nothing."""
    cli.max_hangs = 3
    report = Report()
    tops = _tops(real_users)
    before = tree_sum(*tops)
    for args in LOOKS:
        result = cli(*args, "--user", user)
        after = tree_sum(*tops)
        problems = read_only_problems(result, before, after)
        if args[0] == "purge":
            problems += _outside_home(result, real_users.home(user), user)
        report.add(result, problems)
        before = after
    report.check()


def test_the_systems_dirs_named_as_caches_are_never_planned(
    real_users: RealUsers, cli: Cli
) -> None:
    """e's process names /, /etc and /usr as poetry's, pdm's, uv's and conda's caches:
    none is audited (or walked: the run ends in time) and a purge plans nothing there
    (dry run only)."""
    report = Report()
    result = cli("audit", "--user", E, "--json")
    problems = result.problems()
    doc = result.doc if isinstance(result.doc, dict) else {"caches": []}
    home = str(real_users.home(E))
    problems += [
        f"audits {c['path']}, which is no cache of {E}'s"
        for c in doc["caches"]
        if not c["path"].startswith(home + "/")
    ]
    report.add(result, problems)
    result = cli("purge", "--user", E, "--dry-run", "--json")
    report.add(result, result.problems() + _outside_home(result, real_users.home(E), E))
    report.check()


def test_every_user_of_this_machine_is_looked_at_without_breaking_a_rule(
    real_users: RealUsers, cli: Cli
) -> None:
    """The whole machine, hostile users included (read-only: no removal over every user's
    caches of a shared machine); no root-owned victim cache is anyone's."""
    report = Report()
    tops = _tops(real_users)
    before = tree_sum(*tops)
    for args in (["envs", "--all-users", "--json"], ["audit", "--all-users", "--json"]):
        result = cli(*args)
        after = tree_sum(*tops)
        problems = read_only_problems(result, before, after)
        before = after
        doc = result.doc if isinstance(result.doc, dict) else {}
        for cache in doc.get("caches", []):
            if under(os.fsencode(cache["path"]), [os.fsencode(real_users.victim)]):
                problems.append(f"{cache['path']} (root's, claimed by {A}) is listed as a cache")
        report.add(result, problems)
    report.check()


INVOKER_ENVS = {
    "PIP_CONFIG_FILE=fifo": ({b"PIP_CONFIG_FILE": b"FIFO"}, ["dir", "--json"]),
    "UV_CONFIG_FILE=/dev/zero": ({b"UV_CONFIG_FILE": b"/dev/zero"}, ["dir", "--tool", "uv"]),
    "CONDARC=fifo": ({b"CONDARC": b"FIFO"}, ["dir", "--tool", "conda", "--json"]),
    "PDM_CONFIG_FILE=/dev/zero": ({b"PDM_CONFIG_FILE": b"/dev/zero"}, ["dir", "--tool", "pdm"]),
    "odd bytes": (
        {b"XDG_CONFIG_HOME": b"\xff", b"PIP_NO_CACHE_DIR": b"\xfe", b"\xff": b"\xfe"},
        ["envs", "--json"],
    ),
}


@pytest.mark.parametrize("case", sorted(INVOKER_ENVS))
def test_the_invokers_own_odd_variables_keep_the_rules(cli: Cli, tmp_path: Path, case: str) -> None:
    env, args = INVOKER_ENVS[case]
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    named: dict[str | bytes, str | bytes] = {
        k: os.fsencode(fifo) if v == b"FIFO" else v for k, v in env.items()
    }
    result = cli(*args, env=named)
    report = Report()
    report.add(result, result.problems())
    report.check()


def test_a_pip_cache_at_a_path_that_is_not_utf8_is_purged_as_planned(
    cli: Cli, tmp_path: Path, real_caches_dir: Path
) -> None:
    odd = os.fsencode(tmp_path) + b"/\xff\xfecache/pip"
    shutil.copytree(real_caches_dir / "pip-26.3", os.fsdecode(odd))
    before = tree_sum(odd)
    result = cli("purge", "--tool", "pip", "--yes", "--json", env={b"PIP_CACHE_DIR": odd})
    after = tree_sum(odd)
    problems = removal_problems(result, before, after, os.fsencode, [])
    plan = (result.doc or {}).get("plan") or {}
    if result.doc is not None and plan.get("caches") != [os.fsdecode(odd)]:
        problems.append(f"planned in {plan.get('caches')}, not in PIP_CACHE_DIR alone")
    if result.doc is not None and not plan.get("items"):
        problems.append("planned nothing")
    report = Report()
    report.add(result, problems)
    report.check()
