"""Where uv's cache is for one (user, project directory), decided exactly as uv decides it.

Mirrors uv 0.13 (``crates/uv/src/lib.rs`` settings discovery, ``crates/uv/src/settings.rs``
``CacheSettings::resolve``, ``crates/uv-cache/src/cli.rs`` ``Cache::from_settings``,
``crates/uv-settings`` ``FilesystemOptions``, ``crates/uv-dirs``), without running uv:

1. ``UV_NO_CACHE`` (clap's boolish parser: ``y yes t true on 1`` / ``n no f false off 0``,
   any case; anything else, the empty string included, is an error uv exits with) or a
   ``no-cache = true`` in the configuration disables the cache: uv then works in a fresh
   temporary directory (``$TMPDIR``, else ``/tmp``) removed when it exits.
2. ``UV_CACHE_DIR`` (empty: an error) wins over every configuration file.
3. Configuration: ``UV_NO_CONFIG`` (boolish) loads no file; ``UV_CONFIG_FILE`` loads that
   file *only* (relative to the working directory; missing or empty: an error). Otherwise
   the project file, then the user file, then the system file, the first that sets a key
   winning (``no-cache = false`` in a project beats ``no-cache = true`` of the user):

   - project: the search starts at the workspace root when the project directory is in a
     workspace (the nearest ``pyproject.toml`` with ``[project]`` or ``[tool.uv.workspace]``,
     or the ``[tool.uv.workspace]`` root above that lists it as a member and does not
     exclude it), else at the project directory; it goes up through every ancestor and
     stops at the first directory with a ``uv.toml`` (which must parse and hold only known
     keys, or uv refuses to run) or a ``pyproject.toml`` with a ``[tool.uv]`` table (one that
     does not parse is warned about and skipped). The file found decides even when it sets
     no cache key.
   - user: ``$XDG_CONFIG_HOME/uv/uv.toml`` (an absolute ``XDG_CONFIG_HOME`` only), else
     ``~/.config/uv/uv.toml``.
   - system (unless ``UV_NO_SYSTEM_CONFIG``): the first ``DIR/uv/uv.toml`` that is a file,
     DIR taken from ``XDG_CONFIG_DIRS`` (default ``/etc/xdg``; empty items skipped,
     relative ones taken against the working directory), else ``/etc/uv/uv.toml``.

4. Default: ``$XDG_CACHE_HOME/uv`` (an absolute value only), else ``~/.cache/uv`` with
   ``~`` from ``HOME`` (an empty ``HOME``: the passwd home). On macOS an existing
   ``~/Library/Caches/uv`` (the legacy location) is used first.

``~`` is never expanded in ``cache-dir`` or ``UV_CACHE_DIR``: ``~/x`` is a directory named
``~`` in the working directory. A relative ``cache-dir``, even from a configuration file, is
relative to the *working directory*, not to the file. ``uv cache dir`` prints the value as
given; the directory uv really uses is that value made absolute (``std::path::absolute``:
``.`` components and repeated slashes dropped, ``..`` kept), which is what
:func:`resolve_uv` returns.
"""

from __future__ import annotations

import posixpath
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cachecensus.host import Host
from cachecensus.models import Decision, Resolution, User

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

_TRUE = ("y", "yes", "t", "true", "on", "1")
_FALSE = ("n", "no", "f", "false", "off", "0")

