"""The candidates file, the `_complete` fallback, the generated scripts and
`cachecensus completion show|install|uninstall`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cachecensus import _complete, complete
from cachecensus.cli.completion_scripts import (
    CHOICE,
    ENV,
    PROJECT,
    PYTHON,
    REPO_FILES,
    SHELLS,
    describe,
    render,
)

REPO = Path(__file__).resolve().parent.parent
CACHECENSUS = Path(sys.executable).parent / "cachecensus"


class _Env:
    def __init__(self, name: str, interpreter: str) -> None:
        self.name = name
        self.interpreter = interpreter


# ------------------------------------------------------------------ candidates file


def test_write_and_read_candidates(tmp_path: Path) -> None:
    path = str(tmp_path / "sub" / "c.txt")
    envs = [_Env("proj/.venv", "/p/.venv/bin/python"), _Env("bad\tname", "/x")]
    assert complete.write_candidates(["six", "requests", "six", "a\nb"], envs, path, now=1000)
    names, stamps = complete.read_candidates(path)
    assert names == {
        "project": ["requests", "six"],
        "env": ["proj/.venv"],
        "python": ["/p/.venv/bin/python", "/x"],
    }
    assert stamps == {"project": 1000, "env": 1000}
    lines = Path(path).read_text().splitlines()
    assert lines[0] == "#cachecensus-candidates\t1\t1000"

    # None keeps what the file holds for that kind, and its stamp
    complete.write_candidates(None, [_Env("other", "/o/bin/python")], path, now=2000)
    names, stamps = complete.read_candidates(path)
    assert names["project"] == ["requests", "six"]
    assert names["env"] == ["other"]
    assert stamps == {"project": 1000, "env": 2000}
    assert complete.is_fresh(stamps, "python", now=2000 + complete.MAX_AGE - 1)
    assert not complete.is_fresh(stamps, "project", now=1000 + complete.MAX_AGE)
    assert [p.name for p in Path(path).parent.iterdir()] == ["c.txt"]  # no temp file left


def test_unwritable_candidates_file_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert complete.write_candidates(["six"], None, str(blocker / "c.txt")) is None


@pytest.mark.parametrize(
    "env",
    [
        {"XDG_CACHE_HOME": "/somewhere/cache"},
        {"XDG_CACHE_HOME": "relative/ignored"},
        {"XDG_CACHE_HOME": ""},
        {},
    ],
)
def test_default_path_is_platformdirs_user_cache_dir(env: dict[str, str], tmp_path: Path) -> None:
    full = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", complete.FILE_ENV)}
    full.update(env, HOME=str(tmp_path))
    code = "import platformdirs; print(platformdirs.user_cache_dir('cachecensus'))"
    out = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True)
    assert complete.user_cache_dir(full) == out.stdout.strip()
    assert complete.candidates_path(full) == os.path.join(out.stdout.strip(), complete.FILE_NAME)


# ------------------------------------------------------------------ python fallback


def test_fallback_imports_neither_typer_nor_rich(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    complete.write_candidates(["requests", "rich-thing", "six"], [], str(path))
    env = dict(os.environ, **{complete.FILE_ENV: str(path)})
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "cachecensus._complete", "project", "r"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.splitlines() == ["requests", "rich-thing"]
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    assert "cachecensus.complete" in imported  # (the -m module itself runs as __main__)
    heavy = {m for m in imported if m.split(".")[0] in ("typer", "rich", "click", "platformdirs")}
    assert heavy == set()


def test_fallback_refreshes_missing_kind_in_the_foreground(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.txt"
    feeder = (
        "import sys; from cachecensus.complete import write_candidates; "
        f"write_candidates(['requests', 'six'], None, {str(path)!r})"
    )
    monkeypatch.setattr(_complete, "refresh_argv", lambda kind: [sys.executable, "-c", feeder])
    assert _complete.candidates("project", "re", str(path)) == ["requests"]
    assert complete.read_candidates(str(path))[1].keys() == {"project"}


def test_fallback_answers_stale_data_and_refreshes_in_background(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    complete.write_candidates(["requests"], None, str(path), now=time.time() - complete.MAX_AGE)
    marker = Path(f"{path}.refreshing-project")
    assert _complete.candidates("project", "", str(path)) == ["requests"]
    assert marker.exists()  # a detached refresh was started ...
    assert not _complete.start_background_refresh("project", str(path))  # ... only one
    deadline = time.monotonic() + 60
    while marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not marker.exists()  # it ran `cachecensus list --json` and cleaned up


def test_fallback_usage() -> None:
    bad = subprocess.run(
        [sys.executable, "-m", "cachecensus._complete", "nonsense"], capture_output=True, text=True
    )
    assert bad.returncode == 2
    assert "usage:" in bad.stderr


# ------------------------------------------------------------------ generated scripts


def test_committed_scripts_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen-completions"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    for shell in SHELLS:
        assert (REPO / "completions" / REPO_FILES[shell]).read_text() == render(shell)


def test_check_mode_names_stale_files(tmp_path: Path) -> None:
    for shell in SHELLS:
        (tmp_path / REPO_FILES[shell]).write_text(render(shell))
    (tmp_path / REPO_FILES["zsh"]).write_text("#compdef cachecensus\n# old\n")
    gen = [sys.executable, str(REPO / "scripts" / "gen-completions"), "--dir", str(tmp_path)]
    stale = subprocess.run([*gen, "--check"], capture_output=True, text=True)
    assert stale.returncode == 1
    assert "_cachecensus" in stale.stderr and "cachecensus.fish" not in stale.stderr
    assert subprocess.run(gen, capture_output=True).returncode == 0
    assert subprocess.run([*gen, "--check"], capture_output=True).returncode == 0


def test_show_prints_the_generated_script() -> None:
    for shell in SHELLS:
        result = subprocess.run(
            [str(CACHECENSUS), "completion", "show", shell], capture_output=True, text=True
        )
        assert result.returncode == 0
        assert result.stdout == render(shell)
    bad = subprocess.run([str(CACHECENSUS), "completion", "show", "tcsh"], capture_output=True)
    assert bad.returncode == 2


@pytest.mark.parametrize("shell", SHELLS)
def test_scripts_parse(shell: str, tmp_path: Path) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed (scripts/test installs it)")
    script = tmp_path / "script"
    script.write_text(render(shell))
    result = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_describe_the_real_cli() -> None:
    specs = {s.key: s for s in describe()}
    root = specs[""]
    assert {"install", "pip", "completion"} <= {name for name, _ in root.subcommands}
    install = {name: o for o in specs["install"].options for name in o.names}
    assert install["--python"].value == PYTHON
    assert install["--env"].value == ENV
    assert specs["install"].arguments == PROJECT
    shell = {name: o for o in specs["completion install"].options for name in o.names}["--shell"]
    assert (shell.value, shell.choices) == (CHOICE, ("bash", "zsh", "fish"))
    assert specs["completion show"].arg_choices == ("bash", "zsh", "fish")


# ------------------------------------------------------------------ install / uninstall


def _cc(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(home), SHELL="/bin/bash")
    return subprocess.run([str(CACHECENSUS), *args], env=env, capture_output=True, text=True)


@pytest.mark.parametrize(
    ("shell", "where"),
    [
        ("bash", ".local/share/bash-completion/completions/cachecensus"),
        ("zsh", ".zfunc/_cachecensus"),
        ("fish", ".config/fish/completions/cachecensus.fish"),
    ],
)
def test_install_is_idempotent_and_uninstall_removes_it(
    shell: str, where: str, tmp_path: Path
) -> None:
    target = tmp_path / where
    first = _cc("completion", "install", "--shell", shell, home=tmp_path)
    assert first.returncode == 0, first.stderr
    assert f"installed {shell} completion: {target}" in first.stdout
    assert target.read_text() == render(shell)
    again = _cc("completion", "install", "--shell", shell, "--json", home=tmp_path)
    doc = json.loads(again.stdout)
    assert (doc["schema"], doc["action"], doc["path"]) == (1, "unchanged", str(target))
    if shell == "zsh":
        assert any("fpath=(~/.zfunc $fpath)" in note for note in doc["notes"])
    target.write_text(render(shell) + "# from an older version\n")
    assert "updated" in _cc("completion", "install", "--shell", shell, home=tmp_path).stdout
    removed = _cc("completion", "uninstall", "--shell", shell, home=tmp_path)
    assert f"removed {shell} completion: {target}" in removed.stdout
    assert not target.exists()
    absent = _cc("completion", "uninstall", "--shell", shell, "--json", home=tmp_path)
    assert json.loads(absent.stdout)["action"] == "absent"


def test_install_defaults_to_login_shell_and_leaves_foreign_files(tmp_path: Path) -> None:
    target = tmp_path / ".local/share/bash-completion/completions/cachecensus"
    target.parent.mkdir(parents=True)
    target.write_text("# someone else's\n")
    refused = _cc("completion", "install", home=tmp_path)  # SHELL=/bin/bash
    assert refused.returncode == 1
    assert "not a cachecensus completion script" in refused.stderr
    assert _cc("completion", "uninstall", home=tmp_path).returncode == 1
    assert target.read_text() == "# someone else's\n"


def test_system_install_into_a_root(tmp_path: Path) -> None:
    root = tmp_path / "image"
    root.mkdir()
    for shell, rel in (
        ("bash", "usr/share/bash-completion/completions/cachecensus"),
        ("zsh", "usr/local/share/zsh/site-functions/_cachecensus"),
        ("fish", "usr/share/fish/vendor_completions.d/cachecensus.fish"),
    ):
        args = ("completion", "install", "--shell", shell, "--system", "--root", str(root))
        assert _cc(*args, home=tmp_path).returncode == 0
        assert (root / rel).read_text() == render(shell)
        assert _cc("completion", "uninstall", *args[2:], home=tmp_path).returncode == 0
        assert not (root / rel).exists()
    no_system = _cc("completion", "install", "--root", str(root), home=tmp_path)
    assert no_system.returncode == 2


@pytest.mark.parametrize("command", ["install", "uninstall"])
def test_a_mistyped_root_is_a_usage_error_and_creates_nothing(command: str, tmp_path: Path) -> None:
    """`completion install --system --root <typo>` made the whole tree under the typo."""
    from typer.testing import CliRunner

    from cachecensus.cli.app import app

    typo = tmp_path / "mnt" / "imgae"
    args = ["completion", command, "--shell", "bash", "--system", "--root", str(typo)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr == f"cachecensus: error: --root {typo}: not a directory\n"
    assert not (tmp_path / "mnt").exists()
