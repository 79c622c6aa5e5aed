"""pip's configuration files and variables, loaded the way pip loads them.

Mirrors ``pip/_internal/configuration.py`` (which files, in which order, PIP_CONFIG_FILE,
``os.devnull``) and the vendored platformdirs (``XDG_*`` handling, which changed between
pip 23 and pip 26), but reads through :class:`~cachecensus.host.Host` and remembers where
every value came from (file, line, section, or variable).
"""

from __future__ import annotations

import configparser
import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from cachecensus.host import Host
from cachecensus.models import User

CONFIG_BASENAME = "pip.conf"
DEVNULL = "/dev/null"
ENV_NAMES_IGNORED = ("version", "help")


@dataclass(frozen=True)
class Setting:
    """One ``key = value`` pip will see, with its origin."""

    section: str  # "global", "install", ..., or ":env:" for PIP_* variables
    key: str  # normalised like pip: lower case, "_" -> "-", no leading "--"
    value: str
    variant: str  # global | user | site | env (PIP_CONFIG_FILE) | env-var
    where: str  # "/etc/pip.conf:3 [global]" or "PIP_CACHE_DIR"


@dataclass(frozen=True)
class LoadedConfig:
    files: tuple[tuple[str, str, bool], ...]  # (variant, path, exists) in load order
    settings: tuple[Setting, ...]  # every setting of every loaded file, then env vars
    problems: tuple[str, ...]  # unreadable files (pip skips them silently)
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


def strict_xdg(pip_version: str | None) -> bool:
    """pip >= 26 vendors platformdirs >= 4.12: XDG_* must be absolute, an empty HOME is
    unset. Older pips take any non-blank XDG_* value as it is (relative ones included)."""
    version = parse_version(pip_version)
    return version is None or version >= Version("26")


class PipEnv:
    """The variables and home a pip process sees; ``expanduser`` as ``os.path`` does it."""

    def __init__(
        self,
        host: Host,
        user: User,
        env: Mapping[str, str],
        pip_version: str | None,
        cwd: str | None = None,
    ):
        self.host = host
        self.user = user
        self.env = env
        self.strict = strict_xdg(pip_version)
        self.cwd = cwd or env.get("PWD") or user.home

    def absolute(self, path: str) -> str:
        """A relative path as pip's process (working in ``cwd``) would open it."""
        return path if posixpath.isabs(path) else posixpath.join(self.cwd, path)

    def expanduser(self, path: str) -> str:
        """``os.path.expanduser`` with this environment's HOME (passwd home when unset)."""
        if not path.startswith("~"):
            return path
        i = path.find("/", 1)
        i = len(path) if i < 0 else i
        if i == 1:
            home = self.env.get("HOME", self.user.home)
        else:
            found = self.host.user_by_name(path[1:i])
            if found is None:
                return path
            home = found.home
        home = home.rstrip("/")
        return (home + path[i:]) or "/"

    def _platformdirs_expand(self, path: str) -> str:
        """platformdirs' own ``~`` expansion: 4.12 treats an empty HOME as unset."""
        if self.strict and "HOME" in self.env and not self.env["HOME"]:
            return (self.user.home.rstrip("/") + path[1:]) or "/"
        return self.expanduser(path)

    def xdg(self, name: str, default: str) -> tuple[str, bool]:
        """(base dir, whether the variable decided) for XDG_CONFIG_HOME / XDG_CACHE_HOME."""
        raw = self.env.get(name, "")
        if self.strict:
            value = raw.strip()
            if posixpath.isabs(value):
                return value, True
        elif raw.strip():
            return raw, True
        return self._platformdirs_expand(default), False

    def xdg_config_dirs(self) -> list[str]:
        raw = self.env.get("XDG_CONFIG_DIRS", "")
        if self.strict:
            dirs = [p.strip() for p in raw.split(":") if posixpath.isabs(p.strip())]
            return dirs or ["/etc/xdg"]
        if not raw.strip():
            return ["/etc/xdg"]
        return [self.expanduser(p) for p in raw.split(":")]

    # ------------------------------------------------------------------ locations

    def user_cache_dir(self) -> tuple[str, str]:
        """pip's default cache dir and a description of where it comes from."""
        if self.host.platform == "darwin":
            return self._platformdirs_expand("~/Library/Caches") + "/pip", "~/Library/Caches/pip"
        base, from_env = self.xdg("XDG_CACHE_HOME", "~/.cache")
        return posixpath.join(base, "pip"), ("$XDG_CACHE_HOME/pip" if from_env else "~/.cache/pip")

    def user_config_dir(self) -> str:
        if self.host.platform == "darwin":
            support = self._platformdirs_expand("~/Library/Application Support") + "/pip"
            if self.host.is_dir(support):
                return support
            return self.expanduser("~/.config/pip")
        base, _ = self.xdg("XDG_CONFIG_HOME", "~/.config")
        return posixpath.join(base, "pip")

    def site_config_dirs(self) -> list[str]:
        if self.host.platform == "darwin":
            return ["/Library/Application Support/pip"]
        return [posixpath.join(d, "pip") for d in self.xdg_config_dirs()] + ["/etc"]


