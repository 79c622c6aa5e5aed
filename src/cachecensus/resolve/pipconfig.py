"""pip's configuration files and variables, loaded the way pip loads them.

Mirrors ``pip/_internal/configuration.py`` (which files, in which order, PIP_CONFIG_FILE,
``os.devnull``), ``utils/appdirs.py`` and the vendored platformdirs (``XDG_*`` handling,
which changed between pip 23 and pip 26, and macOS), but reads through
:class:`~cachecensus.host.Host` and remembers where every value came from (file, line,
section, or variable).

Version differences mirrored (``pip_version`` None means the newest behaviour):

* pip >= 26 (platformdirs >= 4.12): ``XDG_*`` values count only when absolute (stripped, no
  ``~``), an empty ``HOME`` counts as unset, and on macOS ``XDG_CACHE_HOME``,
  ``XDG_DATA_HOME`` and ``XDG_DATA_DIRS`` override the ``~/Library`` locations.  Older pips
  take any non-blank value as it is (a relative one against the working directory).
* pip >= 26: key names are normalised while the file is parsed, so ``cache_dir`` and
  ``cache-dir`` in one section are a duplicate option (pip refuses the file); older pips
  only lower-case them there and the later spelling wins.
* pip >= 23.3 merges configuration per *file name*: a file loaded twice (PIP_CONFIG_FILE
  naming a global or site file) keeps the position of its first load.  Older pips merge per
  kind of file, so the PIP_CONFIG_FILE load counts last.
"""

from __future__ import annotations

import configparser
import io
import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from cachecensus.host import Host
from cachecensus.models import User
from cachecensus.resolve.platform import expanduser
from cachecensus.userfile import Refused

CONFIG_BASENAME = "pip.conf"
DEVNULL = "/dev/null"
ENV_NAMES_IGNORED = ("version", "help")

_HOMEBREW_PYTHON = re.compile(
    r"(?P<prefix>.+)/opt/python[^/]*/Frameworks/Python\.framework/Versions/[^/]+"
)


@dataclass(frozen=True)
class Setting:
    """One ``key = value`` pip will see, with its origin."""

    section: str  # "global", "install", ..., or ":env:" for PIP_* variables
    key: str  # normalised like pip: lower case, "_" -> "-", no leading "--"
    value: str
    variant: str  # global | user | site | env (PIP_CONFIG_FILE) | env-var
    where: str  # "/etc/pip.conf:3 [global]" or "PIP_CACHE_DIR"
    path: str = ""  # the file ("" for variables)


@dataclass(frozen=True)
class LoadedConfig:
    files: tuple[tuple[str, str, bool], ...]  # (variant, path, exists) in load order
    settings: tuple[Setting, ...]  # every setting pip sees, in its merge order
    problems: tuple[str, ...]  # unreadable or malformed files, "path[:line]: message"
    error: str | None  # what pip would refuse to start with (malformed file)
    skipped_all_files: bool = False  # PIP_CONFIG_FILE=/dev/null


def normalize_name(name: str) -> str:
    name = name.lower().replace("_", "-")
    return name[2:] if name.startswith("--") else name


def parse_version(text: str | None) -> Version | None:
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None


def _at_least(pip_version: str | None, minimum: str) -> bool:
    version = parse_version(pip_version)
    return version is None or version >= Version(minimum)


def strict_xdg(pip_version: str | None) -> bool:
    """pip >= 26 vendors platformdirs >= 4.12: XDG_* must be absolute, an empty HOME is
    unset, macOS honours XDG_*. Older pips take any non-blank XDG_* value as it is."""
    return _at_least(pip_version, "26")


