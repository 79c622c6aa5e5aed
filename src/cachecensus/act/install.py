"""Run an environment's pip with its cache disabled.

``cachecensus install ARGS`` becomes ``PY -m pip install --no-cache-dir ARGS`` and
``cachecensus pip ARGS`` becomes ``PY -m pip SUBCOMMAND --no-cache-dir REST``: pip's output
streams straight through (the child inherits our stdin/stdout/stderr) and its exit code is
the result.  Nothing here prints; the CLI decides what to say around the run.

An environment without pip (uv-made venvs have none) can be served by uv instead:
``uv pip install --no-cache --python PY ARGS``.

Root installing into another user's environment runs pip *as that user*
(:func:`environment_owner`, :func:`cachecensus.act.runner.start_program`): her ``.pth``
files and her pip's code never run as root, and no file in her environment ends up
root's.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import signal
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from cachecensus import userfile
from cachecensus.act import runner
from cachecensus.discover.base import env_interpreter
from cachecensus.discover.interpreter import inspect_interpreter
from cachecensus.host import Host
from cachecensus.models import Environment

if TYPE_CHECKING:
    from packaging.requirements import Requirement

#: pip's general options that take a value (pip 26.3 ``general_group``): the word after
#: one of these, before the subcommand, is the option's value, not the subcommand.
PIP_GLOBAL_VALUE_OPTIONS = frozenset(
    {
        "--python",
        "--log",
        "--log-file",
        "--local-log",
        "--keyring-provider",
        "--proxy",
        "--retries",
        "--timeout",
        "--default-timeout",
        "--exists-action",
        "--trusted-host",
        "--cert",
        "--client-cert",
        "--cache-dir",
        "--use-feature",
        "--use-deprecated",
        "--resume-retries",
    }
)

NO_CACHE = "--no-cache-dir"


@dataclass(frozen=True)
class Target:
    """The interpreter whose pip runs, and what its environment holds."""

    python: str
    prefix: str
    pip_version: str | None  # None: no ``pip-*.dist-info`` in the environment
    name: str | None = None  # the environment's name when it came from discovery
    problem: str | None = None  # why ``python`` is not a usable interpreter
    chosen_by: str | None = None  # why this interpreter: --python, --env, PATH, a shim

    @property
    def has_pip(self) -> bool:
        return self.pip_version is not None


def inspect_target(host: Host, python: str, name: str | None = None) -> Target:
    """What runs for ``--python PY`` (a path; callers resolve bare names with :func:`which`)."""
    env = inspect_interpreter(host, python)
    return Target(
        python=python,
        prefix=env.prefix,
        pip_version=env.pip_version,
        name=name,
        problem=env.problem,
    )


def match_environments(envs: Iterable[Environment], wanted: str) -> list[Environment]:
    """The environments ``--env WANTED`` names: by name, prefix, interpreter or alias (one
    environment reached through several interpreters counts once)."""
    key = wanted.rstrip("/") or "/"
    found: dict[str, Environment] = {}
    for env in envs:
        if key in (env.name, env.prefix, env.interpreter, *env.aliases):
            found.setdefault(env.prefix, env)
    return list(found.values())


def target_of(env: Environment) -> Target:
    return Target(
        python=env.interpreter,
        prefix=env.prefix,
        pip_version=env.pip_version,
        name=env.name,
        problem=env.problem,
    )


def which(name: str, path: str | None) -> str | None:
    """``name`` as the shell would find it on ``path`` (an absolute path), or None."""
    if "/" in name:
        return os.path.abspath(name) if os.path.exists(name) else None
    found = shutil.which(name, path=path)
    return os.path.abspath(found) if found else None


@dataclass(frozen=True)
class Choice:
    """The interpreter ``install`` runs when none is named, and why (or why none)."""

    python: str | None
    why: str


def choose_python(host: Host, cwd: str | None = None) -> Choice:
    """The interpreter the user's ``python3`` is, as the shell would run it from ``cwd``.

    Not ``sys.executable``: cachecensus usually runs from its own venv (pipx, uv tool), and
    installing there is never what the user means. The first ``python3`` on ``PATH``: a
    real interpreter is taken; a pyenv or asdf shim is resolved as the manager resolves
    it, without running it (:mod:`cachecensus.discover.shims`): its version's interpreter,
    or, for pyenv's *system*, the next ``python3`` past it; asdf with no version installed
    is no choice (its shim would fail). Any other script (a wrapper) is skipped.
    """
    from cachecensus.discover.shims import resolve_shim

    if cwd is None:
        try:
            cwd = os.getcwd() if host.live else host.current_user().home
        except OSError:  # the working directory was removed
            cwd = host.current_user().home
    notes: list[str] = []
    for directory in host.env.get("PATH", "").split(os.pathsep):
        if not directory or not directory.startswith("/"):
            continue
        candidate = posixpath.join(directory, "python3")
        if not os.access(host.real(candidate), os.X_OK):
            continue
        if inspect_interpreter(host, candidate).problem is None:
            why = f"the first python3 on PATH ({candidate})"
            return Choice(candidate, "; ".join([*notes, why]))
        shim = resolve_shim(host, candidate, host.env, cwd)
        if shim is None:
            notes.append(f"skipped {candidate} (a script)")
        elif shim.python is not None:
            return Choice(shim.python, f"{candidate} is {shim.manager}'s shim: {shim.why}")
        elif shim.problem is not None:
            return Choice(None, f"{candidate} is {shim.manager}'s shim; {shim.problem}")
        else:
            notes.append(f"{candidate} is {shim.manager}'s shim; {shim.why}")
    return Choice(None, "; ".join([*notes, "no python3 interpreter on PATH"]))


def default_python(host: Host, cwd: str | None = None) -> str | None:
    """:func:`choose_python`'s interpreter, or None."""
    return choose_python(host, cwd).python


