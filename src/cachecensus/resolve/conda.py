"""Where conda (and mamba 2 / micromamba) keep packages: ``pkgs_dirs``, decided as they do.

conda (``conda/base/constants.py`` ``SEARCH_PATH``, ``conda/base/context.py`` ``pkgs_dirs``,
``conda/common/configuration.py``), read from conda's source, not run:

1. Files, in this order (``condarc.d/`` dirs give their ``*.yml``/``*.yaml``, sorted; a file
   counts only when named ``.condarc``/``condarc`` or ending ``.yml``/``.yaml``, so
   ``CONDARC=/x/myrc`` is silently ignored; a path loaded twice keeps its first place;
   ``$VAR`` unset stays literal and names nothing):
   ``/etc/conda/{.condarc,condarc,condarc.d/}``, ``/var/lib/conda/{...}``,
   ``$CONDA_ROOT/{...}`` (conda sets ``CONDA_ROOT`` to its own ``sys.prefix`` when unset),
   ``$XDG_CONFIG_HOME/conda/{...}``, ``~/.config/conda/{...}``, ``~/.conda/{...}``,
   ``~/.condarc``, ``$CONDA_PREFIX/{...}`` (the target prefix: ``-p``/``-n``, else the
   active environment, else the root), ``$CONDARC``; then ``CONDA_PKGS_DIRS``
   (comma-separated; ``!important`` in it makes it final).
2. ``pkgs_dirs`` is a sequence parameter: every source's list is merged, *later sources
   first* (``~/.condarc`` before ``/etc/conda/.condarc``, the variable before all), duplicates
   dropped; ``#!final`` on a file's key cuts off every later source; items marked ``#!top``
   move up, ``#!bottom`` down. ``$VAR``/``~`` are expanded, paths made absolute.
3. None anywhere: ``<root prefix>/pkgs`` then ``~/.conda/pkgs``; the root prefix is
   ``root_prefix``/``root_dir`` from config or ``CONDA_ROOT_PREFIX``, else conda's own
   ``sys.prefix``.
4. conda writes to the first *writable* one (``PackageCacheData.first_writable``): its
   ``urls.txt`` opens for append, or, with no ``urls.txt``, it can be created
   (``create_package_cache_directory``: ``mkdir -p`` then ``urls.txt`` and ``urls``).
   The others are read (packages already there are linked from them), never written.

mamba 2 / micromamba (libmamba ``api/configuration.cpp``), ``flavor="mamba"``: files
``/etc/conda/{.condarc,condarc,condarc.d,.mambarc}``, ``/var/lib/conda/{...}``,
``<root prefix>/{.condarc,condarc,condarc.d,.mambarc}``, ``~/.config/conda/...``,
``~/.conda/...``, ``~/.condarc``, ``$XDG_CONFIG_HOME/conda/...``, ``$CONDA_PREFIX/...``,
``$CONDARC``, ``~/.config/mamba/{.mambarc,mambarc,mambarc.d}``, ``~/.mamba/...``,
``~/.mambarc``, ``$MAMBARC``, ``<target prefix>/{...}``, each once; the variable
``CONDA_PKGS_DIRS`` first, then files, highest precedence (last) first, concatenated
without duplicates (no ``#!final``); none: ``<root prefix>/pkgs``, ``~/.mamba/pkgs``. Root
prefix: ``MAMBA_ROOT_PREFIX``, else ``~/micromamba`` when it exists, else
``${XDG_DATA_HOME:-~/.local/share}/mamba``.

YAML is read by a small reader that knows what ``pkgs_dirs`` and ``root_prefix`` can look
like (a block or flow sequence, comments with ``#!final``/``#!top``/``#!bottom``); a file it
cannot read is reported as a problem and skipped, as conda skips a malformed file.
"""

from __future__ import annotations

import posixpath
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from cachecensus.host import Host
from cachecensus.models import Decision, Resolution, User

