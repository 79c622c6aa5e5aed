"""What ``remove``/``prune``/``purge``/``dedupe``/``audit`` select, through the command line:
an unset variable never widens what a command touches, corrupt entries go with ``prune``,
the plan names the clock it read last use by, ``audit`` and ``dedupe`` count duplicates and
files one way, and ``--keep-latest`` compares a project's versions per kind (real pip)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cachecensus.caches.pip import scan
from cachecensus.cli.app import app
from cachecensus.host import Host
from cachecensus.models import Entry, Kind
from conftest import PIP_NEW, serve_index
from test_delete import digests

CACHECENSUS = str(Path(sys.executable).parent / "cachecensus")
HOST = Host.local()
DAY = 86_400


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CACHECENSUS_MEMO="off")
    return subprocess.run(
        [CACHECENSUS, *args], capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL
    )


def plan_of(*args: str) -> dict[str, Any]:
    proc = run(*args, "--dry-run", "--json")
    assert proc.returncode == 0, proc.stderr
    plan: dict[str, Any] = json.loads(proc.stdout)["plan"]
    return plan


def items_of(*args: str) -> list[dict[str, Any]]:
    items = plan_of(*args)["items"]
    assert isinstance(items, list)
    return items


# ---------------------------------------------------------------------- empty values

C = "CACHE"  # replaced by a real cache's path: a refusal that failed would delete there
EMPTY_VALUES = [
    ["remove", "", "--cache-dir", C, "--yes"],
    ["remove", "  ", "--cache-dir", C, "--yes"],
    ["remove", "*", "--cache-dir", C, "--yes"],
    ["remove", "*-", "--cache-dir", C, "--yes"],  # "*-$VER", VER unset: every version
    ["remove", "six", "--version", "", "--cache-dir", C, "--yes"],
    ["remove", "six", "--version", " ", "--cache-dir", C, "--yes"],
    ["remove", "six", "--cache-dir", "", "--yes"],
    ["remove", "six", "--cache-dir", C, "--cache-dir", "", "--yes"],
    ["remove", "six", "--python", "", "--cache-dir", C, "--yes"],
    ["remove", "six", "--user", "", "--cache-dir", C, "--yes"],
    ["remove", "six", "--root", "", "--cache-dir", C, "--yes"],
    ["remove", "six", "--scan", "", "--cache-dir", C, "--yes"],
    ["prune", "--older-than", "", "--cache-dir", C, "--yes"],
    ["prune", "--max-size", " ", "--cache-dir", C, "--yes"],
    ["prune", "--index-pages-older-than", "", "--cache-dir", C, "--yes"],
    ["prune", "--older-than", "1s", "--cache-dir", "", "--yes"],
    ["purge", "--cache-dir", "", "--yes"],
    ["purge", "--python", "", "--cache-dir", C, "--yes"],
    ["dedupe", "--link", "--cache-dir", "", "--yes"],
    ["list", ""],
    ["list", "six", "--version", "", "--cache-dir", C],
    ["list", "--cache-dir", ""],
    ["audit", "--cache-dir", ""],
    ["audit", "--user", ""],
    ["audit", "--root", ""],
    ["info", "--python", ""],
    ["info", "--cache-dir", ""],
    ["install", "--python", "", "--", "--version"],
    ["install", "--env", "", "--", "--version"],
    ["pip", "--python", "", "--", "--version"],
]


@pytest.mark.parametrize("args", EMPTY_VALUES, ids=lambda a: " ".join(map(repr, a)))
def test_an_unset_variable_never_widens_what_a_command_touches(
    args: list[str], real_caches: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``PKG=""; cachecensus remove "$PKG" --yes`` once removed the whole cache. Every
    empty (or blank) value is a one-line usage error, exit 2, and nothing changes."""
    monkeypatch.chdir(real_caches / "pip-26.3")  # an empty path is not the cwd either
    before = digests(real_caches)
    argv = [str(real_caches / "pip-26.3") if a == C else a for a in args]
    result = CliRunner().invoke(app, argv, env={"CACHECENSUS_MEMO": "off"})
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cachecensus: error: "), result.stderr
    if args[0] == "remove" and "PATTERN" in lines[0]:
        assert lines[0].endswith("to empty the caches use `cachecensus purge`")
    assert digests(real_caches) == before