def target_at(host: Host, path: str) -> Target | None:
    """``--env PATH``: any environment prefix (a venv, a conda env, a Python install) or
    interpreter path, discovered or not; None when ``path`` is neither."""
    if not host.lexists(path):
        return None
    python = env_interpreter(host, path) if host.is_dir(path) else path
    if python is None:
        return None
    return inspect_target(host, python, name=path)


def install_argv(python: str, args: Sequence[str]) -> list[str]:
    """``PY -m pip install --no-cache-dir ARGS``."""
    return [python, "-m", "pip", "install", NO_CACHE, *args]


def split_subcommand(args: Sequence[str]) -> tuple[list[str], str | None, list[str]]:
    """pip's command line split into (general options before, subcommand, rest).

    The subcommand is the first word that is neither an option nor the value of one of
    pip's value-taking general options (pip parses its general options the same way,
    interspersed arguments off). No subcommand (``pip --version``) gives ``None``.
    """
    before: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        if word == "--":
            break
        if not word.startswith("-") or word == "-":
            return before, word, list(args[index + 1 :])
        before.append(word)
        if word in PIP_GLOBAL_VALUE_OPTIONS and index + 1 < len(args):
            before.append(args[index + 1])
            index += 1
        index += 1
    return list(args), None, []


def pip_argv(python: str, args: Sequence[str]) -> list[str]:
    """``PY -m pip [GENERAL] SUBCOMMAND --no-cache-dir REST`` (``--no-cache-dir`` first when
    there is no subcommand)."""
    before, sub, rest = split_subcommand(args)
    if sub is None:
        return [python, "-m", "pip", NO_CACHE, *args]
    return [python, "-m", "pip", *before, sub, NO_CACHE, *rest]


def uv_argv(uv: str, python: str, subcommand: str, args: Sequence[str]) -> list[str]:
    """``uv pip SUBCOMMAND --no-cache --python PY ARGS`` (uv's spelling of the same)."""
    return [uv, "pip", subcommand, "--no-cache", "--python", python, *args]


def uv_equivalent(python: str, args: Sequence[str], *, install: bool) -> list[str] | None:
    """The uv command doing what ``install_argv``/``pip_argv`` would (``uv`` by name), or
    None when the pip command line has general options uv would not understand."""
    if install:
        return uv_argv("uv", python, "install", args)
    before, sub, rest = split_subcommand(args)
    if sub is None or before:
        return None
    return uv_argv("uv", python, sub, rest)


