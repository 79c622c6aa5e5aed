"""Where pipenv makes pip cache, decided as pipenv 2026.10 decides it.

From pipenv's source (``environments.py``, ``utils/pip.py``, ``utils/resolver.py``,
``utils/environment.py``):

1. ``Setting.PIPENV_CACHE_DIR = get_from_env("CACHE_DIR", default=user_cache_dir("pipenv"))``:
   the variable ``PIPENV_CACHE_DIR``, else pip's vendored platformdirs' user cache dir:
   ``$XDG_CACHE_HOME/pipenv`` when that variable is non-blank (stripped; honoured on macOS
   too), else ``~/.cache/pipenv`` (``~/Library/Caches/pipenv`` on macOS). A boolean-like
   value (``1``, ``true``, ``off``...) makes ``get_from_env`` return a bool: pipenv then fails.
2. A project's ``.env`` (``PIPENV_DOTENV_LOCATION``, else ``<project>/.env``) is loaded over
   the environment (``override=True``) unless ``PIPENV_DONT_LOAD_ENV`` is truthy, and the
   settings are read again: a ``PIPENV_CACHE_DIR`` (or ``PIP_NO_CACHE_DIR``) there counts.
3. Installs (``pipenv install``/``sync``) run pip in a subprocess with the environment plus
   ``PIP_CACHE_DIR=<that dir>`` and ``PIP_CONFIG_FILE=/dev/null``: the user's own
   ``PIP_CACHE_DIR`` and every ``pip.conf`` are ignored, but a ``PIP_NO_CACHE_DIR`` in the
   environment still applies to that pip, as does pip's ownership check.
4. Locking (``pipenv install``/``lock``/``update``) resolves in-process with pip's internals,
   ``pip_options.cache_dir = PIPENV_CACHE_DIR`` set after option parsing: that writes index
   pages and the wheels it hashes into the same directory whatever ``PIP_NO_CACHE_DIR``
   says. So the cache is never wholly disabled; a disabled pip only stops ``sync`` from
   adding to it (reported in ``reason`` and as a non-effective ``check``/``env`` layer).

Version rules (the version is read from the pipenv on the user's ``PATH``, see
:mod:`cachecensus.resolve.toolversion`; unknown: the newest's rules, said in the reason):

- every version: ``~`` is ``os.path.expanduser``'s: ``HOME=""`` gives ``/.cache/pipenv``;
  the project is the directory of the first ``Pipfile`` from the working dir up, at most
  ``PIPENV_MAX_DEPTH`` (10) directories (``pipenv/utils/pipfile.py``: ``find_pipfile``;
  ``PIPENV_PIPFILE`` overrides), and its ``.env`` is loaded (``pipenv/utils/environment.py``);
  the vendored python-dotenv (``pipenv/vendor/dotenv/main.py``: ``resolve_variables``)
  expands ``${VAR}`` and ``${VAR:-default}`` in every value, single-quoted ones too;
- pipenv before 2026.8.0 (``pipenv/patched/pip/_vendor/platformdirs/unix.py``; read in
  2024.4.1, 2025.0.0, 2025.1.3, 2026.0.0, 2026.5.0 .. 2026.7.1, platformdirs up to 4.5.1):
  ``XDG_CACHE_HOME`` is used verbatim when it is not blank (surrounding spaces kept);
- pipenv 2026.8.0 and later (read in 2026.8.0 .. 2026.10.3: platformdirs 4.10's
  ``platformdirs/_xdg.py``, ``os.environ.get("XDG_CACHE_HOME", "").strip()``): stripped.

Proven against real pipenv 2024.4.1 and 2026.10.3 (``tests/test_pipenv.py``,
``tests/test_tool_versions.py``).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping

from cachecensus.host import Host
from cachecensus.models import Decision, Resolution, User
from cachecensus.resolve.pip import normalize_path, resolve_pip
from cachecensus.resolve.pipconfig import PipEnv
from cachecensus.resolve.toolversion import installed_version, rules_note, version_key

NEWEST = "2026.10.3"

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
# python-dotenv's parser.py: a quoted value, then an optional comment
_DQ = re.compile(r'"((?:\\"|[^"])*)"(?:[ \t]*#.*)?[ \t]*')
_SQ = re.compile(r"'((?:\\'|[^'])*)'(?:[ \t]*#.*)?[ \t]*")
_DQ_ESCAPES = re.compile(r"\\[\\'\"abfnrtv]")
_SQ_ESCAPES = re.compile(r"\\[\\']")
_ESCAPED = {"\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b", "f": "\f", "n": "\n"}
_ESCAPED |= {"r": "\r", "t": "\t", "v": "\v"}
_VAR = re.compile(r"\$\{([^}:]*)(?::-([^}]*))?\}")  # python-dotenv's _posix_variable


def _boolish(value: str) -> bool | None:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def parse_dotenv(text: str, env: Mapping[str, str]) -> list[tuple[str, str, int]]:
    """``(key, value, line)`` of a ``.env`` file, as python-dotenv reads it: ``KEY=VALUE``,
    an optional ``export``, quotes, ``#`` comments, ``${VAR}``/``${VAR:-default}``
    interpolation (in single quotes too: pipenv's vendored python-dotenv), earlier keys of
    the file visible to later ones."""
    out: list[tuple[str, str, int]] = []
    seen: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", key):
            continue
        value = value.strip()
        if value[:1] in ("'", '"'):
            quoted = (_DQ if value[0] == '"' else _SQ).fullmatch(value)
            if quoted is None:
                continue  # python-dotenv skips a line it cannot parse
            escapes = _DQ_ESCAPES if value[0] == '"' else _SQ_ESCAPES
            value = escapes.sub(lambda m: _ESCAPED[m.group()[1]], quoted.group(1))
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0].rstrip()

        def sub(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            found = seen.get(name, env.get(name))
            return found if found is not None else (default or "")

        value = _VAR.sub(sub, value)
        seen[key] = value
        out.append((key, value, number))
    return out


def default_cache_dir(
    host: Host, user: User, env: Mapping[str, str], version: str | None = None
) -> tuple[str, str]:
    """pip's vendored platformdirs ``user_cache_dir("pipenv")``: (path, how it was made)."""
    raw = env.get("XDG_CACHE_HOME", "")
    if raw.strip():
        old = version is not None and version_key(version) < (2026, 8)
        xdg = raw if old else raw.strip()
        return posixpath.join(xdg, "pipenv"), "$XDG_CACHE_HOME/pipenv"
    home = (env.get("HOME", user.home)).rstrip("/")  # os.path.expanduser
    if host.platform == "darwin":
        return f"{home}/Library/Caches/pipenv", "~/Library/Caches/pipenv"
    return f"{home}/.cache/pipenv", "~/.cache/pipenv"


def find_project(host: Host, env: Mapping[str, str], cwd: str) -> str:
    """pipenv's project directory: ``PIPENV_PIPFILE``'s, else that of the first ``Pipfile``
    from ``cwd`` up (``PIPENV_MAX_DEPTH`` levels), else ``cwd``."""
    explicit = env.get("PIPENV_PIPFILE")
    if explicit:
        return posixpath.dirname(posixpath.join(cwd, explicit))
    try:
        depth = int(env.get("PIPENV_MAX_DEPTH", "10")) + 1
    except ValueError:
        depth = 11
    path = posixpath.normpath(cwd)
    for _ in range(1, depth):
        if host.is_file(posixpath.join(path, "Pipfile")):
            return path
        parent = posixpath.dirname(path)
        if parent == path:
            break
        path = parent
    return posixpath.normpath(cwd)


def resolve_pipenv(
    host: Host,
    *,
    user: User,
    env: Mapping[str, str],
    project_dir: str | None = None,
    version: str | None = None,
) -> Resolution:
    """The directory pipenv's pip cache lives in for ``user`` with variables ``env``, run in
    ``project_dir`` (the ``.env`` of the project found from there is read; relative paths
    are taken from there). ``version``: the pipenv whose rules apply (None: the one on the
    user's ``PATH``)."""
    how = "given"
    if version is None:
        version, how = installed_version(host, env, "pipenv")
    note = rules_note("pipenv", version, how, NEWEST)
    merged = dict(env)
    decisions: list[Decision] = []
    problems: list[str] = []
    from_file: dict[str, str] = {}
    if project_dir is not None and _boolish(env.get("PIPENV_DONT_LOAD_ENV", "")) is not True:
        project = find_project(host, env, project_dir)
        location = env.get("PIPENV_DOTENV_LOCATION") or posixpath.join(project, ".env")
        if not posixpath.isabs(location):
            location = posixpath.join(project_dir, location)
        try:
            text = host.read_text(location) if host.is_file(location) else None
        except OSError as exc:
            text = None
            problems.append(f"{location}: {exc.strerror or exc}")
        if text is None and env.get("PIPENV_DOTENV_LOCATION"):
            problems.append(f"{location}: PIPENV_DOTENV_LOCATION names no file")
        for key, value, number in parse_dotenv(text or "", env):
            merged[key] = value
            from_file[key] = f"{location}:{number}"
    default_dir, default_how = default_cache_dir(host, user, merged, version)
    raw = merged.get("PIPENV_CACHE_DIR")
    where = from_file.get("PIPENV_CACHE_DIR", "PIPENV_CACHE_DIR")
    source = "config" if "PIPENV_CACHE_DIR" in from_file else "env"
    decisions.append(
        Decision("default", f"default: {default_how}", "PIPENV_CACHE_DIR", default_dir, raw is None)
    )
    if raw is not None:
        decisions.append(Decision(source, where, "PIPENV_CACHE_DIR", raw, True))
        if _boolish(raw) is not None:
            error = (
                f"PIPENV_CACHE_DIR={raw!r} is read as a boolean by pipenv's get_from_env "
                f"({where}): pipenv fails"
            )
            return Resolution(
                "pipenv", "default", None, True, error, tuple(decisions), tuple(problems), error
            )
    chosen = default_dir if raw is None else raw
    pip_env = {k: v for k, v in merged.items() if k != "PIP_CACHE_DIR"}
    pip_env["PIP_CACHE_DIR"] = chosen
    pip_env["PIP_CONFIG_FILE"] = "/dev/null"
    # pipenv's subprocess gets pipenv's PIP_CACHE_DIR; pip resolves it (~, cwd, symlinks)
    pip = resolve_pip(host, user=user, env=pip_env, prefix=None, view="install", cwd=project_dir)
    cache_dir = pip.cache_dir
    if cache_dir is None:
        # pip in `pipenv sync` would not cache; the in-process resolver still writes here
        cache_dir = normalize_path(PipEnv(host, user, pip_env, None, project_dir, None), chosen)
    for d in pip.decided_by:
        if d.source == "check" or d.key == "no-cache-dir":
            where_d = from_file.get("PIP_NO_CACHE_DIR", d.where) if d.source == "env" else d.where
            decisions.append(Decision(d.source, where_d, d.key, d.value, False))
    if pip.error:
        problems.append(f"pip in `pipenv sync` fails: {pip.error}")
    first = next(d for d in decisions if d.effective)
    if first.source == "default":
        reason = f"pipenv's default ({first.where})"
    elif first.source == "env":
        reason = "set by the environment (PIPENV_CACHE_DIR)"
    else:
        reason = f"set by the project's .env ({first.where})"
    if pip.disabled:
        reason += f"; pip in `pipenv sync` does not cache ({pip.reason}), locking still writes here"
    reason += f"; {note}"
    return Resolution(
        "pipenv",
        "default",
        cache_dir,
        False,
        reason,
        tuple(decisions),
        tuple(problems) + tuple(pip.problems),
        None,
    )
