"""Dynamic completion at scale: the shells look up only the typed prefix's candidates.

Each shell sources its committed script (``completions/``) and runs the function it would
run at TAB (bash ``_cachecensus`` with ``COMP_LINE``, zsh ``_cachecensus`` with ``compadd``
stubbed to collect, fish ``complete -C``), against a candidates file with 40 000 project
names and environment names full of characters each shell must quote.  A ``cachecensus``
on ``PATH`` whose ``#!`` interpreter is a spy proves no Python starts while the file is
fresh.  Also: ``python -m cachecensus._complete | head`` and the bench and the tests never
touch the invoking user's own candidates file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cachecensus import complete

REPO = Path(__file__).resolve().parent.parent
COMPLETIONS = REPO / "completions"
WORK = Path(os.environ.get("CACHECENSUS_TEST_WORK", REPO / ".venv" / "test-work"))

PROJECTS = [f"proj{i:05d}" for i in range(40_000)]
ODD_ENVS = [
    "my project/.venv",
    "it's/.venv",
    'say "hi"/.venv',
    "back\\slash/.venv",
    "dollar$HOME/.venv",
    "star*glob?/.venv",
    "-dash/.venv",
    "ünïcode/.venv",
    "plain/.venv",
]


class _Env:
    def __init__(self, name: str) -> None:
        self.name = name
        self.interpreter = f"/srv/{name}/bin/python"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path]:
    """(environment for the shells, the spy's marker file)."""
    tmp = tmp_path_factory.mktemp("lookup")
    cand = tmp / "candidates.txt"
    assert complete.write_candidates(PROJECTS, [_Env(n) for n in ODD_ENVS], str(cand))
    spy_bin = tmp / "bin"
    spy_bin.mkdir()
    marker = tmp / "python-started"
    spy = spy_bin / "python-spy"
    spy.write_text(f"#!/bin/sh\ntouch {marker}\n")
    spy.chmod(0o755)
    tool = spy_bin / "cachecensus"
    tool.write_text(f"#!{spy}\n")
    tool.chmod(0o755)
    env = {
        "PATH": f"{spy_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp),
        "LANG": "C.UTF-8",
        complete.FILE_ENV: str(cand),
    }
    return env, marker


def _bash(line: str, env: dict[str, str]) -> list[str]:
    script = (
        f"source {COMPLETIONS / 'cachecensus.bash'}\n"
        "COMP_LINE=$1; COMP_POINT=${#COMP_LINE}\n"
        "_cachecensus\n"
        "printf '%s\\0' \"${COMPREPLY[@]}\"\n"
    )
    out = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script, "bash", line],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return [w for w in out.split("\0") if w]


