"""pip's configuration files and variables, loaded the way one pip version loads them.

Mirrors ``pip/_internal/configuration.py`` (which files, in which order, PIP_CONFIG_FILE,
``os.devnull``), ``utils/appdirs.py`` and the vendored appdirs or platformdirs (``XDG_*``,
``HOME``, macOS), but reads through :class:`~cachecensus.host.Host` and remembers where
every value came from (file, line, section, or variable). Whatever differs between pip
versions is looked up in :mod:`~cachecensus.resolve.pipversions`, where each rule is
stated once with the source it was read from.
"""

from __future__ import annotations

import configparser
import io
import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from cachecensus.host import Host
from cachecensus.models import User
from cachecensus.resolve.pipversions import (
    Homebrew,
    Merge,
    XdgDirs,
    XdgHome,
    rules,
)
from cachecensus.resolve.pipversions import (
    _at_least as _at_least,  # caches/pip.py's version checks
)
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


class PipEnv:
    """The variables and home a pip process sees, and the rules of that pip version
    (:func:`~cachecensus.resolve.pipversions.rules`); ``expanduser`` as ``os.path`` does
    it."""

    def __init__(
        self,
        host: Host,
        user: User,
        env: Mapping[str, str],
        pip_version: str | None,
        cwd: str | None = None,
        prefix: str | None = None,
        dirs: str | None = None,
    ):
        self.host = host
        self.user = user
        self.env = env
        self.rules = rules(pip_version, dirs)
        self.cwd = cwd or env.get("PWD") or user.home
        self.prefix = prefix
        self.no_pip = False  # PREFIX/bin/python has no pip on its path (pip_env)

    def absolute(self, path: str) -> str:
        """A relative path as pip's process (working in ``cwd``) would open it."""
        return path if posixpath.isabs(path) else posixpath.join(self.cwd, path)

    def expanduser(self, path: str) -> str:
        """``os.path.expanduser`` with this environment's HOME (passwd home when unset)."""
        return expanduser(self.host, self.user, self.env, path)

    def _dirs_expand(self, path: str) -> str:
        """The directory library's own ``~``: ``os.path.expanduser``, except that
        platformdirs >= 4.12 takes an empty HOME as unset (``_xdg._expand_user``)."""
        if self.rules.empty_home_is_unset and self.env.get("HOME", None) == "":
            return (self.user.home.rstrip("/") + path[1:]) or "/"
        return self.expanduser(path)

    def xdg(self, name: str, default: str) -> tuple[str, bool]:
        """(base dir, whether the variable decided) for an XDG_*_HOME variable."""
        how = self.rules.xdg_home
        raw = self.env.get(name)
        if raw is not None:
            if how is XdgHome.SET:
                return raw, True
            if how is XdgHome.NONBLANK and raw.strip():
                return raw, True
            value = raw.strip()
            if (how is XdgHome.STRIPPED and value) or posixpath.isabs(value):
                return value, True
        return self._dirs_expand(default), False

    def _xdg_dirs(self, name: str) -> list[str] | None:
        """The directories an XDG_*_DIRS variable names, ``pip`` appended; None when it
        names none and the default applies."""
        how = self.rules.xdg_dirs
        raw = self.env.get(name, "")
        if how is XdgDirs.APPDIRS:
            if not raw:
                return None
            return [
                posixpath.join(self.expanduser(x.rstrip("/")), "pip") for x in raw.split(":") if x
            ]
        if how is XdgDirs.ABSOLUTE:
            absolute = [p.strip() for p in raw.split(":") if posixpath.isabs(p.strip())]
            return [posixpath.join(p, "pip") for p in absolute] or None
        if not raw.strip():
            return None
        if how is XdgDirs.NONBLANK:
            return [posixpath.join(p, "pip") for p in raw.strip().split(":") if p.strip()]
        expand = self.expanduser if how is XdgDirs.EXPANDED else str
        return [posixpath.join(expand(p), "pip") for p in raw.split(":")]

    # ------------------------------------------------------------------ locations

    @property
    def darwin(self) -> bool:
        return self.host.platform == "darwin"

    def user_cache_dir(self) -> tuple[str, str]:
        """pip's default cache dir and a description of where it comes from."""
        if self.darwin and not self.rules.macos_xdg:
            return self._dirs_expand("~/Library/Caches") + "/pip", "~/Library/Caches/pip"
        default = "~/Library/Caches" if self.darwin else "~/.cache"
        base, from_env = self.xdg("XDG_CACHE_HOME", default)
        return posixpath.join(base, "pip"), (
            "$XDG_CACHE_HOME/pip" if from_env else f"{default}/pip"
        )

    def user_config_dir(self) -> str:
        if self.darwin:  # pip's _macos_user_config_dir (appdirs era: user_config_dir)
            support = "~/Library/Application Support"
            if self.rules.macos_xdg:
                base, _ = self.xdg("XDG_DATA_HOME", support)
            else:
                base = self._dirs_expand(support)
            path = posixpath.join(base, "pip")
            if self.host.is_dir(self.absolute(path)):
                return path
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

    def _homebrew(self) -> str | None:
        """The Homebrew prefix platformdirs on macOS sees in this Python, if any."""
        how, prefix, base = self.rules.homebrew, self.prefix, self._base_prefix()
        if how is Homebrew.OPT_HOMEBREW:
            return "/opt/homebrew" if prefix and prefix.startswith("/opt/homebrew") else None
        if how in (Homebrew.PREFIX, Homebrew.BASE_PREFIX):
            seen = prefix if how is Homebrew.PREFIX else base
            return seen.split("/opt/python")[0] if seen and "/opt/python" in seen else None
        if how is Homebrew.FRAMEWORK:
            match = _HOMEBREW_PYTHON.fullmatch(base) if base else None
            return match["prefix"] if match else None
        return None

    def site_config_dirs(self) -> list[str]:
        """pip's ``site_config_dirs``: the library's multi-path string, split again (so no
        directory at all is one entry ``""``, the working directory)."""
        if self.darwin:  # site_data_dir(multipath=True)
            found = self._xdg_dirs("XDG_DATA_DIRS") if self.rules.macos_xdg else None
            if found is None:
                brew = self._homebrew()
                found = [f"{brew}/share/pip"] if brew else []
                found.append("/Library/Application Support/pip")
            joined = ":".join(found)
            return joined.split(":") if self.rules.macos_split_site_dirs else [joined]
        found = self._xdg_dirs("XDG_CONFIG_DIRS")
        return [*":".join(["/etc/xdg/pip"] if found is None else found).split(":"), "/etc"]


