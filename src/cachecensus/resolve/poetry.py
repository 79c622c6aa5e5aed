"""Where poetry's cache is for one user (and project), decided exactly as poetry 2.x decides.

Mirrors ``poetry/locations.py`` and ``poetry/config/config.py`` (poetry 2.5):

- ``Config.default_config["cache-dir"]`` is platformdirs' ``user_cache_path("pypoetry")``
  (``$XDG_CACHE_HOME/pypoetry`` when that variable is absolute, else ``~/.cache/pypoetry``;
  ``~/Library/Caches/pypoetry`` on macOS);
- ``Config.create`` merges ``CONFIG_DIR/config.toml`` and then ``CONFIG_DIR/auth.toml`` over
  it (both are read whole: a ``cache-dir`` in ``auth.toml`` counts too), where ``CONFIG_DIR``
  is ``$POETRY_CONFIG_DIR`` (any non-empty value) or platformdirs'
  ``user_config_path("pypoetry", roaming=True)``;
- ``Factory.create_poetry`` then merges the project's ``poetry.toml`` (next to the
  ``pyproject.toml`` found from the working directory upwards); the ``poetry cache ...``
  commands do not (``Config.create()`` only): view ``cache``;
- ``Config.get("cache-dir")`` returns ``$POETRY_CACHE_DIR`` whenever that variable is set
  (even empty) and otherwise the merged value, after ``{key}`` substitution
  (``cache-dir = "{data-dir}/cache"``: ``data-dir`` is ``$POETRY_DATA_DIR``, else
  ``$POETRY_HOME``, else ``user_data_path("pypoetry")``);
- the directory used is ``Path(value).expanduser()`` (relative: against the working dir).

Every file is read through :class:`~cachecensus.host.Host`; platformdirs' rules are those of
platformdirs 4.14 (what a fresh ``pip install poetry`` brings), see :class:`UserDirs`.

Version rules (the version is read from the poetry on the user's ``PATH``, see
:mod:`cachecensus.resolve.toolversion`; unknown: the newest's rules, said in the reason):

- poetry 2.4.0 .. 2.5.1 (``poetry/config/config.py``: ``"data-dir": str(data_dir())`` in
  ``default_config``; ``process`` substitutes a ``{key}`` whose value ``is not None``): the
  rules above;
- poetry 1.8 .. 2.3 (read in 1.8.5, 2.0.0, 2.1.0, 2.1.4, 2.2.1, 2.3.0: ``process`` has
  ``if config_value:``): a ``{key}`` whose value is empty stays literal;
- poetry 2.0.0 and 1.8.5 (``poetry/config/config.py``: ``default_config`` has no
  ``data-dir``, added in 2.1.0), so ``{data-dir}`` stays literal unless ``POETRY_DATA_DIR``
  or a config file sets it;
- poetry 1.8.5: ``poetry/console/commands/config.py`` merges ``poetry.toml`` only when
  ``self.poetry`` builds, i.e. ``poetry/core/factory.py``'s ``create_poetry`` finds the
  nearest ``pyproject.toml`` with a ``[tool.poetry]`` table that validates: a PEP 621
  ``[project]``-only file has none, and in package mode ``name``, ``version``,
  ``description`` and ``authors`` are required.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Any

from cachecensus.host import Host
from cachecensus.models import Decision, Resolution, User
from cachecensus.resolve.platform import UserDirs, absolute, find_upwards, read_toml
from cachecensus.resolve.toolversion import installed_version, rules_note, version_key

NEWEST = "2.5.1"

VIEWS = ("default", "cache")
_MAX_DEPTH = 20  # {key} substitution depth before poetry itself would recurse forever


def _merge(into: dict[str, Any], new: Mapping[str, Any]) -> None:
    """poetry's ``merge_dicts``."""
    for key, value in new.items():
        if key in into and isinstance(into[key], dict) and isinstance(value, Mapping):
            _merge(into[key], value)
        else:
            into[key] = value


