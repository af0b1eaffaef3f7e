"""Running `arxiv-bot` as a user does, in a child process that sees only the environment a test
gives it: its working directory is the test's own, so no developer `.env` is read."""

from __future__ import annotations

import asyncio
import contextlib
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


class Terminal:
    """`python -m bot ARGS` on a pseudo-terminal, as a person at a terminal runs it: stdin and
    stdout are a tty (so the bot prompts), stderr is kept apart. `read_until` waits for text on
    the screen and says when it came; `type` sends a line; `close` ends input (Ctrl-D)."""

    def __init__(self, env: dict[str, str], cwd: Path, *args: str) -> None:
        self._env, self._cwd, self._args = env, cwd, args
        self.screen = ""
        self.started = 0.0
        self._proc: asyncio.subprocess.Process | None = None
        self._master = -1
        self._more = asyncio.Event()

    async def __aenter__(self) -> Terminal:
        import pty

        self._master, slave = pty.openpty()
        self.started = time.monotonic()
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *self._args,
            env={"PATH": os.environ.get("PATH", ""), "TERM": "dumb", **self._env},
            cwd=self._cwd,
            stdin=slave,
            stdout=slave,
            stderr=asyncio.subprocess.PIPE,
        )
        os.close(slave)
        asyncio.get_running_loop().add_reader(self._master, self._read)
        return self

    async def __aexit__(self, *_: object) -> None:
        asyncio.get_running_loop().remove_reader(self._master)
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
            await self._proc.wait()
        os.close(self._master)

    def _read(self) -> None:
        try:
            data = os.read(self._master, 65536)
        except OSError:  # the child closed its end
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self._master)
        self.screen += data.decode(errors="replace").replace("\r\n", "\n")
        self._more.set()

    async def read_until(self, text: str, within: float = 30.0) -> float:
        """Seconds from the start until `text` was on the screen (at most `within` from now)."""
        deadline = time.monotonic() + within
        while text not in self.screen:
            self._more.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{text!r} never showed; the screen:\n{self.screen[-2000:]}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._more.wait(), left)
        return time.monotonic() - self.started

    def type(self, line: str) -> None:
        """Type a line and press Enter."""
        os.write(self._master, line.encode() + b"\n")

    async def close(self, within: float = 30.0) -> tuple[int, str]:
        """Ctrl-D, then the exit code and what went to stderr (waiting at most `within`)."""
        os.write(self._master, b"\x04")
        assert self._proc is not None
        assert self._proc.stderr is not None
        err = await asyncio.wait_for(self._proc.stderr.read(), within)
        code = await asyncio.wait_for(self._proc.wait(), within)
        return code, err.decode()
