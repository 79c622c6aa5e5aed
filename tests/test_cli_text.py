"""What the command line says: help text as written, counts in agreement with their nouns,
one name per option, and units that cannot be misread."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cachecensus.cli import envs as envs_cli
from cachecensus.cli.app import app
from cachecensus.cli.remove import parse_age, parse_size
from cachecensus.models import (
    CacheDir,
    Census,
    Environment,
    EnvKind,
    Resolution,
    Usage,
    User,
)
from cachecensus.report import plural

CACHECENSUS = str(Path(sys.executable).parent / "cachecensus")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CACHECENSUS, *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, CACHECENSUS_MEMO="off"),
    )


def test_square_brackets_in_help_are_text_not_markup() -> None:
    """rich read '[cache]' and '[install]' as style tags and printed nothing for them."""
    result = CliRunner().invoke(app, ["dir", "--help"])
    assert result.exit_code == 0
    said = " ".join(result.stdout.split())
    assert "([cache] is what 'pip cache dir' reads; installs read [install])" in said


def test_plural_agrees_with_its_count() -> None:
    assert plural(1, "cache") == "1 cache"
    assert plural(0, "cache") == "0 caches"
    assert plural(1, "entry", "entries") == "1 entry"
    assert plural(2, "entry", "entries") == "2 entries"
    assert plural(1, "env") == "1 env"


def test_one_cache_one_environment_are_said_in_the_singular(tmp_path: Path) -> None:
    cache = tmp_path / "pip"
    (cache / "http-v2").mkdir(parents=True)
    result = CliRunner().invoke(app, ["audit", "--cache-dir", str(cache)], env={"COLUMNS": "200"})
    assert "1 cache, 0 bytes in 0 files (each inode once), 0 entries;" in result.stdout
    assert "1 caches" not in result.stdout


def _census(reason: str) -> Census:
    user = User("ann", 1000, 1000, "/home/ann", "/bin/sh")
    env = Environment(
        interpreter="/usr/bin/python3",
        prefix="/usr",
        kind=EnvKind.SYSTEM,
        name="python3",
        version="3.11.2",
    )
    res = Resolution("pip", "install", None, True, reason)
    usage = Usage("ann", env.interpreter)
    cache = CacheDir("uv", "/home/ann/.cache/uv", True, "ann", (usage,))
    return Census((user,), (env,), (cache,), ((usage, res),))


@pytest.mark.parametrize(
    "reason",
    [
        "disabled: root does not own /x (pip's ownership check; cache-dir /x)",
        "disabled by no-cache-dir = 1 (PIP_NO_CACHE_DIR)",
    ],
)
def test_a_disabled_cache_says_disabled_once(reason: str) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        envs_cli._render(_census(reason), ())
    text = out.getvalue()
    assert "disabled" in text and "disabled: disabled" not in text, text
    assert "1 environment" in text and "1 distinct cache" in text, text
    assert "1 environments" not in text and "1 distinct caches" not in text


def test_list_spec_is_not_the_global_version_option(real_caches: Path) -> None:
    """`list --version SPEC` read like `cachecensus --version`: the option is `--spec`; the
    old name still works, hidden, and both at once are a usage error."""
    cache = ["--cache-dir", str(real_caches / "pip-26.3")]
    help_text = CliRunner().invoke(app, ["list", "--help"]).stdout
    assert "--spec SPEC" in help_text and "--version" not in help_text
    new = _cli("list", "six", "--spec", ">1.16", "--json", *cache)
    old = _cli("list", "six", "--version", ">1.16", "--json", *cache)
    assert new.returncode == old.returncode == 0, new.stderr + old.stderr
    assert new.stdout == old.stdout
    both = _cli("list", "six", "--spec", ">1", "--version", "<2", *cache)
    assert both.returncode == 2 and both.stderr.count("\n") == 1, both.stderr
    assert "remove" in CliRunner().invoke(app, ["remove", "--help"]).stdout
    assert "--spec SPEC" in CliRunner().invoke(app, ["remove", "--help"]).stdout


def test_ages_take_a_unit_and_m_is_minutes_while_sizes_m_is_megabytes() -> None:
    assert parse_age("90m") == 90 * 60
    assert parse_age("30d") == 30 * 86400
    assert parse_size("1M") == parse_size("1m") == 10**6
    for bad in ("90", "1M", "2W", "1y"):
        with pytest.raises(ValueError, match=r"s, m \(minutes\), h, d or w"):
            parse_age(bad)


@pytest.mark.parametrize("option", ["--older-than", "--index-pages-older-than"])
def test_an_age_without_a_unit_is_a_one_line_usage_error(option: str, tmp_path: Path) -> None:
    """`prune --older-than 90` was silently 90 days, beside `--index-pages-older-than 1m`
    (a minute) and `--max-size 1M` (a megabyte)."""
    (tmp_path / "http-v2").mkdir()
    result = CliRunner().invoke(app, ["prune", option, "90", "--cache-dir", str(tmp_path), "-n"])
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"cachecensus: error: {option}: not an age: '90'")
    assert "m (minutes)" in line
