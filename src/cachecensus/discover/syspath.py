"""Which pip ``python -m pip`` runs: the first ``pip`` package on the interpreter's
``sys.path``, built the way CPython (3.11's ``Modules/getpath.py`` and ``Lib/site.py``)
builds it, from files alone (the interpreter is never run). It is not always the
environment's own: a ``pip install --user pip`` upgrade, a pip on ``PYTHONPATH``, or the
base's pip in a ``--system-site-packages`` venv without one of its own runs instead.

``sys.path`` of ``python -m pip``, in order:

1. the working directory (``-m``), unless ``PYTHONSAFEPATH`` is set;
2. ``PYTHONPATH`` entries, an empty one being the working directory;
3. the base interpreter's standard library (no pip there);
4. what ``site`` adds: a venv's own ``site-packages`` first (``site.venv``), then the user
   site ``~/.local/lib/pythonX.Y/site-packages`` (under ``PYTHONUSERBASE`` when set) when
   it is enabled (not in a venv without system site packages, nor with
   ``PYTHONNOUSERSITE``) and exists, then the base's site directories (outside a venv,
   or in a venv whose ``pyvenv.cfg`` does not say ``include-system-site-packages =
   false``): ``lib/pythonX.Y/site-packages``, or the ``dist-packages`` directories of
   Debian's patched ``site.py``. Each site directory's ``.pth`` files, in sorted order,
   add the existing directories they name right after it (an ``import`` line is code,
   which we do not run: an editable install through an import hook is not seen).

The first entry holding ``pip/__init__.py`` is the pip that runs; its version is its
``__version__``, and the directory library it vendors is in ``pip/_vendor/vendor.txt``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass

from cachecensus.discover.interpreter import _lib_dirs, _xy_from_name, read_pyvenv_cfg
from cachecensus.host import Host

_VERSION = re.compile(rb"""^__version__\s*=\s*["']([^"'\n]+)["']""", re.MULTILINE)
_VENDORED = re.compile(r"^(platformdirs|appdirs)==([^\s;#]+)", re.MULTILINE)
#: Bytes of a .pth file, of pip/__init__.py and of vendor.txt read at most.
READ_LIMIT = 64 * 1024
#: .pth files of one site directory read at most (Python reads them all).
MAX_PTH_FILES = 512


@dataclass(frozen=True)
class PipFound:
    """The pip package ``python -m pip`` imports."""

    path: str | None  # the package directory, .../pip; None: no pip (``-m pip`` fails)
    version: str | None  # its __version__
    dirs: str | None  # the directory library it vendors: "platformdirs 4.12.4"


@dataclass(frozen=True)
class _Interpreter:
    prefix: str  # sys.prefix
    base: str  # sys.base_prefix
    xy: str | None
    venv: bool
    system_site: bool


def _interpreter(host: Host, prefix: str) -> _Interpreter:
    cfg = posixpath.join(prefix, "pyvenv.cfg")
    if not host.is_file(cfg):
        libs = _lib_dirs(host, prefix)
        xy = _xy_from_name(posixpath.basename(libs[0])) if libs else None
        return _Interpreter(prefix, prefix, xy, False, True)
    try:
        values = read_pyvenv_cfg(host, cfg)
    except (OSError, ValueError):
        values = {}
    home = values.get("home", "").rstrip("/")
    base = posixpath.dirname(home) if home else prefix
    version = values.get("version") or values.get("version_info") or ""
    xy = ".".join(version.split(".")[:2]) if version.count(".") >= 1 else None
    if xy is None:
        libs = _lib_dirs(host, prefix) or _lib_dirs(host, base)
        xy = _xy_from_name(posixpath.basename(libs[0])) if libs else None
    system_site = values.get("include-system-site-packages", "true").lower() == "true"
    return _Interpreter(prefix, base, xy, True, system_site)


def _debian_site(host: Host, base: str, xy: str, lib64: bool) -> bool:
    """Whether the base's ``site.py`` is Debian's (its site directories are dist-packages)."""
    for libdir in ("lib64", "lib") if lib64 else ("lib",):
        try:
            site = posixpath.join(base, libdir, f"python{xy}", "site.py")
            text = host.read_bytes(site, limit=READ_LIMIT)
        except OSError:
            continue
        return b"dist-packages" in text
    return False


def _platlib64(host: Host, base: str, xy: str) -> bool:
    """``sys.platlibdir == "lib64"`` (Fedora, SUSE): the base's standard library is a real
    ``lib64/pythonX.Y`` (a venv's ``lib64`` is only a symlink to its ``lib``)."""
    stdlib = posixpath.join(base, "lib64", f"python{xy}")
    return host.is_dir(stdlib) and not host.is_symlink(posixpath.join(base, "lib64"))


def _site_dirs(
    host: Host, prefix: str, xy: str, *, venv: bool, debian: bool, lib64: bool
) -> list[str]:
    """``site.getsitepackages([prefix])``, the directories that exist (``addsitepackages``
    skips the others)."""
    libdirs = ["lib64", "lib"] if lib64 else ["lib"]
    if debian:  # Debian's getsitepackages
        found = [f"{prefix}/lib/python{xy}/site-packages"] if venv else []
        found += [
            f"{prefix}/local/lib/python{xy}/dist-packages",
            f"{prefix}/lib/python3/dist-packages",
        ]
        found += [f"{prefix}/{libdir}/python{xy}/dist-packages" for libdir in libdirs]
    else:
        found = [f"{prefix}/{libdir}/python{xy}/site-packages" for libdir in libdirs]
    return [d for d in found if host.is_dir(d)]


def _pth_dirs(host: Host, sitedir: str) -> list[str]:
    """The directories a site directory's ``.pth`` files add (``site.addpackage``)."""
    try:
        names = sorted(n for n in host.listdir(sitedir) if n.endswith(".pth"))
    except (OSError, ValueError):
        return []
    del names[MAX_PTH_FILES:]  # bounded: a user's site dir is theirs to fill
    added: list[str] = []
    for name in names:
        try:
            raw = host.read_bytes(posixpath.join(sitedir, name), limit=READ_LIMIT)
        except OSError:
            continue
        for line in raw.decode("utf-8", "surrogateescape").splitlines():
            if line.startswith("#") or not line.strip() or line.startswith(("import ", "import\t")):
                continue
            path = posixpath.normpath(posixpath.join(sitedir, line.rstrip()))
            if host.exists(path):
                added.append(path)
    return added


def sys_path(
    host: Host, prefix: str, *, env: Mapping[str, str], home: str, cwd: str
) -> list[str] | None:
    """``sys.path`` of ``PREFIX/bin/python -m pip`` run with ``env`` in ``cwd`` (``home``:
    what ``~`` expands to for it), see the module doc; None when the interpreter's layout
    is not understood (no ``lib/pythonX.Y``: its site directories are unknown)."""
    me = _interpreter(host, prefix)
    path: list[str] = [] if env.get("PYTHONSAFEPATH") else [cwd]
    for entry in env.get("PYTHONPATH", "").split(":") if env.get("PYTHONPATH") else []:
        path.append(posixpath.normpath(posixpath.join(cwd, entry)) if entry else cwd)
    if me.xy is None:
        return None
    lib64 = _platlib64(host, me.base, me.xy)
    debian = _debian_site(host, me.base, me.xy, lib64)
    site: list[str] = []
    if me.venv:
        site += _site_dirs(host, me.prefix, me.xy, venv=True, debian=debian, lib64=lib64)
    if me.system_site and not env.get("PYTHONNOUSERSITE"):
        user_base = env.get("PYTHONUSERBASE") or posixpath.join(home, ".local")
        user_site = posixpath.join(user_base, "lib", f"python{me.xy}", "site-packages")
        if host.is_dir(user_site):
            site.append(posixpath.normpath(posixpath.join(cwd, user_site)))
    if me.system_site:
        site += _site_dirs(host, me.base, me.xy, venv=me.venv, debian=debian, lib64=lib64)
    for sitedir in site:
        path += [sitedir, *_pth_dirs(host, sitedir)]
    return list(dict.fromkeys(path))  # site.removeduppaths: the first of each stays


def _read(host: Host, path: str) -> bytes:
    try:
        return host.read_bytes(path, limit=READ_LIMIT)
    except OSError:
        return b""


def effective_pip(
    host: Host, prefix: str, *, env: Mapping[str, str], home: str, cwd: str
) -> PipFound | None:
    """The pip ``PREFIX/bin/python -m pip`` imports with ``env`` in ``cwd`` (a path of None
    when there is none on its path), or None when its path is not known."""
    path = sys_path(host, prefix, env=env, home=home, cwd=cwd)
    if path is None:
        return None
    for entry in path:
        package = posixpath.join(entry, "pip")
        if not host.is_file(posixpath.join(package, "__init__.py")):
            continue
        match = _VERSION.search(_read(host, posixpath.join(package, "__init__.py")))
        vendor = _read(host, posixpath.join(package, "_vendor", "vendor.txt"))
        lib = _VENDORED.search(vendor.decode("utf-8", "replace"))
        return PipFound(
            path=package,
            version=match.group(1).decode("ascii", "replace") if match else None,
            dirs=f"{lib.group(1)} {lib.group(2)}" if lib else None,
        )
    return PipFound(None, None, None)