def pip_env(
    host: Host,
    user: User,
    env: Mapping[str, str],
    pip_version: str | None,
    cwd: str | None = None,
    prefix: str | None = None,
) -> PipEnv:
    """The :class:`PipEnv` of ``PREFIX/bin/python -m pip``: the rules are those of the pip
    that command imports with these variables (a user-site, ``PYTHONPATH`` or base pip
    may shadow the environment's own, :mod:`~cachecensus.discover.syspath`); of
    ``pip_version`` when that is not known, or without ``prefix``. ``no_pip``: its path
    has no pip at all."""
    from cachecensus.discover.syspath import effective_pip

    found = None
    if prefix is not None:
        home = expanduser(host, user, env, "~")
        where = cwd or env.get("PWD") or user.home
        found = effective_pip(host, prefix, env=env, home=home, cwd=where)
    if found is None or found.version is None:
        penv = PipEnv(host, user, env, pip_version, cwd, prefix)
    else:
        penv = PipEnv(host, user, env, found.version, cwd, prefix, found.dirs)
    # no pip package on the path *and* none installed in the environment (a dist-info
    # without its package may still be importable by means we do not follow: an import
    # hook of an editable install, a zipped egg; so only then is pip said to be missing)
    penv.no_pip = found is not None and found.path is None and pip_version is None
    return penv


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
    if penv.rules.normalizing_parser:
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
    Before pip 24.0, ``iter_config_files`` yielded the PIP_CONFIG_FILE file first."""
    order = list(range(len(files)))
    if penv.rules.env_file_first:
        order.sort(key=lambda i: files[i][0] != "env")
    return order


def load(penv: PipEnv, prefix: str | None) -> LoadedConfig:
    """Every file pip would load, and the PIP_* variables, in pip's merge order.

    Before pip 25.2 a file loaded again (``XDG_CONFIG_DIRS=/a:/b:/a``, PIP_CONFIG_FILE
    naming a global file) counts where it was loaded last; from 25.2 on pip keeps one
    slot per file name, so it keeps its first place (:class:`~.pipversions.Merge`).
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
    by_name = penv.rules.merge is not Merge.FLAT
    for index, found in sorted(parsed.items()):
        path = files[index][1]
        per_file[(path, -1) if by_name else (path, index)] = found
    settings = [s for group in per_file.values() for s in group]
    settings.extend(env_settings(penv.env))
    return LoadedConfig(present, tuple(settings), tuple(problems), error, skipped)
