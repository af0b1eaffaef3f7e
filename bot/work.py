"""Work done once: whether a unit of work is done, in progress, or free, for every caller.

Every unit of work the bot does (a day's feed for a category set, a day's ranking under a
ranking key, the scoring of papers under one criteria, model and prompt, a channel's digest of a
day, its delivery) has a key. This module is the only place that decides who does a unit:

- inside one process, concurrent callers of the same key share one task (`once`) or queue for
  one lock (`exclusive`), like Go's singleflight;
- across processes sharing a database, the caller that does the work holds a lease row in the
  store (owner, expiry, taken atomically). The holder renews it while it works; a lease whose
  owner died expires after `ttl` seconds and the next caller takes over, finishing what is left
  (every unit's result is stored as it is made, so a take-over redoes only what was lost).
  Expiry is judged by the database's clock alone: this module never reads the process's clock
  for a lease, so replicas whose clocks disagree still agree on who holds what.

Each take-over grows the lease's epoch. A holder that writes where a stale holder must not
(delivering a thread) holds the unit with `hold`, gets its `Fence` (key, owner, epoch) and
makes those writes under it: the store checks the fence in the write's own transaction, so a
process that paused past its lease (a VM pause, a long GC, swap) and woke up after another took
over has its writes refused and stops (`bot.errors.LeaseLost`).

Whether a unit is already done is the caller's question (`load`), answered from the store: a
unit's result is its stored row, so a unit done by another process is found, not redone.

This module must not know what the work is: it never fetches, ranks, scores or posts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar, cast

from bot.store import Fence, Lease, Store

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TTL = 120.0
"""Seconds a lease lasts without renewal: how long a dead process's work waits for a
take-over."""


def process_name() -> str:
    """This process's name as a lease owner: host, pid and a nonce (pids are reused)."""
    return f"{_here()}:{os.getpid()}:{secrets.token_hex(3)}"


def _here() -> str:
    """This host and pid namespace: two containers with one hostname do not see each other's
    pids, so a pid is only judged where it was taken."""
    try:
        namespace = f"/{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}{namespace}"