class PipEnv:
    """The variables and home a pip process sees; ``expanduser`` as ``os.path`` does it."""

    def __init__(
        self,
        host: Host,
        user: User,
        env: Mapping[str, str],
        pip_version: str | None,
        cwd: str | None = None,
        prefix: str | None = None,
    ):
        self.host = host
        self.user = user
        self.env = env
        self.strict = strict_xdg(pip_version)
        self.normalizing_parser = _at_least(pip_version, "26")
        self.merge_per_file = _at_least(pip_version, "23.3")
        self.cwd = cwd or env.get("PWD") or user.home
        self.prefix = prefix

    def absolute(self, path: str) -> str:
        """A relative path as pip's process (working in ``cwd``) would open it."""
        return path if posixpath.isabs(path) else posixpath.join(self.cwd, path)

    def expanduser(self, path: str) -> str:
        """``os.path.expanduser`` with this environment's HOME (passwd home when unset)."""
        return expanduser(self.host, self.user, self.env, path)

    def _platformdirs_expand(self, path: str) -> str:
        """platformdirs' own ``~`` expansion: 4.12 treats an empty HOME as unset."""
        if self.strict and "HOME" in self.env and not self.env["HOME"]:
            return (self.user.home.rstrip("/") + path[1:]) or "/"
        return self.expanduser(path)

    def xdg(self, name: str, default: str) -> tuple[str, bool]:
        """(base dir, whether the variable decided) for an XDG_*_HOME variable."""
        raw = self.env.get(name, "")
        if self.strict:
            value = raw.strip()
            if posixpath.isabs(value):
                return value, True
        elif raw.strip():
            return raw, True
        return self._platformdirs_expand(default), False

    def _xdg_list(self, name: str) -> list[str]:
        """platformdirs 4.12's ``_xdg_dir_list``: the absolute entries, stripped."""
        raw = self.env.get(name, "")
        return [p.strip() for p in raw.split(":") if posixpath.isabs(p.strip())]

    def xdg_config_dirs(self) -> list[str]:
        if self.strict:
            return self._xdg_list("XDG_CONFIG_DIRS") or ["/etc/xdg"]
        raw = self.env.get("XDG_CONFIG_DIRS", "")
        if not raw.strip():
            return ["/etc/xdg"]
        return [self.expanduser(p) for p in raw.split(":")]

    # ------------------------------------------------------------------ locations

    @property
    def darwin(self) -> bool:
        return self.host.platform == "darwin"

    def user_cache_dir(self) -> tuple[str, str]:
        """pip's default cache dir and a description of where it comes from."""
        if self.darwin:
            if self.strict:
                base, from_env = self.xdg("XDG_CACHE_HOME", "~/Library/Caches")
                if from_env:
                    return posixpath.join(base, "pip"), "$XDG_CACHE_HOME/pip"
            return self._platformdirs_expand("~/Library/Caches") + "/pip", "~/Library/Caches/pip"
        base, from_env = self.xdg("XDG_CACHE_HOME", "~/.cache")
        return posixpath.join(base, "pip"), ("$XDG_CACHE_HOME/pip" if from_env else "~/.cache/pip")

    def user_config_dir(self) -> str:
        if self.darwin:  # pip's _macos_user_config_dir
            if self.strict:
                base, _ = self.xdg("XDG_DATA_HOME", "~/Library/Application Support")
            else:
                base = self.expanduser("~/Library/Application Support")
            support = posixpath.join(base, "pip")
            if self.host.is_dir(self.absolute(support)):
                return support
            return self.expanduser("~/.config/pip")
        base, _ = self.xdg("XDG_CONFIG_HOME", "~/.config")
        return posixpath.join(base, "pip")

    def _base_prefix(self) -> str | None:
        """sys.base_prefix of the environment (a venv's ``home`` key names its base bin)."""
        if self.prefix is None:
            return None
        try:
            text = self.host.read_text(posixpath.join(self.prefix, "pyvenv.cfg"))
        except OSError:
            return self.prefix
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip().lower() == "home" and value.strip():
                return posixpath.dirname(value.strip().rstrip("/"))
        return self.prefix

    def site_config_dirs(self) -> list[str]:
        if self.darwin:  # site_data_dir(multipath=True)
            if self.strict:
                data_dirs = self._xdg_list("XDG_DATA_DIRS")
                if data_dirs:
                    return [posixpath.join(d, "pip") for d in data_dirs]
                base = self._base_prefix()
                match = _HOMEBREW_PYTHON.fullmatch(base) if base else None
                brew = [f"{match['prefix']}/share/pip"] if match else []
                return [*brew, "/Library/Application Support/pip"]
            return ["/Library/Application Support/pip"]
        return [posixpath.join(d, "pip") for d in self.xdg_config_dirs()] + ["/etc"]


def config_files(penv: PipEnv, prefix: str | None) -> list[tuple[str, str]]:
    """(variant, path) in pip's override order: global, user, site, PIP_CONFIG_FILE."""
    env_file = penv.env.get("PIP_CONFIG_FILE")
    files = [("global", posixpath.join(d, CONFIG_BASENAME)) for d in penv.site_config_dirs()]
    if not (env_file and penv.host.exists(penv.absolute(env_file))):
        legacy = posixpath.join(penv.expanduser("~"), ".pip", CONFIG_BASENAME)
        files += [("user", legacy), ("user", posixpath.join(penv.user_config_dir(), "pip.conf"))]
    if prefix is not None:
        files.append(("site", posixpath.join(prefix, CONFIG_BASENAME)))
    if env_file is not None:
        files.append(("env", env_file))
    return files


_SECTION = re.compile(r"^\[(?P<name>[^]]+)\]")
_KEY = re.compile(r"^(?P<key>[^=:\s][^=:]*?)\s*[=:]")


def _line_numbers(text: str) -> dict[tuple[str, str], int]:
    """Best-effort (section, key) -> line of its last definition, for provenance."""
    lines: dict[tuple[str, str], int] = {}
    section = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line or line[0] in "#; \t":
            continue
        match = _SECTION.match(line)
        if match:
            section = match.group("name")
            continue
        match = _KEY.match(line)
        if match:
            lines[(section, normalize_name(match.group("key").strip()))] = number
    return lines


def _error_line(exc: configparser.Error) -> int | None:
    errors = getattr(exc, "errors", None)
    if not isinstance(exc, configparser.MissingSectionHeaderError) and errors:
        return int(errors[0][0])
    lineno = getattr(exc, "lineno", None)
    return lineno if isinstance(lineno, int) else None


