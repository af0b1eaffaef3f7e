"""Progress of a digest on stderr: a redrawn status line on a terminal, one line per stage
elsewhere (a pipe, a log file, cron).

It owns nothing but the display; pipelines report (stage, done, total) to it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Protocol, TextIO


class Progress(Protocol):
    """What a command reports its stages to, and clears before printing its result."""

    def __call__(self, stage: str, done: int, total: int) -> None:
        """The pipeline is at `stage`, `done` of `total` (a total of 1 means no counter)."""
        ...

    def finish(self) -> None:
        """The command's work is done: show the last stage as finished."""
        ...

    def clear(self) -> None:
        """Take the display away before the result (or an error) is printed."""
        ...


def progress_display(stream: TextIO | None = None) -> Progress:
    """A status line when the stream (stderr by default) is a terminal, else stage lines."""
    out = stream if stream is not None else sys.stderr
    return TerminalProgress(out) if out.isatty() else StageLines(out)


class TerminalProgress:
    """Redraws one status line; silent when the stream is not a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._active = self._stream.isatty()
        self._drawn = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self._active:
            return
        counter = f" {done}/{total}" if total > 1 else ""
        self._stream.write(f"\r\x1b[K{stage}{counter}")
        self._stream.flush()
        self._drawn = True

    def finish(self) -> None:
        """Nothing to add: the result follows."""
        self.clear()

    def clear(self) -> None:
        """Erase the status line before the result is printed."""
        if self._drawn:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._drawn = False


class StageLines:
    """One line per finished stage, with its count and seconds, e.g.
    ``arxiv-bot: scoring with the LLM: 1000/1000 papers in 22.4 s``."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._clock = clock
        self._stage: str | None = None
        self._started = 0.0
        self._done = 0
        self._total = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage:
            self._finish()
            self._stage, self._started = stage, self._clock()
        self._done, self._total = done, total

    def finish(self) -> None:
        """Write the last stage's line."""
        self._finish()

    def clear(self) -> None:
        """Drop the stage in progress unwritten: an error line says where it stopped."""
        self._stage = None

    def _finish(self) -> None:
        if self._stage is None:
            return
        seconds = self._clock() - self._started
        if self._total <= 1:
            count = ""
        elif self._done == 0:
            count = f"{self._total} papers in "
        else:
            count = f"{self._done}/{self._total} papers in "
        self._stream.write(f"arxiv-bot: {self._stage}: {count}{seconds:.1f} s\n")
        self._stream.flush()
        self._stage = None
