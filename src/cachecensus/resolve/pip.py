"""Where pip's cache is for one (user, environment), decided exactly as pip decides it.

pip builds its options from defaults, then configuration (``cli/parser.py``
``_update_defaults``): the items of section ``[global]``, then of the running command's
section (``[install]``, ``[cache]``, ``[download]``, ``[wheel]``), then ``PIP_*`` variables,
each section's value being the last file's (files in the order of
:func:`~cachecensus.resolve.pipconfig.config_files`), empty values dropped (how a later or
empty value counts depends on the pip version: :mod:`~cachecensus.resolve.pipversions`,
whose rules are those of the pip ``python -m pip`` imports).
``cache-dir`` is a path option (``~`` expanded); ``no-cache-dir`` is a callback option that
disables the cache for *any* valid boolean, and, being evaluated late, wins over every
``cache-dir`` wherever it stands; an invalid boolean is an error pip exits with.
``base_command.py`` then normalises the directory (``~``, absolute, symlinks resolved) and
silently disables it when ``check_path_owner`` fails (root: the nearest existing ancestor
must be owned by root; others: it must be writable).
"""

from __future__ import annotations

import posixpath
import stat
from collections.abc import Mapping

from cachecensus.host import Host
from cachecensus.models import Decision, Resolution, User
from cachecensus.resolve.pipconfig import LoadedConfig, PipEnv, Setting, load, pip_env
from cachecensus.resolve.pipversions import Merge

VIEWS = ("install", "cache", "download", "wheel")
_TRUE = ("y", "yes", "t", "true", "on", "1")
_FALSE = ("n", "no", "f", "false", "off", "0")


def strtobool(value: str) -> bool:
    """pip's ``strtobool``; raises ValueError like pip for anything else."""
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"invalid truth value {value!r}")


_KEYS = ("cache-dir", "no-cache-dir")


def ordered_items(config: LoadedConfig, view: str, merge: Merge = Merge.LAST) -> list[Setting]:
    """pip's ``_get_ordered_configuration_items`` for the command ``view``: per section
    (``global``, ``view``, then variables) each key's last value, empty ones dropped; pip
    25.2 and 25.3 (``Merge.EVERY``) pass every non-empty value instead, in file order."""
    per_section: dict[str, list[Setting]] = {"global": [], view: [], ":env:": []}
    for setting in config.settings:
        if setting.section not in per_section:
            continue
        items = per_section[setting.section]
        if merge is not Merge.EVERY:  # the later file's value replaces (empty too)
            items[:] = [s for s in items if s.key != setting.key]
        items.append(setting)
    return [s for section in per_section.values() for s in section if s.value]


def _layers(config: LoadedConfig, view: str) -> list[Setting]:
    """Every cache-dir / no-cache-dir setting pip sees, in precedence order."""
    return [
        s
        for section in ("global", view, ":env:")
        for s in config.settings
        if s.section == section and s.key in _KEYS
    ]


def _groups(host: Host, uid: int) -> set[int]:
    """gids of the account ``uid`` (primary and supplementary) from the system's files."""
    user = host.user_by_uid(uid)
    gids = {user.gid} if user else set()
    try:
        text = host.read_database("/etc/group")
    except OSError:
        return gids
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and user and user.name in fields[3].split(","):
            try:
                gids.add(int(fields[2]))
            except ValueError:
                continue
    return gids


def _writable(host: Host, path: str, uid: int) -> bool:
    if uid == host.euid and host.live:
        return host.access_writable(path)
    try:
        st = host.stat(path)
    except OSError:
        return False
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IWUSR)
    if st.st_gid in _groups(host, uid):
        return bool(st.st_mode & stat.S_IWGRP)
    return bool(st.st_mode & stat.S_IWOTH)


def check_path_owner(host: Host, path: str, euid: int) -> tuple[bool, str]:
    """pip's ``check_path_owner`` for a process with ``euid``: (ok, the path it judged)."""
    previous = None
    while path != previous:
        if host.lexists(path):
            if euid == 0:  # get_path_uid opens with O_NOFOLLOW: a symlink (a loop) fails
                try:
                    st = host.lstat(path)
                except OSError:
                    return False, path
                return st.st_uid == 0 and not stat.S_ISLNK(st.st_mode), path
            return _writable(host, path, euid), path
        previous, path = path, posixpath.dirname(path)
    return False, path


