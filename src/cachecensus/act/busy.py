"""What uses a cache: the running installers that would be hurt by removing from it.

A running pip, uv, poetry, pdm, pipenv or conda (mamba, micromamba) uses a cache directory
when

- its command line names it (``--cache-dir DIR``, ``--cache-dir=DIR``), or names a path
  inside it (a wheel of it given to ``pip install``);
- its own resolution of its cache finds it: worked out as the census does it
  (:mod:`cachecensus.resolve`), from *that process*: its user (its uid, then the passwd
  entry), its variables (its environment), its working directory and, for pip and conda,
  its interpreter's environment (the ``pip.conf`` of a venv, its pip's version; conda's
  installation). A pip using its default cache is therefore seen, though nothing on its
  command line says so. ``--no-cache-dir`` (pip), ``--no-cache`` (uv) and ``--isolated``
  (pip: its variables ignored, its default counted too) are read from its command line; a
  directory pip's own ownership check would disable is not used. A directory *named* on
  the command line counts whatever that check says (a wrapper may hand it on);
- it has a file inside it open.

Directories are compared *physically* (device and inode, every ancestor of a path inside
one), never by spelling: a symlink, a bind mount or a relative path names the same cache.

Only a process that can write the cache counts: root's, its owner's, or one whose uid the
directory's mode lets write (a group- or world-writable shared cache). Any other user's
process that names the cache cannot change it, so it cannot veto root's clean-up of it
either: it is ignored (logged at debug level).

Only installer processes are resolved, each (tool, uid, variables, working directory,
interpreter) once for a few seconds, so checking many caches in one run stays cheap.
Processes are read through :meth:`Host.processes` and :meth:`Host.open_files` only.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import stat
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from cachecensus import tools as registry
from cachecensus.host import Host, ProcessInfo
from cachecensus.models import Resolution, User

log = logging.getLogger(__name__)

#: How long a process's resolved caches are reused (one ``purge`` over many caches).
MEMO_SECONDS = 10.0
_MEMO_MAX = 512
#: The option that names a cache directory outright (those that make a tool use none are
#: its ``no_cache_options`` in :mod:`cachecensus.tools`).
_CACHE_DIR_OPTS = ("--cache-dir",)


class Installer(NamedTuple):
    """What an installer process is: its tool (as :mod:`cachecensus.resolve` names it), the
    conda flavour (``mamba`` for mamba/micromamba), and where its own arguments start."""

    tool: str
    flavor: str
    args: tuple[str, ...]


class Spec(NamedTuple):
    """Everything a process's own cache resolution depends on (the memo's key)."""

    tool: str
    flavor: str
    uid: int
    env: tuple[tuple[str, str], ...]
    cwd: str | None
    interpreter: str | None
    view: str
    target_prefix: str | None
    isolated: bool


def _installer(name: str, args: Sequence[str]) -> Installer | None:
    """The installer a command called ``name`` is (a registered tool's ``installers``
    pattern matches it whole), or None."""
    for tool in registry.REGISTRY:
        if any(re.fullmatch(pattern, name) for pattern in tool.installers):
            flavor = ""
            if tool.name == "conda":  # mamba and micromamba read conda's files their way
                flavor = "conda" if name == "conda" else "mamba"
            return Installer(tool.name, flavor, tuple(args))
    return None


def installer_of(proc: ProcessInfo) -> Installer | None:
    """The installer ``proc`` runs: ``pip``, ``pip3.12``, ``uv``, ``uvx``, poetry, pdm,
    pipenv, conda, mamba or micromamba among its first four words or as its executable, or
    ``-m`` one of them (``python -m pip``); None for any other process."""
    cmd = proc.cmdline
    for i, word in enumerate(cmd[:4]):
        found = _installer(posixpath.basename(word), cmd[i + 1 :])
        if found is not None:
            return found
        if word == "-m" and i + 1 < len(cmd):
            found = _installer(cmd[i + 1].split(".")[0], cmd[i + 2 :])
            if found is not None:
                return found
    if proc.exe:
        return _installer(posixpath.basename(proc.exe), cmd[1:])
    return None


# ---------------------------------------------------------------------- who counts


def may_write(host: Host, cache_dir: str, uid: int) -> bool:
    """Whether a process of ``uid`` can write ``cache_dir``: root, the directory's owner,
    or a uid its mode lets write (group or other write bit, groups from the system's
    files)."""
    from cachecensus.resolve.pip import _writable

    if uid == 0:
        return True
    try:
        if host.stat(cache_dir).st_uid == uid:
            return True
    except (OSError, ValueError):
        return False
    return _writable(host, cache_dir, uid)


# ---------------------------------------------------------------------- physical paths


def identity(host: Host, path: str) -> tuple[int, int] | None:
    """(device, inode) of the directory or file at system path ``path``, or None."""
    try:
        st = host.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def inside(host: Host, path: str, target: tuple[int, int]) -> bool:
    """Whether the absolute system path ``path`` is the directory ``target`` (device,
    inode) or lies below it: each ancestor of its resolved form is compared physically."""
    try:
        current = host.realpath(path)
    except (OSError, ValueError):
        return False
    while True:
        if identity(host, current) == target:
            return True
        parent = posixpath.dirname(current)
        if parent == current:
            return False
        current = parent


# ---------------------------------------------------------------------- resolution


_memo: dict[Spec, tuple[Host, float, tuple[tuple[str, str], ...]]] = {}


def _user_of(host: Host, uid: int, env: Mapping[str, str]) -> User:
    """The account of ``uid`` (passwd); one made of the uid and ``HOME`` when it has none."""
    found = host.user_by_uid(uid)
    if found is not None:
        return found
    return User(name=str(uid), uid=uid, gid=uid, home=env.get("HOME") or "/", shell="")


def _variables(host: Host, proc: ProcessInfo) -> Mapping[str, str]:
    """The process's own variables; the login defaults when they cannot be read."""
    if proc.environ is not None:
        return proc.environ
    user = host.user_by_uid(proc.uid)
    if user is None:
        return {}
    return {"HOME": user.home, "USER": user.name, "LOGNAME": user.name}