def test_a_refused_pattern_points_to_purge(real_caches: Path) -> None:
    proc = run("remove", "", "--cache-dir", str(real_caches / "pip-26.3"), "--yes")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (
        "cachecensus: error: PATTERN is empty (an unset variable?): it names no project; "
        "to empty the caches use `cachecensus purge`\n"
    )


def test_an_empty_kind_removes_nothing(real_caches: Path) -> None:
    before = digests(real_caches)
    proc = run("remove", "six", "--kind", "", "--cache-dir", str(real_caches / "pip-26.3"), "-y")
    assert proc.returncode == 2
    assert digests(real_caches) == before


# ---------------------------------------------------------------------- corrupt entries


def _truncated_copy(cache: Path, project: str) -> Path:
    """A second entry of ``project``'s downloaded wheel whose body is cut in half (an
    interrupted write of the body before pip's rename): returns the record's path."""
    wheel = next(
        e
        for e in scan(HOST, str(cache)).entries
        if e.project == project and e.kind == Kind.WHEEL and e.area == "http-v2"
    )
    record, body = Path(wheel.files[0].path), Path(wheel.files[1].path)
    name = "f" * 56
    target = cache / "http-v2" / "f" / "f" / "f" / "f" / "f" / name
    target.parent.mkdir(parents=True)
    shutil.copy(record, target)
    data = body.read_bytes()
    (target.parent / f"{name}.body").write_bytes(data[: len(data) // 2])
    return target


def test_prune_takes_a_truncated_wheel_pip_would_serve_and_fail_on(real_caches: Path) -> None:
    cache = real_caches / "pip-26.3"
    record = _truncated_copy(cache, "six")
    (corrupt,) = [e for e in scan(HOST, str(cache)).entries if e.kind == Kind.CORRUPT]
    assert corrupt.key.endswith(record.name)
    why = "corrupt: pip can never use it"
    args = ("--cache-dir", str(cache))
    # no rule: pip's own prune, which pip lacks, is what it can never use
    assert [(i["kind"], i["reason"]) for i in items_of("prune", *args)] == [("corrupt", why)]
    # rules that take nothing else: the corrupt entry goes all the same
    for rule in (["--keep-latest", "5"], ["--older-than", "3650d"], ["--max-size", "1G"]):
        assert [(i["kind"], i["reason"]) for i in items_of("prune", *rule, *args)] == [
            ("corrupt", why)
        ], rule
    purged = {f for i in items_of("purge", *args) for f in i["files"]}
    assert {str(record), f"{record}.body"} <= purged
    before = digests(cache)
    proc = run("prune", *args, "--yes", "--json")
    assert proc.returncode == 0, proc.stderr
    after = digests(cache)
    assert set(before) - set(after) == {
        str(record.relative_to(cache)),
        str(record.relative_to(cache)) + ".body",
    }
    assert all(before[rel] == digest for rel, digest in after.items())


# ---------------------------------------------------------------------- clocks


@pytest.fixture
def noatime_dir(tmp_path: Path) -> Iterator[Path]:
    """A real ``noatime`` mount (a tmpfs: needs root and CAP_SYS_ADMIN, else skipped)."""
    if os.geteuid() != 0:
        pytest.skip("mounting needs root")
    mnt = tmp_path / "noatime"
    mnt.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "noatime,size=64m", "tmpfs", str(mnt)],
        capture_output=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr!r}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _aged(src: Path, dest: Path, *, read_days: float, written_days: float) -> Path:
    shutil.copytree(src, dest)
    now = time.time()
    for p in dest.rglob("*"):
        if p.is_file():
            os.utime(p, (now - read_days * DAY, now - written_days * DAY))
    return dest


