"""Every format module keeps the contract of :mod:`cachecensus.caches`, and what works across
formats: layout detection, and one artifact recognised in two tools' caches by sha256."""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cachecensus.caches import FORMAT_OF, TOOLS, detect, format_for
from cachecensus.host import Host
from cachecensus.models import CacheScan

CACHECENSUS = str(Path(sys.executable).parent / "cachecensus")


@pytest.mark.parametrize("tool", TOOLS)
def test_every_format_module_keeps_the_contract(tool: str) -> None:
    fmt = format_for(tool)
    assert tool == fmt.TOOL
    assert fmt.LOCK is None or isinstance(fmt.LOCK, str)
    for name, params in (
        ("looks_like", ["host", "path"]),
        ("scan", ["host", "cache_dir", "memo", "identify", "progress"]),
        ("cache_shape", ["rel"]),
        ("purgeable", ["entry"]),
        ("closure", ["entries", "chosen"]),
        ("prune", ["entries"]),
    ):
        assert list(inspect.signature(getattr(fmt, name)).parameters)[: len(params)] == params


@pytest.mark.parametrize("tool", TOOLS)
def test_an_absent_or_empty_dir_scans_to_nothing(tool: str, tmp_path: Path) -> None:
    host = Host.local()
    absent = format_for(tool).scan(host, str(tmp_path / "none"))
    assert isinstance(absent, CacheScan) and not absent.exists and absent.entries == ()
    empty = format_for(tool).scan(host, str(tmp_path))
    assert empty.exists and empty.files == 0 and empty.tool == tool


def test_detect_by_layout(real_caches: Path, tmp_path: Path) -> None:
    host = Host.local()
    assert detect(host, str(real_caches / "uv-0.13.9")) == "uv"
    assert detect(host, str(real_caches / "pip-26.3")) == "pip"
    assert detect(host, str(tmp_path)) == "pip"  # nothing claims an empty dir
    # pdm's cache has http/ and wheels/ like an old pip's: its own names decide
    pdm = tmp_path / "pdm"
    for sub in ("http", "wheels", "hashes", "metadata"):
        (pdm / sub).mkdir(parents=True)
    assert detect(host, str(pdm)) == "pdm"
    poetry = tmp_path / "pypoetry"
    (poetry / "artifacts").mkdir(parents=True)
    assert detect(host, str(poetry)) == "poetry"
    conda = tmp_path / "pkgs"
    conda.mkdir()
    (conda / "urls.txt").write_text("")
    assert detect(host, str(conda)) == "conda"
    assert FORMAT_OF["pipenv"] == "pip"


def test_one_wheel_in_a_pip_and_a_poetry_cache_is_one_artifact(
    real_caches: Path, tmp_path: Path
) -> None:
    """six 1.16.0's wheel, downloaded by pip (an ``http-v2`` ``.body``) and by poetry (an
    ``artifacts/`` file), is one artifact: audit counts the second copy as duplicated and
    dedupe groups them by sha256."""
    pip_cache = real_caches / "pip-26.3"
    body = next(
        p
        for p in (pip_cache / "http-v2").rglob("*.body")
        if p.read_bytes()[:2] == b"PK"
        and b"six.py" in p.read_bytes()[-4096:]
        and b"six-1.16.0.dist-info" in p.read_bytes()
    )
    digest = hashlib.sha256(body.read_bytes()).hexdigest()
    poetry = tmp_path / "pypoetry"
    artifact = poetry / "artifacts" / "ab" / "cd" / "ef" / ("0" * 58)
    artifact.mkdir(parents=True)
    shutil.copy(body, artifact / "six-1.16.0-py2.py3-none-any.whl")
    env = dict(os.environ, CACHECENSUS_MEMO="off")
    args = ["--cache-dir", str(pip_cache), "--cache-dir", str(poetry), "--json"]
    audit = json.loads(
        subprocess.run(
            [CACHECENSUS, "audit", *args], capture_output=True, text=True, env=env
        ).stdout
    )
    tools = {c["path"]: c["tool"] for c in audit["caches"]}
    assert tools == {str(pip_cache): "pip", str(poetry): "poetry"}
    dup = {c["tool"]: c["duplicated"]["entries"] for c in audit["caches"]}
    assert sum(dup.values()) == 1
    dedupe = json.loads(
        subprocess.run(
            [CACHECENSUS, "dedupe", *args], capture_output=True, text=True, env=env
        ).stdout
    )
    six = [g for g in dedupe["groups"] if g["sha256"] == digest]
    assert len(six) == 1 and {c["cache_dir"] for c in six[0]["copies"]} == {
        str(pip_cache),
        str(poetry),
    }
    assert six[0]["project"] == "six" and six[0]["wasted_bytes"] == body.stat().st_size


def test_every_kind_is_a_kind_choice() -> None:
    """``--kind`` accepts every kind an entry of any format can have."""
    from cachecensus.cli.audit import KindChoice
    from cachecensus.models import Kind

    assert {k.value for k in KindChoice} == {k.value for k in Kind}


def test_list_kind_archive_on_a_uv_cache(real_caches: Path) -> None:
    env = dict(os.environ, CACHECENSUS_MEMO="off")
    cache = str(real_caches / "uv-0.13.9")
    proc = subprocess.run(
        [CACHECENSUS, "list", "--kind", "archive", "--cache-dir", cache, "--json"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    got = {(e["project"], e["version"]) for e in json.loads(proc.stdout)["entries"]}
    assert got == {("six", "1.16.0"), ("idna", "3.7"), ("packaging", "24.1"), ("attrs", "23.2.0")}


def _owned_dirs_are_exclusive(result: CacheScan) -> list[str]:
    """Keys of directory entries (every file under ``key/``) holding another entry's file."""
    top = result.cache_dir.rstrip("/") + "/"
    owner: dict[str, str] = {}
    for e in result.entries:
        inside = top + e.key + "/"
        if e.files and all(f.path.startswith(inside) for f in e.files):
            owner[inside] = e.key
    bad = []
    for e in result.entries:
        for f in e.files:
            for inside, key in owner.items():
                if key != e.key and f.path.startswith(inside):
                    bad.append(key)
    return bad


@pytest.mark.parametrize("name", ["uv-0.13.9", "pip-26.3", "pip-23-then-26"])
def test_directory_entries_own_their_directory(real_caches_dir: Path, name: str) -> None:
    """The contract the delete engine relies on when it moves a directory entry aside."""
    cache = real_caches_dir / name
    result = format_for(detect(Host.local(), str(cache))).scan(Host.local(), str(cache))
    assert result.entries and _owned_dirs_are_exclusive(result) == []
