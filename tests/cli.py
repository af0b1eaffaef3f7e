"""Running `arxiv-bot` as a user does, in a child process that sees only the environment a test
gives it: its working directory is the test's own, so no developer `.env` is read."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class CliResult:
    """What one run printed, how it ended and how long it took."""

    code: int
    out: str
    err: str
    seconds: float


async def run_cli(
    env: dict[str, str], cwd: Path, *args: str, stdin: str | None = None
) -> CliResult:
    """`python -m bot ARGS` in `cwd` with exactly `env` (and PATH) while the fakes keep serving;
    `stdin` is what a user types (nothing when None)."""
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env={"PATH": os.environ.get("PATH", ""), **env},
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    typed = stdin.encode() if stdin is not None else None
    out, err = await asyncio.wait_for(proc.communicate(typed), timeout=120)
    return CliResult(proc.returncode or 0, out.decode(), err.decode(), time.monotonic() - started)