def _dead_here(owner: str) -> bool:
    """Whether a lease owner was a process of this host that no longer runs (a restart after a
    crash need not wait for its own old lease to expire). Owners elsewhere are never judged."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != _here() or not pid_text.isascii() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


class Work:
    """Shares units of work between concurrent callers and processes (see module docstring)."""

    def __init__(
        self,
        store: Store,
        *,
        owner: str | None = None,
        ttl: float = DEFAULT_TTL,
        poll: float = 0.25,
        renew: float | None = None,
    ) -> None:
        self._store = store
        self.owner = owner or process_name()
        self.ttl = ttl
        self._poll = poll
        self._renew_every = renew if renew is not None else ttl / 3
        self._fenced: set[str] = set()
        self._inflight: dict[str, asyncio.Task[object]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def once(
        self,
        key: str,
        load: Callable[[], Awaitable[T | None]],
        make: Callable[[], Awaitable[T]],
    ) -> T:
        """The unit's result: `load()` when it is done already, otherwise `make()` run by
        exactly one caller in one process while everyone else waits for it. A caller that is
        cancelled does not cancel the shared work."""
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._load_or_make(key, load, make))
            self._inflight[key] = task
            task.add_done_callback(lambda _: self._forget(key, task))
        return cast(T, await asyncio.shield(task))

    async def _load_or_make(
        self,
        key: str,
        load: Callable[[], Awaitable[T | None]],
        make: Callable[[], Awaitable[T]],
    ) -> T:
        done = await load()
        if done is not None:
            return done
        async with self.exclusive(key):
            done = await load()  # another process may have finished it while we waited
            if done is not None:
                return done
            return await make()

    async def stop(self) -> None:
        """Cancel the shared work still in flight in this process and wait until it has let go
        (leases given back), so nothing runs on after the store and sessions it uses close."""
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _forget(self, key: str, task: asyncio.Task[object]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled() and task.exception() is not None:
            task.exception()  # retrieved: the callers re-raise it

    @asynccontextmanager
    async def exclusive(self, key: str) -> AsyncIterator[None]:
        """Hold the unit alone: one caller of this process at a time, and no other process
        while the lease is held (waiting, polling, for a live holder to finish or a dead one's
        lease to expire)."""
        async with self._lock(key):
            while not await self._take(key):  # noqa: ASYNC110 - the holder is another process
                await asyncio.sleep(self._poll)
            async with self._holding(key):
                yield

    @asynccontextmanager
    async def attempt(self, key: str) -> AsyncIterator[bool]:
        """Hold the unit if nobody else does, without waiting: yields False when another
        caller or process is doing it (and then does nothing)."""
        async with self.hold(key) as fence:
            yield fence is not None

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[Fence | None]:
        """Like `attempt`, yielding the holding's `Fence` (None: someone else holds it), under
        which the holder makes the writes a stale holder must not make."""
        lock = self._lock(key)
        if lock.locked():
            yield None
            return
        async with lock:
            epoch = await self._take(key)
            if not epoch:
                yield None
                return
            self._fenced.add(key)
            try:
                async with self._holding(key):
                    yield Fence(key, self.owner, epoch, self.ttl)
            finally:
                self._fenced.discard(key)

    async def orphans(self, prefix: str) -> list[str]:
        """Keys starting with `prefix` whose holder is gone: the lease expired by the database's
        clock, or its holder was a process of this host that no longer runs. Any process may
        take them over now."""
        expired = {lease.key for lease in await self._store.work.expired_leases(prefix)}
        dead = {
            lease.key
            for lease in await self._store.work.leases()
            if lease.key.startswith(prefix) and _dead_here(lease.owner)
        }
        return sorted(expired | dead)

    def gone(self, owner: str) -> bool:
        """Whether `owner` (of a lease or a budget hold) is known to be dead: a process of this
        host that no longer runs. Owners elsewhere are never judged; theirs expire."""
        return _dead_here(owner)

    async def signal(self, key: str, seconds: float) -> None:
        """Raise a flag every process can see for `seconds` (e.g. "a command is waiting for
        these scores": a batch in progress then finishes early)."""
        await self._store.work.take_lease(key, self.owner, seconds)

    async def signalled(self, key: str) -> bool:
        """Whether a flag raised by any process is up."""
        return await self._store.work.live_lease(key) is not None

    async def held(self, key: str) -> bool:
        """Whether some caller or process holds the unit right now."""
        if self._lock(key).locked():
            return True
        return await self._store.work.live_lease(key) is not None

    async def leases(self) -> list[Lease]:
        """What every process holds (for `status`)."""
        return await self._store.work.leases()

    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    async def _take(self, key: str) -> int:
        """The lease's epoch if this process holds the unit now, else 0."""
        epoch = await self._store.work.take_lease(key, self.owner, self.ttl)
        if epoch:
            return epoch
        holder = await self._store.work.lease(key)
        if holder is None or not _dead_here(holder.owner):
            return 0
        log.info("work %s: its holder %s is no longer running; taking it over", key, holder.owner)
        return await self._store.work.take_lease(key, self.owner, self.ttl, replacing=holder.owner)

    @asynccontextmanager
    async def _holding(self, key: str) -> AsyncIterator[None]:
        """Renew the lease while the body runs; give it back afterwards."""
        renewal = asyncio.create_task(self._renew(key))
        try:
            yield
        finally:
            renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewal
            # a cancelled holder still gives its lease back, so nobody waits out the ttl
            await asyncio.shield(self._store.work.release_lease(key, self.owner))

    async def _renew(self, key: str) -> None:
        while True:
            await asyncio.sleep(self._renew_every)
            if not await self._store.work.renew_lease(key, self.owner, self.ttl):
                if key in self._fenced:
                    return  # its fenced writes are refused; the holder says so when it stops
                log.warning(
                    "work %s: the lease expired while this process was busy and another "
                    "process took it over; both finish, stored results are shared",
                    key,
                )
                return
