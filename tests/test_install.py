"""``cachecensus install`` / ``cachecensus pip``: real pip 26.3 against the loopback index.

The venvs here get their pip from ``pip_venv("26.3")`` by copying pip's package and
dist-info (so discovery sees ``pip-26.3.dist-info``) instead of installing it again; the
shared venv itself is never installed into.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cachecensus.act import install as act
from cachecensus.host import Host
from cachecensus.models import Environment, EnvKind

pytestmark = pytest.mark.slow

CACHECENSUS = Path(sys.executable).parent / "cachecensus"
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")


# ------------------------------------------------------------------------ pure helpers


def test_pip_argv_inserts_no_cache_dir_after_the_subcommand() -> None:
    py = "/x/bin/python"
    assert act.pip_argv(py, ["download", "six", "-d", "out"]) == [
        py, "-m", "pip", "download", "--no-cache-dir", "six", "-d", "out",
    ]  # fmt: skip
    # general options before the subcommand, one of them with a value
    assert act.pip_argv(py, ["-v", "--timeout", "5", "wheel", "six"]) == [
        py, "-m", "pip", "-v", "--timeout", "5", "wheel", "--no-cache-dir", "six",
    ]  # fmt: skip
    assert act.pip_argv(py, ["--version"]) == [py, "-m", "pip", "--no-cache-dir", "--version"]
    assert act.install_argv(py, ["-v", "six"]) == [
        py, "-m", "pip", "install", "--no-cache-dir", "-v", "six",
    ]  # fmt: skip


def test_uv_equivalent() -> None:
    assert act.uv_equivalent("/p", ["six"], install=True) == [
        "uv", "pip", "install", "--no-cache", "--python", "/p", "six",
    ]  # fmt: skip
    assert act.uv_equivalent("/p", ["uninstall", "-y", "six"], install=False) == [
        "uv", "pip", "uninstall", "--no-cache", "--python", "/p", "-y", "six",
    ]  # fmt: skip
    assert act.uv_equivalent("/p", ["-v", "download", "six"], install=False) is None


def test_run_passes_exit_codes_like_a_shell() -> None:
    assert act.run([sys.executable, "-c", "raise SystemExit(7)"]) == 7
    killer = "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"
    assert act.run([sys.executable, "-c", killer]) == 128 + 15
    assert act.run(["/nonexistent/python3"]) == 127


def test_match_environments() -> None:
    def env(prefix: str, name: str, kind: EnvKind = EnvKind.VENV) -> Environment:
        return Environment(interpreter=f"{prefix}/bin/python", prefix=prefix, kind=kind,
                           name=name, aliases=(f"{prefix}/bin/python3",))  # fmt: skip

    envs = [env("/h/a/.venv", "a/.venv"), env("/h/b/.venv", "b/.venv"), env("/h/c", "same"),
            env("/h/d", "same")]  # fmt: skip
    assert [e.prefix for e in act.match_environments(envs, "a/.venv")] == ["/h/a/.venv"]
    assert [e.prefix for e in act.match_environments(envs, "/h/b/.venv/")] == ["/h/b/.venv"]
    assert [e.prefix for e in act.match_environments(envs, "/h/c/bin/python3")] == ["/h/c"]
    assert len(act.match_environments(envs, "same")) == 2  # the CLI calls that ambiguous
    assert act.match_environments(envs, "nope") == []
    assert act.target_of(envs[0]).python == "/h/a/.venv/bin/python"


def test_default_python_skips_shims(tmp_path: Path) -> None:
    shims = tmp_path / "shims"
    real = tmp_path / "real"
    shims.mkdir()
    real.mkdir()
    shim = shims / "python3"
    shim.write_text('#!/bin/sh\nexec python3 "$@"\n')
    shim.chmod(0o755)
    base = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    (real / "python3").symlink_to(base)
    host = Host(root="/", env={"PATH": f"{shims}:{tmp_path / 'missing'}:{real}"})
    assert act.default_python(host) == str(real / "python3")
    assert act.default_python(Host(root="/", env={"PATH": str(shims)})) is None


# ------------------------------------------------------------------------ real pip


def _site_packages(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


@pytest.fixture
def venv_with_pip(pip_venv: Callable[[str], Path], tmp_path: Path) -> Path:
    """A fresh venv whose pip (26.3) is copied from the shared venv's."""
    donor = _site_packages(pip_venv("26.3"))
    home = tmp_path / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(home)], check=True)
    python = home / "bin" / "python"
    site = _site_packages(python)
    for name in os.listdir(donor):
        if name == "pip" or (name.startswith("pip-") and name.endswith(".dist-info")):
            # copies, not symlinks: pip's uninstall of a neighbour would take a site-packages
            # holding only symlinked directories for its own and remove it whole
            shutil.copytree(donor / name, site / name)
    return python


