"""Reading a file someone else controls: never blocks, never reads a device, never reads
more than a cap, never decodes into a traceback.

Root reads users' ``pip.conf``, ``uv.toml``, ``.condarc``, ``.env``, ``pyvenv.cfg``... and a
``--root`` image's ``/etc``. Any of them can be a FIFO (an ordinary ``open`` waits forever
for a writer), a symlink to ``/dev/zero`` or an 8 GiB sparse file (``read()`` exhausts
memory), or hold a NUL or bytes that are not UTF-8. :func:`read_bytes` is the one way in:

- the file is opened ``O_PATH`` first (nothing is opened that could block or have an effect
  on open: a tape rewinding, a watchdog arming), ``fstat``-ed, and only a regular file is
  then opened for reading, through ``/proc/self/fd`` (the same inode, so nothing can be
  swapped in between); where ``O_PATH`` or ``/proc`` is missing, a ``stat`` first and an
  ``O_NONBLOCK`` open whose ``fstat`` must show the same regular file;
- ``follow=False`` adds ``O_NOFOLLOW``: a symlink as the last component is refused;
- a file larger than the cap (:data:`MAX_CONFIG_BYTES` unless told) is refused unread;
  ``head=N`` reads only the first N bytes instead (binaries scanned for a version), and
  :func:`read_chunks` streams a bounded prefix (a uv binary's tables lie 30 MB in);
- :func:`decode` turns bytes into text or one line naming the file and the line of the
  first NUL or undecodable byte.

Every refusal is a :class:`Refused`, an :class:`OSError` whose ``strerror`` is that one
line's reason, so existing ``except OSError`` paths report it as a problem.

Standard library only (:mod:`cachecensus.complete` imports it on the TAB path).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator

#: The most a configuration or state file may hold (pip.conf, uv.toml, .condarc, .env,
#: pyvenv.cfg, urls.txt, the completion candidates); a larger file is refused, unread.
MAX_CONFIG_BYTES = 4 << 20
#: The most a system database (``/etc/passwd``, ``/etc/group``) may hold.
MAX_DATABASE_BYTES = 64 << 20

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_READ = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | _CLOEXEC
_PATH = getattr(os, "O_PATH", 0)
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symlink"),
)


class Refused(OSError):
    """A file not read, or not decoded: not a regular file, too large, a symlink where none
    may be, a NUL or undecodable byte. ``strerror`` is the reason, ``filename`` the path."""

    def __init__(self, path: str, reason: str, code: int = errno.EINVAL) -> None:
        super().__init__(code, reason, path)

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


def kind_of(mode: int) -> str:
    """What a file of ``mode`` is, in words ("a FIFO"...); "a regular file" for one."""
    for test, words in _KINDS:
        if test(mode):
            return words
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def _regular(path: str, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        code = errno.ELOOP if stat.S_ISLNK(st.st_mode) else errno.EINVAL
        raise Refused(path, f"{kind_of(st.st_mode)}, not a regular file: not read", code)


def open_regular(path: str, *, follow: bool = True, dir_fd: int | None = None) -> int:
    """A read-only descriptor of the regular file ``path``; raises :class:`Refused` for any
    other kind of file (never opening it), OSError when it cannot be opened."""
    if "\0" in path:
        raise Refused(path, "a NUL byte in the file name")
    nofollow = 0 if follow else _NOFOLLOW
    if _PATH:
        handle = os.open(path, _PATH | _CLOEXEC | nofollow, dir_fd=dir_fd)
        try:
            _regular(path, os.fstat(handle))
            try:
                return os.open(f"/proc/self/fd/{handle}", _READ)
            except FileNotFoundError:  # no /proc (a chroot): the portable way below
                pass
        finally:
            os.close(handle)
    before = os.stat(path, dir_fd=dir_fd, follow_symlinks=follow)
    _regular(path, before)
    fd = os.open(path, _READ | nofollow, dir_fd=dir_fd)
    try:
        after = os.fstat(fd)
        _regular(path, after)
        if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
            raise Refused(path, "replaced while being opened: not read", errno.EAGAIN)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_fd(fd: int, path: str, *, cap: int = MAX_CONFIG_BYTES, head: int | None = None) -> bytes:
    """The contents of the regular file open at ``fd``: all of it (refused when larger than
    ``cap``), or only its first ``head`` bytes."""
    if head is None:
        size = os.fstat(fd).st_size
        if size > cap:
            raise Refused(path, f"{size} bytes, larger than the {cap} read: not read", errno.EFBIG)
    want = head if head is not None else cap + 1  # one more: a file that grew shows it
    chunks: list[bytes] = []
    got = 0
    while got < want:
        chunk = os.read(fd, min(1 << 20, want - got))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    data = b"".join(chunks)
    if head is None and len(data) > cap:  # grew while read
        raise Refused(path, f"larger than the {cap} bytes read: not read", errno.EFBIG)
    return data


def read_chunks(
    path: str, *, limit: int, chunk: int = 1 << 20, follow: bool = True
) -> Iterator[bytes]:
    """The first ``limit`` bytes of the regular file ``path``, ``chunk`` bytes at a time
    (a binary scanned for a string without holding it whole); the file is opened by
    :func:`open_regular`'s rules when the first chunk is asked for, closed when the
    iteration ends or is abandoned. Raises :class:`Refused` or OSError."""
    fd = open_regular(path, follow=follow)
    try:
        left = limit
        while left > 0:
            data = os.read(fd, min(chunk, left))
            if not data:
                return
            left -= len(data)
            yield data
    finally:
        os.close(fd)


def read_bytes(
    path: str,
    *,
    cap: int = MAX_CONFIG_BYTES,
    head: int | None = None,
    follow: bool = True,
    dir_fd: int | None = None,
) -> bytes:
    """The bytes of the regular file ``path`` (see the module's rules); raises
    :class:`Refused` or OSError."""
    fd = open_regular(path, follow=follow, dir_fd=dir_fd)
    try:
        return read_fd(fd, path, cap=cap, head=head)
    finally:
        os.close(fd)


def _line(data: bytes, at: int) -> int:
    return data.count(b"\n", 0, at) + 1


def decode(data: bytes, path: str, errors: str = "strict") -> str:
    """``data`` (read from ``path``) as UTF-8 text. ``strict``: a NUL or an undecodable
    byte raises :class:`Refused` naming the line; ``surrogateescape`` keeps undecodable
    bytes losslessly (paths in passwd), NULs included."""
    if errors != "strict":
        return data.decode("utf-8", errors)
    nul = data.find(b"\0")
    if nul >= 0:
        raise Refused(path, f"line {_line(data, nul)}: a NUL byte, not text", errno.EILSEQ)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = data[exc.start]
        raise Refused(
            path, f"line {_line(data, exc.start)}: byte 0x{byte:02x} is not UTF-8", errno.EILSEQ
        ) from None


def read_text(
    path: str,
    *,
    cap: int = MAX_CONFIG_BYTES,
    follow: bool = True,
    errors: str = "strict",
    dir_fd: int | None = None,
) -> str:
    """:func:`read_bytes` then :func:`decode`."""
    return decode(read_bytes(path, cap=cap, follow=follow, dir_fd=dir_fd), path, errors)
