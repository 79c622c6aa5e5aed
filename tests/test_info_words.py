"""``cachecensus info`` speaks as the environment's own pip would (``pip cache info``).

Threat (cachecensus issue 12): for an environment with pip 23.0.1, ``info`` printed pip
23.3+'s wording and named ``http-v2`` (which that pip never reads), and counted files that
pip does not count. The slow tests run the real pips (23.0.1, 23.2.1, 26.3) on a cache
that holds both layouts and compare line by line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cachecensus.caches.pip import format_size, pip_info, pip_info_lines, scan
from cachecensus.host import Host

CACHECENSUS = str(Path(sys.executable).parent / "cachecensus")
HOST = Host.local()


def keys(lines: list[str] | None) -> list[str]:
    assert lines is not None
    return [line.split(": ", 1)[0] for line in lines]


def test_an_old_pip_neither_names_nor_counts_http_v2(real_caches: Path) -> None:
    top = real_caches / "pip-23-then-26"  # http/ from pip 23.2.1, http-v2/ from 26.3
    result = scan(HOST, str(top))
    old, new = pip_info(result, "23.0.1"), pip_info(result, "26.3")
    assert old["http_cache_location"] == f"{top}/http" and old["old_http_cache_location"] is None
    assert new["http_cache_location"] == f"{top}/http-v2"
    assert new["old_http_cache_location"] == f"{top}/http"
    http_only = [p for p in (top / "http").rglob("*") if p.is_file()]
    assert old["http_files"] == len(http_only) == 4
    assert old["http_cache_size"] == sum(p.stat().st_size for p in http_only)
    assert old["http_files"] < new["http_files"] and old["http_entries"] == 4
    assert pip_info(result) == {**new, "pip_version": None}  # unknown: the newest pip's view


def test_each_pip_generation_has_its_own_words(real_caches: Path) -> None:
    info = pip_info(scan(HOST, str(real_caches / "pip-23.2.1")), None)
    words = {
        v: keys(pip_info_lines({**info, "pip_version": v}))
        for v in ("20.1", "20.3", "22.2", "22.3", "23.0.1", "23.2.1", "23.3", "26.3")
    }
    assert words["20.1"] == ["Location", "Size", "Number of wheels"]
    http = ["Package index page cache location", "Package index page cache size"]
    assert words["20.3"] == words["22.2"] == [
        *http, "Number of HTTP files", "Wheels location", "Wheels size", "Number of wheels",
    ]  # fmt: skip
    assert (
        words["22.3"]
        == words["23.0.1"]
        == words["23.2.1"]
        == [
            *http,
            "Number of HTTP files",
            "Locally built wheels location",
            "Locally built wheels size",
            "Number of locally built wheels",
        ]
    )
    assert (
        words["23.3"]
        == words["26.3"]
        == [
            "Package index page cache location (pip v23.3+)",
            "Package index page cache location (older pips)",
            *words["23.0.1"][1:],
        ]
    )
    assert pip_info_lines({**info, "pip_version": "19.3.1"}) is None  # no `pip cache` yet


def test_sizes_are_pips_units_even_past_a_gigabyte() -> None:
    assert format_size(2_500_000_000) == "2500.0 MB"
    assert [format_size(n) for n in (999, 1001, 12_345, 1_234_567)] == [
        "999 bytes",
        "1.0 kB",
        "12 kB",
        "1.2 MB",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("version", ["23.0.1", "23.2.1", "26.3"])
def test_info_for_an_environment_is_that_environments_pip_cache_info(
    version: str, real_caches: Path, pip_venv: Callable[[str], Path]
) -> None:
    python = pip_venv(version)
    top = real_caches / "pip-23-then-26"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "XDG_"))}
    env.update(
        PIP_CACHE_DIR=str(top),
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        CACHECENSUS_MEMO="off",
    )
    theirs = subprocess.run(
        [str(python), "-m", "pip", "cache", "info"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = subprocess.run(
        [CACHECENSUS, "info", "--python", str(python)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    their_lines, our_lines = theirs.splitlines(), ours.splitlines()
    assert keys(our_lines) == keys(their_lines)
    entries = 4 if version != "26.3" else 8  # http/ alone, or http/ and http-v2/
    for mine, pips in zip(our_lines, their_lines, strict=True):
        if pips.startswith("Number of HTTP files: "):
            assert mine == f"{pips} ({entries} cache entries)"
        else:
            assert mine == pips
    assert ("http-v2" in ours) == (version == "26.3")