def normalize_path(penv: PipEnv, path: str) -> str:
    """pip's ``normalize_path``: ``~``, absolute against the working dir, symlinks resolved.

    A symlink loop stays unresolved, as in ``os.path.realpath`` (non-strict); the ownership
    check then fails on it, as pip's does."""
    absolute = penv.absolute(penv.expanduser(path))
    try:
        return penv.host.realpath(absolute)
    except OSError:  # Host.realpath of a foreign root raises ELOOP
        return posixpath.normpath(absolute)


def resolve_pip(
    host: Host,
    *,
    user: User,
    env: Mapping[str, str],
    prefix: str | None,
    view: str = "install",
    cwd: str | None = None,
    euid: int | None = None,
    pip_version: str | None = None,
) -> Resolution:
    """The cache directory pip (``pip_version``, in the environment at ``prefix``) uses
    when ``user`` runs ``pip VIEW`` with variables ``env`` in ``cwd``; see module doc."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}")
    penv = pip_env(host, user, env, pip_version, cwd, prefix)
    config = load(penv, prefix)
    default_dir, default_where = penv.user_cache_dir()
    layers = _layers(config, view)
    error = config.error
    cache_dir = default_dir
    winner: Setting | None = None  # the cache-dir that decided
    disabled_by: Setting | None = None
    if view == "cache" and penv.no_pip:
        error = error or "No module named pip (no pip on this interpreter's sys.path)"
    elif view == "cache" and not penv.rules.cache_command:
        error = error or f"pip {penv.rules.pip} has no 'cache' command (added in pip 20.1)"
    for setting in ordered_items(config, view, penv.rules.merge):  # pip's _update_defaults
        if setting.key == "cache-dir":
            cache_dir, winner = penv.expanduser(setting.value), setting
        elif setting.key == "no-cache-dir":
            try:
                strtobool(setting.value)
            except ValueError:
                error = error or (
                    f"--no-cache-dir error: invalid truth value {setting.value!r} ({setting.where})"
                )
                continue
            disabled_by = setting  # evaluated late: wins over every cache-dir
    decisive = disabled_by or winner
    decisions = [
        Decision("default", f"default: {default_where}", "cache-dir", default_dir, decisive is None)
    ]
    decisions += [Decision(_source(s), s.where, s.key, s.value, s is decisive) for s in layers]
    problems = config.problems
    if disabled_by is not None:
        reason = f"disabled by no-cache-dir = {disabled_by.value} ({disabled_by.where})"
        return Resolution(
            "pip",
            view,
            None,
            True,
            reason,
            tuple(decisions),
            problems,
            error,
            tool_version=penv.rules.pip,
        )
    normalized = normalize_path(penv, cache_dir)
    named = penv.absolute(penv.expanduser(cache_dir))
    runs_as = user.uid if euid is None else euid
    ok, judged = check_path_owner(host, normalized, runs_as)
    if not ok:
        if runs_as == 0:
            fault = "is not owned by root"
        else:
            fault = f"is not writable by {(host.user_by_uid(runs_as) or user).name}"
        reason = f"disabled: {judged} {fault} (pip's ownership check; cache-dir {normalized})"
        check = Decision("check", "pip's check_path_owner", "cache-dir", judged, True)
        demoted = tuple(Decision(d.source, d.where, d.key, d.value, False) for d in decisions)
        return Resolution(
            "pip",
            view,
            None,
            True,
            reason,
            (*demoted, check),
            problems,
            error,
            tool_version=penv.rules.pip,
        )
    chosen = decisions[0] if winner is None else next(d for d in decisions if d.effective)
    reason = f"{_describe(chosen)} ({chosen.where})"
    return Resolution(
        "pip",
        view,
        normalized,
        False,
        reason,
        tuple(decisions),
        problems,
        error,
        named=named if named != normalized else None,
        tool_version=penv.rules.pip,
    )


def _source(setting: Setting) -> str:
    return "env" if setting.variant == "env-var" else "config"


def _describe(decision: Decision) -> str:
    if decision.source == "default":
        return "pip's default"
    if decision.source == "env":
        return "set by the environment"
    return "set by a config file"
