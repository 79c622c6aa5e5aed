"""``--user`` is repeatable wherever it is taken (a second one was silently the only one)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
import typer
from typer.testing import CliRunner

from cachecensus.cli.app import app
from cachecensus.host import Host
from cachecensus.targets import TargetError, users_for
from test_discover import fake_machine


def _commands(command: click.Command, path: str = "") -> list[tuple[str, click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            found += _commands(sub, f"{path} {name}".strip())
    return found


def test_every_command_that_takes_user_takes_it_repeatedly() -> None:
    taking = {
        path: param
        for path, command in _commands(typer.main.get_command(app))
        for param in command.params
        if "--user" in getattr(param, "opts", ())
    }
    assert {"envs", "dir", "audit", "list", "info", "remove", "purge", "prune", "dedupe"} <= set(
        taking
    )
    for path, param in taking.items():
        assert isinstance(param, click.Option) and param.multiple, path


def test_users_for_keeps_each_named_user_once_in_order(tmp_path: Path) -> None:
    host = Host.local(str(fake_machine(tmp_path)))
    assert [u.name for u in users_for(host, ["bob", "alice", "bob"], False)] == ["bob", "alice"]
    assert [u.name for u in users_for(host, "alice", False)] == ["alice"]
    with pytest.raises(TargetError, match="no such user: carol"):
        users_for(host, ["alice", "carol"], False)
    with pytest.raises(TargetError, match="exclude each other"):
        users_for(host, ["alice"], True)


@pytest.fixture
def machine(tmp_path: Path) -> str:
    return str(fake_machine(tmp_path))


def _json(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code in (0, 1), result.output
    doc: dict[str, object] = json.loads(result.stdout)
    return doc


def test_envs_and_audit_take_both_users(machine: str) -> None:
    both = ["--root", machine, "--user", "alice", "--user", "bob", "--json"]
    envs = _json("envs", *both)
    assert [u["name"] for u in envs["users"]] == ["alice", "bob"]  # type: ignore[attr-defined]
    audit = _json("audit", *both)
    users = {u["user"] for c in audit["caches"] for u in c["used_by"]}  # type: ignore[attr-defined]
    assert users == {"alice", "bob"}


def test_dir_answers_for_each_user(machine: str) -> None:
    args = ["dir", "--root", machine, "--python", "/usr/bin/python3.11"]
    one = CliRunner().invoke(app, [*args, "--user", "alice"])
    assert one.stdout == "/home/alice/.cache/pip\n"
    two = CliRunner().invoke(app, [*args, "--user", "alice", "--user", "bob"])
    assert two.exit_code == 0, two.output
    assert two.stdout == "alice\t/home/alice/.cache/pip\nbob\t/home/bob/.cache/pip\n"
    doc = _json(*args, "--user", "alice", "--user", "bob", "--json")
    answers = doc["answers"]
    assert [(a["user"], a["cache_dir"]) for a in answers] == [  # type: ignore[attr-defined]
        ("alice", "/home/alice/.cache/pip"),
        ("bob", "/home/bob/.cache/pip"),
    ]
    uv = CliRunner().invoke(
        app, ["dir", "--root", machine, "--tool", "uv", "--user", "alice", "--user", "bob"]
    )
    assert uv.stdout == "alice\t/home/alice/.cache/uv\nbob\t/home/bob/.cache/uv\n", uv.output
