"""Real bash (with bash-completion), zsh and fish, driven through tmux: type, press TAB, read
the screen back.

Two kinds of sessions per shell: one with the scripts `cachecensus completion install`
puts in place for the real CLI, and one with scripts rendered (by the same generator) from
a small Typer app shaped like the `remove`/`list`/`dir`/`audit` commands, so the engine is
proven on those option shapes whichever commands have landed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from enum import Enum
from pathlib import Path

import pytest
import typer

from cachecensus import complete
from cachecensus.cli.completion_scripts import FILE_NAMES, describe, render

pytestmark = pytest.mark.slow

VENV_BIN = Path(sys.executable).parent
CACHECENSUS = VENV_BIN / "cachecensus"
BASH_COMPLETION = Path("/usr/share/bash-completion/bash_completion")
SHELLS = ("bash", "zsh", "fish")


def _missing(shell: str) -> str | None:
    if shutil.which("tmux") is None:
        return "tmux is not installed (scripts/test installs it)"
    if shutil.which(shell) is None:
        return f"{shell} is not installed (scripts/test installs it)"
    if shell == "bash" and not BASH_COMPLETION.exists():
        return "bash-completion is not installed (scripts/test installs it)"
    return None


# ------------------------------------------------------------------ a shaped test app


class Kind(str, Enum):
    WHEEL = "wheel"
    SDIST = "sdist"
    INDEX_PAGE = "index-page"


class View(str, Enum):
    INSTALL = "install"
    CACHE = "cache"
    DOWNLOAD = "download"
    WHEEL = "wheel"


shaped = typer.Typer()


@shaped.command("remove")
def _remove(
    patterns: list[str] = typer.Argument(..., help="Project names or patterns."),
    yes: bool = typer.Option(False, "--yes"),
) -> None:
    """Remove cached entries."""


@shaped.command("list")
def _list(
    patterns: list[str] | None = typer.Argument(None),
    kind: list[Kind] | None = typer.Option(None, "--kind", "-k"),
    env: str | None = typer.Option(None, "--env", metavar="NAME"),
) -> None:
    """List cached entries."""


@shaped.command("dir")
def _dir(for_: View = typer.Option(View.INSTALL, "--for")) -> None:
    """Show the cache directory."""


@shaped.command("audit")
def _audit(user: list[str] | None = typer.Option(None, "--user", "-u")) -> None:
    """Audit every cache."""


# ------------------------------------------------------------------ tmux driving


class Session:
    """One interactive shell in a private tmux server."""

    def __init__(self, shell: str, home: Path, env: dict[str, str], argv: list[str]) -> None:
        self.shell = shell
        self.socket = f"cachecensus-test-{uuid.uuid4().hex[:8]}"
        self.home = home
        command = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv]
        self._tmux("new-session", "-d", "-s", "t", "-x", "220", "-y", "50", *command)
        self.wait_for("$")

    def _tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30
        ).stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "t")

    def wait_for(self, *texts: str, deadline: float = 15.0) -> str:
        """The screen once it shows every one of ``texts`` (or as it is at the deadline)."""
        end = time.monotonic() + deadline
        screen = self.screen()
        while not all(t in screen for t in texts) and time.monotonic() < end:
            time.sleep(0.05)
            screen = self.screen()
        return screen

    def complete(self, line: str, *expect: str, tabs: int = 1) -> str:
        """Type ``line`` on a clean screen, press TAB ``tabs`` times; the screen.

        A shell still busy with the last completion (a slow Python fallback under load) can
        take the first C-c for that, leaving the old line in place: the clear is retried
        until the screen is an empty prompt."""
        for _ in range(3):
            self._tmux("send-keys", "-t", "t", "C-c")
            time.sleep(0.1)
            self._tmux("send-keys", "-t", "t", "C-c")
            self._tmux("send-keys", "-t", "t", "-l", "clear")
            self._tmux("send-keys", "-t", "t", "Enter")
            end = time.monotonic() + 5
            while self.screen().strip() != "$" and time.monotonic() < end:
                time.sleep(0.05)
            if self.screen().strip() == "$":
                break
        self._tmux("send-keys", "-t", "t", "-l", line)
        self.wait_for(line.rstrip())  # tmux drops trailing blanks of a screen line
        for _ in range(tabs):
            self._tmux("send-keys", "-t", "t", "Tab")
            time.sleep(0.3)
        return self.wait_for(*expect) if expect else self.screen()

    def cycle(self, line: str, tabs: int) -> list[str]:
        """Type ``line``, then press TAB ``tabs`` times: the prompt line after each press."""
        self.complete(line, tabs=0)
        lines = []
        for _ in range(tabs):
            before = _last_prompt_line(self.screen())
            self._tmux("send-keys", "-t", "t", "Tab")
            end = time.monotonic() + 5
            while _last_prompt_line(self.screen()) == before and time.monotonic() < end:
                time.sleep(0.05)
            time.sleep(0.1)
            lines.append(_last_prompt_line(self.screen()))
        return lines

    def close(self) -> None:
        self._tmux("kill-server")


def _start(shell: str, tmp: Path, scripts: dict[str, str] | None, rc: str = "") -> Session:
    """A shell whose completion for cachecensus is installed where that shell looks.

    ``scripts`` None: the real CLI's, put there by `cachecensus completion install`; ``rc``:
    more lines for the shell's start-up file (key bindings)."""
    home = tmp / "home"
    shim_dir = tmp / "shim"
    for d in (home, shim_dir):
        d.mkdir(parents=True, exist_ok=True)
    (shim_dir / "cachecensus").symlink_to(CACHECENSUS)
    env = {
        "HOME": str(home),
        "TERM": "xterm",
        "LANG": "C.UTF-8",
        "PATH": f"{shim_dir}:{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
        "SHELL": shutil.which(shell) or shell,
        complete.FILE_ENV: str(tmp / "candidates.txt"),
    }
    if scripts is None:
        subprocess.run(
            [str(CACHECENSUS), "completion", "install", "--shell", shell],
            env=dict(os.environ, HOME=str(home), XDG_DATA_HOME="", XDG_CONFIG_HOME=""),
            check=True,
            capture_output=True,
        )
    else:
        target = {
            "bash": home / ".local/share/bash-completion/completions",
            "zsh": home / ".zfunc",
            "fish": home / ".config/fish/completions",
        }[shell]
        target.mkdir(parents=True, exist_ok=True)
        (target / FILE_NAMES[shell]).write_text(scripts[shell])
    if shell == "bash":
        rcfile = tmp / "bashrc"
        rcfile.write_text(f"source {BASH_COMPLETION}\nPS1='$ '\n{rc}\n")
        argv = ["bash", "--noprofile", "--rcfile", str(rcfile), "-i"]
    elif shell == "zsh":
        (home / ".zshrc").write_text(
            "fpath=(~/.zfunc $fpath)\nautoload -Uz compinit && compinit -u\nPS1='$ '\n" + rc
        )
        argv = ["zsh", "-i"]
    else:
        config = home / ".config" / "fish"
        config.mkdir(parents=True, exist_ok=True)
        (config / "config.fish").write_text(
            "set -g fish_greeting ''\nfunction fish_prompt; echo -n '$ '; end\n" + rc
        )
        argv = ["fish", "-i"]
    return Session(shell, home, env, argv)