def test_prune_names_the_clock_and_on_noatime_reads_mtime(
    real_caches: Path, noatime_dir: Path, tmp_path: Path
) -> None:
    """On a ``noatime`` mount atime never moves: last use is mtime, and the plan says so
    (it used to say "(atime)" there, and judge by a frozen atime)."""
    src = real_caches / "pip-26.3"
    frozen = _aged(src, noatime_dir / "cache", read_days=1, written_days=60)
    kept = _aged(src, tmp_path / "relatime-cache", read_days=1, written_days=60)
    plan = plan_of("prune", "--older-than", "30d", "--cache-dir", str(frozen))
    items = plan["items"]
    assert isinstance(items, list) and len(items) == 15
    assert all(str(i["reason"]).endswith("(mtime)") for i in items)
    assert plan["clocks"] == {str(frozen): "mtime"}
    assert items_of("prune", "--older-than", "30d", "--cache-dir", str(kept)) == []
    read = plan_of("prune", "--older-than", "12h", "--cache-dir", str(kept))
    assert read["clocks"] == {str(kept): "atime"}
    shown = run("prune", "--max-size", "1k", "--cache-dir", str(frozen), "--dry-run")
    assert f"prune: last use by mtime (mounted noatime): {frozen}\n" in shown.stdout
    assert "least recently used (mtime), over the size budget" in shown.stdout


# ---------------------------------------------------------------------- one definition


def _second_copy(cache: Path, project: str) -> int:
    """``project``'s wheel stored twice in one cache (as pip does when two index URLs
    serve one file); returns the wheel's size."""
    record = _truncated_copy(cache, project)
    wheel = next(
        e
        for e in scan(HOST, str(cache)).entries
        if e.project == project and e.kind == Kind.WHEEL and e.area == "http-v2"
    )
    shutil.copy(wheel.files[1].path, f"{record}.body")  # whole this time
    return wheel.files[1].size


def _duplicated(*args: str) -> tuple[int, int]:
    audit = json.loads(run("audit", "--json", *args).stdout)
    dedupe = json.loads(run("dedupe", "--json", *args).stdout)
    return audit["totals"]["duplicated"]["bytes"], dedupe["duplicated_bytes"]


def test_audit_and_dedupe_give_one_answer_before_and_after_linking(real_caches: Path) -> None:
    """audit once said "duplicated 0 bytes" where dedupe said 740 MB (audit counted only
    copies in another cache), and still counted the copies ``dedupe --link`` had linked."""
    a, b = real_caches / "pip-26.3", real_caches / "pip-23-then-26"
    size = _second_copy(a, "attrs")
    alone = ("--cache-dir", str(a))
    assert _duplicated(*alone) == (size, size)  # a copy inside one cache counts
    both = (*alone, "--cache-dir", str(b))
    audited, deduped = _duplicated(*both)
    assert audited == deduped > size  # six 1.17.0 and packaging 24.1 are in both too
    linked = run("dedupe", "--link", "--yes", "--json", *both)
    assert linked.returncode == 0, linked.stderr
    assert json.loads(linked.stdout)["freed_bytes"] == audited
    assert _duplicated(*both) == (0, 0)  # linked copies are one file: never duplicated
    audit = json.loads(run("audit", "--json", *both).stdout)
    assert audit["totals"]["size"] == sum(c["size"] for c in audit["caches"]) - (
        audited - size
    )  # what the two caches now share is counted once


def _du(top: Path) -> tuple[int, int]:
    """(files, bytes) as ``du -sb`` counts them: regular files, each inode once."""
    seen: dict[tuple[int, int], int] = {}
    for p in top.rglob("*"):
        st = p.lstat()
        if p.is_file() and not p.is_symlink():
            seen[(st.st_dev, st.st_ino)] = st.st_size
    return len(seen), sum(seen.values())