#: Every key uv 0.13 accepts at the top of ``uv.toml`` / in ``[tool.uv]`` (its own error
#: message lists them); an unknown key makes a ``uv.toml`` an error.
KNOWN_KEYS = frozenset(
    [
        "required-version",
        "system-certs",
        "native-tls",
        "offline",
        "no-cache",
        "cache-dir",
        "preview",
        "preview-features",
        "python-preference",
        "python-downloads",
        "concurrent-downloads",
        "concurrent-builds",
        "concurrent-installs",
        "index",
        "index-url",
        "extra-index-url",
        "no-index",
        "find-links",
        "index-strategy",
        "keyring-provider",
        "http-proxy",
        "https-proxy",
        "no-proxy",
        "allow-insecure-host",
        "resolution",
        "prerelease",
        "prerelease-package",
        "fork-strategy",
        "dependency-metadata",
        "config-settings",
        "config-settings-package",
        "no-build-isolation",
        "require-build-hashes",
        "no-build-isolation-package",
        "extra-build-dependencies",
        "extra-build-variables",
        "exclude-newer",
        "exclude-newer-package",
        "link-mode",
        "compile-bytecode",
        "no-sources",
        "no-sources-package",
        "upgrade",
        "upgrade-package",
        "reinstall",
        "reinstall-package",
        "no-build",
        "no-build-package",
        "no-binary",
        "no-binary-package",
        "torch-backend",
        "python-install-mirror",
        "pypy-install-mirror",
        "graalpy-install-mirror",
        "pyodide-install-mirror",
        "python-downloads-json-url",
        "publish-url",
        "trusted-publishing",
        "check-url",
        "add-bounds",
        "audit",
        "pip",
        "cache-keys",
        "override-dependencies",
        "exclude-dependencies",
        "constraint-dependencies",
        "build-constraint-dependencies",
        "environments",
        "required-environments",
        "minimum-libc-version",
        "conflicts",
        "workspace",
        "sources",
        "managed",
        "package",
        "default-groups",
        "dependency-groups",
        "dev-dependencies",
        "build-backend",
    ]
)
#: Keys allowed in ``[tool.uv]`` but refused in a ``uv.toml`` (``validate_uv_toml``).
PYPROJECT_ONLY = frozenset(
    [
        "conflicts",
        "workspace",
        "sources",
        "dev-dependencies",
        "default-groups",
        "dependency-groups",
        "managed",
        "package",
        "build-backend",
        "environments",
        "required-environments",
    ]
)


class UvConfigError(Exception):
    """What uv would refuse to start with."""


def parse_boolish(value: str) -> bool | None:
    """clap's ``BoolishValueParser`` (and uv's ``parse_boolish_environment_variable``):
    True/False, or None for a value uv rejects."""
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def absolute(path: str, cwd: str) -> str:
    """Rust's ``std::path::absolute`` on Unix: joined to ``cwd`` when relative, ``.``
    components and repeated or trailing slashes dropped, ``..`` kept (no symlink resolved)."""
    full = path if path.startswith("/") else cwd.rstrip("/") + "/" + path
    parts = [p for p in full.split("/") if p and p != "."]
    lead = "//" if full.startswith("//") and not full.startswith("///") else "/"
    return lead + "/".join(parts)


# ---------------------------------------------------------------------- files


@dataclass(frozen=True)
class ConfigFile:
    """One configuration file uv loaded, with the cache keys it sets."""

    origin: str  # project | user | system | file (UV_CONFIG_FILE)
    path: str
    table: str  # "" for uv.toml, "tool.uv" for pyproject.toml
    values: Mapping[str, Any]  # cache-dir / no-cache as found
    lines: Mapping[str, int]

    def where(self, key: str) -> str:
        line = self.lines.get(key)
        at = f"{self.path}:{line}" if line else self.path
        return f"{at} [{self.table}]" if self.table else at


_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)


def _split_key(text: str) -> list[str]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", text)
    return [p[1:-1] if p[:1] in "\"'" else p for p in parts]


def key_lines(text: str, table: list[str], keys: tuple[str, ...]) -> dict[str, int]:
    """Line (1-based) where each of ``keys`` is set inside ``table`` (dotted keys and
    headers understood; multi-line values are not, which only matters for their insides)."""
    found: dict[str, int] = {}
    current: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header and not line.lstrip().startswith("[["):
            current = _split_key(header.group(1))
            continue
        match = _KEY.match(line)
        if not match:
            continue
        full = current + _split_key(match.group(1))
        if full[:-1] == table and full[-1] in keys and full[-1] not in found:
            found[full[-1]] = number
    return found


_CACHE_KEYS = ("cache-dir", "no-cache")


def _check_types(values: Mapping[str, Any], path: str) -> None:
    if "cache-dir" in values and not isinstance(values["cache-dir"], str):
        raise UvConfigError(f"Failed to parse: {path}: `cache-dir`: expected a string")
    if "no-cache" in values and not isinstance(values["no-cache"], bool):
        raise UvConfigError(f"Failed to parse: {path}: `no-cache`: expected a boolean")