def _write_candidates(path: Path, *, age: float = 0) -> None:
    envs = [
        _Env("pyenv:3.12.1", "/home/u/.pyenv/versions/3.12.1/bin/python3.12"),
        _Env("myproj/.venv", "/home/u/myproj/.venv/bin/python"),
    ]
    complete.write_candidates(["requests", "six", "idna"], envs, str(path), now=time.time() - age)


class _Env:
    def __init__(self, name: str, interpreter: str) -> None:
        self.name = name
        self.interpreter = interpreter


@pytest.fixture(params=SHELLS)
def real_session(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Session]:
    reason = _missing(request.param)
    if reason:
        pytest.skip(reason)
    _write_candidates(tmp_path / "candidates.txt")
    session = _start(request.param, tmp_path, None)
    yield session
    session.close()


@pytest.fixture(params=SHELLS)
def shaped_session(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Session]:
    reason = _missing(request.param)
    if reason:
        pytest.skip(reason)
    _write_candidates(tmp_path / "candidates.txt")
    specs = describe(shaped)
    session = _start(request.param, tmp_path, {s: render(s, specs) for s in SHELLS})
    yield session
    session.close()


def _last_prompt_line(screen: str) -> str:
    lines = [line for line in screen.splitlines() if line.startswith("$ ")]
    return lines[-1] if lines else ""