def _which(host: Host, name: str, env: Mapping[str, str], cwd: str | None) -> str | None:
    """Where the process's ``PATH`` finds the command ``name`` (as its ``execvp`` did)."""
    for entry in env.get("PATH", "").split(":"):
        base = entry or "."
        if not posixpath.isabs(base):
            if cwd is None:
                continue
            base = posixpath.join(cwd, base)
        candidate = posixpath.join(base, name)
        try:
            st = host.stat(candidate)
        except (OSError, ValueError):
            continue
        if stat.S_ISREG(st.st_mode) and st.st_mode & 0o111:
            return candidate
    return None


def interpreter_of(host: Host, proc: ProcessInfo, env: Mapping[str, str]) -> str | None:
    """The Python ``proc`` runs, as it named it (a venv's ``bin/python``, which psutil's
    resolved ``exe`` loses): its ``argv[0]`` made absolute (its working directory, its
    ``PATH``), else its executable when that is a Python; None for anything else."""
    argv0 = proc.cmdline[0] if proc.cmdline else ""
    if posixpath.basename(argv0).startswith("python"):
        if argv0.startswith("/"):
            return argv0
        if "/" in argv0:
            return posixpath.normpath(posixpath.join(proc.cwd, argv0)) if proc.cwd else None
        found = _which(host, argv0, env, proc.cwd)
        if found is not None:
            return found
    if proc.exe and posixpath.basename(proc.exe).startswith("python"):
        return proc.exe
    return None


def _option(args: Sequence[str], names: Iterable[str]) -> str | None:
    """The last value of an option ``--name VALUE`` / ``--name=VALUE`` among ``args``."""
    found = None
    names = tuple(names)
    for i, word in enumerate(args):
        if word in names and i + 1 < len(args):
            found = args[i + 1]
        else:
            name, eq, value = word.partition("=")
            if eq and name in names:
                found = value
    return found


def _command(args: Sequence[str]) -> str:
    """pip's command (the section of its config that applies): its first plain word."""
    from cachecensus.resolve.pip import VIEWS

    for word in args:
        if not word.startswith("-"):
            return word if word in VIEWS else "install"
    return "install"


def spec_of(host: Host, proc: ProcessInfo, installer: Installer) -> Spec:
    """What ``proc``'s own resolution of its cache depends on (see :class:`Spec`)."""
    env = _variables(host, proc)
    interpreter = None
    if installer.tool in ("pip", "conda"):
        interpreter = interpreter_of(host, proc, env)
    target = None
    if installer.tool == "conda":
        target = _option(installer.args, ("-p", "--prefix"))
        if target is not None and proc.cwd:
            target = posixpath.normpath(posixpath.join(proc.cwd, target))
    return Spec(
        tool=installer.tool,
        flavor=installer.flavor,
        uid=proc.uid,
        env=tuple(sorted(env.items())),
        cwd=proc.cwd,
        interpreter=interpreter,
        view=_command(installer.args) if installer.tool == "pip" else "",
        target_prefix=target,
        isolated=installer.tool == "pip" and "--isolated" in installer.args,
    )


def _why(res: Resolution) -> str:
    decisive = next((d for d in res.decided_by if d.effective and d.source != "check"), None)
    if decisive is None or decisive.source == "default":
        return "its default cache"
    if decisive.source == "env":
        return f"its {decisive.where}"
    return f"its config {decisive.where}"


