"""Which interpreter a pyenv or asdf shim would run, decided as they decide, without running it.

A shim (``~/.pyenv/shims/python3``, ``~/.asdf/shims/python3``) is a script that picks a
Python version when it runs, from the working directory and the variables:

- **pyenv** (``libexec/pyenv-version-name``, ``-version-file``, ``-which``): ``PYENV_VERSION``
  (``:``-separated), else the first ``.python-version`` from ``$PYENV_DIR`` (default the
  working dir) up to ``/``, else ``$PYENV_ROOT/version``; each file gives the first word of
  each line (``#`` lines skipped). A version is ``$PYENV_ROOT/versions/NAME`` (``python-``
  prefix dropped; a prefix like ``3.11`` means the newest installed ``3.11.x``); the first
  whose ``bin/python3`` exists runs; then, always, *system*: the next ``python3`` on
  ``PATH`` past the shims (so no version set, or one not installed, falls through to it).
- **asdf** (``internal/resolve``, ``internal/shims``): ``ASDF_PYTHON_VERSION``
  (space-separated), else the first ``.tool-versions`` (``ASDF_TOOL_VERSIONS_FILENAME``)
  with a ``python`` line from the working dir up to ``/``, then in ``$HOME``
  (``.python-version`` too, where ``~/.asdfrc`` says ``legacy_version_file = yes``).
  A version is ``${ASDF_DATA_DIR:-~/.asdf}/installs/python/NAME/bin/python3``, ``ref:X``
  is ``ref-X``, ``path:DIR`` is ``DIR/bin/python3``, ``system`` the next ``python3`` on
  ``PATH``. No version set, or none installed, is asdf's error: nothing runs.

A version name that reaches outside the versions directory (``/``, ``..``, asdf's
``path:``) is followed only from a file the invoking user or root owns (pyenv refuses
such names unless they resolve inside ``versions/``; asdf does not check): a
``.python-version`` another user left in a shared directory can name a version, never a
binary of theirs.
"""

from __future__ import annotations

import posixpath
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass

from cachecensus.host import Host

#: The most we read of a shim or a version file.
READ_LIMIT = 64 * 1024

_PYENV_ROOT_IN_SHIM = re.compile(rb'PYENV_ROOT="([^"\n]+)"')
_PRERELEASE = re.compile(r"(-dev|-src|-latest|(a|b|rc)[0-9]+|[0-9]t)$")


@dataclass(frozen=True)
class ShimChoice:
    """What a shim would run.

    ``python``: the interpreter; None with ``system`` True: the next ``python3`` on PATH
    past the shim; None with ``problem``: the shim itself would fail (asdf: no version).
    ``why``: which manager and version, and what set it.
    """

    manager: str
    shims: str  # the shims directory (skipped when falling through to system)
    python: str | None
    why: str
    system: bool = False
    problem: str | None = None


def _read(host: Host, path: str) -> str | None:
    """A small regular file's text (bounded), or None."""
    if not host.is_file(path):
        return None
    try:
        return host.read_bytes(path, READ_LIMIT).decode("utf-8", "surrogateescape")
    except (OSError, ValueError):
        return None


def _trusted(host: Host, path: str) -> bool:
    """The file is the invoking user's or root's (it may name a path to run)."""
    try:
        st = host.stat(path)
    except (OSError, ValueError):
        return False
    return stat.S_ISREG(st.st_mode) and st.st_uid in (0, host.euid)


def _upward(cwd: str) -> list[str]:
    """``cwd`` and each parent up to ``/``."""
    found, here = [], posixpath.normpath(cwd)
    while True:
        found.append(here)
        parent = posixpath.dirname(here)
        if parent == here:
            return found
        here = parent


def _executable(host: Host, path: str) -> bool:
    try:
        st = host.stat(path)
    except (OSError, ValueError):
        return False
    return stat.S_ISREG(st.st_mode) and bool(st.st_mode & 0o111)


def resolve_shim(
    host: Host, shim: str, env: Mapping[str, str], cwd: str, command: str = "python3"
) -> ShimChoice | None:
    """What the shim at ``shim`` runs for ``command``; None when it is no pyenv or asdf shim."""
    text = _read(host, shim)
    if text is None or not text.startswith("#!"):
        return None
    shims = posixpath.dirname(shim)
    data = text.encode("utf-8", "surrogateescape")
    if b"pyenv" in data:
        match = _PYENV_ROOT_IN_SHIM.search(data)
        root = match.group(1).decode("utf-8", "surrogateescape") if match else None
        return _pyenv(host, root or posixpath.dirname(shims), shims, env, cwd, command)
    if b"asdf" in data:
        return _asdf(host, shims, env, cwd, command)
    return None


# ------------------------------------------------------------------------------ pyenv


def _pyenv_file_versions(host: Host, path: str, root: str) -> list[str]:
    """``pyenv-version-file-read``: the first word of each line; unsafe names skipped."""
    text = _read(host, path)
    if text is None:
        return []
    versions = []
    for line in text.replace("\r", "\n").splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        version = words[0][:1024]
        if (version == ".." or "/" in version) and not (
            _trusted(host, path) and _inside(host, f"{root}/versions/{version}", f"{root}/versions")
        ):
            continue
        versions.append(version)
    return versions


def _inside(host: Host, path: str, top: str) -> bool:
    try:
        return host.realpath(path).startswith(host.realpath(top).rstrip("/") + "/")
    except OSError:
        return False


