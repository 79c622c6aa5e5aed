"""What one interpreter is, read from files only (it is never executed).

Given the path of a ``python`` executable (a system path), work out the environment it
belongs to the way CPython's own start-up does:

- a virtual environment is marked by ``pyvenv.cfg`` next to the executable or one directory
  up (looked up from the path *as invoked*, before symlinks are resolved); its directory is
  ``sys.prefix``, and its ``home``/``executable``/``version`` keys name the base interpreter;
- otherwise ``sys.prefix`` is found from the *resolved* executable: ``PREFIX/bin/pythonX.Y``
  with the landmark ``PREFIX/lib/pythonX.Y/os.py``.

The Python version comes from ``pyvenv.cfg``, ``include/pythonX.Y/patchlevel.h``, or the
version string compiled into the binary; pip's version from ``pip-*.dist-info`` in the
environment's site-packages (or Debian's dist-packages).
"""

from __future__ import annotations

import posixpath
import re

from cachecensus.host import Host
from cachecensus.models import Environment, EnvKind

#: Bytes of an interpreter binary read when looking for its compiled-in version string.
BINARY_SCAN_LIMIT = 32 * 1024 * 1024

_PY_NAME = re.compile(r"^python(\d+)(?:\.(\d+))?[a-z]*$")
_PATCHLEVEL = re.compile(rb'#define\s+PY_VERSION\s+"([^"]+)"')
_VENV_NAMES = frozenset({".venv", "venv", "env", ".env", "virtualenv"})


def read_pyvenv_cfg(host: Host, path: str) -> dict[str, str]:
    """Parse a ``pyvenv.cfg`` like CPython's ``site.venv()`` does (``key = value`` lines)."""
    values: dict[str, str] = {}
    for line in host.read_text(path).splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip().lower()] = value.strip()
    return values


def find_pyvenv_cfg(host: Host, interpreter: str) -> str | None:
    """The ``pyvenv.cfg`` that makes ``interpreter`` a venv, if any (CPython's lookup)."""
    bindir = posixpath.dirname(interpreter)
    for candidate in (bindir, posixpath.dirname(bindir)):
        cfg = posixpath.join(candidate, "pyvenv.cfg")
        if host.is_file(cfg):
            return cfg
    return None


def _xy_from_name(name: str) -> str | None:
    match = _PY_NAME.match(name)
    if match and match.group(2) is not None:
        return f"{match.group(1)}.{match.group(2)}"
    return None


def _lib_dirs(host: Host, prefix: str) -> list[str]:
    """``PREFIX/lib/pythonX.Y`` directories (newest first)."""
    lib = posixpath.join(prefix, "lib")
    try:
        names = host.listdir(lib)
    except (OSError, ValueError):
        return []
    found = [n for n in names if _xy_from_name(n) and host.is_dir(posixpath.join(lib, n))]
    found.sort(key=lambda n: tuple(int(p) for p in (_xy_from_name(n) or "0.0").split(".")))
    return [posixpath.join(lib, n) for n in reversed(found)]


def _base_prefix(host: Host, resolved: str) -> tuple[str, str | None] | None:
    """(prefix, X.Y) of a non-venv interpreter from its resolved path, via the os.py landmark."""
    prefix = posixpath.dirname(posixpath.dirname(resolved))
    xy = _xy_from_name(posixpath.basename(resolved))
    for libdir in _lib_dirs(host, prefix):
        lib_xy = _xy_from_name(posixpath.basename(libdir))
        if (xy is None or lib_xy == xy) and host.is_file(posixpath.join(libdir, "os.py")):
            return prefix, lib_xy
    return None


def _version_from_binary(host: Host, resolved: str, xy: str | None) -> str | None:
    """The full version compiled into the binary (``Py_GetVersion``'s leading X.Y.Z)."""
    try:
        data = host.read_bytes(resolved, limit=BINARY_SCAN_LIMIT)
    except (OSError, ValueError):
        return None
    prefix = re.escape(xy.encode()) if xy else rb"3\.\d+"
    pattern = re.compile(rb"\x00(" + prefix + rb"\.\d+(?:(?:a|b|rc)\d+)?\+?)\x00")
    counts: dict[bytes, int] = {}
    for match in pattern.finditer(data):
        counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    if not counts:
        return None
    return max(counts, key=lambda v: counts[v]).decode()


