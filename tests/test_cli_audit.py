"""``audit``, ``list`` and ``info`` through the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import tomllib

from conftest import PIP_NEW

CACHECENSUS = str(Path(sys.executable).parent / "cachecensus")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, CACHECENSUS_MEMO="off", **(env or {}))
    return subprocess.run([CACHECENSUS, *args], capture_output=True, text=True, env=full)


def test_audit_json_layout_and_sizes(real_caches: Path) -> None:
    dirs = [str(real_caches / n) for n in ("pip-26.3", "pip-23.2.1", "pip-23-then-26")]
    proc = run("audit", "--json", *[a for d in dirs for a in ("--cache-dir", d)])
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == 1
    caches = {c["path"]: c for c in doc["caches"]}
    assert set(caches) == set(dirs)
    new = caches[dirs[0]]
    assert {"path", "size", "files", "entries", "reclaimable", "used_by"} <= set(new)
    files = [p for p in Path(dirs[0]).rglob("*") if p.is_file()]
    assert new["files"] == len(files) == 30
    assert new["size"] == sum(p.stat().st_size for p in files)
    assert new["entries"] == 15 and new["projects"] == 6
    assert new["by_kind"]["index-page"]["entries"] == 6
    # six 1.16.0, idna 3.7 ... are in two caches: duplicates found by content hash
    assert doc["totals"]["duplicated"]["entries"] >= 2
    assert doc["totals"]["size"] == sum(c["size"] for c in doc["caches"])
    assert new["filesystem"]["total"] > 0


def test_audit_toml_is_the_same_document(real_caches: Path) -> None:
    proc = run("audit", "--toml", "--cache-dir", str(real_caches / "pip-26.3"))
    assert proc.returncode == 0, proc.stderr
    doc = tomllib.loads(proc.stdout)
    assert doc["schema"] == 1 and doc["caches"][0]["entries"] == 15


def test_hard_links_elsewhere_are_not_reclaimable(real_caches: Path, tmp_path: Path) -> None:
    cache = real_caches / "pip-26.3"
    before = json.loads(run("audit", "--json", "--cache-dir", str(cache)).stdout)
    assert before["caches"][0]["reclaimable"] == before["caches"][0]["size"]
    subprocess.run(["cp", "-al", str(cache), str(tmp_path / "elsewhere")], check=True)
    after = json.loads(run("audit", "--json", "--cache-dir", str(cache)).stdout)
    assert after["caches"][0]["reclaimable"] == 0
    assert after["caches"][0]["linked_elsewhere"] == before["caches"][0]["size"]
    both = json.loads(
        run(
            "audit", "--json", "--cache-dir", str(cache), "--cache-dir", str(tmp_path / "elsewhere")
        ).stdout
    )
    assert both["totals"]["size"] == before["caches"][0]["size"]  # each inode once
    assert both["totals"]["reclaimable"] == before["caches"][0]["size"]


def test_one_cache_named_twice_is_one_cache(real_caches: Path, tmp_path: Path) -> None:
    os.symlink(real_caches / "pip-26.3", tmp_path / "alias")
    doc = json.loads(
        run(
            "audit",
            "--json",
            "--cache-dir",
            str(real_caches / "pip-26.3"),
            "--cache-dir",
            str(tmp_path / "alias"),
        ).stdout
    )
    assert len(doc["caches"]) == 1


def test_two_venvs_sharing_a_cache_show_it_once(
    pip_venv: Callable[[str], Path], real_caches: Path, tmp_path: Path
) -> None:
    base = pip_venv(PIP_NEW)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "XDG_"))}
    env.update(
        HOME=str(tmp_path), PIP_CACHE_DIR=str(real_caches / "pip-26.3"), CACHECENSUS_MEMO="off"
    )
    docs = []
    for python in (base, sys.executable):
        proc = subprocess.run(
            [CACHECENSUS, "audit", "--json", "--python", str(python)],
            capture_output=True,
            text=True,
            env=env,
        )
        docs.append(json.loads(proc.stdout))
    assert docs[0]["caches"][0]["path"] == docs[1]["caches"][0]["path"]
    assert docs[0]["caches"][0]["used_by"][0]["environment"] == str(base)


def test_list_patterns_versions_and_kinds(real_caches: Path) -> None:
    cache = ["--cache-dir", str(real_caches / "pip-26.3")]
    everything = json.loads(run("list", "--json", *cache).stdout)["entries"]
    assert len(everything) == 15
    six = json.loads(run("list", "six", "--json", *cache).stdout)["entries"]
    assert {(e["kind"], e["version"]) for e in six} == {
        ("wheel", "1.16.0"),
        ("wheel", "1.17.0"),
        ("index-page", None),
    }
    assert all({"project", "version", "kind", "size", "path", "cache_dir"} <= set(e) for e in six)
    pinned = json.loads(run("list", "six-1.16", "--json", *cache).stdout)["entries"]
    assert [e["version"] for e in pinned] == ["1.16.0"]
    spec = json.loads(run("list", "SIX", "--version", ">1.16", "--json", *cache).stdout)
    assert [e["version"] for e in spec["entries"]] == ["1.17.0"]
    built = json.loads(run("list", "--kind", "built-wheel", "--json", *cache).stdout)["entries"]
    assert {e["project"] for e in built} == {"docopt", "sgmllib3k"}
    globbed = json.loads(run("list", "s*", "--kind", "sdist", "--json", *cache).stdout)
    assert [e["project"] for e in globbed["entries"]] == ["sgmllib3k"]


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--version", "not a spec", "--cache-dir", "/tmp"],
        ["list", "--kind", "bogus"],
        ["audit", "--user", "no-such-user-x"],
        ["audit", "--json", "--toml", "--cache-dir", "/tmp"],
        ["audit", "--cache-dir", "/etc/passwd"],
        ["info", "--python", "/no/such/python"],
    ],
)
def test_bad_input_is_one_line(args: list[str]) -> None:
    proc = run(*args)
    assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and proc.stderr.strip()


def test_absent_cache_dir_is_a_usage_error(tmp_path: Path) -> None:
    """A directory named on the command line that is not there is a typo, not an empty
    cache (tests/test_cli_cache_dirs.py has the rest)."""
    proc = run("audit", "--json", "--cache-dir", str(tmp_path / "none"))
    assert proc.returncode == 2 and proc.stdout == ""


def test_list_refreshes_completion_candidates(real_caches: Path, tmp_path: Path) -> None:
    cand = tmp_path / "cand.txt"
    proc = run(
        "list",
        "--cache-dir",
        str(real_caches / "pip-26.3"),
        env={"CACHECENSUS_COMPLETION_FILE": str(cand)},
    )
    assert proc.returncode == 0
    lines = cand.read_text().splitlines()
    assert "project\tsix" in lines and "project\tsgmllib3k" in lines


def test_progress_bar_only_on_a_terminal_and_never_with_json(tmp_path: Path) -> None:
    """A scan longer than half a second draws a bar on a terminal's stderr; piped or with
    --json, stderr stays silent."""
    import pty

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    from benchlib.cachegen import build_pip_cache

    cache = tmp_path / "big"
    build_pip_cache(str(cache), entries=2500, total_bytes=25_000_000, seed=9)

    def stderr_of(*args: str, tty: bool) -> str:
        # The scan of this cache takes about half a second here, so the bar's delay is
        # lowered to keep the test independent of the machine's speed.
        env = dict(
            os.environ, CACHECENSUS_MEMO="off", COLUMNS="100", CACHECENSUS_PROGRESS_DELAY="0.05"
        )
        if not tty:
            return run(*args, env={"CACHECENSUS_PROGRESS_DELAY": "0.05"}).stderr
        leader, follower = pty.openpty()
        proc = subprocess.Popen(
            [CACHECENSUS, *args], stdout=subprocess.DEVNULL, stderr=follower, env=env
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        proc.wait()
        os.close(leader)
        return b"".join(chunks).decode(errors="replace")

    shown = stderr_of("list", "--cache-dir", str(cache), tty=True)
    assert "scanning" in shown or "identifying" in shown, shown[-500:]
    assert stderr_of("list", "--json", "--cache-dir", str(cache), tty=True).strip() == ""
    assert stderr_of("list", "--cache-dir", str(cache), tty=False).strip() == ""
