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
   - a ``required-version`` (the first file that sets one) the running uv does not
     satisfy: uv refuses to run.

4. Default: ``$XDG_CACHE_HOME/uv`` (an absolute value only), else ``~/.cache/uv`` with
   ``~`` from ``HOME`` (an empty ``HOME``: the passwd home). On macOS an existing
   ``~/Library/Caches/uv`` (the legacy location) is used first.

``~`` is never expanded in ``cache-dir`` or ``UV_CACHE_DIR``: ``~/x`` is a directory named
``~`` in the working directory. A relative ``cache-dir``, even from a configuration file, is
relative to the *working directory*, not to the file. ``uv cache dir`` prints the value as
given; the directory uv really uses is that value made absolute (``std::path::absolute``:
``.`` components and repeated slashes dropped, ``..`` kept), which is what
:func:`resolve_uv` returns.

That is the newest uv's behaviour; older uvs differ (no ``UV_NO_SYSTEM_CONFIG`` before 0.11.16,
an empty ``HOME`` taken as is before 0.8.19, fewer known keys...): :func:`resolve_uv` takes
the version of the uv that runs and follows its rules, tabled once, each with its source, in
:mod:`cachecensus.resolve.uvrules`.
"""

from __future__ import annotations

import posixpath
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from cachecensus.host import Host
from cachecensus.models import Decision, Resolution, User
from cachecensus.resolve.uvrules import UvRules, rules_for

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

_TRUE = ("y", "yes", "t", "true", "on", "1")
_FALSE = ("n", "no", "f", "false", "off", "0")


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


_CACHE_KEYS = ("cache-dir", "no-cache", "required-version")


def _required(value: str) -> SpecifierSet | None:
    """uv's ``RequiredVersion``: a bare version means ``==``; None when it is neither."""
    try:
        return SpecifierSet(f"=={Version(value)}")
    except InvalidVersion:
        pass
    try:
        return SpecifierSet(value)
    except InvalidSpecifier:
        return None


def _check_types(values: Mapping[str, Any], path: str) -> None:
    if "cache-dir" in values and not isinstance(values["cache-dir"], str):
        raise UvConfigError(f"Failed to parse: {path}: `cache-dir`: expected a string")
    if "no-cache" in values and not isinstance(values["no-cache"], bool):
        raise UvConfigError(f"Failed to parse: {path}: `no-cache`: expected a boolean")
    if "required-version" in values:
        value = values["required-version"]
        if not isinstance(value, str) or _required(value) is None:
            raise UvConfigError(f"Failed to parse: {path}: `required-version`: not a specifier")


def _load_uv_toml(host: Host, path: str, origin: str, rules: UvRules) -> ConfigFile:
    """A ``uv.toml``; raises OSError (cannot be read) or UvConfigError (uv refuses it)."""
    text = host.read_text(path)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UvConfigError(f"Failed to parse: {path}: {exc}") from exc
    unknown = sorted(k for k in doc if k not in rules.keys)
    if unknown:
        raise UvConfigError(
            f"Failed to parse: {path}: unknown field `{unknown[0]}` (for uv {rules.version})"
        )
    only = sorted(k for k in doc if k in rules.pyproject_only)
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


def _from_directory(
    host: Host, directory: str, warnings: list[str], rules: UvRules
) -> ConfigFile | None:
    """uv's ``FilesystemOptions::from_directory``: ``uv.toml`` first, then a
    ``pyproject.toml`` with ``[tool.uv]``; None to go on upwards."""
    uv_toml = posixpath.join(directory, "uv.toml")
    if host.lexists(uv_toml):
        try:
            return _load_uv_toml(host, uv_toml, "project", rules)
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
    unknown = sorted(k for k in uv if k not in rules.keys)
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