def test_audit_rows_and_totals_add_up_with_uvs_symlinks(real_caches: Path) -> None:
    """uv's wheel pointers are symlinks: counted in no row, they were counted in the
    totals (rows 100 + 254 files, total 361)."""
    dirs = [real_caches / "pip-26.3", real_caches / "uv-0.13.9"]
    assert any(p.is_symlink() for p in dirs[1].rglob("*"))
    doc = json.loads(
        run("audit", "--json", *[a for d in dirs for a in ("--cache-dir", str(d))]).stdout
    )
    rows = {c["path"]: (c["files"], c["size"]) for c in doc["caches"]}
    assert rows == {str(d): _du(d) for d in dirs}
    totals = doc["totals"]
    assert totals["files"] == sum(f for f, _ in rows.values())
    assert totals["size"] == sum(s for _, s in rows.values())
    alone = json.loads(run("audit", "--json", "--cache-dir", str(dirs[1])).stdout)["totals"]
    assert (alone["files"], alone["size"]) == _du(dirs[1])


# ---------------------------------------------------------------------- keep-latest, real pip

BACKEND = """
import os, zipfile

NAME, VERSION = {name!r}, {version!r}
INFO = f"{{NAME}}-{{VERSION}}.dist-info"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = {{
        f"{{NAME}}_built.py": "",
        f"{{INFO}}/METADATA": f"Metadata-Version: 2.1\\nName: {{NAME}}\\nVersion: {{VERSION}}\\n",
        f"{{INFO}}/WHEEL": "Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
        f"{{INFO}}/RECORD": "",
    }}
    name = f"{{NAME}}-{{VERSION}}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return name


def get_requires_for_build_wheel(config_settings=None):
    return []
"""


def _sdist(dest: Path, name: str, version: str) -> None:
    """An sdist pip builds with an in-tree backend (nothing to download, no setuptools)."""
    top = f"{name}-{version}"
    members = {
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        "pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "tinyback"\n'
        'backend-path = ["."]\n',
        "tinyback.py": BACKEND.format(name=name, version=version),
    }
    with tarfile.open(dest / f"{top}.tar.gz", "w:gz") as tar:
        for rel, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{rel}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.mark.slow
def test_keep_latest_keeps_the_only_download_beside_newer_built_wheels(
    real_caches: Path,
    pip_venv: Callable[[str], Path],
    pip_runner: Callable[..., subprocess.CompletedProcess[str]],
    tmp_path: Path,
) -> None:
    """Real pip downloads packaging 24.1 and builds packaging 98.0 and 99.0 from sdists:
    ``prune --keep-latest 1`` once took the only downloaded wheel because newer *built*
    wheels existed. Per project and kind, it takes only the older built wheel."""
    dists = tmp_path / "dists"
    dists.mkdir()
    wheel: Entry = next(
        e
        for e in scan(HOST, str(real_caches / "pip-26.3")).entries
        if e.project == "packaging" and e.kind == Kind.WHEEL
    )
    shutil.copy(wheel.files[1].path, dists / "packaging-24.1-py3-none-any.whl")
    for version in ("98.0", "99.0"):
        _sdist(dists, "packaging", version)
    cache = tmp_path / "cache"
    python = pip_venv(PIP_NEW)
    with serve_index(dists) as url:
        index = ["--index-url", url, "--trusted-host", "127.0.0.1", "--no-deps"]
        index += ["--cache-dir", str(cache)]
        out = ["-d", str(tmp_path / "out")]
        pip_runner(python, "download", *index, *out, "packaging==24.1", check=True)
        for version in ("98.0", "99.0"):
            built = pip_runner(
                python, "wheel", "--no-build-isolation", *index, "-w", str(tmp_path / "out"),
                f"packaging=={version}",
            )  # fmt: skip
            assert built.returncode == 0, built.stderr
    found = {(e.kind, e.version) for e in scan(HOST, str(cache)).entries if e.version}
    assert {(Kind.WHEEL, "24.1"), (Kind.BUILT_WHEEL, "98.0"), (Kind.BUILT_WHEEL, "99.0")} <= found
    items = items_of("prune", "--keep-latest", "1", "--cache-dir", str(cache))
    assert {(i["kind"], i["version"]) for i in items} == {
        ("built-wheel", "98.0"),
        ("sdist", "98.0"),
    }
