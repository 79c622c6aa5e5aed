"""Usage errors on the command line: one line on stderr, exit 2, never a traceback or a box,
in every command (``--json`` too: stdout stays empty)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cachecensus.cli.app import COMMAND_FAMILY, app

CACHECENSUS = str(Path(sys.executable).parent / "cachecensus")

#: A bad option for each command: an unknown one, except where unknown options are pip's
#: (``install``, ``pip``): there, one of ours without its value.
BAD_OPTION = {command: ["--no-such-option"] for command in COMMAND_FAMILY}
BAD_OPTION["install"] = BAD_OPTION["pip"] = ["--python"]


def _one_line_usage_error(args: list[str]) -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, (args, result.output)
    assert isinstance(result.exception, SystemExit), (args, result.exception)
    assert result.stdout == "", (args, result.stdout)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, (args, result.stderr)
    assert lines[0].startswith("cachecensus: error: "), (args, lines)
    assert "Traceback" not in result.stderr and "╭" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("command", sorted(COMMAND_FAMILY))
@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_a_bad_option_in_any_command_is_one_line_on_stderr_and_exit_2(
    command: str, json_flag: list[str]
) -> None:
    json_flag = json_flag if command != "completion" else []  # a group: no --json of its own
    line = _one_line_usage_error([command, *json_flag, *BAD_OPTION[command]])
    assert line.startswith(f"cachecensus: error: {command}: "), line
    assert f"'cachecensus {command} --help'" in line


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["list", "--kind", "bogus"], "'bogus' is not one of 'wheel'"),
        (["audit", "--tool", "npm", "--json"], "'npm' is not one of 'pip'"),
        (["audit", "--stale-days", "-1"], "--stale-days"),
        (["audit", "--kind", "wheel"], "No such option '--kind'"),
        (["remove"], "Missing argument 'PATTERN'"),
        (["remove", "--json"], "Missing argument 'PATTERN'"),
        (["install"], "install: nothing to install"),
        (["install", "--json", "--"], "install: nothing to install"),
        (["dir", "--for", "nowhere"], "'nowhere' is not one of 'install'"),
        (["completion", "show", "tcsh"], "'tcsh' is not one of 'bash'"),
        (["completion", "install", "--shell"], "requires an argument"),
        (["completion", "nosuch"], "No such command 'nosuch'"),
        (["nosuch"], "No such command 'nosuch'"),
        (["--no-such-option"], "No such option"),
    ],
)
def test_bad_values_unknown_options_and_missing_arguments_are_one_line(
    args: list[str], says: str
) -> None:
    assert says in _one_line_usage_error(args)


@pytest.mark.slow
def test_the_installed_command_says_a_usage_error_in_one_line() -> None:
    proc = subprocess.run(
        [CACHECENSUS, "list", "--json", "--kind", "bogus"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("cachecensus: error: list: ")
    assert "Usage:" not in proc.stderr and "Traceback" not in proc.stderr