Flavor = Literal["conda", "mamba"]

_RC_SET = (".condarc", "condarc", "condarc.d/")
CONDA_SEARCH_PATH: tuple[str, ...] = (
    *(f"/etc/conda/{n}" for n in _RC_SET),
    *(f"/var/lib/conda/{n}" for n in _RC_SET),
    *(f"$CONDA_ROOT/{n}" for n in _RC_SET),
    *(f"$XDG_CONFIG_HOME/conda/{n}" for n in _RC_SET),
    *(f"~/.config/conda/{n}" for n in _RC_SET),
    *(f"~/.conda/{n}" for n in _RC_SET),
    "~/.condarc",
    *(f"$CONDA_PREFIX/{n}" for n in _RC_SET),
    "$CONDARC",
)
_VARS = re.compile(
    r"\$(?P<named>[_a-z][_a-z0-9]*)|\$\{(?P<braced>[_a-z][_a-z0-9]*)\}|"
    r"%(?P<padded>[_a-z][_a-z0-9]*)%",
    re.IGNORECASE,
)
_POSIX_VARS = re.compile(r"\$(\w+|\{[^}]*\})", re.ASCII)


@dataclass
class Source:
    """One place that may set ``pkgs_dirs``: a file or the variable."""

    where: str  # a path, or CONDA_PKGS_DIRS
    kind: str  # "config" | "env"
    items: list[tuple[str, str | None, int]] = field(default_factory=list)  # value, flag, line
    final: bool = False
    line: int = 0
    root_prefix: tuple[str, int] | None = None


def custom_expandvars(text: str, env: Mapping[str, str], extra: Mapping[str, str]) -> str:
    """conda's ``custom_expandvars``: ``$V``, ``${V}``, ``%V%``; unknown names stay."""

    def convert(match: re.Match[str]) -> str:
        name = match.group("named") or match.group("braced") or match.group("padded")
        if name in extra:
            return extra[name]
        return env.get(name, match.group())

    return _VARS.sub(convert, text) if ("$" in text or "%" in text) else text


def posix_expandvars(text: str, env: Mapping[str, str]) -> str:
    """``os.path.expandvars`` with ``env``: ``$V``/``${V}``; unknown names stay."""

    def convert(match: re.Match[str]) -> str:
        name = match.group(1)
        key = name[1:-1] if name.startswith("{") else name
        return env.get(key, match.group())

    return _POSIX_VARS.sub(convert, text) if "$" in text else text


# ---------------------------------------------------------------------- the small YAML reader


def _strip_comment(text: str) -> tuple[str, str | None]:
    """(value, comment) of a YAML line: a ``#`` after whitespace outside quotes starts it."""
    quote = ""
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"" and (i == 0 or text[i - 1] in " \t[,-:"):
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip(), text[i:].strip()
    return text.rstrip(), None


def _flag(comment: str | None) -> str | None:
    """conda's ``ParameterFlag.from_string``: the comment stripped of ``#``/``!``."""
    if comment is None:
        return None
    word = comment.strip("!#")
    return word if word in ("final", "top", "bottom") else None


