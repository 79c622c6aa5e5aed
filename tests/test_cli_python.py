"""``--python PY`` must name a Python interpreter: `--python /bin/ls` was taken for one."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cachecensus.cli.app import app
from cachecensus.discover.interpreter import not_an_interpreter
from cachecensus.host import Host

HOST = Host.local(None)
LS = shutil.which("ls") or "/bin/ls"
#: Every command that takes --python, with what it needs besides (install and pip must
#: refuse before running anything).
PYTHON_COMMANDS = [
    ["dir"],
    ["audit"],
    ["list"],
    ["info"],
    ["remove", "six", "-n"],
    ["purge", "-n"],
    ["prune", "-n"],
    ["install", "six"],
    ["pip", "list"],
]


@pytest.mark.parametrize("command", PYTHON_COMMANDS, ids=lambda c: c[0])
def test_a_program_that_is_no_python_is_a_usage_error(command: list[str], tmp_path: Path) -> None:
    data = tmp_path / "python-notes.txt"
    data.write_text("not a program\n")
    for python, says in ((LS, "neither named nor built like one"), (data, "no executable binary")):
        result = CliRunner().invoke(app, [*command, "--python", str(python)])
        assert result.exit_code == 2, result.output
        assert "running:" not in result.stderr  # nothing was run
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"cachecensus: error: --python {python}: not a Python interpreter")
        assert says in line


def test_real_interpreters_are_interpreters_whatever_their_name(tmp_path: Path) -> None:
    assert not_an_interpreter(HOST, sys.executable) is None
    renamed = tmp_path / "myinterp"  # no python name: CPython's entry point says it
    shutil.copy(os.path.realpath(sys.executable), renamed)
    assert not_an_interpreter(HOST, str(renamed)) is None
    fake = tmp_path / "python3.11"  # the fake builds of the discovery tests pass by name
    fake.write_bytes(b"\x7fELF fake interpreter\x00")
    assert not_an_interpreter(HOST, str(fake)) is None
    shim = tmp_path / "python3"
    shim.write_text('#!/bin/sh\nexec pyenv exec python3 "$@"\n')
    assert not_an_interpreter(HOST, str(shim)) is None  # a script: inspect_interpreter says
    assert "neither named nor built" in (not_an_interpreter(HOST, LS) or "")
