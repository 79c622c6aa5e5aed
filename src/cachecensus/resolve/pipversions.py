"""How each pip version decides where its cache is: every rule that differs between pip
versions, stated once, keyed by pip's version and by the version of the directory library it
vendors (appdirs, then platformdirs), and consulted by :mod:`~cachecensus.resolve.pipconfig`
and :mod:`~cachecensus.resolve.pip`.

Each rule was read in the source of the versions it names: pip 19.3.1, 20.3.4, 21.3.1,
22.3.1, 23.0.1, 23.2.1, 23.3.2, 24.0, 24.2, 24.3.1, 25.0.1, 25.2, 25.3, 26.0.1, 26.2.1 and
26.3 installed in venvs (``pip/_internal/configuration.py``, ``cli/parser.py``,
``locations``, ``utils/appdirs.py``, ``commands/cache.py``, ``_vendor/platformdirs``), the
wheel of every pip X.Y in between for where a change starts, and the platformdirs wheels
3.9.1 ... 4.12.0 for the platformdirs boundaries. The differential matrix in
tests/test_resolve_differential.py runs each of those pips over every scenario.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version


def parse_version(text: str | None) -> Version | None:
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None


def _at_least(version: str | None, minimum: str) -> bool:
    """``version >= minimum``; an unknown version is the newest."""
    parsed = parse_version(version)
    return parsed is None or parsed >= Version(minimum)


class Merge(enum.Enum):
    """How the values of many files (and variables) become one per option and section."""

    #: pip < 25.2: ``Configuration._config[variant]`` is one flat dict of ``section.key``
    #: per kind of file; a later file's value replaces an earlier one, an empty value too
    #: (``_get_ordered_configuration_items`` then drops it: it erases). A file loaded
    #: twice counts where it was loaded last.
    FLAT = "flat"
    #: pip 25.2 and 25.3: ``_config[variant][fname]``, one slot per file *name* (a file
    #: loaded twice keeps its first slot); ``_get_ordered_configuration_items`` passes
    #: every non-empty value of every file in slot order, so an empty value erases
    #: nothing and every value of ``no-cache-dir`` is checked (pip 25.2 yields inside its
    #: file loop, an indentation slip that only repeats values: same outcome).
    EVERY = "every"
    #: pip >= 26.0: the same slots, then one value per section and key, the last file's,
    #: empty values dropped after: an empty value erases again.
    LAST = "last"


class XdgHome(enum.Enum):
    """How ``XDG_CACHE_HOME``, ``XDG_CONFIG_HOME`` (and ``XDG_DATA_HOME``) are read."""

    #: appdirs 1.4 (pip < 21.3): ``os.getenv(name, default)``: set is used, even empty
    #: (``""``: the working directory) or blank, verbatim.
    SET = "set"
    #: platformdirs < 4.6: used when ``value.strip()``, verbatim (padded stays padded,
    #: relative and ``~`` stay as they are).
    NONBLANK = "nonblank"
    #: platformdirs 4.6 ... 4.11.7 (``_xdg.XDGMixin``): ``value.strip()`` when non-empty.
    STRIPPED = "stripped"
    #: platformdirs >= 4.11.8 (``_xdg._xdg_dir``): stripped, and only when absolute.
    ABSOLUTE = "absolute"


class XdgDirs(enum.Enum):
    """How ``XDG_CONFIG_DIRS`` (and on macOS ``XDG_DATA_DIRS``) becomes directories."""

    #: appdirs 1.4 ``site_config_dir``: ``os.getenv(...) or "/etc/xdg"``; empty entries
    #: dropped, each ``rstrip("/")`` then ``expanduser``; pip splits the joined list, so
    #: none left means one entry ``""`` without ``pip`` appended (``./pip.conf``).
    APPDIRS = "appdirs"
    #: platformdirs < 4.2 (``_with_multi_path``): a blank value is ``/etc/xdg``; every
    #: entry, empty ones too, through ``os.path.expanduser``.
    EXPANDED = "expanded"
    #: platformdirs 4.2 ... 4.5 (``_site_config_dirs``): the same, entries verbatim.
    VERBATIM = "verbatim"
    #: platformdirs 4.6 ... 4.11.7 (``XDGMixin._site_config_dirs``): the stripped value,
    #: when non-empty, split; entries with content kept *unstripped*; none left: ``""``
    #: as for appdirs.
    NONBLANK = "nonblank"
    #: platformdirs >= 4.11.8 (``_xdg._xdg_dir_list``): entries stripped, absolute ones
    #: kept; none left: ``/etc/xdg``.
    ABSOLUTE = "absolute"


class Homebrew(enum.Enum):
    """Which Pythons platformdirs on macOS takes for Homebrew's (``site_data_dir``)."""

    NONE = "none"  # appdirs, platformdirs < 3.11
    OPT_HOMEBREW = "opt-homebrew"  # < 4.4: sys.prefix starts with /opt/homebrew
    PREFIX = "prefix"  # < 4.11: "/opt/python" in sys.prefix; the part before it
    BASE_PREFIX = "base-prefix"  # < 4.11.15: the same in sys.base_prefix
    FRAMEWORK = "framework"  # >= 4.11.15: sys.base_prefix is PREFIX/opt/python*/Frameworks/...