def _load_uv_toml(host: Host, path: str, origin: str) -> ConfigFile:
    """A ``uv.toml``; raises OSError (cannot be read) or UvConfigError (uv refuses it)."""
    text = host.read_text(path)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UvConfigError(f"Failed to parse: {path}: {exc}") from exc
    unknown = sorted(k for k in doc if k not in KNOWN_KEYS)
    if unknown:
        raise UvConfigError(f"Failed to parse: {path}: unknown field `{unknown[0]}`")
    only = sorted(k for k in doc if k in PYPROJECT_ONLY)
    if only:
        raise UvConfigError(
            f"Failed to parse: {path}: `{only[0]}` is only allowed in a `pyproject.toml`"
        )
    values = {k: doc[k] for k in _CACHE_KEYS if k in doc}
    _check_types(values, path)
    return ConfigFile(origin, path, "", values, key_lines(text, [], _CACHE_KEYS))


def _pyproject(host: Host, path: str) -> tuple[dict[str, Any] | None, str]:
    """(document or None when it does not parse, text); raises OSError."""
    text = host.read_text(path)
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError:
        return None, text


def _tool_uv(doc: Mapping[str, Any] | None) -> dict[str, Any] | None:
    tool = doc.get("tool") if doc else None
    uv = tool.get("uv") if isinstance(tool, dict) else None
    return uv if isinstance(uv, dict) else None


def _from_directory(host: Host, directory: str, warnings: list[str]) -> ConfigFile | None:
    """uv's ``FilesystemOptions::from_directory``: ``uv.toml`` first, then a
    ``pyproject.toml`` with ``[tool.uv]``; None to go on upwards."""
    uv_toml = posixpath.join(directory, "uv.toml")
    if host.lexists(uv_toml):
        try:
            return _load_uv_toml(host, uv_toml, "project")
        except FileNotFoundError:
            pass  # a dangling symlink: NotFound, as for uv
        except OSError as exc:
            raise UvConfigError(f"failed to read `{uv_toml}`: {exc.strerror or exc}") from exc
    pyproject = posixpath.join(directory, "pyproject.toml")
    if not host.lexists(pyproject):
        return None
    try:
        doc, text = _pyproject(host, pyproject)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UvConfigError(f"failed to read `{pyproject}`: {exc.strerror or exc}") from exc
    if doc is None:
        warnings.append(f"{pyproject}: does not parse (uv warns and goes on upwards)")
        return None
    uv = _tool_uv(doc)
    if uv is None:
        return None
    unknown = sorted(k for k in uv if k not in KNOWN_KEYS)
    values = {k: uv[k] for k in _CACHE_KEYS if k in uv}
    try:
        if unknown:
            raise UvConfigError(f"unknown field `{unknown[0]}` in [tool.uv]")
        _check_types(values, pyproject)
    except UvConfigError as exc:
        warnings.append(f"{pyproject}: {exc} (uv warns and goes on upwards)")
        return None
    return ConfigFile(
        "project", pyproject, "tool.uv", values, key_lines(text, ["tool", "uv"], _CACHE_KEYS)
    )


def find_project_config(host: Host, start: str, warnings: list[str]) -> ConfigFile | None:
    """uv's ``FilesystemOptions::find``: every ancestor of ``start``, nearest first."""
    directory = start
    while True:
        found = _from_directory(host, directory, warnings)
        if found is not None:
            return found
        if directory == "/":
            return None
        directory = posixpath.dirname(directory)