class _Getter:
    """``Config.get`` + ``Config.process`` over the merged configuration."""

    def __init__(self, config: dict[str, Any], env: Mapping[str, str], truthy: bool) -> None:
        self.config = config
        self.env = env
        self.truthy = truthy  # before 2.4: `if config_value:`; since: `is not None`

    def get(self, key: str, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise RecursionError(f"{{{key}}} refers to itself")
        keys = key.split(".")
        var = "POETRY_" + "_".join(k.upper().replace("-", "_") for k in keys)
        if var in self.env:
            return self.process(self.env[var], depth)
        value: Any = self.config
        for part in keys:
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        if isinstance(value, dict):
            return {k: self.get(f"{key}.{k}", depth + 1) for k in value}
        return self.process(value, depth)

    def process(self, value: Any, depth: int = 0) -> Any:
        if not isinstance(value, str):
            return value

        def resolve(match: re.Match[str]) -> str:
            found = self.get(match.group(1), depth + 1)
            keep = bool(found) if self.truthy else found is not None
            return str(found) if keep else f"{{{match.group(1)}}}"

        return re.sub(r"{(.+?)}", resolve, value)


def poetry_config_dir(dirs: UserDirs, cwd: str) -> tuple[str, str]:
    """(poetry's CONFIG_DIR, how it was chosen)."""
    explicit = dirs.env.get("POETRY_CONFIG_DIR")
    if explicit:
        return absolute(explicit, cwd), "POETRY_CONFIG_DIR"
    found, how = dirs.user_config_dir("pypoetry")
    return found, how


def resolve_poetry(
    host: Host,
    *,
    user: User,
    env: Mapping[str, str],
    project_dir: str | None = None,
    view: str = "default",
    version: str | None = None,
) -> Resolution:
    """The cache directory poetry uses when ``user`` runs it with variables ``env`` in
    ``project_dir`` (its working directory; None: ``$PWD`` or the home, no project).

    ``view``: ``default`` (installs, locks: the project's ``poetry.toml`` applies) or
    ``cache`` (``poetry cache list/clear``: global configuration only). ``version``: the
    poetry whose rules apply (None: the one on the user's ``PATH``)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}")
    where = "given"
    if version is None:
        version, where = installed_version(host, env, "poetry")
    note = rules_note("poetry", version, where, NEWEST)
    legacy = version is not None and version_key(version) < (2,)
    no_data_dir = version is not None and version_key(version) < (2, 1)
    dirs = UserDirs(host, user, env)
    cwd = project_dir or env.get("PWD") or user.home
    default_dir, default_how = dirs.user_cache_dir("pypoetry")
    config: dict[str, Any] = {"cache-dir": default_dir}
    if not no_data_dir:
        poetry_home = env.get("POETRY_HOME")
        config["data-dir"] = (
            dirs.os_expanduser(poetry_home) if poetry_home else dirs.user_data_dir("pypoetry")[0]
        )
    decisions: list[tuple[Decision, str]] = [
        (Decision("default", f"default: {default_how}", "cache-dir", default_dir), default_dir)
    ]
    problems: list[str] = []
    error: str | None = None
    config_dir, _ = poetry_config_dir(dirs, cwd)
    files = [posixpath.join(config_dir, "config.toml"), posixpath.join(config_dir, "auth.toml")]
    if view == "default" and project_dir is not None:
        root = find_upwards(host, project_dir, "pyproject.toml")
        if root is not None and (not legacy or _poetry_1_project(host, root)):
            files.append(posixpath.join(root, "poetry.toml"))
    for path in files:
        doc = read_toml(host, path)
        if doc.error:
            error = error or f"Invalid TOML file {doc.error}"
            problems.append(doc.error)
            continue
        if "cache-dir" in doc.data:
            value = doc.data["cache-dir"]
            decisions.append(
                (Decision("config", doc.where("cache-dir"), "cache-dir", str(value)), value)
            )
        _merge(config, doc.data)
    if "POETRY_CACHE_DIR" in env:
        value = env["POETRY_CACHE_DIR"]
        decisions.append((Decision("env", "POETRY_CACHE_DIR", "cache-dir", value), value))
    truthy = version is not None and version_key(version) < (2, 4)
    getter = _Getter(config, env, truthy)
    try:
        raw = getter.get("cache-dir")
    except RecursionError as exc:
        raw = None
        error = error or f"cache-dir: {exc} (poetry fails with a RecursionError)"
    winner = decisions[-1][0]
    marked = tuple(Decision(d.source, d.where, d.key, d.value, d is winner) for d, _ in decisions)
    if error is not None or not isinstance(raw, str):
        if error is None:
            error = f"cache-dir is not a string ({type(raw).__name__}: {raw!r})"
        return Resolution("poetry", view, None, True, error, marked, tuple(problems), error)
    cache_dir = absolute(dirs.os_expanduser(raw), cwd)
    if winner.source == "default":
        reason = f"poetry's default ({winner.where})"
    elif winner.source == "env":
        reason = "set by the environment (POETRY_CACHE_DIR)"
    else:
        reason = f"set by a config file ({winner.where})"
    if raw != str(decisions[-1][1]):
        reason += f"; {decisions[-1][1]!s} expands to {raw}"
    reason += f"; {note}"
    return Resolution("poetry", view, cache_dir, False, reason, marked, tuple(problems), None)


def _poetry_1_project(host: Host, root: str) -> bool:
    """poetry 1.8's ``Factory.create_poetry`` succeeds: ``[tool.poetry]`` present and (in
    package mode) ``name``, ``version``, ``description``, ``authors`` there."""
    doc = read_toml(host, posixpath.join(root, "pyproject.toml"))
    tool = doc.data.get("tool") if not doc.error else None
    section = tool.get("poetry") if isinstance(tool, dict) else None
    if not isinstance(section, dict):
        return False
    mode = section.get("package-mode", True)
    if mode is False:
        return True
    return mode is True and all(k in section for k in ("name", "version", "description", "authors"))
