"""Which cache directories root accepts as removal targets: a directory a user named is
that user's *claim*, not a fact.

A cache dir resolved for user U (U's variables, U's config files, U's processes, a default
under U's home) is accepted only if U owns it; a root-owned or another user's directory a
user named is reported (:attr:`~cachecensus.models.CacheDir.refused`) and never touched.
Root's own caches and a ``--cache-dir`` on the command line are the invoking user's
choice. Either way the path is never resolved through a symlink owned by anyone but root
or that user (the cache's user, or the invoking one): :func:`follow` resolves the trusted
links, so one cache reached under two legitimate names stays one cache, and refuses the
rest instead of ``realpath``-ing through them (a user's ``~/.cache/uv`` pointing at
``/srv/ci-cache`` is not root's invitation to empty it).
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Collection
from dataclasses import dataclass

from cachecensus.host import MAX_SYMLINK_HOPS, Host
from cachecensus.models import User


@dataclass(frozen=True)
class Claim:
    """A cache dir as accepted (or not) for removal.

    ``path``: the directory, every trusted symlink on the way resolved (the spelling as
    given when a link was refused); ``refused``: why nothing may be removed there ("is
    owned by root, not alice"), None when accepted; ``uid``: its owner when accepted and
    it exists (removal checks that the directory it opens is still owned by this uid)."""

    path: str
    refused: str | None = None
    uid: int | None = None


def _who(host: Host, uid: int) -> str:
    found = host.user_by_uid(uid)
    return found.name if found is not None else f"uid {uid}"


def absolute(host: Host, path: str) -> str:
    """``path`` made absolute (against this process's working dir on a live host, else
    the root), without resolving anything."""
    if path.startswith("/"):
        return path
    base = os.getcwd() if host.live else "/"
    return posixpath.join(base, path)


def follow(host: Host, path: str, trusted: Collection[int]) -> tuple[str, str | None]:
    """``path`` (absolute system path) with each symlink on the way resolved when the link
    is owned by a uid in ``trusted``: (resolved path, None); or (``path``, why: "is reached
    through ...") when a link owned by anyone else, or a loop, is on the way. Missing
    components are kept as they are (like ``realpath``, non-strict); ``..`` after a
    resolved link is taken from where the link led, as the kernel does."""
    parts = [p for p in path.split("/") if p and p != "."]
    resolved = "/"
    hops = 0
    while parts:
        name = parts.pop(0)
        if name == "..":
            resolved = posixpath.dirname(resolved)
            continue
        candidate = posixpath.join(resolved, name)
        try:
            st = host.lstat(candidate)
        except (OSError, ValueError):
            resolved = candidate
            continue
        if not stat.S_ISLNK(st.st_mode):
            resolved = candidate
            continue
        if st.st_uid not in trusted:
            why = f"is reached through {candidate}, a symlink owned by {_who(host, st.st_uid)}"
            return path, why
        hops += 1
        if hops > MAX_SYMLINK_HOPS:
            return path, f"is reached through {candidate}: too many levels of symbolic links"
        try:
            target = host.readlink(candidate)
        except (OSError, ValueError) as exc:
            return path, f"is reached through {candidate}, unreadable: {exc}"
        if target.startswith("/"):
            resolved = "/"
        parts = [p for p in target.split("/") if p and p != "."] + parts
    return posixpath.normpath(resolved), None


def claim(host: Host, path: str, user: User | None, invoker: int | None = None) -> Claim:
    """Whether the cache dir ``path`` may be a removal target.

    ``user``: the user it was resolved for (from their settings or defaults): links owned
    by root or them are followed, and the directory must be theirs (root's own caches are
    root's choice). None: named on the command line by the invoking uid ``invoker``
    (default: the host's): links owned by root or the invoker are followed, any owner is
    accepted."""
    me = host.euid if invoker is None else invoker
    trusted = {0, user.uid if user is not None else me}
    resolved, why = follow(host, absolute(host, path), trusted)
    if why is not None:
        return Claim(resolved, why)
    try:
        st = host.lstat(resolved)
    except (OSError, ValueError):
        return Claim(resolved)  # absent: nothing to remove, nothing refused
    if user is not None and user.uid != 0 and st.st_uid != user.uid:
        owner = _who(host, st.st_uid)
        return Claim(resolved, f"is owned by {owner}, not {user.name}")
    return Claim(resolved, None, st.st_uid)
