"""Where pdm's cache is for one user (and project), decided exactly as pdm 2.x decides.

Mirrors ``pdm/project/config.py`` and ``pdm/project/core.py`` (pdm 2.29):

- ``Project.cache_dir`` is ``Path(project.config.get("cache_dir")).expanduser()`` where
  ``project.config`` is ``ChainMap(project_config, global_config)``;
- the project config (``<root>/pdm.toml``) answers first, and it holds the variables:
  ``$PDM_CACHE_DIR`` whenever it is set (even empty: ``Path("")`` is the working dir), then
  a ``cache_dir`` in ``pdm.toml`` (``global_only`` only stops ``pdm config --local`` from
  *writing* it; a hand-written one is read);
- then the global config: ``$PDM_CONFIG_FILE`` or platformdirs'
  ``user_config_path("pdm")/config.toml``, then the site config
  (``site_config_path("pdm")/config.toml``, ``$XDG_CONFIG_DIRS``' first entry or
  ``/etc/xdg``), then the built-in default ``user_cache_dir("pdm")``;
- the project root is the nearest directory from the working dir up holding a
  ``pyproject.toml`` (``$PDM_PROJECT`` overrides), else the global project when
  ``global_project.fallback`` is on, else the working dir itself;
- a legacy ``.pdm.toml`` is copied into the project config through ``__setitem__``, which
  refuses ``global_only`` keys: a ``cache_dir`` there makes pdm fail.

Values are coerced with ``str`` (a TOML integer ``1`` is the directory ``1``).

Version rules (the version is read from the pdm on the user's ``PATH``, see
:mod:`cachecensus.resolve.toolversion`; unknown: the newest's rules, said in the reason).
In pdm 2.22.4, 2.26.9 and 2.29.4 alike every command starts with
``project.global_config.load_theme()`` (``pdm/core.py``), which iterates ``items()`` of the
global config: its file and the site config (``pdm/project/config.py``, ``get_defaults``);
``Config.__getitem__`` raises ``NoConfigError`` for a key outside ``_config_map`` (and not
``repository.*``/``pypi.*``): ``cache-dir`` with a dash, a ``[cache]`` table. pdm then fails;
so does this resolver. The known keys differ by version (:data:`KNOWN_KEYS`, read from
each version's ``Config._config_map``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from cachecensus.host import Host
from cachecensus.models import Decision, Resolution, User
from cachecensus.resolve.platform import TomlFile, UserDirs, absolute, find_upwards, read_toml
from cachecensus.resolve.toolversion import installed_version, rules_note, version_key

KEY = "cache_dir"
NEWEST = "2.29.4"
_KEYS_2_22 = frozenset(
    [
        "build_isolation",
        "cache_dir",
        "check_update",
        "global_project.fallback",
        "global_project.fallback_verbose",
        "global_project.path",
        "global_project.user_site",
        "install.cache",
        "install.cache_method",
        "install.parallel",
        "log_dir",
        "pypi.ca_certs",
        "pypi.client_cert",
        "pypi.client_key",
        "pypi.ignore_stored_index",
        "pypi.json_api",
        "pypi.password",
        "pypi.url",
        "pypi.username",
        "pypi.verify_ssl",
        "python.install_root",
        "python.providers",
        "python.use_pyenv",
        "python.use_venv",
        "request_timeout",
        "scripts.show_header",
        "strategy.inherit_metadata",
        "strategy.resolve_max_rounds",
        "strategy.save",
        "strategy.update",
        "use_uv",
        "venv.backend",
        "venv.in_project",
        "venv.location",
        "venv.prompt",
        "venv.with_pip",
        "theme.error",
        "theme.info",
        "theme.primary",
        "theme.req",
        "theme.success",
        "theme.warning",
    ]
)
#: ``Config._config_map`` keys per pdm version (``pdm/project/config.py``), oldest first:
#: read from 2.22.4, 2.26.9 and 2.29.4 installed and from the 2.23.0, 2.24.0, 2.25.0,
#: 2.27.0, 2.28.0, 2.29.0 wheels (one key added in 2.24.0, 2.25.0 and 2.27.0).
KNOWN_KEYS: tuple[tuple[tuple[int, ...], frozenset[str]], ...] = (
    ((2, 22), _KEYS_2_22),
    ((2, 24), _KEYS_2_22 | {"python.use_python_version"}),
    ((2, 25), _KEYS_2_22 | {"python.use_python_version", "lock.format"}),
    ((2, 27), _KEYS_2_22 | {"python.use_python_version", "lock.format", "strategy.exclude-newer"}),
)


def known_keys(version: str | None) -> frozenset[str]:
    """The config keys pdm ``version`` knows (None: the newest)."""
    found = KNOWN_KEYS[-1][1]
    if version is not None:
        for since, keys in KNOWN_KEYS:
            if version_key(version) >= since:
                found = keys
            else:
                break
        if version_key(version) < KNOWN_KEYS[0][0]:
            found = KNOWN_KEYS[0][1]
    return found


def _flatten(data: Mapping[str, Any]) -> dict[str, Any]:
    """pdm's ``load_config``: nested tables become dotted keys (``[a] b = 1`` -> ``a.b``)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("repository", "pypi") and isinstance(value, Mapping):
            out.update((f"{key}.{sub}", v) for sub, v in value.items())
        elif isinstance(value, Mapping):
            out.update({f"{key}.{sub}": v for sub, v in _flatten(value).items()})
        else:
            out[key] = value
    return out


