"""pip's cache on disk, entry by entry.

Layout (pip 23.3+ writes ``http-v2``; older pips wrote ``http``; both may coexist), as
pip's ``network/cache.py`` (``SafeFileCache``), cachecontrol's ``serialize.py`` and pip's
``cache.py`` write it:

- ``http-v2/a/b/c/d/e/<sha224(url)>``: a cachecontrol record, ``cc=4,`` + msgpack of
  ``{"response": {"body": b"", "headers", "status", "version", "reason", "decode_content"},
  "vary"}``, and ``<sha224>.body`` beside it: the response body as it came off the wire.
  The URL is not stored (only hashed into the path): the body says what the entry is.
- ``http/a/b/c/d/e/<sha224(url)>``: the same record with the body inside it.
- ``wheels/xx/yy/zz/<50 hex>/NAME-VER-TAGS.whl`` + ``origin.json`` (PEP 610
  ``direct_url``: where the sdist came from): wheels pip built.
- ``selfcheck/`` (and an old pip's top-level ``selfcheck.json``): version-check state.
- leftovers: ``<name>XXXXXXXX.tmp`` files of an interrupted ``adjacent_tmp_file`` write,
  records without bodies and bodies without records (``ORPHAN``); anything else, and every
  symlink, is a ``STRAY`` (never followed, never deleted).

The walk uses ``os.scandir`` and ``lstat`` only (never follows a symlink: a symlink is a
stray and is not counted as a file), counts every regular file like ``du -sb`` does
(apparent sizes, directories aside), and reports an unreadable directory as a problem and
goes on (a file or directory that vanishes mid-walk is simply no longer there).
Identification reads records and bodies with bounded ``pread``s (see
:mod:`cachecensus.identify`), through the memo, and in worker processes when many bodies are
new: those start while the walk goes on (:class:`_Feed`), so reading overlaps walking.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import msgpack

from cachecensus import selfrun
from cachecensus.caches.base import CacheFormat, DirStamp, ScannerBase
from cachecensus.host import Host
from cachecensus.memo import Memo, Values
from cachecensus.models import CacheScan, Entry, FileInfo, Kind

HTTP_AREAS = ("http-v2", "http")
_HEX = "0123456789abcdef"
_TMP = re.compile(r"^[0-9a-f]{56}(?:\.body)?[A-Za-z0-9_]{6,16}\.tmp$")
_WHEEL_DIRS = (2, 2, 2, 50)
_KINDS = frozenset(k.value for k in Kind)
#: A record is read in one ``pread`` up to this size; a legacy ``http/`` record past it (a
#: big wheel inside) is parsed piecewise, its body read in place.
RECORD_HEAD = 64 << 10
#: Misses above which identification runs in worker processes (``workers=None``).
POOL_MIN = 1500
#: New entries met while walking from which a worker pool starts identifying them.
FEED_START = POOL_MIN // 2
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_OPEN_FLAGS |= getattr(os, "O_NONBLOCK", 0)  # a FIFO swapped in never blocks us
_NOATIME = getattr(os, "O_NOATIME", 0)

Raw = tuple[str, os.stat_result]  # (path relative to the cache dir, lstat)


# ---------------------------------------------------------------------- shapes


def _hex(text: str) -> bool:
    return bool(text) and not text.strip(_HEX)


def http_name(rel: str) -> tuple[str, str, str] | None:
    """(area, hash, role) of a cache-shaped HTTP path ``AREA/a/b/c/d/e/NAME``; role is
    ``record``, ``body`` or ``tmp``; None when the path is not one pip writes."""
    area, _, rest = rel.partition("/")
    if area not in HTTP_AREAS or len(rest) < 11 or rest[1:10:2] != "/////":
        return None
    name = rest[10:]
    prefix = rest[0:10:2]
    if "/" in name or not name.startswith(prefix):
        return None
    if len(name) == 56 and _hex(name):
        return area, name, "record"
    if area == "http-v2" and len(name) == 61 and name.endswith(".body") and _hex(name[:56]):
        return area, name[:56], "body"
    if name.endswith(".tmp") and _TMP.match(name):
        return area, name[:56], "tmp"
    return None


def _wheel_dir_shaped(parts: list[str]) -> bool:
    return len(parts) == 4 and all(
        len(p) == n and _hex(p) for p, n in zip(parts, _WHEEL_DIRS, strict=True)
    )


# ---------------------------------------------------------------------- records


def parse_record(data: bytes) -> dict[str, Any]:
    """The ``response`` map of a whole cachecontrol v4 record; raises ValueError."""
    if not data.startswith(b"cc=4,"):
        raise ValueError(f"not a cachecontrol v4 record (starts {data[:8]!r})")
    try:
        doc = msgpack.unpackb(data[5:], raw=False, strict_map_key=False)
    except Exception as exc:  # msgpack raises many types on garbage
        raise ValueError(f"unreadable msgpack: {type(exc).__name__}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("response"), dict):
        raise ValueError("record without a response")
    response: dict[str, Any] = doc["response"]
    return response


def _bin_header(data: bytes) -> tuple[int, int]:
    """(header length, payload length) of a msgpack bin8/16/32 value starting ``data``."""
    kind = data[:1]
    if kind == b"\xc4" and len(data) >= 2:
        return 2, data[1]
    if kind == b"\xc5" and len(data) >= 3:
        return 3, int.from_bytes(data[1:3], "big")
    if kind == b"\xc6" and len(data) >= 5:
        return 5, int.from_bytes(data[1:5], "big")
    raise ValueError("record body is not a msgpack binary")


def read_record(fd: int, size: int) -> tuple[dict[str, Any], bytes | tuple[int, int] | None]:
    """(response headers map, body) of the record file ``fd`` (``size`` bytes).

    The body is bytes (small records), ``(offset, length)`` in the file (a big legacy
    record: only its header is read), or None (no body in the record). Raises ValueError.
    """
    head = os.pread(fd, min(size, RECORD_HEAD), 0)
    if size <= RECORD_HEAD:
        response = parse_record(head)
        body = response.pop("body", None)
        return response, body if isinstance(body, bytes) else None
    if not head.startswith(b"cc=4,"):
        raise ValueError(f"not a cachecontrol v4 record (starts {head[:8]!r})")
    try:
        return _read_big_record(fd, size, head)
    except ValueError:
        raise
    except Exception as exc:  # msgpack: OutOfData, ExtraData, FormatError...
        raise ValueError(f"unreadable msgpack: {type(exc).__name__}") from exc


def _read_big_record(
    fd: int, size: int, head: bytes
) -> tuple[dict[str, Any], bytes | tuple[int, int] | None]:
    base = 5  # file offset of the unpacker's first byte
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(head[5:])
    response: dict[str, Any] | None = None
    body: tuple[int, int] | None = None
    for _ in range(unpacker.read_map_header()):
        key = unpacker.unpack()
        if key != "response":
            unpacker.skip()
            continue
        response = {}
        for _ in range(unpacker.read_map_header()):
            field = unpacker.unpack()
            if field != "body":
                response[field] = unpacker.unpack()
                continue
            at = base + unpacker.tell()
            header, length = _bin_header(os.pread(fd, 5, at))
            if at + header + length > size:
                raise ValueError("truncated record: body runs past the end")
            body = (at + header, length)
            base = at + header + length  # go on after the body with a fresh unpacker
            unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
            unpacker.feed(os.pread(fd, RECORD_HEAD, base))
    if response is None:
        raise ValueError("record without a response")
    return response, body


def _header(response: dict[str, Any], name: str) -> str | None:
    headers = response.get("headers")
    if not isinstance(headers, dict):
        return None
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next(
            (v for k, v in headers.items() if isinstance(k, str) and k.lower() == lowered), None
        )
    return value[:300] if isinstance(value, str) else None


_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_IMF = re.compile(r"^[A-Z][a-z]{2}, (\d\d) ([A-Z][a-z]{2}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT$")


def iso_date(value: str | None) -> str | None:
    """An HTTP ``Date`` header as ISO 8601 (``2026-11-23T23:19:25+00:00``), or None."""
    if not value:
        return None
    match = _IMF.match(value)
    if match and match.group(2) in _MONTHS:
        day, month, year, hh, mm, ss = match.groups()
        return f"{year}-{_MONTHS[month]:02d}-{day}T{hh}:{mm}:{ss}+00:00"
    try:
        from email.utils import parsedate_to_datetime

        return parsedate_to_datetime(value).isoformat()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


# ---------------------------------------------------------------------- identification


def _open(path: str) -> int:
    """Open a cache file to read (never through a symlink, never a FIFO or device), without
    moving its access time where the system allows (``O_NOATIME``: the file's owner, or
    root): cachecensus looking at an entry is not a use of it, and last use is what
    staleness is measured by."""
    try:
        fd = os.open(path, _OPEN_FLAGS | _NOATIME)
    except PermissionError:  # O_NOATIME on someone else's file: an ordinary read
        fd = os.open(path, _OPEN_FLAGS)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", path)
    return fd


def _corrupt(detail: str, **extra: str | None) -> Values:
    return {"kind": Kind.CORRUPT.value, "detail": detail[:300], **extra}


def _unreadable(detail: str, **extra: str | None) -> Values:
    """A file we could not open or read (EACCES on a root-squashed NFS home, EIO): unknown,
    not corrupt. pip, as its owner, may read it well, and ``prune`` takes corrupt entries."""
    return {"kind": Kind.UNKNOWN.value, "detail": f"unreadable {detail}"[:300], **extra}


def identify_entry(job: tuple[str, str, str | None, int]) -> Values:
    """Identify one HTTP entry: ``(area, record real path, body real path, body size)``.

    Module-level and picklable (worker processes run it). Never raises."""
    from cachecensus import identify as ident

    area, record_path, body_path, body_size = job
    try:
        fd = _open(record_path)
    except OSError as exc:
        return _unreadable(f"record: {exc.strerror or exc}")
    try:
        response, inline = read_record(fd, os.fstat(fd).st_size)
        ctype = _header(response, "Content-Type")
        date = iso_date(_header(response, "Date"))
        encoding = _header(response, "Content-Encoding")
        context = {"content_type": ctype, "date": date}
        if area == "http":
            if isinstance(inline, bytes):
                found = ident.identify_bytes(inline, ctype, encoding)
            elif isinstance(inline, tuple) and inline[1] > 0:
                found = ident.identify_body(
                    ident.Region(fd, inline[0], inline[1]), inline[1], ctype, encoding
                )
            else:
                return _corrupt("legacy record without a body", **context)
        else:
            assert body_path is not None
            try:
                body_fd = _open(body_path)
            except OSError as exc:
                return _unreadable(f"body: {exc.strerror or exc}", **context)
            try:
                found = ident.identify_body(
                    ident.Region(body_fd, 0, body_size), body_size, ctype, encoding
                )
            finally:
                os.close(body_fd)
    except ValueError as exc:
        return _corrupt(f"record: {exc}")
    except OSError as exc:
        return _unreadable(f"({exc.strerror or exc})")
    finally:
        os.close(fd)
    return {
        "kind": found.kind.value,
        "project": found.project,
        "version": found.version,
        "filename": found.filename,
        "detail": found.detail,
        **context,
    }


def _identify_many(
    jobs: list[tuple[str, str, str | None, int]],
    workers: int | None,
    progress: Callable[[int], None] | None,
) -> list[Values]:
    """Identify every job, in worker processes when there are many; never raises."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    count = (cpus or 1) if workers is None else workers
    if workers is None and len(jobs) < POOL_MIN:
        count = 1
    if count > 1 and len(jobs) > 1:
        pooled = _identify_pooled(jobs, min(count, 8), progress)
        if pooled is not None:
            return pooled
    out: list[Values] = []
    for index, job in enumerate(jobs, 1):
        out.append(identify_entry(job))
        if progress and index % 64 == 0:
            progress(64)
    if progress and len(jobs) % 64:
        progress(len(jobs) % 64)
    return out


