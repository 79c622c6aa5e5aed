"""The uv binaries installed on the machine, and what each one is, found without running any.

A uv reads only the cache buckets of its own version (``wheels-v8``...; see
:mod:`cachecensus.caches.uvbuckets`); a bucket no installed uv uses is dead weight, one that
some uv uses is live data, whatever the newest uv calls it. So before ``prune`` counts a
bucket as old, the uvs on the machine are looked for where uv gets installed:

- the directories of the invoking ``PATH`` and the system's (``/usr/local/bin``,
  ``/usr/bin``, ``/bin``, ``/opt/uv/bin``);
- in every account's home: ``~/.local/bin`` (uv's installer since 0.5, ``pipx``, ``uv tool``),
  ``~/.cargo/bin`` (the installer before 0.5, ``cargo install``), and the venvs of
  ``uv tool`` (``~/.local/share/uv/tools/*``) and pipx (``~/.local/pipx/venvs/*``,
  ``~/.local/share/pipx/venvs/*``);
- ``bin/uv`` of every environment the census found (a project venv's pinned uv).

Each ``uv`` found is read, never run: a regular file opened without following a symlink
the resolution did not already resolve inside the root, ``O_NONBLOCK``, at most
:data:`~cachecensus.caches.uvbuckets.SCAN_LIMIT` bytes and only if it starts like an
executable, for its bucket table and version string. A file that is not a uv (no table) is
ignored. Every uv found keeps its buckets live; only a uv owned by root or by the cache's
owner lets a bucket be called old (:func:`cachecensus.caches.uv.bucket_note`), so what
another user plants can only make more buckets count as used, never fewer.
"""

from __future__ import annotations

import posixpath
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from cachecensus.caches.uvbuckets import SCAN_LIMIT, scan_binary
from cachecensus.host import Host
from cachecensus.models import User

#: System directories a uv may be installed in, besides the invoking PATH.
SYSTEM_DIRS = ("/usr/local/bin", "/usr/bin", "/bin", "/opt/uv/bin")
#: Per home: directories holding a ``uv`` directly, and directories of venvs (``*/bin/uv``).
HOME_BINS = (".local/bin", ".cargo/bin")
HOME_VENVS = (".local/share/uv/tools", ".local/pipx/venvs", ".local/share/pipx/venvs")
#: Venvs looked at in one venv directory, at most.
MAX_VENVS_PER_DIR = 256


@dataclass(frozen=True)
class UvBinary:
    """One installed uv: where it was found, its version and the buckets it reads."""

    path: str
    version: str | None
    buckets: tuple[str, ...]
    owner: int = 0  # uid owning the binary: root's and a cache owner's vouch for "old"

    def label(self) -> str:
        return f"uv {self.version or '(version unknown)'} at {self.path}"


def _venv_bins(host: Host, directory: str) -> Iterator[str]:
    try:
        names = sorted(host.listdir(directory))[:MAX_VENVS_PER_DIR]
    except (OSError, ValueError):
        return
    for name in names:
        yield posixpath.join(directory, name, "bin", "uv")


def candidates(host: Host, users: Iterable[User], prefixes: Iterable[str] = ()) -> Iterator[str]:
    """Every path where a ``uv`` may be (existing or not), in the order above."""
    for entry in host.env.get("PATH", "").split(":"):
        if entry.startswith("/"):
            yield posixpath.join(entry, "uv")
    for directory in SYSTEM_DIRS:
        yield posixpath.join(directory, "uv")
    for user in users:
        for rel in HOME_BINS:
            yield posixpath.join(user.home, rel, "uv")
        for rel in HOME_VENVS:
            yield from _venv_bins(host, posixpath.join(user.home, rel))
    for prefix in prefixes:
        yield posixpath.join(prefix, "bin", "uv")


#: (device, inode, size, mtime_ns) -> what the file held, for this process's life.
_SEEN: dict[tuple[int, int, int, int], tuple[str | None, tuple[str, ...] | None]] = {}


def read_uv(host: Host, path: str) -> UvBinary | None:
    """The uv binary at system path ``path``, or None when there is none (missing, not a
    regular executable file, unreadable, not a uv)."""
    try:
        st = host.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode) or not st.st_mode & 0o111:
        return None
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _SEEN:
        try:
            _SEEN[key] = scan_binary(host.read_chunks(path, limit=SCAN_LIMIT))
        except OSError:
            return None
    version, table = _SEEN[key]
    if table is None:
        return None
    return UvBinary(path, version, table, st.st_uid)


def installed_uvs(
    host: Host, users: Sequence[User] | None = None, prefixes: Iterable[str] = ()
) -> tuple[UvBinary, ...]:
    """Every distinct uv binary found (see the module doc); ``users``: whose homes to look
    in (default: every account with a real home)."""
    found: list[UvBinary] = []
    seen: set[tuple[int, int]] = set()
    for path in candidates(host, host.users() if users is None else users, prefixes):
        try:
            st = host.stat(path)
        except (OSError, ValueError):
            continue
        if (st.st_dev, st.st_ino) in seen:
            continue
        seen.add((st.st_dev, st.st_ino))
        uv = read_uv(host, path)
        if uv is not None:
            found.append(uv)
    return tuple(found)


def user_uv(host: Host, user: User, env: Mapping[str, str]) -> UvBinary | None:
    """The uv ``user`` runs as ``uv`` with variables ``env``: the first on their ``PATH``,
    else the installer's places in their home (``~/.local/bin``, ``~/.cargo/bin``); None
    when none is found (the newest uv's rules then apply)."""
    dirs = [d for d in env.get("PATH", "").split(":") if d.startswith("/")]
    dirs += [posixpath.join(user.home, rel) for rel in HOME_BINS]
    for directory in dirs:
        found = read_uv(host, posixpath.join(directory, "uv"))
        if found is not None:
            return found
    return None


def live_buckets(installed: Iterable[UvBinary]) -> frozenset[str]:
    return frozenset(b for uv in installed for b in uv.buckets)
