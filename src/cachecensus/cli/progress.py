"""A progress bar on stderr for long scans: only on a TTY, never with --json, and only
once the work has run for more than half a second (short runs stay silent)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: Seconds of work before a bar appears (``CACHECENSUS_PROGRESS_DELAY`` overrides it).
DELAY_S = 0.5


def _delay() -> float:
    try:
        return float(os.environ.get("CACHECENSUS_PROGRESS_DELAY", DELAY_S))
    except ValueError:
        return DELAY_S


class _Bar:
    def __init__(self, enabled: bool, total: int | None, label: str) -> None:
        self.enabled = enabled
        self.total = total
        self.label = label
        self.started = time.monotonic()
        self.delay = _delay()
        self.done = 0
        self._progress: Any = None
        self._task: Any = None

    def advance(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        if self._progress is None:
            if time.monotonic() - self.started < self.delay:
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=self.total)
        self._progress.update(self._task, completed=self.done)

    def relabel(self, label: str, total: int | None = None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        if self._progress is not None:
            self._progress.update(self._task, description=label, total=total, completed=0)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


@contextmanager
def progress(label: str, *, json_output: bool, total: int | None = None) -> Iterator[_Bar]:
    """``with progress("scanning", json_output=...) as bar: scan(..., progress=bar.advance)``."""
    enabled = not json_output and sys.stderr.isatty()
    bar = _Bar(enabled, total, label)
    try:
        yield bar
    finally:
        bar.close()


ProgressCallback = Callable[[int], None]
