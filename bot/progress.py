"""A one-line progress display on stderr, shown only when stderr is a terminal.

It owns nothing but the display; pipelines report (stage, done, total) to it.
"""

from __future__ import annotations

import sys
from typing import TextIO


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

    def clear(self) -> None:
        """Erase the status line before the result is printed."""
        if self._drawn:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._drawn = False
