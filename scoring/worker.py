"""The ranking worker process: where `scoring.ranking` computes, so the bot's own process never
loads NumPy, SciPy or scikit-learn (and returns their memory when the worker leaves).

This module must not rank or import the numerical libraries itself: it only runs the functions
`scoring.ranking` hands it, one at a time, in a child process of its own.

The child is a plain `python -m scoring.worker`, spoken to over its stdin and stdout (pickled
calls and results), not a multiprocessing pool: a spawned pool child re-imports the parent's
main module (the whole bot's command line, ~15 MB) and brings a resource tracker process
(~8 MB), neither of which a ranking needs. The child imports only what the functions it is
handed import.

The worker never outlives the bot: its stdin closes when the bot dies, however it died, and
the child leaves at that end of file; while it computes it is not reading, so it also watches
its parent (`PR_SET_PDEATHSIG` on Linux, and a parent-pid watch everywhere).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import IO, Any, TypeVar

T = TypeVar("T")

IDLE_SECONDS = 30.0  # the worker leaves this long after its last ranking
PARENT_POLL_SECONDS = 0.5  # how often the worker checks that its parent is still there
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_LENGTH = struct.Struct("<Q")  # each message's length, ahead of it
_SOURCE = str(Path(__file__).resolve().parents[1])  # the child imports this very checkout


class WorkerDied(RuntimeError):
    """The worker process ended during a call (killed, out of memory): the call is lost, the
    next one starts a new worker."""


class Worker:
    """The ranking worker process: started for a ranking, kept while rankings keep coming, and
    told to leave `IDLE_SECONDS` after the last one, which returns its memory.

    A new interpreter, not a fork: a fork would copy the caller's memory and threads. Reusing
    the worker for back-to-back rankings spares each the second of CPU that importing
    scikit-learn takes. Any thread or event loop may submit; calls take turns, in order, on
    one thread of this object's that starts the process, feeds it and reads its answers. That
    thread lives as long as the process: Linux's parent-death signal fires when the *thread*
    that started the child ends, so it must never be a short-lived caller's.
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._calls: deque[tuple[Future[Any], Callable[..., Any], tuple[object, ...]]] = deque()
        self._thread: threading.Thread | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The worker process's id while it runs (None: no worker now)."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def submit(self, fn: Callable[..., T], *args: object) -> Future[T]:
        """`fn(*args)` in the worker; `fn` and the arguments are pickled (a module-level
        function). Cancelling the future drops a call that has not begun."""
        future: Future[T] = Future()
        with self._lock:
            self._calls.append((future, fn, args))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="ranking-worker", daemon=True
                )
                self._thread.start()
            self._lock.notify()
        return future

    def _serve(self) -> None:
        """The worker's thread: run the calls as they come, until none came for a while."""
        process: subprocess.Popen[bytes] | None = None
        try:
            while (call := self._next()) is not None:
                process = self._run(process, *call)
                del call  # not kept while waiting for the next: its arguments may be large
        finally:
            if process is not None:
                _end(process, kill=False)
            self._process = None

    def _run(
        self,
        process: subprocess.Popen[bytes] | None,
        future: Future[Any],
        fn: Callable[..., Any],
        args: tuple[object, ...],
    ) -> subprocess.Popen[bytes] | None:
        """One call, in `process` (or a new worker); the worker to use for the next one."""
        if not future.set_running_or_notify_cancel():
            return process
        try:
            request = pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # the caller's mistake: the caller's error
            future.set_exception(error)
            return process
        if process is None:
            process = self._process = _start()
        try:
            answer = _call(process, request)
        except (OSError, EOFError):  # it ended: the next call starts a new one
            _end(process, kill=True)
            self._process = None
            future.set_exception(WorkerDied("the ranking worker ended during a call"))
            return None
        try:
            ok, value = pickle.loads(answer)
        except Exception as error:  # an answer this process cannot read
            future.set_exception(error)
            return process
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
        return process

    def _next(self) -> tuple[Future[Any], Callable[..., Any], tuple[object, ...]] | None:
        """The next call, waiting up to `IDLE_SECONDS` for one; None: time to leave (and the
        next submission starts a new thread and worker)."""
        with self._lock:
            if not self._calls:
                self._lock.wait(IDLE_SECONDS)
            if not self._calls:
                self._thread = None
                return None
            return self._calls.popleft()