Job = tuple[str, str, str | None, int]  # identify_entry's argument
#: Jobs sent to a worker at a time.
BATCH = 128


class _Pool:
    """Identification in ``count`` worker processes that takes jobs while the caller goes on
    (the walk feeds it directory by directory). Fresh interpreters (``python -c``: no fork
    of a threaded parent, no re-run of anyone's ``__main__``); one feeding and one draining
    thread per worker, so the caller never blocks on a pipe. ``progress`` is called from the
    caller's thread only (:meth:`poll`, :meth:`finish`)."""

    def __init__(self, count: int, progress: Callable[[int], None] | None) -> None:
        import queue
        import subprocess
        import threading

        package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p
        )
        self.progress = progress
        self.sent = 0
        self.results: dict[int, list[Values]] = {}
        self.done: queue.Queue[int | None] = queue.Queue()
        self.inboxes: list[queue.Queue[tuple[int, list[Job]] | None]] = []
        self.procs: list[subprocess.Popen[bytes]] = []
        self.threads: list[threading.Thread] = []
        self.broken = False
        self.finished = 0
        try:
            for _ in range(count):
                self.procs.append(
                    subprocess.Popen(
                        selfrun.call_argv("cachecensus.caches.pip", "_worker"),
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL,
                        env=env,
                    )
                )
                self.inboxes.append(queue.Queue())
        except OSError:
            self.broken = True
            return
        for proc, inbox in zip(self.procs, self.inboxes, strict=True):
            self.threads.append(threading.Thread(target=self._feed, args=(proc, inbox)))
            self.threads.append(threading.Thread(target=self._drain, args=(proc,)))
        for thread in self.threads:
            thread.daemon = True
            thread.start()

    def _feed(self, proc: Any, inbox: Any) -> None:
        import pickle

        try:
            with proc.stdin:
                while (batch := inbox.get()) is not None:
                    pickle.dump(batch, proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                    proc.stdin.flush()
        except OSError:
            self.broken = True
            while inbox.get() is not None:  # let the caller's puts go on
                pass

    def _drain(self, proc: Any) -> None:
        import pickle

        try:
            while True:
                number, values = pickle.load(proc.stdout)
                self.results[number] = values
                self.done.put(len(values))
        except EOFError:
            pass
        except Exception:  # a broken worker: finish() sees batches missing
            self.broken = True
        finally:
            with contextlib.suppress(OSError):
                proc.stdout.close()
            self.done.put(None)

    def submit(self, jobs: list[Job]) -> int:
        """Queue ``jobs`` (at most :data:`BATCH`); the batch's number."""
        number = self.sent
        self.sent += 1
        if not self.broken:
            self.inboxes[number % len(self.inboxes)].put((number, jobs))
        return number

    def _advance(self, got: int | None) -> None:
        if got is None:
            self.finished += 1
        elif self.progress:
            self.progress(got)

    def poll(self) -> None:
        """Report what the workers finished so far (never waits)."""
        import queue

        while True:
            try:
                self._advance(self.done.get_nowait())
            except queue.Empty:
                return

    def abort(self) -> None:
        """Kill the workers and let the threads end (nothing is waited for but them)."""
        self.broken = True
        for proc in self.procs:
            proc.kill()
        for inbox in self.inboxes:
            inbox.put(None)
        for thread in self.threads:
            thread.join(timeout=5)
        for proc in self.procs:
            proc.wait()

    def finish(self) -> dict[int, list[Values]] | None:
        """Every batch's values by number, once all are done; None if a worker failed."""
        for inbox in self.inboxes:
            inbox.put(None)
        while self.finished < len(self.procs):
            self._advance(self.done.get())
        for thread in self.threads:
            thread.join()
        codes = [proc.wait() for proc in self.procs]
        if self.broken or any(codes) or len(self.results) != self.sent:
            return None
        return self.results


def _identify_pooled(
    jobs: list[Job], count: int, progress: Callable[[int], None] | None
) -> list[Values] | None:
    """Every job through a :class:`_Pool` of ``count`` workers; None (the caller goes
    serial) on any failure."""
    import sys

    if not sys.executable:
        return None
    pool = _Pool(count, progress)
    numbers = [pool.submit(jobs[i : i + BATCH]) for i in range(0, len(jobs), BATCH)]
    results = pool.finish()
    if results is None:
        return None
    return [value for number in numbers for value in results[number]]


def _worker() -> None:
    """Entry point of a pool worker: ``(number, jobs)`` batches pickled on stdin, each
    answered by ``(number, values)`` on stdout."""
    import pickle
    import sys

    source = sys.stdin.buffer
    out = sys.stdout.buffer
    while True:
        try:
            number, jobs = pickle.load(source)
        except EOFError:
            return
        pickle.dump((number, [identify_entry(job) for job in jobs]), out)
        out.flush()


#: What the walk's :class:`_Feed` got for one entry: (memo key, values, newly identified).
Key = tuple[int, int, int]
Known = tuple[Key, Values, bool]


def _orphan(area: str, body: Raw | None) -> bool:
    """Whether a record (found) is half an entry: ``http-v2`` keeps the body beside it."""
    return area == "http-v2" and body is None


def _memo_key(scanner: ScannerBase, record: Raw, body: Raw | None) -> tuple[str, Key]:
    """(real path, (size, mtime_ns, inode)) of the file an HTTP entry is memoised by: its
    body, else (a legacy ``http/`` record holds its body) its record."""
    rel, st = body if body is not None else record
    return scanner.real(rel), (st.st_size, st.st_mtime_ns, st.st_ino)


def _memo_hit(known: Mapping[str, tuple[Key, Values]], path: str, key: Key) -> Values | None:
    """The memoised identification of ``path`` if it is still the same file version."""
    found = known.get(path)
    if found is not None and found[0] == key and found[1].get("kind") in _KINDS:
        return found[1]
    return None


def _job(scanner: ScannerBase, area: str, record: Raw, body: Raw | None) -> Job:
    """:func:`identify_entry`'s argument for one HTTP entry."""
    real = scanner.real
    return (area, real(record[0]), real(body[0]) if body else None, body[1].st_size if body else 0)


class _Feed:
    """Identification that starts while the walk goes on: each HTTP directory, once read,
    gives its new entries (a record and its body are siblings) to a :class:`_Pool`, started
    when :data:`FEED_START` new entries are met (a small cache stays in one process), so
    reading bodies overlaps walking instead of following it."""

    def __init__(
        self, scanner: ScannerBase, known: Mapping[str, tuple[Key, Values]], count: int
    ) -> None:
        self.scanner = scanner
        self.known = known
        self.count = count
        self.progress: Callable[[int], None] | None = getattr(scanner, "progress", None)
        self.pending: list[tuple[str, Key, Job]] = []
        self.pool: _Pool | None = None
        self.sent: list[tuple[int, list[tuple[str, Key]]]] = []

    def on_dir(self, files: list[Raw], start: int) -> None:
        if start < len(files) and files[start][0].startswith("http"):
            self._collect(files, start)
        if self.pool is None and len(self.pending) >= FEED_START:
            self.pool = _Pool(self.count, self.progress)
        if self.pool is not None and len(self.pending) >= BATCH:
            while len(self.pending) >= BATCH:
                self._send()
            self.pool.poll()  # progress moves by batches: looking once a batch is enough

    def _collect(self, files: list[Raw], start: int) -> None:
        pairs: dict[tuple[str, str], list[Raw | None]] = {}
        for raw in files[start:]:
            shape = http_name(raw[0])
            if shape is not None and shape[2] != "tmp":
                pairs.setdefault(shape[:2], [None, None])[0 if shape[2] == "record" else 1] = raw
        for (area, _), (record, body) in pairs.items():
            if record is None or _orphan(area, body):
                continue  # nothing to identify
            path, key = _memo_key(self.scanner, record, body)
            if _memo_hit(self.known, path, key) is None:
                self.pending.append((path, key, _job(self.scanner, area, record, body)))

    def _send(self) -> None:
        assert self.pool is not None
        part, self.pending = self.pending[:BATCH], self.pending[BATCH:]
        number = self.pool.submit([job for _, _, job in part])
        self.sent.append((number, [(path, key) for path, key, _ in part]))

    def abort(self) -> None:
        """Stop the pool's workers at once (the walk failed or was interrupted)."""
        if self.pool is not None:
            self.pool.abort()

    def finish(self) -> dict[str, Known]:
        """What the pool identified, by memo path (nothing if it never started or failed:
        :func:`identify_http` then does those entries itself)."""
        if self.pool is None:
            return {}
        while self.pending:
            self._send()
        results = self.pool.finish()
        if results is None:
            return {}
        out: dict[str, Known] = {}
        for number, keys in self.sent:
            for (path, key), values in zip(keys, results[number], strict=True):
                out[path] = (key, values, True)
        return out


# ---------------------------------------------------------------------- the walk


# ---------------------------------------------------------------------- the scanner


#: One HTTP entry to identify: (area, the format of its record (``http-v2``: body beside
#: it; ``http``: body inside), record, body, every file of the entry in removal order).
HttpItem = tuple[str, str, Raw, Raw | None, list[Raw]]


def identify_http(
    scanner: ScannerBase,
    items: Sequence[HttpItem],
    memo: Memo | None,
    workers: int | None,
    progress: Callable[[int], None] | None,
    given: Mapping[str, Known] | None = None,
    known: Mapping[str, tuple[Key, Values]] | None = None,
) -> list[Entry]:
    """Entries for cachecontrol records (pip's, and poetry's repository caches): each
    identified from the memo when its body (else record) is unchanged, else read (in worker
    processes when many), the new answers stored back in the memo. ``given``: answers a
    :class:`_Feed` already got during the walk, by memo path; ``known``: the memo's rows
    for this cache, when already read."""
    given = given or {}
    if known is None:
        known = memo.get_many(scanner.real_top) if (memo and len(given) < len(items)) else {}
    values: list[Values | None] = []
    keys: list[tuple[str, tuple[int, int, int]]] = []
    jobs: list[tuple[str, str, str | None, int]] = []
    missing: list[int] = []
    fresh: list[tuple[str, tuple[int, int, int], Values]] = []
    hits = 0
    for index, (_, job_area, record, body, _) in enumerate(items):
        path, key = _memo_key(scanner, record, body)
        keys.append((path, key))
        pre = given.get(path)
        if pre is not None and pre[0] == key:
            values.append(pre[1])
            fresh.append((path, key, pre[1]))
            continue
        found = _memo_hit(known, path, key)
        values.append(found)
        if found is not None:
            hits += 1
            continue
        missing.append(index)
        jobs.append(_job(scanner, job_area, record, body))
    if progress and hits:
        progress(hits)
    for index, result in zip(missing, _identify_many(jobs, workers, progress), strict=True):
        values[index] = result
        fresh.append((*keys[index], result))
    if memo is not None and fresh:
        memo.put_many(fresh)
    out: list[Entry] = []
    for (area, _, record, _, files), got in zip(items, values, strict=True):
        assert got is not None
        out.append(
            scanner.entry(
                area,
                record[0],
                Kind(got.get("kind") or "unknown"),
                files,
                project=got.get("project"),
                version=got.get("version"),
                filename=got.get("filename"),
                content_type=got.get("content_type"),
                detail=got.get("detail"),
                date=got.get("date"),
                url=got.get("url"),
                sha256=got.get("sha256"),
            )
        )
    return out


class _Scanner(ScannerBase):
    tool = "pip"

    def __init__(
        self,
        host: Host,
        cache_dir: str,
        memo: Memo | None,
        identify: bool,
        progress: Callable[[int], None] | None,
        workers: int | None,
        dirs: list[DirStamp] | None = None,
    ) -> None:
        super().__init__(host, cache_dir)
        self.identify = identify
        self.memo = memo
        self.progress = progress
        self.workers = workers
        self.dirs = dirs
        self.given: Mapping[str, Known] = {}
        self.known: Mapping[str, tuple[Key, Values]] | None = None

    # ------------------------------------------------------------------ http entries

    def http_entries(self, pairs: dict[tuple[str, str], list[Raw | None]]) -> list[Entry]:
        out: list[Entry] = []
        pending: list[HttpItem] = []
        for (area, _), (record, body) in sorted(pairs.items()):
            if record is None or _orphan(area, body):
                what = "body without record" if record is None else "record without body"
                raws = [r for r in (record, body) if r is not None]
                out.append(self.entry(area, raws[0][0], Kind.ORPHAN, raws, detail=what))
                continue
            if not self.identify:
                raws = [record] if body is None else [record, body]
                out.append(self.entry(area, record[0], Kind.UNKNOWN, raws, detail="not identified"))
                continue
            pending.append((area, area, record, body, [record] if body is None else [record, body]))
        out += identify_http(
            self, pending, self.memo, self.workers, self.progress, self.given, self.known
        )
        return out

    def _feed(self, known: Mapping[str, tuple[Key, Values]]) -> _Feed | None:
        """A :class:`_Feed` when bodies may be identified in several processes."""
        if not self.identify or self.workers == 1:
            return None
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        count = min(self.workers or cpus or 1, 8)
        import sys

        return _Feed(self, known, count) if count > 1 and sys.executable else None

    # ------------------------------------------------------------------ wheels/

    def wheel_entries(self, raws: list[Raw]) -> list[Entry]:
        by_dir: dict[str, list[Raw]] = {}
        for raw in raws:
            by_dir.setdefault(raw[0].rsplit("/", 1)[0], []).append(raw)
        known = self.known or {}  # the memo's rows for the whole cache, read before the walk
        fresh: list[tuple[str, tuple[int, int, int], Values]] = []
        out: list[Entry] = []
        for folder, members in sorted(by_dir.items()):
            shaped = _wheel_dir_shaped(folder.split("/")[1:])
            origin = next((m for m in members if m[0].endswith("/origin.json")), None)
            wheels = [m for m in members if m[0].endswith(".whl")]
            for raw in members:
                if raw is not origin and raw not in wheels:
                    out.append(
                        self.entry("wheels", raw[0], Kind.STRAY, [raw], detail="not a built wheel")
                    )
            if not shaped:
                for raw in [*wheels, *([origin] if origin else [])]:
                    out.append(
                        self.entry(
                            "wheels",
                            raw[0],
                            Kind.STRAY,
                            [raw],
                            detail="outside pip's wheel cache layout",
                        )
                    )
                continue
            url = None
            if origin is not None and self.identify:
                url = self._origin_url(origin, known, fresh)
            for index, whl in enumerate(sorted(wheels)):
                files = [whl] + ([origin] if origin and index == 0 else [])
                out.append(self._built_wheel(whl, files, url))
            if origin and not wheels:
                out.append(
                    self.entry(
                        "wheels",
                        origin[0],
                        Kind.ORPHAN,
                        [origin],
                        detail="origin.json without a wheel",
                    )
                )
        if self.memo is not None and fresh:
            self.memo.put_many(fresh)
        return out

    def _origin_url(
        self,
        origin: Raw,
        known: Mapping[str, tuple[tuple[int, int, int], Values]],
        fresh: list[tuple[str, tuple[int, int, int], Values]],
    ) -> str | None:
        """The ``url`` of an ``origin.json`` (through the memo)."""
        path = self.real(origin[0])
        st = origin[1]
        key = (st.st_size, st.st_mtime_ns, st.st_ino)
        found = known.get(path)
        if found is not None and found[0] == key and found[1].get("kind"):
            return found[1].get("url")
        url: str | None = None
        try:
            fd = _open(path)
            try:
                doc = json.loads(os.pread(fd, 1 << 20, 0))
            finally:
                os.close(fd)
            candidate = doc.get("url") if isinstance(doc, dict) else None
            url = candidate[:2000] if isinstance(candidate, str) else None
        except (OSError, ValueError, RecursionError):
            url = None
        fresh.append((path, key, {"kind": "origin", "url": url}))
        return url

    def _built_wheel(self, whl: Raw, files: list[Raw], url: str | None) -> Entry:
        from packaging.utils import InvalidWheelFilename, parse_wheel_filename

        filename = whl[0].rsplit("/", 1)[1]
        try:
            name, version, _, _ = parse_wheel_filename(filename)
        except (InvalidWheelFilename, ValueError) as exc:
            return self.entry(
                "wheels",
                whl[0],
                Kind.CORRUPT,
                files,
                filename=filename,
                detail=f"bad wheel filename: {exc}"[:300],
                url=url,
            )
        return self.entry(
            "wheels",
            whl[0],
            Kind.BUILT_WHEEL,
            files,
            project=str(name),
            version=str(version),
            filename=filename,
            url=url,
        )

    # ------------------------------------------------------------------ all

    def _symlink_detail(self, rel: str) -> str:
        try:
            if stat.S_ISDIR(self.host.stat(self.path(rel)).st_mode):
                return "symlink to a directory"
        except (OSError, ValueError):
            pass
        return "symlink"

    def run(self) -> CacheScan:
        early = self.unusable()
        if early is not None:
            return early
        known = self.memo.get_many(self.real_top) if (self.memo and self.identify) else {}
        feed = self._feed(known)
        try:
            files, others, problems = self.walk(self.dirs, feed.on_dir if feed else None)
        except BaseException:  # Ctrl-C, or worse: stop the workers, do not wait for them
            if feed is not None:
                feed.abort()
            raise
        given = feed.finish() if feed else {}
        self.given, self.known = given, known
        entries: list[Entry] = []
        pairs: dict[tuple[str, str], list[Raw | None]] = {}
        wheels: list[Raw] = []
        for raw in files:
            rel = raw[0]
            area = rel.partition("/")[0]
            if area in HTTP_AREAS:
                shape = http_name(rel)
                if shape is None:
                    entries.append(
                        self.entry(area, rel, Kind.STRAY, [raw], detail="not a cache file name")
                    )
                elif shape[2] == "tmp":
                    detail = "temporary file of an interrupted write"
                    entries.append(self.entry(area, rel, Kind.ORPHAN, [raw], detail=detail))
                else:
                    slot = pairs.setdefault((area, shape[1]), [None, None])
                    slot[0 if shape[2] == "record" else 1] = raw
            elif area == "wheels" and rel != "wheels":
                wheels.append(raw)
            elif (area == "selfcheck" and rel != "selfcheck") or rel == "selfcheck.json":
                entries.append(self.entry("selfcheck", rel, Kind.SELFCHECK, [raw]))
            else:
                detail = "not part of pip's cache layout"
                entries.append(self.entry("", rel, Kind.STRAY, [raw], detail=detail))
        entries.extend(self.http_entries(pairs))
        entries.extend(self.wheel_entries(wheels))
        for rel, st in others:  # symlinks, fifos...: reported, never followed nor counted
            area = rel.partition("/")[0] if "/" in rel else ""
            detail = self._symlink_detail(rel) if stat.S_ISLNK(st.st_mode) else "special file"
            entries.append(self.entry(area, rel, Kind.STRAY, [(rel, st)], detail=detail))
        entries.sort(key=lambda e: e.key)
        size = physical = 0
        for _, st in files:
            size += st.st_size
            physical += st.st_blocks
        return CacheScan(
            tool="pip",
            cache_dir=self.top,
            exists=True,
            entries=tuple(entries),
            files=len(files),
            size=size,
            physical=physical * 512,
            problems=tuple(problems),
        )


def scan(
    host: Host,
    cache_dir: str,
    *,
    memo: Memo | None = None,
    identify: bool = True,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
    dirs: list[DirStamp] | None = None,
) -> CacheScan:
    """Every entry of the pip cache at system path ``cache_dir`` (see the module doc).

    ``identify=False``: a stat-only scan (sizes, files, shapes; HTTP entries stay
    ``unknown``). ``memo``: identifications are looked up and stored there, so a second
    scan only stats. ``progress(n)``: n more HTTP entries done. ``workers``: processes
    that identify bodies (None: one per CPU once :data:`POOL_MIN` bodies are new; 1: here).
    ``dirs``: collects every directory's stamp (for :mod:`cachecensus.snapshot`).
    """
    return _Scanner(host, cache_dir, memo, identify, progress, workers, dirs).run()


def record_body_sha256(fd: int, size: int) -> str | None:
    """sha256 of the body a legacy ``http/`` record (open at ``fd``, ``size`` bytes) holds
    inside it; None when the record holds none or cannot be parsed."""
    from cachecensus import identify as ident

    try:
        _, body = read_record(fd, size)
    except (OSError, ValueError):
        return None
    if isinstance(body, bytes):
        return ident.sha256_of(io.BytesIO(body))
    if isinstance(body, tuple):
        return ident.sha256_of(ident.Region(fd, body[0], body[1], tail=0))
    return None


def pip_info(result: CacheScan, pip_version: str | None = None) -> dict[str, Any]:
    """What ``pip cache info`` of ``pip_version`` (None: the newest, 26.3) reports, counted
    pip's way, beside the true entry counts.

    pip walks its HTTP cache and ``wheels`` with ``os.walk``: every non-directory name is
    a file (a record and its ``.body`` are two), symlinks count as files of size 0 (a
    symlink to a directory is neither), and a built wheel is any ``*-*.whl`` under
    ``wheels/``. Its HTTP cache is ``http-v2`` and ``http`` from pip 23.3 on, ``http``
    alone before (an older pip neither counts nor names ``http-v2``)."""
    import fnmatch

    top = result.cache_dir.rstrip("/")
    both = _pip_at_least(pip_version, "23.3")
    areas = HTTP_AREAS if both else ("http",)

    links = {
        f.path
        for e in result.entries
        if e.kind == Kind.STRAY and (e.detail or "").startswith("symlink")
        for f in e.files
    }

    def pip_files(areas: tuple[str, ...]) -> list[FileInfo]:
        return [
            f
            for e in result.entries
            if e.area in areas and e.detail != "symlink to a directory"
            for f in e.files
        ]

    def pip_size(files: list[FileInfo]) -> int:
        return sum(f.size for f in files if f.path not in links)

    http_files = pip_files(areas)
    wheel_files = pip_files(("wheels",))
    http_entries = [
        e for e in result.entries if e.area in areas and e.kind not in (Kind.STRAY, Kind.ORPHAN)
    ]
    return {
        "pip_version": pip_version,
        "http_cache_location": f"{top}/http-v2" if both else f"{top}/http",
        "old_http_cache_location": f"{top}/http" if both else None,
        "http_cache_size": pip_size(http_files),
        "http_files": len(http_files),  # pip counts a v2 record and its .body as two
        "http_entries": len(http_entries),  # what there really is
        "http_orphans": sum(1 for e in result.entries if e.area in areas and e.kind == Kind.ORPHAN),
        "wheels_cache_location": f"{top}/wheels",
        "wheels_cache_size": pip_size(wheel_files),
        "built_wheels": sum(
            1 for f in wheel_files if fnmatch.fnmatch(f.path.rsplit("/", 1)[1], "*-*.whl")
        ),
        "built_wheel_entries": sum(1 for e in result.entries if e.kind == Kind.BUILT_WHEEL),
    }


def _pip_at_least(pip_version: str | None, minimum: str) -> bool:
    from cachecensus.resolve.pipconfig import _at_least

    return _at_least(pip_version, minimum)


def format_size(n: float) -> str:
    """pip's ``format_size`` (the same in every pip with a ``cache`` command; no GB)."""
    if n > 1000 * 1000:
        return f"{n / 1000.0 / 1000:.1f} MB"
    if n > 10 * 1000:
        return f"{int(n / 1000)} kB"
    if n > 1000:
        return f"{n / 1000.0:.1f} kB"
    return f"{int(n)} bytes"


def pip_info_lines(info: Mapping[str, Any]) -> list[str] | None:
    """``pip cache info`` as the pip of ``info["pip_version"]`` words it (its
    ``commands/cache.py`` ``get_cache_info``), the true HTTP entry count added; None for a
    pip without a ``cache`` command (before 20.1)."""
    version = info.get("pip_version")
    files = f"{info['http_files']} ({info['http_entries']} cache entries)"
    http = format_size(info["http_cache_size"])
    wheels = format_size(info["wheels_cache_size"])
    if _pip_at_least(version, "23.3"):
        return [
            f"Package index page cache location (pip v23.3+): {info['http_cache_location']}",
            f"Package index page cache location (older pips): {info['old_http_cache_location']}",
            f"Package index page cache size: {http}",
            f"Number of HTTP files: {files}",
            f"Locally built wheels location: {info['wheels_cache_location']}",
            f"Locally built wheels size: {wheels}",
            f"Number of locally built wheels: {info['built_wheels']}",
        ]
    if _pip_at_least(version, "20.3"):
        built = "Locally built wheels" if _pip_at_least(version, "22.3") else "Wheels"
        number = "locally built wheels" if _pip_at_least(version, "22.3") else "wheels"
        return [
            f"Package index page cache location: {info['http_cache_location']}",
            f"Package index page cache size: {http}",
            f"Number of HTTP files: {files}",
            f"{built} location: {info['wheels_cache_location']}",
            f"{built} size: {wheels}",
            f"Number of {number}: {info['built_wheels']}",
        ]
    if _pip_at_least(version, "20.1"):
        return [
            f"Location: {info['wheels_cache_location']}",
            f"Size: {wheels}",
            f"Number of wheels: {info['built_wheels']}",
        ]
    return None


# ---------------------------------------------------------------------- the format interface
# (see cachecensus.caches: what every format module provides)

TOOL = "pip"
#: pip takes no lock on its cache (it writes each file atomically, ``adjacent_tmp_file``).
LOCK: str | None = None
#: pip only creates (by rename), replaces (by rename) and unlinks its cache files, never
#: rewrites one in place nor links one elsewhere: a scan stays true while no directory
#: changed (:mod:`cachecensus.snapshot`).
SNAPSHOT = True
#: The areas pip rebuilds on demand (``selfcheck/`` and the top level are not).
PURGE_AREAS = frozenset({"http", "http-v2", "wheels"})
#: The kinds ``purge`` takes from those areas (every entry pip would rebuild).
PURGEABLE = frozenset(
    {
        Kind.WHEEL,
        Kind.SDIST,
        Kind.INDEX_PAGE,
        Kind.BUILT_WHEEL,
        Kind.UNKNOWN,
        Kind.CORRUPT,
        Kind.ORPHAN,
    }
)
_TMP_EXACT = re.compile(r"^[0-9a-f]{56}(\.body)?[a-z0-9_]{8}\.tmp$")


def looks_like(host: Host, path: str) -> bool:
    """A pip cache has ``http-v2/``, ``http/``, ``wheels/`` or ``selfcheck/`` at its top."""
    return any(host.is_dir(f"{path.rstrip('/')}/{area}") for area in (*PURGE_AREAS, "selfcheck"))


def cache_shape(rel: str) -> str | None:
    """The role of ``rel`` (a path relative to a pip cache dir) if pip writes files there:
    ``record``, ``body``, ``tmp``, ``wheel`` or ``origin``; None for anything else.

    ``http[-v2]/a/b/c/d/e/<sha224>`` records (the five directories are the hash's first five
    hex digits, as pip's ``SafeFileCache._get_cache_path`` makes them), their ``.body``
    (``http-v2`` only), ``adjacent_tmp_file`` leftovers (``tempfile``'s 8-character
    suffix), and ``wheels/xx/yy/zz/<50 hex>/`` ``*.whl`` and ``origin.json``."""
    if rel.startswith("http"):
        found = http_name(rel)
        if found is None:
            return None
        area, _, role = found
        if role == "tmp":  # tempfile's own suffix: exactly 8 of its characters
            tmp = _TMP_EXACT.match(rel.rsplit("/", 1)[1])
            if not tmp or (area == "http" and tmp.group(1)):
                return None
        return role
    parts = rel.split("/")
    area = parts[0]
    if area == "wheels":
        if len(parts) != 6 or not _wheel_dir_shaped(parts[1:5]):
            return None
        name = parts[5]
        if name == "origin.json":
            return "origin"
        if name.endswith(".whl") and not name.startswith(".") and "-" in name[:-4]:
            return "wheel"
    return None


def purgeable(entry: Entry) -> bool:
    """``pip cache purge`` plus ``http/``: every entry of ``http/``, ``http-v2/``, ``wheels/``."""
    return entry.kind in PURGEABLE and entry.area in PURGE_AREAS


def closure(entries: Iterable[Entry], chosen: Iterable[Entry]) -> list[tuple[Entry, str]]:
    """pip's entries stand alone: removing one needs no other."""
    return []


def prune(entries: Iterable[Entry]) -> list[tuple[Entry, str]]:
    """pip has no prune of its own; what it can never use is its half entries (orphans) and
    the corrupt ones (a truncated wheel body: pip would serve it and fail on it)."""
    out: list[tuple[Entry, str]] = []
    for e in entries:
        if e.kind == Kind.ORPHAN:
            out.append((e, "orphan: pip can never serve it"))
        elif e.kind == Kind.CORRUPT and purgeable(e):
            out.append((e, "corrupt: pip can never use it"))
    return out


def artifact_file(entry: Entry) -> FileInfo | None:
    """The artifact's own file: an ``http-v2`` entry's body (not its record), a built
    wheel; none for a legacy ``http/`` record (its artifact is inside it)."""
    if entry.area == "http-v2" and len(entry.files) == 2:
        return entry.files[1]
    if entry.area == "wheels" and entry.kind == Kind.BUILT_WHEEL:
        return entry.files[0]
    return None


def artifact_in_record(entry: Entry) -> bool:
    """A legacy ``http/`` record holds its body inside it."""
    return entry.area == "http"


class PipFormat(CacheFormat):
    """pip's cache format: this module's functions, checked against the contract."""

    TOOL = TOOL
    LOCK = LOCK
    SNAPSHOT = SNAPSHOT
    looks_like = staticmethod(looks_like)
    scan = staticmethod(scan)
    cache_shape = staticmethod(cache_shape)
    purgeable = staticmethod(purgeable)
    closure = staticmethod(closure)
    prune = staticmethod(prune)
    artifact_file = staticmethod(artifact_file)
    artifact_in_record = staticmethod(artifact_in_record)
    record_sha256 = staticmethod(record_body_sha256)


#: The one instance :func:`cachecensus.caches.format_for` returns for pip.
FORMAT = PipFormat()