def _resolve(host: Host, spec: Spec) -> tuple[tuple[str, str], ...]:
    """The caches ``spec``'s process uses by its own resolution: (system path, why)."""
    from cachecensus.discover.interpreter import inspect_interpreter

    env = dict(spec.env)
    user = _user_of(host, spec.uid, env)
    environment = None
    if spec.interpreter is not None:
        environment = inspect_interpreter(host, spec.interpreter)
        if environment.problem is not None:
            environment = None
    found: list[Resolution] = []
    if spec.tool == "pip":
        from cachecensus.resolve.pip import resolve_pip

        if spec.isolated:  # pip --isolated ignores its PIP_* variables (and user config)
            env = {k: v for k, v in env.items() if not k.startswith("PIP_")}
        res = resolve_pip(
            host,
            user=user,
            env=env,
            prefix=environment.prefix if environment else None,
            view=spec.view or "install",
            cwd=spec.cwd,
            euid=spec.uid,
            pip_version=environment.pip_version if environment else None,
        )
        found.append(res)
        if spec.isolated:  # its default, whatever the user's config file said
            default = [d for d in res.decided_by if d.source == "default"]
            paths = [(d.value, "its default cache") for d in default]
            return (*_paths(found), *paths)
    elif spec.tool == "conda":
        from cachecensus.resolve.conda import resolve_conda

        root_prefix = None
        if spec.flavor == "conda" and environment is not None:
            root_prefix = environment.prefix.split("/envs/", 1)[0]
        found.extend(
            resolve_conda(
                host,
                user=user,
                env=env,
                prefix=spec.target_prefix,
                root_prefix=root_prefix,
                flavor="mamba" if spec.flavor == "mamba" else "conda",
                cwd=spec.cwd,
            )
        )
    else:
        from cachecensus.resolve import resolve_tool

        found.extend(resolve_tool(spec.tool, host, user=user, env=env, project_dir=spec.cwd))
    return _paths(found)


def _paths(found: Iterable[Resolution]) -> tuple[tuple[str, str], ...]:
    return tuple((r.cache_dir, _why(r)) for r in found if r.cache_dir is not None)


def resolved_caches(host: Host, spec: Spec) -> tuple[tuple[str, str], ...]:
    """:func:`_resolve`, remembered for :data:`MEMO_SECONDS`; never raises."""
    now = time.monotonic()
    held = _memo.get(spec)
    if held is not None and held[0] is host and now - held[1] < MEMO_SECONDS:
        return held[2]
    try:
        found = _resolve(host, spec)
    except (OSError, ValueError) as exc:
        log.debug("cannot resolve the caches of %s: %s", spec, exc)
        found = ()
    if len(_memo) >= _MEMO_MAX:
        _memo.clear()
    _memo[spec] = (host, now, found)
    return found


# ---------------------------------------------------------------------- the check


def _absolute(proc: ProcessInfo, path: str) -> str | None:
    if path.startswith("/"):
        return path
    return posixpath.join(proc.cwd, path) if proc.cwd else None


def _home_expanded(host: Host, proc: ProcessInfo, path: str) -> str:
    """``~`` as the process's pip expands it (its ``HOME``, else its passwd home)."""
    from cachecensus.resolve.platform import expanduser

    env = _variables(host, proc)
    return expanduser(host, _user_of(host, proc.uid, env), env, path)


def why_busy(
    host: Host, proc: ProcessInfo, installer: Installer, target: tuple[int, int]
) -> str | None:
    """Why ``proc`` (an installer) uses the directory ``target`` (device, inode), or None."""
    args = installer.args
    named = _option(args, _CACHE_DIR_OPTS)
    if named is not None:
        if installer.tool == "pip":
            named = _home_expanded(host, proc, named)
        where = _absolute(proc, named)
        if where is not None and inside(host, where, target):
            return "its --cache-dir"
    elif not any(word in registry.tool(installer.tool).no_cache_options for word in args):
        for path, why in resolved_caches(host, spec_of(host, proc, installer)):
            if inside(host, path, target):
                return why
    for word in proc.cmdline:
        for part in {word, word.partition("=")[2]}:
            where = _absolute(proc, part) if "/" in part else None
            if where is not None and inside(host, where, target):
                return "its command line"
    for real in host.open_files(proc.pid):
        ours = host.root == "/" or real.startswith(host.root + "/")
        if ours and inside(host, host.system(real), target):
            return "its open files"
    return None


def users_of_cache(host: Host, cache_dir: str) -> list[str]:
    """Running installers that use ``cache_dir`` (module doc) and can write it, as
    ``'PID NAME (why)'``; this process and its parent excluded."""
    target = identity(host, cache_dir)
    if target is None:
        return []  # nothing there to protect (and nothing to remove)
    mine = {os.getpid(), os.getppid()}
    busy: list[str] = []
    writers: dict[int, bool] = {}
    for proc in host.processes():
        if proc.pid in mine:
            continue
        installer = installer_of(proc)
        if installer is None:
            continue
        if proc.uid not in writers:
            writers[proc.uid] = may_write(host, cache_dir, proc.uid)
        if not writers[proc.uid]:
            if log.isEnabledFor(logging.DEBUG):
                why = why_busy(host, proc, installer, target)
                if why is not None:
                    log.debug(
                        "%s %s (uid %d, %s) names %s but cannot write it: ignored",
                        proc.pid,
                        proc.name,
                        proc.uid,
                        why,
                        cache_dir,
                    )
            continue
        why = why_busy(host, proc, installer, target)
        if why is not None:
            busy.append(f"{proc.pid} {proc.name} ({why})")
    return busy