# ------------------------------------------------------------------ the real CLI


def test_project_names_commands_and_options(real_session: Session) -> None:
    s = real_session
    screen = s.complete("cachecensus install re", "cachecensus install requests")
    assert "cachecensus install requests" in screen, screen
    screen = s.complete("cachecensus comp", "cachecensus completion")
    assert "cachecensus completion" in _last_prompt_line(screen), screen
    screen = s.complete("cachecensus completion install --sh", "--shell")
    assert _last_prompt_line(screen).startswith("$ cachecensus completion install --shell"), screen


def test_option_values_and_env_names(real_session: Session) -> None:
    s = real_session
    screen = s.complete("cachecensus completion install --shell ", "bash", "fish", "zsh", tabs=2)
    assert all(word in screen for word in ("bash", "fish", "zsh")), screen
    screen = s.complete("cachecensus install --env py", "pyenv:3.12.1")
    assert "cachecensus install --env pyenv:3.12.1" in screen, screen
    screen = s.complete("cachecensus pip --env my", "myproj/.venv")
    assert "cachecensus pip --env myproj/.venv" in screen, screen


def test_fresh_file_needs_no_python_and_stale_file_asks_python(
    real_session: Session, tmp_path: Path
) -> None:
    s = real_session
    shim = tmp_path / "shim" / "cachecensus"
    shim.unlink()
    shim.write_text("#!/nonexistent/python3\n")  # any Python fallback would now fail
    shim.chmod(0o755)
    screen = s.complete("cachecensus install re", "cachecensus install requests")
    assert "cachecensus install requests" in screen, screen  # read by the shell itself

    _write_candidates(tmp_path / "candidates.txt", age=complete.MAX_AGE + 60)
    screen = s.complete("cachecensus install re")
    time.sleep(1)  # give a (wrong) completion time to show up before reading back
    screen = s.screen()
    assert "requests" not in screen, screen  # stale: the shell asked the (broken) Python

    shim.unlink()
    shim.symlink_to(CACHECENSUS)  # the real one: `python -m cachecensus._complete` answers
    screen = s.complete("cachecensus install re", "cachecensus install requests")
    assert "cachecensus install requests" in screen, screen


# ------------------------------------------------------------------ remove/list/dir shapes


def test_shaped_commands(shaped_session: Session) -> None:
    s = shaped_session
    screen = s.complete("cachecensus remove re", "cachecensus remove requests")
    assert "cachecensus remove requests" in screen, screen
    screen = s.complete("cachecensus list --k", "cachecensus list --kind")
    assert "cachecensus list --kind" in _last_prompt_line(screen), screen
    screen = s.complete("cachecensus list --kind ", "wheel", "sdist", "index-page", tabs=2)
    assert all(w in screen for w in ("wheel", "sdist", "index-page")), screen
    screen = s.complete("cachecensus dir --for ", "install", "cache", "download", tabs=2)
    assert all(w in screen.split("--for", 1)[1] for w in ("install", "cache", "download", "wheel"))
    screen = s.complete("cachecensus list --env py", "cachecensus list --env pyenv:3.12.1")
    assert "cachecensus list --env pyenv:3.12.1" in screen, screen
    screen = s.complete("cachecensus audit --user roo", "cachecensus audit --user root")
    assert "cachecensus audit --user root" in screen, screen  # from the passwd database