def _scalar(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        inner = text[1:-1]
        return inner.replace("''", "'") if text[0] == "'" else inner.replace('\\"', '"')
    return text


class RcError(ValueError):
    """A file conda would refuse (or that this reader cannot follow)."""


def parse_rc(text: str, where: str) -> Source:
    """``pkgs_dirs`` (with flags) and ``root_prefix``/``root_dir`` of one rc file."""
    source = Source(where, "config")
    lines = text.replace("\r\n", "\n").split("\n")
    i = 0
    found: set[str] = set()
    while i < len(lines):
        raw = lines[i]
        i += 1
        if not raw.strip() or raw.lstrip().startswith("#") or raw[0] in " \t-":
            continue
        if raw.startswith("\t"):
            raise RcError(f"{where}:{i}: a tab in indentation")
        key, sep, rest = raw.partition(":")
        key = _scalar(key)
        if not sep or key not in ("pkgs_dirs", "root_prefix", "root_dir"):
            continue
        value, comment = _strip_comment(rest)
        value = value.strip()
        if key in ("root_prefix", "root_dir"):
            if key in found or ({"root_prefix", "root_dir"} & found):
                raise RcError(f"{where}:{i}: root_prefix given twice (conda: MultipleKeysError)")
            found.add(key)
            if value and value not in ("null", "~"):
                source.root_prefix = (_scalar(value), i)
            continue
        if key in found:
            raise RcError(f"{where}:{i}: duplicate key pkgs_dirs")
        found.add(key)
        source.line = i
        source.final = _flag(comment) == "final"
        if value.startswith("["):
            if not value.endswith("]"):
                raise RcError(f"{where}:{i}: a flow sequence over several lines")
            for part in value[1:-1].split(","):
                if part.strip():
                    source.items.append((_scalar(part), None, i))
            continue
        if value and value not in ("null", "~"):
            raise RcError(f"{where}:{i}: pkgs_dirs must be a list (conda: InvalidTypeError)")
        while i < len(lines):
            item = lines[i]
            stripped = item.strip()
            if not stripped or stripped.startswith("#"):
                i += 1
                continue
            if not item[0].isspace() and not item.startswith("-"):
                break
            if not stripped.startswith("-"):
                raise RcError(f"{where}:{i + 1}: pkgs_dirs must be a list of paths")
            body, item_comment = _strip_comment(stripped[1:])
            i += 1
            if body.strip():
                source.items.append((_scalar(body), _flag(item_comment), i))
    return source


# ---------------------------------------------------------------------- files


def _expand_user(path: str, home: str) -> str:
    if path == "~" or path.startswith("~/"):
        return home.rstrip("/") + path[1:]
    return path


def rc_files(
    host: Host,
    templates: Sequence[str],
    env: Mapping[str, str],
    extra: Mapping[str, str],
    home: str,
    *,
    names: tuple[str, ...] = (".condarc", "condarc"),
) -> list[str]:
    """The files a search path names, in order, each once (conda's ``_expand_search_path``
    then ``unique``)."""
    out: list[str] = []
    for template in templates:
        path = _expand_user(custom_expandvars(template, env, extra), home)
        if not posixpath.isabs(path):  # an unset $VAR: names nothing real
            continue
        path = posixpath.normpath(path)
        try:
            mode = host.stat(path).st_mode
        except (OSError, ValueError):
            continue
        if stat.S_ISREG(mode):
            name = posixpath.basename(path)
            if name in names or name.endswith((".yml", ".yaml")):
                out.append(path)
        elif stat.S_ISDIR(mode):
            try:
                children = sorted(host.listdir(path))
            except OSError:
                continue
            for child in children:
                full = posixpath.join(path, child)
                if child.endswith((".yml", ".yaml")) and host.is_file(full):
                    out.append(full)
    return list(dict.fromkeys(out))


def _load(host: Host, files: Sequence[str], problems: list[str]) -> list[Source]:
    sources: list[Source] = []
    for path in files:
        try:
            sources.append(parse_rc(host.read_text(path), path))
        except OSError as exc:
            problems.append(f"{path}: {exc.strerror or exc}")
        except RcError as exc:
            problems.append(f"{exc} (file ignored)")
    return sources


def merge_conda(sources: Sequence[Source]) -> list[tuple[str, Source]]:
    """conda's ``SequenceLoadedParameter.merge``: ``sources`` in search-path order."""
    matches: list[Source] = []
    for src in sources:
        if not src.items and src.kind == "config" and not src.line:
            continue
        matches.append(src)
        if src.final:
            break
    top = [(v, s) for s in matches for v, f, _ in s.items if f == "top"]
    bottom = [(v, s) for s in reversed(matches) for v, f, _ in s.items if f == "bottom"]
    every = [(v, s) for s in reversed(matches) for v, _, _ in s.items]

    def unique(pairs: Sequence[tuple[str, Source]]) -> list[tuple[str, Source]]:
        seen: dict[str, tuple[str, Source]] = {}
        for value, src in pairs:
            seen.setdefault(value, (value, src))
        return list(seen.values())

    top_deduped = unique([*top, *every])
    bottom_deduped = unique([*reversed(bottom), *reversed(top_deduped)])
    return list(reversed(bottom_deduped))


def merge_mamba(sources: Sequence[Source]) -> list[tuple[str, Source]]:
    """libmamba's ``Source<std::vector<T>>::merge``: ``sources`` highest precedence first."""
    seen: dict[str, tuple[str, Source]] = {}
    for src in sources:
        for value, _, _ in src.items:
            seen.setdefault(value, (value, src))
    return list(seen.values())


# ---------------------------------------------------------------------- writability


def _groups(host: Host, user: User) -> set[int]:
    gids = {user.gid}
    try:
        text = host.read_database("/etc/group")
    except OSError:
        return gids
    for line in text.splitlines():
        parts = line.split(":")
        if len(parts) >= 4 and user.name in parts[3].split(","):
            try:
                gids.add(int(parts[2]))
            except ValueError:
                continue
    return gids


def _may_write(host: Host, path: str, user: User) -> bool:
    if user.uid == 0:
        return True
    try:
        st = host.stat(path)
    except (OSError, ValueError):
        return False
    if st.st_uid == user.uid:
        return bool(st.st_mode & stat.S_IWUSR)
    if st.st_gid in _groups(host, user):
        return bool(st.st_mode & stat.S_IWGRP)
    return bool(st.st_mode & stat.S_IWOTH)


def writable(host: Host, pkgs_dir: str, user: User) -> tuple[bool, str]:
    """conda's ``is_writable`` / ``create_package_cache_directory`` for ``user``:
    (would conda write here, why)."""
    magic = posixpath.join(pkgs_dir, "urls.txt")
    if host.is_file(magic):
        if _may_write(host, magic, user):
            return True, "urls.txt is writable"
        return False, "urls.txt is not writable"
    if host.lexists(magic):
        return False, "urls.txt is not a regular file"
    if host.is_dir(pkgs_dir):
        ok = _may_write(host, pkgs_dir, user)
        return ok, "urls.txt can be created" if ok else "no urls.txt and the dir is read-only"
    path = pkgs_dir
    while path != "/":
        path = posixpath.dirname(path)
        if host.lexists(path):
            if not host.is_dir(path):
                return False, f"{path} is not a directory"
            ok = _may_write(host, path, user)
            return ok, f"can be created under {path}" if ok else f"{path} is read-only"
    return False, "nothing to create it in"


# ---------------------------------------------------------------------- resolve


def _absolute(path: str, env: Mapping[str, str], home: str, cwd: str) -> str:
    """conda's ``expand``: ``abspath(expanduser(expandvars(path)))``."""
    path = _expand_user(posix_expandvars(path, env), home)
    return posixpath.normpath(path if posixpath.isabs(path) else posixpath.join(cwd, path))


def _root_from_env(env: Mapping[str, str]) -> tuple[str | None, str]:
    exe = env.get("CONDA_EXE", "")
    if exe.startswith("/") and posixpath.basename(posixpath.dirname(exe)) in ("bin", "condabin"):
        return posixpath.dirname(posixpath.dirname(exe)), "CONDA_EXE"
    for var in ("_CONDA_ROOT", "CONDA_ROOT"):
        if env.get(var, "").startswith("/"):
            return env[var], var
    return None, ""


def resolve_conda(
    host: Host,
    *,
    user: User,
    env: Mapping[str, str],
    prefix: str | None = None,
    root_prefix: str | None = None,
    flavor: Flavor = "conda",
    cwd: str | None = None,
) -> tuple[Resolution, ...]:
    """One Resolution per package dir, in the tool's order; the one it writes to says so
    (``reason`` starts ``writes here``, its ``check`` decision is effective).

    ``root_prefix``: the conda installation's ``sys.prefix`` (mamba: its root prefix); when
    None it is taken from ``CONDA_EXE``/``_CONDA_ROOT``/``CONDA_ROOT`` (mamba:
    ``MAMBA_ROOT_PREFIX`` and its defaults). ``prefix``: the target environment (``-p``),
    else ``CONDA_PREFIX``. ``cwd``: where relative paths start (default: the home)."""
    home = env.get("HOME") or user.home
    cwd = cwd or env.get("PWD") or home
    problems: list[str] = []
    decisions: list[Decision] = []
    root_where = "argument"
    if flavor == "mamba":
        if root_prefix is None:
            if env.get("MAMBA_ROOT_PREFIX"):
                root_prefix, root_where = env["MAMBA_ROOT_PREFIX"], "MAMBA_ROOT_PREFIX"
            elif host.is_dir(posixpath.join(home, "micromamba")):
                root_prefix, root_where = posixpath.join(home, "micromamba"), "~/micromamba"
            else:
                data = env.get("XDG_DATA_HOME") or posixpath.join(home, ".local", "share")
                root_prefix, root_where = posixpath.join(data, "mamba"), "user data dir"
        target = prefix or env.get("CONDA_PREFIX") or ""
        sources = _mamba_sources(host, env, home, root_prefix, target, problems)
    else:
        if root_prefix is None:
            root_prefix, root_where = _root_from_env(env)
        conda_root = env.get("CONDA_ROOT") or root_prefix or ""
        target = prefix or env.get("CONDA_PREFIX") or root_prefix or ""
        env_for_path = {**env, "CONDA_ROOT": conda_root} if conda_root else dict(env)
        extra = {"CONDA_PREFIX": target} if target else {}
        files = rc_files(host, CONDA_SEARCH_PATH, env_for_path, extra, home)
        sources = _load(host, files, problems)
        configured_root = next((s for s in reversed(sources) if s.root_prefix is not None), None)
        if env.get("CONDA_ROOT_PREFIX") or env.get("CONDA_ROOT_DIR"):
            var = "CONDA_ROOT_PREFIX" if env.get("CONDA_ROOT_PREFIX") else "CONDA_ROOT_DIR"
            root_prefix, root_where = _absolute(env[var], env, home, cwd), var
        elif configured_root is not None and configured_root.root_prefix is not None:
            value, line = configured_root.root_prefix
            root_prefix = _absolute(value, env, home, cwd)
            root_where = f"{configured_root.where}:{line}"
        raw = env.get("CONDA_PKGS_DIRS")
        if raw is not None:
            from_env = Source("CONDA_PKGS_DIRS", "env", final="!important" in raw)
            from_env.items = [(v.strip(), None, 0) for v in raw.split(",") if v.strip()]
            sources.append(from_env)
    if root_prefix is None:
        problems.append("conda's root prefix is unknown (no CONDA_EXE): <root>/pkgs left out")
    else:
        decisions.append(
            Decision("default", f"root prefix ({root_where})", "root_prefix", root_prefix)
        )
    setting = [s for s in sources if s.kind == "env" or s.line]
    merged = merge_mamba(setting) if flavor == "mamba" else merge_conda(setting)
    by_source: dict[int, Decision] = {}
    for src in setting:
        where = src.where if src.kind == "env" else f"{src.where}:{src.line}"
        value = ",".join(v for v, _, _ in src.items)
        by_source[id(src)] = Decision(src.kind, where, "pkgs_dirs", value)
        decisions.append(by_source[id(src)])
    dirs: list[tuple[str, Decision]] = []
    if merged:
        for value, src in merged:
            dirs.append((_absolute(value, env, home, cwd), by_source[id(src)]))
    else:
        fallback = ".mamba" if flavor == "mamba" else ".conda"
        if root_prefix is not None:
            path = posixpath.join(root_prefix, "pkgs")
            default = Decision("default", "default: <root prefix>/pkgs", "pkgs_dirs", path)
            decisions.append(default)
            dirs.append((posixpath.normpath(path), default))
        path = posixpath.join(home, fallback, "pkgs")
        default = Decision("default", f"default: ~/{fallback}/pkgs", "pkgs_dirs", path)
        decisions.append(default)
        dirs.append((posixpath.normpath(path), default))
    dirs = list({d: (d, how) for d, how in dirs}.values())
    results: list[Resolution] = []
    chosen = False
    for path, how in dirs:
        ok, why = writable(host, path, user)
        writes = ok and not chosen
        chosen = chosen or ok
        check = Decision("check", "first writable (urls.txt)", "pkgs_dirs", why, writes)
        layers = tuple(
            Decision(d.source, d.where, d.key, d.value, writes and d is how) for d in decisions
        )
        if writes:
            reason = f"writes here: the first writable package dir ({why}; from {how.where})"
        elif ok:
            reason = f"read and writable, but an earlier dir is written ({how.where})"
        else:
            reason = (
                f"read only: conda links packages found here, never writes ({why}; {how.where})"
            )
        results.append(
            Resolution("conda", "pkgs_dirs", path, False, reason, (*layers, check), tuple(problems))
        )
    if not chosen:
        results = [
            Resolution(
                r.tool,
                r.view,
                r.cache_dir,
                r.disabled,
                r.reason,
                r.decided_by,
                r.problems,
                "no writable package dir (conda: NoWritablePkgsDirError)",
            )
            for r in results
        ]
    return tuple(results)


def _mamba_sources(
    host: Host, env: Mapping[str, str], home: str, root: str, target: str, problems: list[str]
) -> list[Source]:
    def group(base: str, names: Sequence[str]) -> list[str]:
        return [posixpath.join(base, n) for n in names]

    condarc = (".condarc", "condarc", "condarc.d")
    config = posixpath.join(env.get("XDG_CONFIG_HOME") or posixpath.join(home, ".config"))
    paths: list[str] = [
        *group("/etc/conda", (*condarc, ".mambarc")),
        *group("/var/lib/conda", (*condarc, ".mambarc")),
        *group(root, (*condarc, ".mambarc")),
        *group(posixpath.join(config, "conda"), condarc),
        *group(posixpath.join(home, ".conda"), condarc),
        posixpath.join(home, ".condarc"),
    ]
    if env.get("XDG_CONFIG_HOME"):
        paths += group(posixpath.join(env["XDG_CONFIG_HOME"], "conda"), condarc)
    if env.get("CONDA_PREFIX"):
        paths += group(env["CONDA_PREFIX"], condarc)
    if env.get("CONDARC"):
        paths.append(env["CONDARC"])
    paths += [
        *group(posixpath.join(config, "mamba"), (".mambarc", "mambarc", "mambarc.d")),
        *group(posixpath.join(home, ".mamba"), (".mambarc", "mambarc", "mambarc.d")),
        posixpath.join(home, ".mambarc"),
    ]
    if env.get("MAMBARC"):
        paths.append(env["MAMBARC"])
    if target:
        paths += group(target, (*condarc, ".mambarc"))
    ordered = list(dict.fromkeys(posixpath.normpath(p) for p in paths))
    names = (".condarc", "condarc", ".mambarc", "mambarc")
    files = rc_files(host, ordered, {}, {}, home, names=names)
    sources = _load(host, list(reversed(files)), problems)  # highest precedence first
    raw = env.get("CONDA_PKGS_DIRS")
    if raw is not None:
        var = Source("CONDA_PKGS_DIRS", "env")
        var.items = [(_scalar(v), None, 0) for v in raw.split(",") if v.strip()]
        sources.insert(0, var)
    return sources