# ---------------------------------------------------------------------- workspaces


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A ``glob`` crate pattern (``*``/``?`` within one component, ``**`` across)."""
    out = ""
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out += re.escape(c)
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out += f"[{body}]"
                i = end
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out + r"\Z")


def _globs_match(patterns: Any, root: str, project: str) -> bool:
    if not isinstance(patterns, list):
        return False
    for pattern in patterns:
        if not isinstance(pattern, str):
            continue
        full = absolute(pattern, root)
        if _glob_regex(full).match(project):
            return True
    return False


def workspace_root(host: Host, project_dir: str) -> str | None:
    """The root uv's ``Workspace::discover`` finds from ``project_dir`` (None when it
    fails: no ``pyproject.toml`` above, no ``[project]``, ``managed = false``, a file that
    does not parse)."""
    directory = project_dir
    while not host.is_file(posixpath.join(directory, "pyproject.toml")):
        if directory == "/":
            return None
        directory = posixpath.dirname(directory)
    project = directory
    try:
        doc, _ = _pyproject(host, posixpath.join(project, "pyproject.toml"))
    except OSError:
        return None
    if doc is None:
        return None
    uv = _tool_uv(doc) or {}
    if uv.get("managed") is False:
        return None
    if isinstance(uv.get("workspace"), dict):
        return project
    if not isinstance(doc.get("project"), dict):
        return None
    above = project
    while above != "/":
        above = posixpath.dirname(above)
        candidate = posixpath.join(above, "pyproject.toml")
        if not host.is_file(candidate):
            continue
        try:
            upper, _ = _pyproject(host, candidate)
        except OSError:
            return None
        if upper is None:
            return None  # uv: the discovery fails
        workspace = (_tool_uv(upper) or {}).get("workspace")
        if isinstance(workspace, dict):
            if not _globs_match(workspace.get("members"), above, project):
                return project
            if _globs_match(workspace.get("exclude"), above, project):
                return project
            return above
        return project  # a non-workspace project (or a bare file) above: standalone
    return project


# ---------------------------------------------------------------------- locations


@dataclass(frozen=True)
class UvEnv:
    host: Host
    user: User
    env: Mapping[str, str]

    @property
    def home(self) -> str:
        """Rust's ``home_dir``: ``HOME`` when set and non-empty, else the passwd home."""
        return self.env.get("HOME") or self.user.home

    def xdg(self, name: str) -> str | None:
        """etcetera's ``env_var_or_none``: the value only when absolute (no trimming)."""
        value = self.env.get(name)
        return value if value and value.startswith("/") else None

    def user_config(self) -> str:
        base = self.xdg("XDG_CONFIG_HOME") or posixpath.join(self.home, ".config")
        return posixpath.join(base, "uv", "uv.toml")

    def system_config(self, cwd: str) -> str | None:
        """``uv_dirs::system_config_file``: the first ``DIR/uv/uv.toml`` that is a file."""
        raw = self.env.get("XDG_CONFIG_DIRS") or "/etc/xdg"
        for directory in raw.split(":"):
            if not directory:
                continue  # uv 0.13.9 skips empty items (its source once stopped there)
            candidate = absolute(posixpath.join(directory, "uv", "uv.toml"), cwd)
            if self.host.is_file(candidate):
                return candidate
        return "/etc/uv/uv.toml" if self.host.exists("/etc/uv/uv.toml") else None

    def default_cache(self) -> tuple[str, str]:
        """(default cache dir, where it comes from)."""
        if self.host.platform == "darwin":
            legacy = posixpath.join(self.home, "Library", "Caches", "uv")
            if self.host.exists(legacy):
                return legacy, "~/Library/Caches/uv (legacy, exists)"
        base = self.xdg("XDG_CACHE_HOME")
        if base is not None:
            return posixpath.join(base, "uv"), "$XDG_CACHE_HOME/uv"
        return posixpath.join(self.home, ".cache", "uv"), "~/.cache/uv"


def _boolish_var(env: Mapping[str, str], name: str) -> bool | None:
    """A boolish variable: None when unset; raises UvConfigError for an invalid value."""
    if name not in env:
        return None
    value = parse_boolish(env[name])
    if value is None:
        raise UvConfigError(f"invalid value '{env[name]}' for {name}: value was not a boolean")
    return value


def load_files(
    uvenv: UvEnv, cwd: str, project_dir: str | None, warnings: list[str]
) -> list[ConfigFile]:
    """The configuration files uv loads, highest precedence first (see module doc)."""
    env = uvenv.env
    host = uvenv.host
    if "UV_CONFIG_FILE" in env:
        raw = env["UV_CONFIG_FILE"]
        if not raw:
            raise UvConfigError("a value is required for '--config-file' (UV_CONFIG_FILE)")
        path = absolute(raw, cwd)
        try:
            return [_load_uv_toml(host, path, "file")]
        except OSError as exc:
            raise UvConfigError(f"failed to open file `{raw}`: {exc.strerror or exc}") from exc
    if _boolish_var(env, "UV_NO_CONFIG"):
        return []
    files: list[ConfigFile] = []
    if project_dir is not None:
        start = absolute(project_dir, cwd)
        root = workspace_root(host, start)
        found = find_project_config(host, root or start, warnings)
        if found is not None:
            files.append(found)
    user_file = uvenv.user_config()
    if host.lexists(user_file):
        try:
            files.append(_load_uv_toml(host, user_file, "user"))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            pass  # uv: NotFound, NotADirectory, PermissionDenied count as absent
        except OSError as exc:
            raise UvConfigError(f"failed to read `{user_file}`: {exc.strerror or exc}") from exc
    if not _boolish_var(env, "UV_NO_SYSTEM_CONFIG"):
        system_file = uvenv.system_config(cwd)
        if system_file is not None:
            try:
                files.append(_load_uv_toml(host, system_file, "system"))
            except OSError as exc:
                raise UvConfigError(
                    f"failed to read `{system_file}`: {exc.strerror or exc}"
                ) from exc
    return files