def python_version(host: Host, prefix: str, resolved: str, xy: str | None) -> str | None:
    """Best full version of a base interpreter, without running it."""
    include = posixpath.join(prefix, "include")
    try:  # include/pythonX.Y, or pythonX.Ym on old ABI-flagged builds
        candidates = sorted(n for n in host.listdir(include) if xy and n.startswith(f"python{xy}"))
    except (OSError, ValueError):
        candidates = []
    for name in candidates:
        header = posixpath.join(include, name, "patchlevel.h")
        try:
            match = _PATCHLEVEL.search(host.read_bytes(header, limit=16 * 1024))
        except (OSError, ValueError):
            match = None
        if match:
            return match.group(1).decode()
    found = _version_from_binary(host, resolved, xy)
    if found is None and xy:  # a thin launcher: the version lives in libpythonX.Y.so
        for libdir in (posixpath.join(prefix, "lib"),):
            try:
                names = sorted(host.listdir(libdir))
            except (OSError, ValueError):
                continue
            for name in names:
                if name.startswith(f"libpython{xy}") and ".so" in name:
                    found = _version_from_binary(host, posixpath.join(libdir, name), xy)
                    if found:
                        break
    return found or xy


def pip_version(host: Host, prefix: str, xy: str | None) -> str | None:
    """pip's version in the environment at ``prefix`` (from ``pip-*.dist-info``), or None."""
    dirs: list[str] = []
    for libdir in _lib_dirs(host, prefix):
        if xy is None or posixpath.basename(libdir) == f"python{xy}":
            dirs.append(posixpath.join(libdir, "site-packages"))
    dirs.append(posixpath.join(prefix, "lib", "python3", "dist-packages"))  # Debian's /usr
    for site in dirs:
        try:
            names = host.listdir(site)
        except (OSError, ValueError):
            continue
        for name in names:
            if name.startswith("pip-") and name.endswith((".dist-info", ".egg-info")):
                return name[4:].rsplit(".", 1)[0]
    return None


def owner_name(host: Host, path: str, *, follow: bool = True) -> str | None:
    try:
        uid = (host.stat(path) if follow else host.lstat(path)).st_uid
    except (OSError, ValueError):
        return None
    user = host.user_by_uid(uid)
    return user.name if user else str(uid)


def default_name(prefix: str, kind: EnvKind, version: str | None) -> str:
    """A short, shell-friendly name for an environment (``--env NAME``, completions)."""
    base = posixpath.basename(prefix.rstrip("/")) or "/"
    if kind in (EnvKind.SYSTEM, EnvKind.OTHER):
        return f"python{version or ''}@{prefix}"
    if kind == EnvKind.PYENV:
        return f"pyenv:{base}"
    if kind == EnvKind.UV_MANAGED:
        return f"uv:{base}"
    if kind == EnvKind.CONDA:
        return f"conda:{base}"
    if base in _VENV_NAMES:
        parent = posixpath.basename(posixpath.dirname(prefix.rstrip("/")))
        return f"{parent}/{base}" if parent else base
    return base


def classify(host: Host, prefix: str, is_venv: bool) -> EnvKind:
    """A kind from the prefix alone (discovery providers may pass a more precise one)."""
    if host.is_dir(posixpath.join(prefix, "conda-meta")):
        return EnvKind.CONDA
    if is_venv:
        return EnvKind.VENV
    if "/.pyenv/versions/" in prefix + "/" or "/pyenv/versions/" in prefix:
        return EnvKind.PYENV
    if "/uv/python/" in prefix:
        return EnvKind.UV_MANAGED
    if prefix in ("/usr", "/usr/local") or prefix.startswith("/usr/"):
        return EnvKind.SYSTEM
    return EnvKind.OTHER


def inspect_interpreter(
    host: Host,
    path: str,
    *,
    found_by: str = "",
    kind: EnvKind | None = None,
) -> Environment:
    """The environment of the interpreter at system path ``path``; never raises for bad input.

    A missing file, dangling symlink, symlink loop, unreadable or keyless ``pyvenv.cfg`` gives
    an Environment with ``problem`` set.
    """
    found = (found_by,) if found_by else ()
    path = posixpath.normpath(path)
    broken = _problem(host, path)
    if broken is not None:
        prefix = posixpath.dirname(posixpath.dirname(path))
        return Environment(
            interpreter=path,
            prefix=prefix,
            kind=kind or EnvKind.OTHER,
            name=posixpath.basename(prefix) or path,
            owner=owner_name(host, path, follow=False) if host.lexists(path) else None,
            found_by=found,
            problem=broken,
        )
    resolved = host.realpath(path)
    cfg = find_pyvenv_cfg(host, path)
    if cfg is not None:
        return _inspect_venv(host, path, cfg, found, kind)
    base = _base_prefix(host, resolved)
    if base is None:
        prefix = posixpath.dirname(posixpath.dirname(resolved))
        xy = _xy_from_name(posixpath.basename(resolved))
        problem = f"no standard library next to {resolved} (lib/python{xy or 'X.Y'}/os.py)"
        return Environment(
            interpreter=path,
            prefix=prefix,
            kind=kind or classify(host, prefix, False),
            name=posixpath.basename(resolved),
            version=xy,
            owner=owner_name(host, resolved),
            found_by=found,
            problem=problem,
        )
    prefix, xy = base
    version = python_version(host, prefix, resolved, xy)
    env_kind = kind or classify(host, prefix, False)
    return Environment(
        interpreter=path,
        prefix=prefix,
        kind=env_kind,
        name=default_name(prefix, env_kind, xy),
        version=version,
        owner=owner_name(host, prefix),
        pip_version=pip_version(host, prefix, xy),
        found_by=found,
    )


