"""Which version of poetry, pdm or pipenv a user runs, read from files, never by running it.

The tool's command is looked up on the user's ``PATH`` (``/usr/local/bin:/usr/bin:/bin``
when unset); its first line names the interpreter of the venv (or pipx venv) it lives in
(``#!/home/a/.local/pipx/venvs/poetry/bin/python``); that venv's
``lib/python3.*/site-packages/<dist>-<version>.dist-info`` gives the version. Anything
unreadable or unshaped is "unknown" (None): the resolvers then take the newest rules they
know and say so in their reason.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping

from cachecensus.host import Host

_DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
_HEAD = 512


def version_key(version: str) -> tuple[int, ...]:
    """The numeric release of ``version`` (``2.26.9`` -> ``(2, 26, 9)``); suffixes ignored."""
    parts: list[int] = []
    for piece in version.split("."):
        digits = re.match(r"\d+", piece)
        if digits is None:
            break
        parts.append(int(digits.group()))
        if digits.end() != len(piece):
            break
    return tuple(parts)


def _interpreter(host: Host, script: str) -> str | None:
    try:
        head = host.read_bytes(script, limit=_HEAD)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    line = head[2:].split(b"\n", 1)[0].decode("utf-8", "surrogateescape").strip()
    words = line.split()
    if not words or not posixpath.isabs(words[0]):
        return None
    if posixpath.basename(words[0]) == "env":
        return None  # `#!/usr/bin/env python3`: the PATH's python, not a venv of the tool
    return words[0]


def installed_version(
    host: Host, env: Mapping[str, str], tool: str, dist: str | None = None
) -> tuple[str | None, str]:
    """(the version of ``dist`` (default ``tool``) behind the first ``tool`` on ``PATH``,
    the dist-info it was read from, or why it is unknown)."""
    dist = (dist or tool).lower().replace("-", "_")
    for directory in (env.get("PATH") or _DEFAULT_PATH).split(":"):
        if not posixpath.isabs(directory):
            continue
        script = posixpath.join(directory, tool)
        if not host.is_file(script):
            continue
        python = _interpreter(host, script)
        if python is None:
            return None, f"{script}: no interpreter named on its first line"
        prefix = posixpath.dirname(posixpath.dirname(python))
        lib = posixpath.join(prefix, "lib")
        try:
            pythons = sorted(n for n in host.listdir(lib) if n.startswith("python"))
        except OSError:
            return None, f"{script}: {lib} is not readable"
        for name in pythons:
            site = posixpath.join(lib, name, "site-packages")
            try:
                entries = host.listdir(site)
            except OSError:
                continue
            for entry in sorted(entries):
                if not entry.endswith(".dist-info"):
                    continue
                project, _, version = entry[: -len(".dist-info")].partition("-")
                if project.lower().replace("-", "_").replace(".", "_") == dist and version:
                    return version, posixpath.join(site, entry)
        return None, f"{script}: no {dist} dist-info in {prefix}"
    return None, f"no {tool} on PATH"


def rules_note(tool: str, version: str | None, where: str, newest: str) -> str:
    """What a resolution's reason says about the version whose rules it applied."""
    if version is None:
        return f"{tool} version unknown ({where}): {tool} {newest}'s rules"
    return f"{tool} {version}'s rules ({where})"