def resolve_uv(
    host: Host,
    *,
    user: User,
    env: Mapping[str, str],
    project_dir: str | None = None,
    cwd: str | None = None,
) -> Resolution:
    """The cache directory uv uses when ``user`` runs it with variables ``env`` in
    ``project_dir`` (its working directory; None: no project configuration is searched and
    relative paths are taken against ``cwd``, ``PWD`` or the home). See the module doc."""
    uvenv = UvEnv(host, user, env)
    work = env.get("UV_WORKING_DIRECTORY")
    base = cwd or project_dir or env.get("PWD") or uvenv.home
    if work:
        base = absolute(work, base)  # uv changes directory before anything else
        project_dir = base
    default_dir, default_where = uvenv.default_cache()
    warnings: list[str] = []
    decisions: list[Decision] = []
    try:
        no_cache_var = _boolish_var(env, "UV_NO_CACHE")
        if "UV_CACHE_DIR" in env and not env["UV_CACHE_DIR"]:
            raise UvConfigError("a value is required for '--cache-dir' (UV_CACHE_DIR is empty)")
        files = load_files(uvenv, base, project_dir, warnings)
    except UvConfigError as exc:
        message = str(exc)
        decisions.append(Decision("default", f"default: {default_where}", "cache-dir", default_dir))
        return Resolution(
            "uv",
            "default",
            None,
            False,
            f"uv would refuse to start: {message}",
            tuple(decisions),
            tuple(warnings),
            message,
        )
    # Precedence: the first file (project, user, system) that sets a key.
    file_dir = next((f for f in files if "cache-dir" in f.values), None)
    file_no_cache = next((f for f in files if "no-cache" in f.values), None)
    var_dir = env.get("UV_CACHE_DIR")
    disabled_by: Decision | None = None
    no_cache_layers: list[Decision] = []
    if no_cache_var is not None:
        layer = Decision("env", "UV_NO_CACHE", "no-cache", env["UV_NO_CACHE"], no_cache_var)
        no_cache_layers.append(layer)
        if no_cache_var:
            disabled_by = layer
    for f in files:
        if "no-cache" in f.values:
            value = bool(f.values["no-cache"])
            decides = disabled_by is None and f is file_no_cache and value
            layer = Decision("config", f.where("no-cache"), "no-cache", str(value).lower(), decides)
            no_cache_layers.append(layer)
            if decides:
                disabled_by = layer
    dir_winner: str | None = None
    if var_dir is not None:
        dir_winner = "env"
    elif file_dir is not None:
        dir_winner = "file"
    live = disabled_by is None
    decisions.append(
        Decision(
            "default",
            f"default: {default_where}",
            "cache-dir",
            default_dir,
            live and dir_winner is None,
        )
    )
    for f in reversed(files):  # lowest precedence first, like pip's provenance
        if "cache-dir" in f.values:
            decisions.append(
                Decision(
                    "config",
                    f.where("cache-dir"),
                    "cache-dir",
                    str(f.values["cache-dir"]),
                    live and dir_winner == "file" and f is file_dir,
                )
            )
    if var_dir is not None:
        decisions.append(Decision("env", "UV_CACHE_DIR", "cache-dir", var_dir, live))
    decisions.extend(no_cache_layers)
    problems = tuple(warnings)
    if disabled_by is not None:
        tmp = env.get("TMPDIR") or "/tmp"
        reason = (
            f"disabled by no-cache = {disabled_by.value} ({disabled_by.where}): uv uses a fresh "
            f"temporary directory under {tmp} and removes it when done"
        )
        return Resolution("uv", "default", None, True, reason, tuple(decisions), problems)
    if dir_winner == "env":
        assert var_dir is not None
        chosen, reason = var_dir, "set by the environment (UV_CACHE_DIR)"
    elif dir_winner == "file":
        assert file_dir is not None
        chosen = str(file_dir.values["cache-dir"])
        reason = f"set by a config file ({file_dir.where('cache-dir')})"
    else:
        chosen, reason = default_dir, f"uv's default ({default_where})"
    return Resolution(
        "uv", "default", absolute(chosen, base), False, reason, tuple(decisions), problems
    )