def config_files(penv: PipEnv, prefix: str | None) -> list[tuple[str, str]]:
    """(variant, path) in pip's override order: global, user, site, PIP_CONFIG_FILE."""
    env_file = penv.env.get("PIP_CONFIG_FILE")
    if env_file:
        env_file = penv.absolute(env_file)
    files = [("global", posixpath.join(d, CONFIG_BASENAME)) for d in penv.site_config_dirs()]
    if not (env_file and penv.host.exists(env_file)):
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


def _parse(host: Host, variant: str, path: str) -> tuple[list[Setting], str | None, str | None]:
    """(settings, problem, error) of one file, as pip's ``_construct_parser`` reads it."""
    if not path or not host.exists(path):
        return [], None, None
    try:
        raw = host.read_bytes(path)
    except OSError as exc:  # configparser.read() skips files it cannot open
        return [], f"{path}: unreadable, pip skips it ({exc.strerror or exc})", None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return [], None, f"Configuration file {path} contains invalid utf-8 characters"
    parser = configparser.RawConfigParser()
    parser.optionxform = normalize_name  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text, source=path)
    except configparser.Error as exc:
        return [], None, f"Configuration file could not be loaded: {exc}".replace("\n", " ")
    lines = _line_numbers(text)
    settings = []
    for section in parser.sections():
        for key, value in parser.items(section):
            line = lines.get((section, key))
            where = f"{path}:{line} [{section}]" if line else f"{path} [{section}]"
            settings.append(Setting(section, key, value, variant, where))
    return settings, None, None


def env_settings(env: Mapping[str, str]) -> Iterator[Setting]:
    for name, value in env.items():
        if name.startswith("PIP_"):
            key = name[4:].lower()
            if key not in ENV_NAMES_IGNORED:
                yield Setting(":env:", normalize_name(key), value, "env-var", name)


def load(penv: PipEnv, prefix: str | None) -> LoadedConfig:
    """Every file pip would load, and the PIP_* variables, in override order."""
    files = config_files(penv, prefix)
    present = tuple((v, p, penv.host.exists(p)) for v, p in files)
    env_file = penv.env.get("PIP_CONFIG_FILE")
    settings: list[Setting] = []
    problems: list[str] = []
    error: str | None = None
    skipped = env_file == DEVNULL
    if not skipped:
        for variant, path in files:
            found, problem, err = _parse(penv.host, variant, path)
            settings.extend(found)
            if problem:
                problems.append(problem)
            if err and error is None:
                error = err
                problems.append(err)
    settings.extend(env_settings(penv.env))
    return LoadedConfig(present, tuple(settings), tuple(problems), error, skipped)