def _zsh(line: str, env: dict[str, str]) -> list[str]:
    script = (
        "typeset -ga got\n"
        "compadd() { [[ $1 == -a ]] && got+=(${(P)2}); }\n"
        "compdef() { : }\n"
        f"source {COMPLETIONS / '_cachecensus'}\n"
        "words=(${(z)1}); [[ $1 == *' ' ]] && words+=('')\n"
        "CURRENT=$#words; PREFIX=${words[CURRENT]}\n"
        "_cachecensus\n"
        "(( $#got )) && printf '%s\\0' $got; true\n"
    )
    out = subprocess.run(
        ["zsh", "-f", "-c", script, "zsh", line],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return [w for w in out.split("\0") if w]


def _fish(line: str, env: dict[str, str]) -> list[str]:
    script = f"source {COMPLETIONS / 'cachecensus.fish'}\ncomplete -C $argv[1]\n"
    out = subprocess.run(
        ["fish", "--no-config", "-c", script, line],
        env={**env, "XDG_CONFIG_HOME": env["HOME"], "XDG_DATA_HOME": env["HOME"]},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return [w.split("\t")[0] for w in out.splitlines() if w]


SHELLS: dict[str, Callable[[str, dict[str, str]], list[str]]] = {
    "bash": _bash,
    "zsh": _zsh,
    "fish": _fish,
}


def _bash_quoted(name: str) -> str:
    out = subprocess.run(
        ["bash", "-c", 'printf %q "$1"', "bash", name], capture_output=True, text=True, check=True
    )
    return out.stdout


@pytest.fixture(params=sorted(SHELLS))
def shell(request: pytest.FixtureRequest) -> str:
    if shutil.which(request.param) is None:
        pytest.skip(f"{request.param} is not installed")
    return str(request.param)


@pytest.mark.slow
def test_a_prefix_among_40000_names_yields_exactly_its_names_without_python(
    shell: str, world: tuple[dict[str, str], Path]
) -> None:
    env, marker = world
    got = SHELLS[shell]("cachecensus install proj0249", env)
    assert sorted(got) == [f"proj0249{i}" for i in range(10)]
    assert SHELLS[shell]("cachecensus install zzz", env) == []  # no match: nothing
    assert not marker.exists(), "a fresh candidates file must answer without Python"


@pytest.mark.slow
def test_an_empty_prefix_offers_every_name_of_the_kind(
    shell: str, world: tuple[dict[str, str], Path]
) -> None:
    env, marker = world
    got = SHELLS[shell]("cachecensus install --env ", env)
    expected = [_bash_quoted(n) for n in ODD_ENVS] if shell == "bash" else ODD_ENVS
    assert sorted(got) == sorted(expected)
    assert not marker.exists()


#: Words these non-interactive drivers cannot hand over the way the interactive shell does.
HARNESS_CANNOT = {
    ("zsh", "'my p"): "zsh strips an open quote itself (compstate[quote]) before PREFIX",
    ("fish", "-d"): "fish completes a word starting with - as an option",
    ("fish", "star\\*"): "fish takes * in the token as a wildcard (complete -C answers the glob)",
}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("my\\ p", "my project/.venv"),
        ("'my p", "my project/.venv"),
        ("it\\'", "it's/.venv"),
        ('say\\ \\"', 'say "hi"/.venv'),
        ("back\\\\", "back\\slash/.venv"),
        ("dollar\\$", "dollar$HOME/.venv"),
        ("star\\*", "star*glob?/.venv"),
        ("-d", "-dash/.venv"),
        ("ün", "ünïcode/.venv"),
    ],
)
def test_odd_names_are_found_by_their_typed_prefix_and_quoted_for_the_shell(
    shell: str, world: tuple[dict[str, str], Path], typed: str, name: str
) -> None:
    """The word as typed (quoted as the shell wants) is unquoted before the lookup; bash
    gets the candidate %q-quoted (it inserts COMPREPLY as is), zsh and fish quote it
    themselves when inserting."""
    env, marker = world
    if (shell, typed) in HARNESS_CANNOT:
        pytest.skip(HARNESS_CANNOT[shell, typed])
    got = SHELLS[shell](f"cachecensus install --env {typed}", env)
    assert got == [_bash_quoted(name) if shell == "bash" else name]
    assert not marker.exists()


def test_a_closed_pipe_is_no_traceback(tmp_path: Path) -> None:
    """`python -m cachecensus._complete project | head -1` printed a BrokenPipeError."""
    cand = tmp_path / "c.txt"
    complete.write_candidates(PROJECTS, None, str(cand))  # far more than a pipe holds
    env = {**os.environ, complete.FILE_ENV: str(cand), "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(
        ["sh", "-c", f"{sys.executable} -m cachecensus._complete project | head -n 1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout == "proj00000\n"
    assert proc.stderr == ""


def test_the_tests_record_candidates_in_their_own_file_never_the_users() -> None:
    explicit = os.environ.get(complete.FILE_ENV, "")
    assert explicit, "tests/conftest.py sets CACHECENSUS_COMPLETION_FILE for every test"
    users = complete.candidates_path(
        {k: v for k, v in os.environ.items() if k != complete.FILE_ENV}
    )
    assert os.path.realpath(explicit) != os.path.realpath(users)
    assert complete.candidates_path() == explicit


@pytest.mark.slow
def test_the_bench_records_candidates_in_its_work_dir_never_the_users(
    tmp_path: Path, pip_venv: Callable[[str], Path]
) -> None:
    """scripts/bench runs audit/list (which feed completion) with its own candidates file."""
    pip_venv("26.3")  # the bench's pip, built where the tests keep theirs
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k != complete.FILE_ENV and not k.startswith(("XDG_", "PIP_"))
    }
    env.update(
        HOME=str(home),
        CACHECENSUS_TEST_WORK=str(WORK),
        PYTHONPATH=str(REPO / "src"),
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
    )
    work = tmp_path / "work"
    args = ["--only", "scan", "--entries", "30", "--bytes", "60K", "--runs", "1"]
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench"), *args, "--work", str(work)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not (home / ".cache" / "cachecensus" / complete.FILE_NAME).exists()
    assert (work / complete.FILE_NAME).exists()  # list --json fed the bench's own file
