"""The least any Python scanner of a pip cache must do, timed as a bound for the targets.

Run as a script: ``python -I floor.py CACHE_DIR [--procs N]``.  It walks the cache the way
``du`` does (``scandir`` + ``lstat`` of every file, never following a symlink) and, for
every ``http-v2`` record, opens and reads the record (4 KiB) and the last 64 KiB of its
body, where a wheel's central directory and ``dist-info`` live — then stops: no parsing,
no identification, no output, no memo.  Identification cannot cost less than this, so
its time bounds what a pure-Python ``audit``/``list`` can reach from a cold memo.

``--procs N`` shards the walk and the reads over N forked processes by the areas'
first-level directories (``http-v2/0`` …; each process walks and reads its own), the best a
scanner could do with N cores.  Exits 3 if a process read no entry at all (a cache not in
pip's layout would otherwise time nothing and look fast).
"""

from __future__ import annotations

import os
import stat
import sys

TAIL = 64 << 10


def _walk_and_read(roots: list[str]) -> int:
    """Walk ``roots``; read every record and its body's tail. Returns the entries read."""
    read = 0
    stack = list(roots)
    while stack:
        path = stack.pop()
        try:
            it = os.scandir(path)
        except OSError:
            continue
        with it:
            names = []
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(st.st_mode):
                    names.append(entry.name)
        for name in names:
            if len(name) != 56:
                continue
            record = f"{path}/{name}"
            try:
                fd = os.open(record, os.O_RDONLY)
                os.pread(fd, 4096, 0)
                os.close(fd)
                fd = os.open(record + ".body", os.O_RDONLY)
                size = os.fstat(fd).st_size
                os.pread(fd, TAIL, max(0, size - TAIL))
                os.close(fd)
            except OSError:
                continue
            read += 1
    return read


def _shards(cache: str, procs: int) -> list[list[str]]:
    """The cache's second-level directories dealt out to ``procs`` shards."""
    tops: list[str] = []
    for area in sorted(os.listdir(cache)):
        base = os.path.join(cache, area)
        if os.path.isdir(base) and not os.path.islink(base):
            tops += [os.path.join(base, d) for d in sorted(os.listdir(base))]
    return [tops[i::procs] for i in range(procs)]


def main(argv: list[str]) -> int:
    cache = argv[0]
    procs = int(argv[argv.index("--procs") + 1]) if "--procs" in argv else 1
    shards = _shards(cache, procs)
    children = []
    for shard in shards[1:]:
        pid = os.fork()
        if pid == 0:
            os._exit(0 if _walk_and_read(shard) else 3)
        children.append(pid)
    empty = not _walk_and_read(shards[0])
    for pid in children:
        empty |= os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0
    return 3 if empty else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