def find_project_config(
    host: Host, start: str, warnings: list[str], rules: UvRules | None = None
) -> ConfigFile | None:
    """uv's ``FilesystemOptions::find``: every ancestor of ``start``, nearest first."""
    directory = start
    while True:
        found = _from_directory(host, directory, warnings, rules or rules_for(None))
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
    rules: UvRules
    cwd: str  # uv's working directory (a relative home, config dir or TMPDIR starts there)

    @property
    def home(self) -> str:
        """Rust's ``home_dir``: ``HOME`` when set (and, from uv 0.8.19, non-empty), else the
        passwd home. An empty ``HOME`` before that is taken as is: ``~/.cache/uv`` is then
        ``.cache/uv`` in the working directory."""
        if self.rules.empty_home_is_passwd or "HOME" not in self.env:
            return self.env.get("HOME") or self.user.home
        return self.env["HOME"]

    def xdg(self, name: str) -> str | None:
        """etcetera's ``env_var_or_none``: the value only when absolute (no trimming)."""
        value = self.env.get(name)
        return value if value and value.startswith("/") else None

    def user_config(self) -> str:
        if self.rules.config_home_like_cache:
            home = self.home
        else:  # uv 0.4: dirs_sys::home_dir, an empty HOME meaning the passwd home
            home = self.env.get("HOME") or self.user.home
        base = self.xdg("XDG_CONFIG_HOME") or posixpath.join(home, ".config")
        return absolute(posixpath.join(base, "uv", "uv.toml"), self.cwd)

    def system_config(self, cwd: str) -> str | None:
        """``uv_dirs::system_config_file``: the first ``DIR/uv/uv.toml`` that is a file."""
        raw = self.env.get("XDG_CONFIG_DIRS") or "/etc/xdg"
        for directory in raw.split(":"):
            if not directory:
                if self.rules.skips_empty_config_dirs:
                    continue  # uv 0.12.20 on
                break  # before: take_while(non-empty) ends the search
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
            return [_load_uv_toml(host, path, "file", uvenv.rules)]
        except OSError as exc:
            raise UvConfigError(f"failed to open file `{raw}`: {exc.strerror or exc}") from exc
    if _boolish_var(env, "UV_NO_CONFIG"):
        return []
    files: list[ConfigFile] = []
    if project_dir is not None:
        start = absolute(project_dir, cwd)
        root = workspace_root(host, start)
        found = find_project_config(host, root or start, warnings, uvenv.rules)
        if found is not None:
            files.append(found)
    user_file = uvenv.user_config()
    if host.lexists(user_file):
        try:
            files.append(_load_uv_toml(host, user_file, "user", uvenv.rules))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            pass  # uv: NotFound, NotADirectory, PermissionDenied count as absent
        except OSError as exc:
            raise UvConfigError(f"failed to read `{user_file}`: {exc.strerror or exc}") from exc
    # UV_NO_SYSTEM_CONFIG exists from uv 0.11.16; before, it is not read at all
    if not (uvenv.rules.no_system_config_var and _boolish_var(env, "UV_NO_SYSTEM_CONFIG")):
        system_file = uvenv.system_config(cwd)
        if system_file is not None:
            try:
                files.append(_load_uv_toml(host, system_file, "system", uvenv.rules))
            except OSError as exc:
                raise UvConfigError(
                    f"failed to read `{system_file}`: {exc.strerror or exc}"
                ) from exc
    return files


def _check_required_version(files: list[ConfigFile], rules: UvRules) -> None:
    """uv's ``required-version`` check (from 0.5.14): the first file that sets one decides;
    raises UvConfigError when the running uv does not satisfy it (never for an unknown
    version: there is nothing to check)."""
    found = next((f for f in files if "required-version" in f.values), None)
    if found is None or not rules.enforces_required_version:
        return
    wanted = _required(str(found.values["required-version"]))
    if wanted is not None and not wanted.contains(rules.version, prereleases=True):
        raise UvConfigError(
            f"Required uv version `{found.values['required-version']}` does not match the "
            f"running version `{rules.version}` ({found.where('required-version')})"
        )


def resolve_uv(
    host: Host,
    *,
    user: User,
    env: Mapping[str, str],
    project_dir: str | None = None,
    cwd: str | None = None,
    version: str | None = None,
) -> Resolution:
    """The cache directory uv ``version`` (None: the newest uv cachecensus knows) uses when
    ``user`` runs it with variables ``env`` in ``project_dir`` (its working directory; None:
    no project configuration is searched and relative paths are taken against ``cwd``,
    ``PWD`` or the home). See the module doc."""
    rules = rules_for(version)
    base = cwd or project_dir or env.get("PWD") or env.get("HOME") or user.home
    for name in rules.working_directory:  # uv changes directory before anything else
        if env.get(name):
            base = absolute(env[name], base)
            project_dir = base
            break
    uvenv = UvEnv(host, user, env, rules, base)
    default_dir, default_where = uvenv.default_cache()
    warnings: list[str] = [rules.note] if rules.note else []
    decisions: list[Decision] = []
    try:
        no_cache_var = _boolish_var(env, "UV_NO_CACHE")
        if "UV_CACHE_DIR" in env and not env["UV_CACHE_DIR"]:
            raise UvConfigError("a value is required for '--cache-dir' (UV_CACHE_DIR is empty)")
        files = load_files(uvenv, base, project_dir, warnings)
        _check_required_version(files, rules)
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
        # Rust's temp_dir: TMPDIR when set, even empty (relative, or empty: the working dir)
        tmp = absolute(env.get("TMPDIR", "/tmp"), base)
        if not host.is_dir(tmp):
            message = f"no-cache: the temporary directory {tmp} does not exist"
            return Resolution(
                "uv",
                "default",
                None,
                True,
                f"uv would refuse to start: {message}",
                tuple(decisions),
                problems,
                message,
            )
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
    if rules.known:
        reason += f", by uv {rules.version}'s rules"
    return Resolution(
        "uv", "default", absolute(chosen, base), False, reason, tuple(decisions), problems
    )