def _pyenv_latest(host: Host, root: str, prefix: str) -> str | None:
    """``pyenv-latest -b``: the newest installed version starting with ``prefix.`` or
    ``prefix-`` (no pre-releases, dev or free-threaded builds)."""
    try:
        names = host.listdir(f"{root}/versions")
    except OSError:
        return None
    matching = [
        n
        for n in names
        if (n.startswith(prefix + ".") or n.startswith(prefix + "-"))
        and not _PRERELEASE.search(n)
        and not host.is_symlink(f"{root}/versions/{n}")  # pyenv-virtualenv's envs
    ]

    def key(name: str) -> tuple[int, ...]:
        return tuple(int(p) if p.isdigit() else -1 for p in re.split(r"[.-]", name)[:4])

    return max(matching, key=key) if matching else None


def _pyenv(
    host: Host, root: str, shims: str, env: Mapping[str, str], cwd: str, command: str
) -> ShimChoice:
    root = root.rstrip("/") or "/"
    if env.get("PYENV_VERSION"):
        versions, source = env["PYENV_VERSION"].split(":"), "PYENV_VERSION"
    else:
        start = env.get("PYENV_DIR") or cwd
        dirs = _upward(start) + (_upward(cwd) if start != cwd else [])
        found = next(
            (
                f"{d.rstrip('/')}/.python-version"
                for d in dirs
                if host.is_file(f"{d}/.python-version")
            ),
            f"{root}/version",
        )
        versions, source = _pyenv_file_versions(host, found, root), found
    versions = [v for v in versions if v]
    missing = []
    for version in versions:
        if version == "system":
            break
        name = version.removeprefix("python-")
        if not host.is_dir(f"{root}/versions/{name}"):
            name = _pyenv_latest(host, root, name) or ""
        if not name:
            missing.append(version)
            continue
        python = f"{root}/versions/{name}/bin/{command}"
        if _executable(host, python):
            return ShimChoice("pyenv", shims, python, f"pyenv version {name} (set by {source})")
        missing.append(f"{name} (no bin/{command})")
    if not versions:
        why = f"pyenv: no version set ({source}): system"
    elif missing:
        why = f"pyenv: {', '.join(missing)} not installed (set by {source}): system"
    else:
        why = f"pyenv: system (set by {source})"
    return ShimChoice("pyenv", shims, None, why, system=True)


# ------------------------------------------------------------------------------ asdf


def _asdf_legacy(host: Host, env: Mapping[str, str], home: str) -> bool:
    """``legacy_version_file = yes`` in asdf's config (``ASDF_CONFIG_FILE``, ``~/.asdfrc``)."""
    text = _read(host, env.get("ASDF_CONFIG_FILE") or f"{home}/.asdfrc") or ""
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == "legacy_version_file":
            return value.strip().lower() == "yes"
    return False


def _tool_versions(text: str, tool: str) -> list[str] | None:
    """The versions of ``tool``'s line in a ``.tool-versions`` text (None: no line)."""
    for line in text.splitlines():
        words = line.partition("#")[0].split()
        if len(words) > 1 and words[0] == tool:
            return words[1:]
    return None


def _asdf(host: Host, shims: str, env: Mapping[str, str], cwd: str, command: str) -> ShimChoice:
    home = env.get("HOME") or host.current_user().home
    data = env.get("ASDF_DATA_DIR") or f"{home.rstrip('/')}/.asdf"
    filename = (
        env.get("ASDF_TOOL_VERSIONS_FILENAME")
        or env.get("ASDF_DEFAULT_TOOL_VERSIONS_FILENAME")
        or ".tool-versions"
    )
    versions: list[str] | None = None
    source = ""
    if env.get("ASDF_PYTHON_VERSION"):
        versions, source = env["ASDF_PYTHON_VERSION"].split(), "ASDF_PYTHON_VERSION"
    else:
        legacy = _asdf_legacy(host, env, home)
        for directory in [*_upward(cwd), home]:
            path = f"{directory.rstrip('/')}/{filename}"
            versions = _tool_versions(_read(host, path) or "", "python")
            if versions is None and legacy:
                path = f"{directory.rstrip('/')}/.python-version"
                text = _read(host, path)
                versions = text.split() if text and text.split() else None
            if versions is not None:
                source = path
                break
    if not versions:
        problem = f"asdf: no python version is set for {command} (so its shim would fail)"
        return ShimChoice("asdf", shims, None, problem, problem=problem)
    trusted = source == "ASDF_PYTHON_VERSION" or _trusted(host, source)
    for version in versions:
        if version == "system":
            return ShimChoice("asdf", shims, None, f"asdf: system (set by {source})", system=True)
        if version.startswith("path:"):
            if not trusted:
                continue
            python = f"{version[5:].rstrip('/')}/bin/{command}"
        else:
            name = "ref-" + version[4:] if version.startswith("ref:") else version
            if "/" in name or name == "..":
                continue
            python = f"{data.rstrip('/')}/installs/python/{name}/bin/{command}"
        if _executable(host, python):
            return ShimChoice("asdf", shims, python, f"asdf python {version} (set by {source})")
    problem = (
        f"asdf: none of python {' '.join(versions)} (set by {source}) is installed "
        f"(so its {command} shim would fail)"
    )
    return ShimChoice("asdf", shims, None, problem, problem=problem)