def _start() -> subprocess.Popen[bytes]:
    """A new worker process, importing this checkout's code (`-P`: not the directory the bot
    was started in)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_SOURCE, env.get("PYTHONPATH")) if p)
    return subprocess.Popen(
        [sys.executable, "-P", "-m", "scoring.worker", str(os.getpid())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )


def _call(process: subprocess.Popen[bytes], request: bytes) -> bytes:
    """Send one pickled call, read its pickled answer, (True, result) or (False, error)."""
    assert process.stdin is not None
    assert process.stdout is not None
    _send(process.stdin, request)
    return _receive(process.stdout)


def _send(pipe: IO[bytes], data: bytes) -> None:
    """One message: its length, then its bytes (so a message that cannot be unpickled at the
    other end is skipped whole, and the stream stays in step)."""
    pipe.write(_LENGTH.pack(len(data)) + data)
    pipe.flush()


def _receive(pipe: IO[bytes]) -> bytes:
    """The next message (EOFError: the other end closed the pipe)."""
    head = pipe.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError
    (size,) = _LENGTH.unpack(head)
    data = pipe.read(size)
    if len(data) < size:
        raise EOFError
    return data


def _end(process: subprocess.Popen[bytes], *, kill: bool) -> None:
    """Let the worker go: its stdin closes, it leaves at the end of file (or is killed when
    it is in no state to read)."""
    if kill:
        process.kill()
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- the worker process's side ---------------------------------------------------------------


def serve(parent: int, calls: IO[bytes], answers: IO[bytes]) -> None:
    """Run in the worker: answer each pickled call of `calls` on `answers`, until the end of
    file (the bot let it go, or died)."""
    watch_parent(parent)
    while True:
        try:
            request = _receive(calls)
        except EOFError:
            return
        _send(answers, answer_to(request))
        del request  # the call's arguments go before its memory is handed back
        give_back()


def answer_to(request: bytes) -> bytes:
    """A pickled call's pickled answer: (True, result), or (False, the error it raised)."""
    try:
        fn, args = pickle.loads(request)  # a function of the bot's `__main__` is not here
        answer: tuple[bool, Any] = (True, fn(*args))
    except Exception as error:  # raised again in the caller
        answer = (False, error)
    try:
        return pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:  # an answer that cannot travel
        return pickle.dumps((False, RuntimeError(f"{answer[1]!r}: {error}")))


def give_back() -> None:
    """Return a finished call's memory to the system: its arrays and matrices are freed, but
    glibc keeps the freed heap for reuse unless asked (`malloc_trim`), and an idle worker
    should cost the bot's tree its imports only.

    What survives the collection (the imports, the day `scoring.ranking` keeps) is then moved
    out of the collector's reach (`gc.freeze`): a full collection walks the ~200k objects of
    scikit-learn's imports for 0.1-0.3 s, and the next call's would walk them again, while the
    rankings of a day under each criteria key take about 0.05 s each. Frozen objects are still
    freed when the last reference goes; a cycle among them is freed when the worker leaves."""
    gc.collect()
    gc.freeze()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).malloc_trim(0)


def watch_parent(parent: int) -> None:
    """Run in the worker as it starts: leave as soon as `parent` (the bot) is gone.

    Linux delivers SIGKILL on the parent's death (`PR_SET_PDEATHSIG`); everywhere, and for a
    parent that died before the signal was asked for, a daemon thread sees the worker handed to
    another parent and leaves. Nothing of the worker's needs cleaning up: it holds no state.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # no prctl here: the watch below still holds
    threading.Thread(target=_leave_with, args=(parent,), name="parent-watch", daemon=True).start()


def _leave_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)


def main() -> None:
    """`python -m scoring.worker PARENT_PID`: the worker process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the bot, which lets it go
    calls, answers = sys.stdin.buffer, sys.stdout.buffer
    sys.stdin = sys.stdout = sys.stderr  # nothing a function prints may enter the answers
    serve(int(sys.argv[1]), calls, answers)


WORKER = Worker()
"""The one ranking worker of this process."""

if __name__ == "__main__":
    main()