def environment_owner(host: Host, target: Target) -> runner.Identity | None:
    """Who runs pip for ``target``: when we are root, the first user other than root who
    owns its prefix, the interpreter as named (a venv's ``bin/python`` link), its ``bin``
    or a ``site-packages`` of it (anything she can write is code she controls); None (run
    as ourselves) otherwise."""
    if os.geteuid() != 0:
        return None
    prefix = target.prefix.rstrip("/") or "/"
    paths = [prefix, target.python, posixpath.join(prefix, "bin")]
    for lib in ("lib", "lib64"):
        libdir = posixpath.join(prefix, lib)
        try:
            names = sorted(host.listdir(libdir))
        except (OSError, ValueError):
            continue
        paths += [
            posixpath.join(libdir, name, "site-packages")
            for name in names
            if name.startswith("python")
        ]
    for path in paths:
        try:
            st = host.lstat(path)
        except (OSError, ValueError):
            continue
        who = runner.owner_of(host, st)
        if who is not None:
            return who
    return None


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    stdout: IO[str] | int | None = None,
    who: runner.Identity | None = None,
) -> int:
    """Run ``argv`` with our stdin/stderr (and stdout unless redirected), as ``who`` when
    given (:func:`cachecensus.act.runner.start_program`: no supplementary groups, her
    ``HOME``); its exit code.

    Ctrl-C reaches the child (same process group) and is ignored here while it runs, so
    the child decides how to stop and its code is what we return.  A child killed by a
    signal gives ``128 + signal`` like a shell.  A program that cannot be started gives
    127 (not found) or 126 (not executable), like a shell.
    """
    # A Python-level handler, not SIG_IGN: ignored signals stay ignored across exec, a
    # handler is reset to the default there, so the child still stops on Ctrl-C.
    try:
        previous: Any = signal.signal(signal.SIGINT, _ignore)
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    try:
        try:
            proc = runner.start_program(argv, who, env=env, stdout=stdout)
        except FileNotFoundError:
            return 127
        except PermissionError:
            return 126
        code = proc.wait()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    return 128 - code if code < 0 else code


def _ignore(signum: int, frame: object) -> None:
    """SIGINT while the child runs: the child got it too and decides."""


#: ``pip install`` options that take a value (so their value is not a requirement).
INSTALL_VALUE_OPTIONS = PIP_GLOBAL_VALUE_OPTIONS | frozenset(
    {
        "-r",
        "--requirement",
        "-c",
        "--constraint",
        "-e",
        "--editable",
        "-i",
        "--index-url",
        "--extra-index-url",
        "-f",
        "--find-links",
        "-t",
        "--target",
        "--prefix",
        "--root",
        "--src",
        "--upgrade-strategy",
        "--platform",
        "--python-version",
        "--implementation",
        "--abi",
        "--only-binary",
        "--no-binary",
        "--progress-bar",
        "--report",
        "-C",
        "--config-settings",
        "--global-option",
        "--group",
    }
)


def requirement_names(args: Sequence[str], read: Callable[[str], str] | None = None) -> list[str]:
    """PEP 503 names of the requirements in ``pip install`` arguments (and ``-r`` files)."""
    from packaging.utils import canonicalize_name

    return list(dict.fromkeys(canonicalize_name(r.name) for r in requirements(args, read)))


def requirements(
    args: Sequence[str], read: Callable[[str], str] | None = None
) -> list[Requirement]:
    """The requirements in ``pip install`` arguments (and ``-r`` files), specifiers kept
    (``attrs==23.2.0``); paths and URLs, which name no requirement, are left out."""
    from packaging.requirements import InvalidRequirement, Requirement

    names: list[Requirement] = []
    files: list[str] = []
    it = iter(args)
    for arg in it:
        if arg in ("-r", "--requirement"):
            files.append(next(it, ""))
        elif arg.startswith("--requirement="):
            files.append(arg.split("=", 1)[1])
        elif arg in INSTALL_VALUE_OPTIONS:
            next(it, None)
        elif arg.startswith("-"):
            continue
        else:
            try:
                names.append(Requirement(arg))
            except InvalidRequirement:
                continue  # a path or URL: nothing cached by name
    for path in files:
        try:
            text = read(path) if read is not None else userfile.read_text(path, errors="replace")
        except OSError:
            continue
        words: list[str] = []
        for line in (ln.split(" #", 1)[0].strip() for ln in text.splitlines()):
            if line.startswith("-"):
                words.extend(line.split())  # an option line: -r other.txt, -e ., -i URL
            elif line and not line.startswith("#"):
                words.append(re.split(r"\s+-", line, maxsplit=1)[0])  # drop --hash=...
        names.extend(requirements(words, read))
    return list(dict.fromkeys(names))
