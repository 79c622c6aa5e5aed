"""What the resolvers of Python tools built on platformdirs and TOML share: platformdirs'
user and site directories for one user's variables (:class:`UserDirs`), TOML files read
through the host with line numbers for provenance (:class:`TomlFile`), and the search for
a project file upwards (:func:`find_upwards`), ``~`` and relative paths as a process of
the user sees them (:func:`expanduser`, :func:`absolute`). Used by the pip, poetry and pdm
resolvers."""

from __future__ import annotations

import posixpath
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cachecensus.host import Host
from cachecensus.models import User

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


def expanduser(host: Host, user: User, env: Mapping[str, str], path: str) -> str:
    """``os.path.expanduser`` as a process of ``user`` with variables ``env`` runs it:
    ``~`` is ``HOME`` verbatim when set (the passwd home when unset), ``~name`` that user's
    home from the host's passwd database (unknown: left as is)."""
    if not path.startswith("~"):
        return path
    i = path.find("/", 1)
    i = len(path) if i < 0 else i
    if i == 1:
        home = env.get("HOME", user.home)
    else:
        found = host.user_by_name(path[1:i])
        if found is None:
            return path
        home = found.home
    return (home.rstrip("/") + path[i:]) or "/"


def absolute(path: str, cwd: str) -> str:
    """``os.path.abspath`` from ``cwd``: joined when relative, then normalised."""
    return posixpath.normpath(path if posixpath.isabs(path) else posixpath.join(cwd, path))


class UserDirs:
    """platformdirs 4.14's user/site directories for one user's variables.

    ``XDG_*`` variables count only when absolute (used verbatim); ``~`` expands to ``HOME``
    when it is absolute, else to the passwd home (platformdirs' ``expand_user``). macOS uses
    ``~/Library/...`` unless the XDG variable is set (``XDGMixin`` applies there too).
    """

    def __init__(self, host: Host, user: User, env: Mapping[str, str]) -> None:
        self.host = host
        self.user = user
        self.env = env
        self.darwin = host.platform == "darwin"

    def expand_user(self, path: str) -> str:
        """platformdirs' ``expand_user``: a relative or empty ``HOME`` counts as unset."""
        home = self.env.get("HOME")
        if home is None or not posixpath.isabs(home):
            home = self.user.home
        return (home.rstrip("/") + path[1:]) or "/"

    def os_expanduser(self, path: str) -> str:
        """``os.path.expanduser`` with these variables (``HOME`` verbatim when set)."""
        return expanduser(self.host, self.user, self.env, path)

    def xdg(self, name: str) -> str | None:
        value = self.env.get(name, "")
        return value if posixpath.isabs(value) else None

    def _pick(self, var: str, linux: str, darwin: str, app: str) -> tuple[str, str]:
        found = self.xdg(var)
        if found is not None:
            return posixpath.join(found, app), f"${var}/{app}"
        base = darwin if self.darwin else linux
        return posixpath.join(self.expand_user(base), app), f"{base}/{app}"

    def user_cache_dir(self, app: str) -> tuple[str, str]:
        """(directory, how it was chosen) of ``user_cache_path(app)``."""
        return self._pick("XDG_CACHE_HOME", "~/.cache", "~/Library/Caches", app)

    def user_config_dir(self, app: str) -> tuple[str, str]:
        return self._pick("XDG_CONFIG_HOME", "~/.config", "~/Library/Application Support", app)

    def user_data_dir(self, app: str) -> tuple[str, str]:
        return self._pick("XDG_DATA_HOME", "~/.local/share", "~/Library/Application Support", app)

    def site_config_dir(self, app: str) -> str:
        """``site_config_path(app)`` (multipath off: the first directory)."""
        dirs = [p for p in self.env.get("XDG_CONFIG_DIRS", "").split(":") if posixpath.isabs(p)]
        if dirs:
            return posixpath.join(dirs[0], app)
        return posixpath.join("/Library/Application Support" if self.darwin else "/etc/xdg", app)


@dataclass(frozen=True)
class TomlFile:
    """A TOML file as the tool reads it: its document, or why it could not be read."""

    path: str
    exists: bool
    data: dict[str, Any]
    text: str = ""
    error: str | None = None

    def line_of(self, key: str, table: str = "") -> int | None:
        """The line (1-based) where ``key`` is set in ``[table]`` ("" for the top level)."""
        current = ""
        wanted = re.compile(r"""^\s*(?:"|')?""" + re.escape(key) + r"""(?:"|')?\s*=""")
        for number, line in enumerate(self.text.splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith("["):
                current = stripped.strip("[] \t").strip("\"'")
                continue
            if current == table and wanted.match(line):
                return number
        return None

    def where(self, key: str, table: str = "") -> str:
        line = self.line_of(key, table)
        return f"{self.path}:{line}" if line else self.path


def read_toml(host: Host, path: str) -> TomlFile:
    """Read ``path`` (a system path) as TOML; a missing file is ``exists=False``."""
    if not host.is_file(path):
        if host.lexists(path) and not host.is_dir(path):
            return TomlFile(path, True, {}, error=f"{path}: not a regular file")
        return TomlFile(path, False, {})
    try:
        text = host.read_text(path)
    except OSError as exc:
        return TomlFile(path, True, {}, error=f"{path}: {exc.strerror or exc}")
    try:
        data = tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError
        return TomlFile(path, True, {}, text, f"{path}: invalid TOML: {exc}")
    return TomlFile(path, True, data, text)


def find_upwards(host: Host, start: str, name: str) -> str | None:
    """The first directory from ``start`` up to ``/`` holding an entry ``name``."""
    path = posixpath.normpath(start)
    while True:
        if host.exists(posixpath.join(path, name)):
            return path
        parent = posixpath.dirname(path)
        if parent == path:
            return None
        path = parent