def test_real_remove_list_dir_audit(real_session: Session) -> None:
    """The same shapes on the real commands: project names, kinds, views and users."""
    s = real_session
    screen = s.complete("cachecensus remove re", "cachecensus remove requests")
    assert "cachecensus remove requests" in screen, screen
    screen = s.complete("cachecensus list --k", "cachecensus list --kind")
    assert "cachecensus list --kind" in _last_prompt_line(screen), screen
    screen = s.complete("cachecensus list --kind ", "wheel", "sdist", "index-page", tabs=2)
    assert all(w in screen for w in ("wheel", "sdist", "index-page", "built-wheel")), screen
    screen = s.complete("cachecensus dir --for ", "install", "cache", "download", tabs=2)
    assert all(w in screen.split("--for", 1)[1] for w in ("install", "cache", "download", "wheel"))
    screen = s.complete("cachecensus audit --user roo", "cachecensus audit --user root")
    assert "cachecensus audit --user root" in screen, screen  # from the passwd database
    screen = s.complete("cachecensus pru", "cachecensus prune")
    assert "cachecensus prune" in _last_prompt_line(screen), screen


# ------------------------------------------------------------------ several candidates at once

#: What TAB offers after each line on the real CLI: subcommands, then long options.
SEVERAL = (
    ("cachecensus ", ()),
    ("cachecensus completion ", ("completion",)),
    ("cachecensus audit --", ("audit",)),
)
#: Bindings that make TAB insert one candidate at a time (fish's second TAB already does).
MENU_COMPLETE = {
    "bash": "bind '\"\\t\": menu-complete'",
    "zsh": "bindkey '^I' menu-complete",
    "fish": "",
}


def _expected(path: tuple[str, ...], line: str) -> list[str]:
    """The candidates the completion tables hold for ``line``, sorted as the shells list them."""
    (spec,) = [s for s in describe() if s.path == path]
    if line.endswith("--"):
        return sorted(n for o in spec.options for n in o.names if n.startswith("--"))
    return sorted(name for name, _ in spec.subcommands)


def _listed(shell: str, screen: str) -> list[str]:
    """The candidates a shell lists after an ambiguous TAB, read off the screen: bash lists
    them between two prompts, zsh and fish below the line (fish with a description each)."""
    lines = screen.rstrip().splitlines()
    prompts = [i for i, line in enumerate(lines) if line.startswith("$ ")]
    if shell == "bash":
        listing = lines[prompts[-2] + 1 : prompts[-1]] if len(prompts) >= 2 else []
        return sorted(w for line in listing for w in line.split())
    listing = lines[prompts[-1] + 1 :] if prompts else []
    if shell == "zsh":
        return sorted(w for line in listing for w in line.split())
    pattern = re.compile(r"(?:^|\)\s+)([-\w]+)\s+\(")  # fish: 'word  (description)'
    return sorted(m for line in listing for m in pattern.findall(line))


@pytest.fixture(params=SHELLS)
def menu_session(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Session]:
    reason = _missing(request.param)
    if reason:
        pytest.skip(reason)
    _write_candidates(tmp_path / "candidates.txt")
    session = _start(request.param, tmp_path, None, MENU_COMPLETE[request.param])
    yield session
    session.close()


def test_a_tab_with_several_candidates_lists_each_one_never_one_multiline_word(
    real_session: Session,
) -> None:
    """Bash once offered `show\\ninstall\\nuninstall` as one word (split on spaces only):
    TAB put all three on the line and Enter ran coreutils' install. Each shell must list
    exactly the candidates, and leave the line as typed (zsh and fish: the first one)."""
    s = real_session
    for line, path in SEVERAL:
        expected = _expected(path, line)
        screen = s.complete(line, *expected, tabs=2)
        assert _listed(s.shell, screen) == expected, screen
        stem = line.split()[:-1] if line.endswith("--") else line.split()
        typed = _last_prompt_line(screen)[2:].split()
        assert typed in (line.split(), [*stem, expected[0]]), screen


def test_menu_complete_steps_through_each_candidate_one_word_at_a_time(
    menu_session: Session,
) -> None:
    """TAB bound to menu-complete (fish: its second TAB) inserts the candidates one by one,
    in order, each a single word on a single line."""
    s = menu_session
    for line, path in SEVERAL:
        expected = _expected(path, line)
        first = 1 if s.shell == "fish" else 0  # fish's first TAB opens the pager
        shown = s.cycle(line, first + len(expected))[first:]
        stem = line.split()[:-1] if line.endswith("--") else line.split()
        assert shown == [f"$ {' '.join([*stem, word])}" for word in expected], (line, shown)