def _boolean(value: Any) -> bool:
    """pdm's ``ensure_boolean``."""
    if not isinstance(value, str):
        return bool(value)
    return bool(value) and value.lower() not in ("false", "no", "0")


def global_config_file(dirs: UserDirs, env: Mapping[str, str], cwd: str) -> tuple[str, str]:
    """(the global config file pdm reads, how it was chosen)."""
    if "PDM_CONFIG_FILE" in env and env["PDM_CONFIG_FILE"] != "":
        return absolute(env["PDM_CONFIG_FILE"], cwd), "PDM_CONFIG_FILE"
    base, how = dirs.user_config_dir("pdm")
    return posixpath.join(base, "config.toml"), f"{how}/config.toml"


def resolve_pdm(
    host: Host,
    *,
    user: User,
    env: Mapping[str, str],
    project_dir: str | None = None,
    version: str | None = None,
) -> Resolution:
    """The cache directory pdm uses when ``user`` runs it with variables ``env`` in
    ``project_dir`` (its working directory; None: ``$PWD`` or the home). ``version``: the
    pdm whose rules apply (None: the one on the user's ``PATH``)."""
    how = "given"
    if version is None:
        version, how = installed_version(host, env, "pdm")
    note = rules_note("pdm", version, how, NEWEST)
    known = known_keys(version)
    dirs = UserDirs(host, user, env)
    cwd = project_dir or env.get("PWD") or user.home
    default_dir, default_how = dirs.user_cache_dir("pdm")
    decisions: list[Decision] = [Decision("default", f"default: {default_how}", KEY, default_dir)]
    problems: list[str] = []
    error: str | None = None
    if env.get("PDM_CONFIG_FILE") == "":
        error = "PDM_CONFIG_FILE is empty: pdm reads the working directory as its config file"
    config_path, _ = global_config_file(dirs, env, cwd)
    site = read_toml(host, posixpath.join(dirs.site_config_dir("pdm"), "config.toml"))
    home = read_toml(host, config_path)
    layers: list[tuple[TomlFile, dict[str, Any]]] = []
    for doc in (site, home):
        if doc.error:
            problems.append(doc.error)
            error = error or doc.error
            continue
        flat = _flatten(doc.data)
        for key in flat:
            if key not in known and not key.startswith(("repository.", "pypi.")):
                top = key.split(".", 1)[0]
                message = f"{doc.where(top)}: unknown config key '{key}': pdm fails (NoConfigError)"
                problems.append(message)
                error = error or message
        layers.append((doc, flat))
    global_values: dict[str, Any] = {}
    for _, flat in layers:
        global_values.update(flat)
    root = _project_root(host, dirs, env, cwd, global_values)
    project_files = [read_toml(host, posixpath.join(root, "pdm.toml"))]
    legacy = read_toml(host, posixpath.join(root, ".pdm.toml"))
    if legacy.exists and not legacy.error and KEY in _flatten(legacy.data):
        error = error or (
            f"{legacy.where(KEY)}: Config item '{KEY}' is not allowed to set in project config."
        )
    for doc in project_files:
        if doc.error:
            problems.append(doc.error)
            error = error or doc.error
            continue
        layers.append((doc, _flatten(doc.data)))
    value: Any = default_dir
    for doc, flat in layers:
        if KEY in flat:
            value = flat[KEY]
            decisions.append(Decision("config", doc.where(KEY), KEY, str(value)))
    if "PDM_CACHE_DIR" in env:
        value = env["PDM_CACHE_DIR"]
        decisions.append(Decision("env", "PDM_CACHE_DIR", KEY, value))
    winner = decisions[-1]
    marked = tuple(Decision(d.source, d.where, d.key, d.value, d is winner) for d in decisions)
    if error is not None:
        return Resolution("pdm", "default", None, True, error, marked, tuple(problems), error)
    cache_dir = absolute(dirs.os_expanduser(str(value)), cwd)
    if winner.source == "default":
        reason = f"pdm's default ({winner.where})"
    elif winner.source == "env":
        reason = "set by the environment (PDM_CACHE_DIR)"
    else:
        reason = f"set by a config file ({winner.where})"
    reason += f"; {note}"
    return Resolution("pdm", "default", cache_dir, False, reason, marked, tuple(problems), None)


def _project_root(
    host: Host,
    dirs: UserDirs,
    env: Mapping[str, str],
    cwd: str,
    global_values: Mapping[str, Any],
) -> str:
    """``Project.root``: ``$PDM_PROJECT``, the nearest ``pyproject.toml`` upwards, the global
    project (``global_project.fallback``), else the working directory."""
    explicit = env.get("PDM_PROJECT")
    if explicit:
        return absolute(explicit, cwd)
    found = find_upwards(host, cwd, "pyproject.toml")
    if found is not None:
        return found
    if _boolean(global_values.get("global_project.fallback", False)):
        path = global_values.get("global_project.path")
        if path is None:
            path = posixpath.join(dirs.user_config_dir("pdm")[0], "global-project")
        return absolute(dirs.os_expanduser(str(path)), cwd)
    return posixpath.normpath(cwd)