@pytest.fixture
def pip_env(tmp_path: Path) -> dict[str, str]:
    """No config files, no inherited PIP_*/XDG_*, a private HOME and PIP_CACHE_DIR."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "XDG_", "UV_"))}
    home = tmp_path / "home"
    home.mkdir()
    env.update(
        HOME=str(home),
        PIP_CONFIG_FILE=os.devnull,
        PIP_CACHE_DIR=str(tmp_path / "pip-cache"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        UV_CACHE_DIR=str(tmp_path / "uv-cache"),
    )
    return env


def _files(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.exists() else []


def _cc(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CACHECENSUS), *args], env=env, capture_output=True, text=True, timeout=300
    )


def _index(url: str) -> list[str]:
    return ["--index-url", url, "--trusted-host", "127.0.0.1"]


def _six_version(python: Path) -> str | None:
    out = subprocess.run(
        [str(python), "-c", "import six; print(six.__version__)"], capture_output=True, text=True
    )
    return out.stdout.strip() if out.returncode == 0 else None


def test_install_leaves_the_cache_untouched_while_plain_pip_fills_it(
    venv_with_pip: Path, pip_env: dict[str, str], loopback_index: str, tmp_path: Path
) -> None:
    cache = tmp_path / "pip-cache"
    result = _cc(
        "install", "--python", str(venv_with_pip), "--", "six==1.16.0", *_index(loopback_index),
        env=pip_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Successfully installed six-1.16.0" in result.stdout  # pip's output streamed
    assert f"running: {venv_with_pip} -m pip install --no-cache-dir six==1.16.0" in result.stderr
    assert _six_version(venv_with_pip) == "1.16.0"
    assert _files(cache) == []

    # the same install through plain pip writes HTTP cache entries there
    subprocess.run(
        [str(venv_with_pip), "-m", "pip", "uninstall", "-y", "six"],
        env=pip_env, check=True, capture_output=True,
    )  # fmt: skip
    plain = subprocess.run(
        [str(venv_with_pip), "-m", "pip", "install", "six==1.16.0", *_index(loopback_index)],
        env=pip_env, capture_output=True, text=True,
    )  # fmt: skip
    assert plain.returncode == 0, plain.stderr
    assert any("http-v2" in p.parts for p in _files(cache))


def test_pip_options_pass_through_uneaten(
    venv_with_pip: Path, pip_env: dict[str, str], loopback_index: str, tmp_path: Path
) -> None:
    # no `--`: -v and --index-url are not ours, so they are pip's
    result = _cc(
        "install", "--python", str(venv_with_pip), "six==1.17.0", "-v", *_index(loopback_index),
        env=pip_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Using pip 26.3 from" in result.stdout  # what -v makes pip print
    assert loopback_index in result.stdout  # pip looked where --index-url said
    assert _six_version(venv_with_pip) == "1.17.0"
    assert _files(tmp_path / "pip-cache") == []


def test_failing_install_passes_pip_exit_code_through(
    venv_with_pip: Path, pip_env: dict[str, str], loopback_index: str
) -> None:
    result = _cc(
        "install", "--python", str(venv_with_pip), "--", "no-such-project-xyz",
        *_index(loopback_index), env=pip_env,
    )  # fmt: skip
    assert result.returncode == 1
    assert "No matching distribution found for no-such-project-xyz" in result.stderr

    usage = _cc("install", "--python", str(venv_with_pip), "--", "--no-such-option", env=pip_env)
    assert usage.returncode == 2  # pip's own usage error code
    assert "no such option: --no-such-option" in usage.stderr


def test_pip_download_with_cache_disabled(
    venv_with_pip: Path, pip_env: dict[str, str], loopback_index: str, tmp_path: Path
) -> None:
    dest = tmp_path / "dl"
    result = _cc(
        "pip", "--python", str(venv_with_pip), "--", "download", "--no-deps", "six==1.16.0",
        "-d", str(dest), *_index(loopback_index), env=pip_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "pip download --no-cache-dir --no-deps six==1.16.0" in result.stderr
    assert [p.name for p in dest.iterdir()] == ["six-1.16.0-py2.py3-none-any.whl"]
    assert _files(tmp_path / "pip-cache") == []


def test_json_document_and_pip_output_on_stderr(
    venv_with_pip: Path, pip_env: dict[str, str], loopback_index: str
) -> None:
    result = _cc(
        "install", "--json", "--python", str(venv_with_pip), "--", "six==1.16.0",
        *_index(loopback_index), env=pip_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema"] == 1
    assert doc["exit_code"] == 0
    assert doc["runner"] == "pip"
    assert doc["argv"][:5] == [str(venv_with_pip), "-m", "pip", "install", "--no-cache-dir"]
    assert "Successfully installed six-1.16.0" in result.stderr


def test_usage_errors(pip_env: dict[str, str], tmp_path: Path) -> None:
    both = _cc("install", "--python", sys.executable, "--env", "x", "six", env=pip_env)
    assert both.returncode == 2
    assert "mutually exclusive" in both.stderr
    missing = _cc("install", "--python", str(tmp_path / "nope" / "python"), "six", env=pip_env)
    assert missing.returncode == 2
    assert "not found" in missing.stderr
    assert "Traceback" not in missing.stderr + both.stderr


@pytest.fixture
def venv_without_pip(tmp_path: Path) -> Path:
    """A venv with no pip at all, as uv makes them (made by uv when it is available)."""
    home = tmp_path / "uvvenv"
    if UV is not None:
        subprocess.run(
            [UV, "venv", "--no-config", "--python", sys.executable, str(home)],
            check=True, capture_output=True, env=dict(os.environ, UV_CACHE_DIR=str(tmp_path / "u")),
        )  # fmt: skip
    else:
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", "--without-pip", str(home)], check=True)
    return home / "bin" / "python"


def test_env_without_pip_names_the_uv_command(
    venv_without_pip: Path, pip_env: dict[str, str]
) -> None:
    result = _cc("install", "--python", str(venv_without_pip), "--", "six==1.16.0", env=pip_env)
    assert result.returncode == 2
    assert "has no pip" in result.stderr
    expected = f"uv pip install --no-cache --python {venv_without_pip} six==1.16.0"
    assert expected in result.stderr


@pytest.mark.skipif(UV is None, reason="uv is not installed (it is in the test extras)")
def test_use_uv_installs_without_touching_uv_cache(
    venv_without_pip: Path, pip_env: dict[str, str], loopback_index: str, tmp_path: Path
) -> None:
    env = dict(pip_env, PATH=f"{Path(str(UV)).parent}:{pip_env.get('PATH', '')}")
    result = _cc(
        "install", "--use-uv", "--python", str(venv_without_pip), "--", "six==1.16.0",
        "--index-url", loopback_index, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "uv pip install --no-cache --python" in result.stderr
    assert _six_version(venv_without_pip) == "1.16.0"
    assert _files(tmp_path / "uv-cache") == []


def test_refresh_removes_stale_entries_first_then_installs_uncached(
    venv_with_pip: Path, pip_env: dict[str, str], loopback_index: str, tmp_path: Path
) -> None:
    """Plain pip caches six (download + index page); `install --refresh` removes exactly
    those entries from that environment's cache, then installs with the cache off."""
    cache = tmp_path / "pip-cache"
    subprocess.run(
        [str(venv_with_pip), "-m", "pip", "download", "--no-deps", "-d", str(tmp_path / "dl"),
         "six==1.16.0", "idna==3.7", *_index(loopback_index)],
        env=pip_env, check=True, capture_output=True,
    )  # fmt: skip
    before = {p for p in _files(cache)}
    assert len(before) >= 8  # six and idna: wheel + index page, record + body each
    refused = _cc(
        "install",
        "--refresh",
        "--python",
        str(venv_with_pip),
        "--",
        "six==1.16.0",
        *_index(loopback_index),
        env=pip_env,
    )
    assert refused.returncode == 2 and "--yes" in refused.stderr  # no terminal to ask on
    assert {p for p in _files(cache)} == before
    result = _cc(
        "install", "--refresh", "--yes", "--python", str(venv_with_pip), "--", "six==1.16.0",
        *_index(loopback_index), env=pip_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "refresh: 2 entries" in result.stdout  # the plan was shown
    assert _six_version(venv_with_pip) == "1.16.0"
    after = {p for p in _files(cache)}
    assert after < before and len(before - after) == 4  # six's wheel and page, nothing new
    scanned = subprocess.run(
        [str(CACHECENSUS), "list", "--json", "--cache-dir", str(cache)],
        env=pip_env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert {e["project"] for e in json.loads(scanned.stdout)["entries"]} == {"idna"}


def test_refresh_of_one_version_keeps_the_other_cached_versions(
    venv_with_pip: Path, pip_env: dict[str, str], loopback_index: str, tmp_path: Path
) -> None:
    """``install --refresh attrs==23.2.0`` once deleted the cached attrs 23.1.0 too. The
    requirement's specifier says what goes: six 1.17.0 (and six's index pages), never the
    cached six 1.16.0."""
    cache = tmp_path / "pip-cache"
    for version in ("1.16.0", "1.17.0"):
        subprocess.run(
            [str(venv_with_pip), "-m", "pip", "download", "--no-deps", "-d",
             str(tmp_path / "dl"), f"six=={version}", *_index(loopback_index)],
            env=pip_env, check=True, capture_output=True,
        )  # fmt: skip
    result = _cc(
        "install", "--refresh", "--yes", "--python", str(venv_with_pip), "--", "six==1.17.0",
        *_index(loopback_index), env=pip_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert _six_version(venv_with_pip) == "1.17.0"
    listed = subprocess.run(
        [str(CACHECENSUS), "list", "six", "--json", "--cache-dir", str(cache)],
        env=pip_env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    left = {(e["kind"], e["version"]) for e in json.loads(listed.stdout)["entries"]}
    assert left == {("wheel", "1.16.0")}


def test_requirement_names_from_arguments_and_files(tmp_path: Path) -> None:
    from cachecensus.act.install import requirement_names

    reqs = tmp_path / "r.txt"
    reqs.write_text("Django>=4 --hash=sha256:abc\n# comment\n-i http://x/simple\nsix\n")
    got = requirement_names(
        [
            "-U",
            "Requests[socks]>=2",
            "-r",
            str(reqs),
            "--index-url",
            "http://x",
            "./local/path",
            "zope.interface",
        ]
    )
    assert got == ["requests", "zope-interface", "django", "six"]
    wanted = act.requirements(["attrs==23.2.0", "-r", str(reqs), "six>=1.16"])
    assert [str(r) for r in wanted] == ["attrs==23.2.0", "six>=1.16", "Django>=4", "six"]