#: What each pip vendors (``pip/_vendor/vendor.txt``), from the first pip X.Y that does:
#: used when the pip found has no readable vendor.txt.
VENDORED: tuple[tuple[str, str], ...] = (
    ("0", "appdirs 1.4.4"),
    ("21.3", "platformdirs 2.4.0"),
    ("22.0", "platformdirs 2.4.1"),
    ("22.1", "platformdirs 2.5.2"),
    ("23.0", "platformdirs 2.6.2"),
    ("23.1", "platformdirs 3.2.0"),
    ("23.2", "platformdirs 3.8.1"),
    ("24.1", "platformdirs 4.2.1"),
    ("24.2", "platformdirs 4.2.2"),
    ("25.0", "platformdirs 4.3.6"),
    ("25.1", "platformdirs 4.3.7"),
    ("25.2", "platformdirs 4.3.8"),
    ("25.3", "platformdirs 4.5.0"),
    ("26.0", "platformdirs 4.5.1"),
    ("26.2", "platformdirs 4.10.0"),
    ("26.3", "platformdirs 4.12.4"),
)


def vendored(pip_version: str | None) -> str:
    """The directory library ``pip_version`` vendors ("appdirs 1.4.4", "platformdirs X")."""
    found = VENDORED[-1][1]
    parsed = parse_version(pip_version)
    if parsed is None:
        return found
    for first, library in VENDORED:
        if parsed >= Version(first):
            found = library
    return found


@dataclass(frozen=True)
class PipRules:
    """Everything about one pip version that decides its cache directory."""

    pip: str | None  # the pip version (None: unknown, taken as the newest)
    dirs: str  # the directory library it uses: "appdirs 1.4.4", "platformdirs 4.12.4"
    #: ``pip cache`` exists (``commands/cache.py``, added in pip 20.1).
    cache_command: bool
    #: ``Configuration.iter_config_files`` yields the PIP_CONFIG_FILE file first (pip <
    #: 24.0), so pip exits on its parse error before any other file's.
    env_file_first: bool
    merge: Merge
    #: ``_RawConfigParser.optionxform`` normalises names while parsing (pip >= 26.3):
    #: ``cache_dir`` and ``cache-dir`` in one section are configparser's duplicate option.
    normalizing_parser: bool
    xdg_home: XdgHome
    xdg_dirs: XdgDirs
    #: An empty ``HOME`` counts as unset for platformdirs' own ``~`` (``_expand_user``,
    #: platformdirs >= 4.12): the passwd home, not ``/``.
    empty_home_is_unset: bool
    #: platformdirs on macOS honours XDG_CACHE_HOME, XDG_DATA_HOME, XDG_DATA_DIRS
    #: (``XDGMixin`` on ``MacOS``, platformdirs >= 4.6).
    macos_xdg: bool
    #: ``utils/appdirs.site_config_dirs`` splits macOS's multi-path ``site_data_dir``
    #: (pip >= 25.2); before, the joined string is one (useless) directory.
    macos_split_site_dirs: bool
    homebrew: Homebrew


def rules(pip_version: str | None, dirs: str | None = None) -> PipRules:
    """The rules of ``pip_version`` using ``dirs`` ("platformdirs 4.5.1"; None: what that
    pip vendors). Unknown versions are the newest."""
    library = dirs or vendored(pip_version)
    name, _, version = library.partition(" ")
    is_appdirs = name != "platformdirs"
    pd = "0" if is_appdirs else version or VENDORED[-1][1].split()[1]

    def pd_at_least(minimum: str) -> bool:
        return not is_appdirs and _at_least(pd, minimum)

    if not _at_least(pip_version, "25.2"):
        merge = Merge.FLAT
    elif not _at_least(pip_version, "26.0"):
        merge = Merge.EVERY
    else:
        merge = Merge.LAST
    if is_appdirs:
        xdg_home, xdg_dirs = XdgHome.SET, XdgDirs.APPDIRS
    elif pd_at_least("4.11.8"):
        xdg_home, xdg_dirs = XdgHome.ABSOLUTE, XdgDirs.ABSOLUTE
    elif pd_at_least("4.6"):
        xdg_home, xdg_dirs = XdgHome.STRIPPED, XdgDirs.NONBLANK
    else:
        xdg_home = XdgHome.NONBLANK
        xdg_dirs = XdgDirs.VERBATIM if pd_at_least("4.2") else XdgDirs.EXPANDED
    if pd_at_least("4.11.15"):
        homebrew = Homebrew.FRAMEWORK
    elif pd_at_least("4.11"):
        homebrew = Homebrew.BASE_PREFIX
    elif pd_at_least("4.4"):
        homebrew = Homebrew.PREFIX
    elif pd_at_least("3.11"):
        homebrew = Homebrew.OPT_HOMEBREW
    else:
        homebrew = Homebrew.NONE
    return PipRules(
        pip=pip_version,
        dirs=library,
        cache_command=_at_least(pip_version, "20.1"),
        env_file_first=not _at_least(pip_version, "24.0"),
        merge=merge,
        normalizing_parser=_at_least(pip_version, "26.3"),
        xdg_home=xdg_home,
        xdg_dirs=xdg_dirs,
        empty_home_is_unset=pd_at_least("4.12"),
        macos_xdg=pd_at_least("4.6"),
        macos_split_site_dirs=_at_least(pip_version, "25.2"),
        homebrew=homebrew,
    )