def _problem(host: Host, path: str) -> str | None:
    """Why ``path`` cannot be an interpreter at all, or None."""
    if not host.lexists(path):
        return "no such file"
    try:
        resolved = host.realpath(path)
    except OSError:
        return "symlink loop"
    if not host.lexists(resolved):
        return f"dangling symlink to {resolved}"
    if not host.is_file(resolved):
        return f"not a regular file: {resolved}"
    try:
        if host.read_bytes(resolved, limit=2) == b"#!":
            return f"a script (shim or wrapper), not an interpreter: {resolved}"
    except (OSError, ValueError) as exc:
        return f"unreadable: {exc}"
    return None


#: The first bytes of an executable binary: ELF, Mach-O (32/64-bit, either byte order, fat).
_BINARY_MAGIC = (
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
)
_INTERPRETER_NAME = re.compile(r"^(?:python|pypy)\d*(?:\.\d+)?[a-z]*$")
#: CPython's entry points, in the binary or (a shared build) among its imported symbols.
_PY_MAIN = (b"Py_BytesMain", b"Py_Main")


def not_an_interpreter(host: Host, path: str) -> str | None:
    """Why the binary at ``path`` is no Python interpreter (``--python /bin/ls``), or None.

    Read, never run: an executable binary (ELF or Mach-O) named like one (``python3.12``,
    ``python``, ``pypy3``, as invoked or resolved) or holding CPython's entry point. A
    script is not judged here (:func:`inspect_interpreter` calls it a shim or wrapper)."""
    resolved = host.realpath(path)
    try:
        head = host.read_bytes(resolved, limit=4)
    except (OSError, ValueError):
        return None  # absent, a directory, unreadable: inspect_interpreter says which
    if head.startswith(b"#!"):
        return None
    if head not in _BINARY_MAGIC:
        return f"not a Python interpreter: {resolved} is no executable binary"
    names = (posixpath.basename(path), posixpath.basename(resolved))
    if any(_INTERPRETER_NAME.match(name) for name in names):
        return None
    try:
        data = host.read_bytes(resolved, limit=BINARY_SCAN_LIMIT)
    except (OSError, ValueError):
        return None
    if any(entry in data for entry in _PY_MAIN):
        return None
    return f"not a Python interpreter: {resolved} is neither named nor built like one"


def _inspect_venv(
    host: Host, path: str, cfg: str, found: tuple[str, ...], kind: EnvKind | None
) -> Environment:
    prefix = posixpath.dirname(cfg)
    owner = owner_name(host, prefix)
    try:
        values = read_pyvenv_cfg(host, cfg)
    except (OSError, ValueError) as exc:
        return Environment(
            interpreter=path,
            prefix=prefix,
            kind=kind or EnvKind.VENV,
            name=default_name(prefix, kind or EnvKind.VENV, None),
            owner=owner,
            found_by=found,
            problem=f"unreadable {cfg}: {getattr(exc, 'strerror', None) or exc}",
        )
    version = values.get("version") or values.get("version_info")
    if version and version.count(".") > 2:  # virtualenv writes version_info = 3.11.7.final.0
        version = ".".join(version.split(".")[:3])
    home = values.get("home")
    base = values.get("executable") or values.get("base-executable")
    if base is None and home:
        name = posixpath.basename(host.realpath(path))
        base = posixpath.join(home, name)
    xy = ".".join(version.split(".")[:2]) if version else _xy_from_name(posixpath.basename(path))
    env_kind = kind or classify(host, prefix, True)
    problem = None if home else f"{cfg} has no 'home' key"
    return Environment(
        interpreter=path,
        prefix=prefix,
        kind=env_kind,
        name=default_name(prefix, env_kind, xy),
        version=version,
        owner=owner,
        base_interpreter=base,
        pip_version=pip_version(host, prefix, xy),
        found_by=found,
        problem=problem,
    )
