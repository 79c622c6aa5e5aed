"""``cachecensus envs``: the JSON schema on a fake machine (``--root``), the table, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer
from typer.testing import CliRunner

from cachecensus.cli.app import app
from cachecensus.cli.completion_scripts import DIR, USER, describe
from test_discover import fake_machine

CACHECENSUS = str(Path(sys.executable).parent / "cachecensus")


def test_json_on_a_foreign_root(tmp_path: Path) -> None:
    root = fake_machine(tmp_path)
    proc = subprocess.run(
        [CACHECENSUS, "envs", "--root", str(root), "--all-users", "--json"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    keys = {"schema", "users", "environments", "caches", "resolutions", "problems", "notes"}
    assert set(doc) == keys
    assert doc["schema"] == 1
    assert [u["name"] for u in doc["users"]] == ["root", "alice", "bob"]
    assert set(doc["users"][1]) == {"name", "uid", "gid", "home", "shell"}
    envs = {e["prefix"]: e for e in doc["environments"]}
    assert envs["/usr"]["kind"] == "system" and envs["/usr"]["version"] == "3.11.2"
    proj = envs["/home/alice/proj/.venv"]
    assert proj["kind"] == "venv" and proj["pip_version"] == "26.3" and proj["owner"] == "alice"
    assert proj["base_interpreter"] == "/home/alice/.pyenv/versions/3.12.1/bin/python3.12"
    assert isinstance(proj["found_by"], list) and isinstance(proj["aliases"], list)
    assert envs["/home/bob/miniconda3/envs/science"]["kind"] == "conda"
    broken = [e for e in doc["environments"] if e["problem"]]
    assert any("dangling" in e["problem"] for e in broken)
    caches = {c["path"]: c for c in doc["caches"]}
    assert {"/root/.cache/pip", "/home/alice/.cache/pip", "/home/bob/.cache/pip"} <= set(caches)
    for cache in doc["caches"]:
        assert {"tool", "path", "exists", "owner", "used_by"} <= set(cache)
        assert cache["tool"] in ("pip", "poetry") and cache["used_by"]
        assert {"user", "environment", "view", "origin"} == set(cache["used_by"][0])
    # alice's poetry venv lives in poetry's cache dir, so that cache exists and is hers
    poetry = caches["/home/alice/.cache/pypoetry"]
    assert poetry["tool"] == "poetry" and {u["user"] for u in poetry["used_by"]} == {"alice"}
    assert any(u["environment"].endswith("lib-abc-py3.11/bin/python") for u in poetry["used_by"])
    alice_users = {u["user"] for u in caches["/home/alice/.cache/pip"]["used_by"]}
    assert alice_users == {"alice"}
    resolutions = doc["resolutions"]
    assert {"user", "environment", "view", "cache_dir", "disabled", "reason", "decided_by"} <= set(
        resolutions[0]
    )
    assert {(r["user"], r["environment"]) for r in resolutions} >= {
        ("alice", ""),
        ("alice", "/home/alice/proj/.venv/bin/python"),
        ("bob", "/usr/bin/python3.11"),
    }
    assert str(tmp_path) not in proc.stdout  # paths as seen inside that system


def test_table_and_exit_codes_with_typer_runner(tmp_path: Path) -> None:
    root = fake_machine(tmp_path)
    runner = CliRunner()
    result = runner.invoke(
        app, ["envs", "--root", str(root), "--user", "alice"], env={"COLUMNS": "300"}
    )
    assert result.exit_code in (0, 1), result.output
    assert "environments" in result.output and "distinct caches" in result.output
    assert "pyenv:3.12.1" in result.output
    bad = runner.invoke(app, ["envs", "--root", str(root), "--scan", "/nowhere", "--json"])
    assert bad.exit_code == 1  # a problem: the audit was partial
    doc = json.loads(bad.stdout)
    assert {"path": "/nowhere", "message": "--scan: not a directory"} in doc["problems"]


def test_unknown_user_is_a_one_line_usage_error(tmp_path: Path) -> None:
    root = fake_machine(tmp_path)
    proc = subprocess.run(
        [CACHECENSUS, "envs", "--root", str(root), "--user", "no-such-user-x"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "cachecensus: error: no such user: no-such-user-x"


def test_bad_root_is_a_usage_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [CACHECENSUS, "envs", "--root", str(tmp_path / "absent")], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_live_run_finds_this_venv_and_feeds_completion(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CACHECENSUS_COMPLETION_FILE"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg-cache")  # the default path, under tmp
    proc = subprocess.run([CACHECENSUS, "envs", "--json"], capture_output=True, text=True, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    prefixes = {e["prefix"] for e in doc["environments"]}
    assert sys.prefix in prefixes
    written = list((tmp_path / "xdg-cache").rglob("completion-candidates.txt"))
    assert written, "envs writes the completion candidates file"
    assert sys.prefix + "/bin/python" in written[0].read_text()


def test_startup_does_not_import_rich_or_psutil_for_help() -> None:
    code = (
        "import sys; from cachecensus.cli.app import app; "
        "print(sorted(m for m in ('rich', 'psutil') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(("flag", "kind"), [("--user", USER), ("--scan", DIR), ("--root", DIR)])
def test_completion_knows_the_value_kinds(flag: str, kind: str) -> None:
    (envs,) = [c for c in describe(app) if c.path == ("envs",)]
    (option,) = [o for o in envs.options if flag in o.names]
    assert option.value == kind
    assert envs.arguments is None


def test_each_command_is_found_in_the_family_the_start_up_map_names() -> None:
    """A run imports only its command's family (cli.app.COMMAND_FAMILY): the map must name
    every command, and each family alone must register the commands mapped to it."""
    from cachecensus.cli import app as appmod

    top = typer.main.get_command(appmod.build())
    assert isinstance(top, click.Group)
    assert set(top.commands) == set(appmod.COMMAND_FAMILY)
    for family in appmod.FAMILIES:
        alone = typer.main.get_command(appmod.build((family,)))
        mapped = {c for c, f in appmod.COMMAND_FAMILY.items() if f == family}
        names = set(alone.commands) if isinstance(alone, click.Group) else {alone.name}
        assert names == mapped
    assert appmod.families_for(["list", "--json"]) == ("audit",)
    assert appmod.families_for(["--version"]) == appmod.FAMILIES
    assert appmod.families_for(["nosuch"]) == appmod.FAMILIES


def test_a_mistyped_command_gets_one_suggestion() -> None:
    result = CliRunner().invoke(app, ["audti"])
    assert result.exit_code == 2
    assert result.output.count("Did you mean 'audit'?") == 1