def _error_text(exc: configparser.Error, text: str) -> str:
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return f"no [section] header before {exc.line.strip()!r}"
    errors = getattr(exc, "errors", None)
    if errors:  # (line, repr of the line): quote the file's own line, not the repr
        lines = text.splitlines()
        number = int(errors[0][0])
        bad = lines[number - 1].strip() if 0 < number <= len(lines) else str(errors[0][1])
        return f"cannot parse {bad!r}"
    if isinstance(exc, configparser.DuplicateOptionError):
        return f"option {exc.option!r} already set in section [{exc.section}]"
    if isinstance(exc, configparser.DuplicateSectionError):
        return f"section [{exc.section}] appears twice"
    return str(exc).replace("\n", " ")


def _parse(penv: PipEnv, variant: str, path: str) -> tuple[list[Setting], str | None, str | None]:
    """(settings, problem, error) of one file, as pip's ``_construct_parser`` reads it."""
    host = penv.host
    real = penv.absolute(path) if path else path
    if not real or not host.exists(real):
        return [], None, None
    try:
        raw = host.read_bytes(real)
    except Refused as exc:  # pip would block on a FIFO, read /dev/zero until it dies...
        if not host.is_dir(real):
            return [], f"{real}: {exc.strerror}", None
        return [], f"{real}: unreadable, pip skips it ({exc.strerror})", None
    except OSError as exc:  # configparser.read() skips files it cannot open
        return [], f"{real}: unreadable, pip skips it ({exc.strerror or exc})", None
    if b"\0" in raw:  # configparser takes it; pip then dies on a path holding it
        bad_line = raw[: raw.index(b"\0")].count(b"\n") + 1
        return [], f"{real}:{bad_line}: a NUL byte; file not read", None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
        problem = f"{real}:{bad_line}: invalid utf-8; pip refuses to start"
        return [], problem, f"Configuration file {real} contains invalid utf-8 characters"
    parser = configparser.RawConfigParser()
    if penv.normalizing_parser:
        parser.optionxform = normalize_name  # type: ignore[assignment,method-assign]
    try:
        parser.read_file(io.StringIO(text, newline=None), source=real)
    except configparser.Error as exc:
        err_line = _error_line(exc)
        at = f"{real}:{err_line}" if err_line else real
        why = _error_text(exc, text)
        problem = f"{at}: {why}; pip refuses to start"
        return [], problem, f"Configuration file could not be loaded: {at}: {why}"
    lines = _line_numbers(text)
    settings = []
    for section in parser.sections():
        for name, value in parser.items(section):
            key = normalize_name(name)
            line = lines.get((section, key)) or lines.get((parser.default_section, key))
            where = f"{real}:{line} [{section}]" if line else f"{real} [{section}]"
            settings.append(Setting(section, key, value, variant, where, real))
    return settings, None, None


def env_settings(env: Mapping[str, str]) -> Iterator[Setting]:
    for name, value in env.items():
        if name.startswith("PIP_"):
            key = name[4:].lower()
            if key not in ENV_NAMES_IGNORED:
                yield Setting(":env:", normalize_name(key), value, "env-var", name)


def _load_order(penv: PipEnv, files: list[tuple[str, str]]) -> list[int]:
    """Indexes of ``files`` in the order pip reads them (so: whose error it exits with).
    Before pip 23.3, ``iter_config_files`` yielded the PIP_CONFIG_FILE file first."""
    order = list(range(len(files)))
    if not penv.merge_per_file:
        order.sort(key=lambda i: files[i][0] != "env")
    return order


def load(penv: PipEnv, prefix: str | None) -> LoadedConfig:
    """Every file pip would load, and the PIP_* variables, in pip's merge order.

    pip >= 23.3 keeps one slot per file name (a file loaded twice keeps its first place);
    older pips update one flat dictionary per kind of file, so a file loaded again within a
    kind (``XDG_CONFIG_DIRS=/a:/b:/a``) overrides the files loaded in between.
    """
    files = config_files(penv, prefix)
    present = tuple((v, p, penv.host.exists(penv.absolute(p)) if p else False) for v, p in files)
    skipped = penv.env.get("PIP_CONFIG_FILE") == DEVNULL
    problems: list[str] = []
    error: str | None = None
    parsed: dict[int, list[Setting]] = {}
    for index in [] if skipped else _load_order(penv, files):
        found, problem, err = _parse(penv, *files[index])
        if problem:
            problems.append(problem)
        error = error or err  # pip exits on the first such file; we go on with the rest
        parsed[index] = found
    per_file: dict[tuple[str, int], list[Setting]] = {}
    for index, found in sorted(parsed.items()):
        path = files[index][1]
        per_file[(path, -1) if penv.merge_per_file else (path, index)] = found
    settings = [s for group in per_file.values() for s in group]
    settings.extend(env_settings(penv.env))
    return LoadedConfig(present, tuple(settings), tuple(problems), error, skipped)
