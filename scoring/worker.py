"""The ranking worker process: where `scoring.ranking` computes, so the bot's own process never
loads NumPy, SciPy or scikit-learn (and returns their memory when the worker leaves).

This module must not rank or import the numerical libraries itself: it only runs the functions
`scoring.ranking` hands it, in a spawned process, one at a time.

The worker never outlives the bot: it watches its parent (`PR_SET_PDEATHSIG` on Linux, and a
parent-pid watch everywhere) and leaves the moment the parent dies, however it died; with it goes
multiprocessing's resource tracker, which leaves once no process holds its pipe.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")

IDLE_SECONDS = 30.0  # the worker leaves this long after its last ranking
PARENT_POLL_SECONDS = 0.5  # how often the worker checks that its parent is still there
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class Worker:
    """The ranking worker process: spawned for a ranking, kept while rankings keep coming, and
    shut down `IDLE_SECONDS` after the last one, which returns its memory.

    Spawned, not forked: a fork would copy the caller's memory and threads. Reusing the worker
    for back-to-back rankings spares each the second of CPU that importing scikit-learn takes.
    Any thread or event loop may submit; the state is guarded by one lock. The submissions
    themselves run on one long-lived thread of this object's: the pool starts its process in
    the submitting thread, and Linux's parent-death signal fires when that *thread* ends, so a
    short-lived caller's thread must never be the one that starts the worker.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._pending = 0
        self._retire: threading.Timer | None = None
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ranking-spawner")

    def submit(self, fn: Callable[..., T], *args: object) -> Future[T]:
        """`fn(*args)` in the worker; `fn` must be a module-level function (it is pickled)."""
        with self._lock:
            if self._retire is not None:
                self._retire.cancel()
                self._retire = None
            if self._pool is None:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=context,
                    initializer=watch_parent,
                    initargs=(os.getpid(),),
                )
            pool = self._pool
            self._pending += 1
        try:
            future = self._spawner.submit(pool.submit, fn, *args).result()
        except BrokenProcessPool:
            self._finished(pool, broken=True)
            raise
        future.add_done_callback(lambda done: self._finished(pool, broken=_broke(done)))
        return future

    def _finished(self, pool: ProcessPoolExecutor, broken: bool) -> None:
        with self._lock:
            self._pending -= 1
            if broken and self._pool is pool:
                self._pool = None  # the next ranking starts a new worker
            if self._pending == 0 and self._pool is not None:
                self._retire = threading.Timer(IDLE_SECONDS, self._shut_down, [self._pool])
                self._retire.daemon = True
                self._retire.start()
        if broken:
            pool.shutdown(wait=False)

    def _shut_down(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is not pool or self._pending:
                return  # a ranking came in meanwhile
            self._pool = self._retire = None
        pool.shutdown(wait=False)


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


def _broke(future: Future[Any]) -> bool:
    return not future.cancelled() and isinstance(future.exception(), BrokenProcessPool)


WORKER = Worker()
"""The one ranking worker of this process."""
