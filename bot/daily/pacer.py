"""Where the pacing of posts is kept and how a post waits for its slot: one process's memory,
or the store, which every replica on one database shares.

A post names its keys and their rates (its channel, its workspace, the operator's cap: see
`bot.daily.pacing`) and gets one slot that every key admits, claimed for all of them at once.
`StoredPacing` claims the slots of every post of this process that is waiting at that moment in
one store transaction (`bot.store`'s `pace`, on the database's clock): while one batch is on
its way, the next one gathers, so a busy process makes a few round trips a batch, not a few a
post, and N replicas together never post into a channel or a workspace faster than its rate.
A 429's hold (`hold`) is a state like any other, seen by every replica's next claim; a post
that learns of a hold on its key while it waits claims a new slot after it.

`Paced` is the waiting: claim, sleep until the slot, claim again if the key was held
meanwhile. This module must not know a platform nor decide the rates (`bot.daily.pacing`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.daily.pacing import Rate, claim, held
from bot.store import Store

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
Rates = Mapping[str, Rate]
PaceState = tuple[float | None, int]  # a key's next slot and how often it was held


@dataclass(frozen=True, slots=True)
class Slot:
    """A post's claimed slot: seconds until it, and how often its watched key (its
    workspace) had been held when it was claimed."""

    wait: float
    holds: int


class Pacing(Protocol):
    """Where the keys' states live."""

    async def claim(self, rates: Rates, watch: str) -> Slot:
        """One slot that every key of `rates` admits, taken for all of them."""
        ...

    async def hold(self, key: str, rate: Rate, retry_after: float) -> None:
        """Nothing passes `key` for `retry_after` s (a 429 said so)."""
        ...

    def holds(self, key: str) -> int:
        """How often `key` was held, as far as this process knows."""
        ...


def _claim_all(
    states: Mapping[str, PaceState], posts: list[tuple[Rates, str]], now: float
) -> tuple[dict[str, PaceState], list[Slot]]:
    """The slots of `posts` in order, and the keys' states after them (pure)."""
    tats = {k: s[0] for k, s in states.items()}
    slots = []
    for rates, watch in posts:
        slot, after = claim(tats, rates, now)
        tats.update(after)
        slots.append(Slot(slot - now, states.get(watch, (None, 0))[1]))
    changed = {k: (tats[k], states.get(k, (None, 0))[1]) for k in {k for r, _ in posts for k in r}}
    return changed, slots


class LocalPacing:
    """One process's pacing, in memory (a bot alone on its database, the tests)."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._states: dict[str, PaceState] = {}

    async def claim(self, rates: Rates, watch: str) -> Slot:
        changed, slots = _claim_all(self._states, [(rates, watch)], self._clock())
        self._states.update(changed)
        return slots[0]

    async def hold(self, key: str, rate: Rate, retry_after: float) -> None:
        tat, holds = self._states.get(key, (None, 0))
        self._states[key] = (held(tat, self._clock(), retry_after, rate), holds + 1)

    def holds(self, key: str) -> int:
        return self._states.get(key, (None, 0))[1]


class StoredPacing:
    """The pacing every process on the database shares, claimed in batches (see module
    docstring)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._waiting: list[tuple[Rates, str, asyncio.Future[Slot]]] = []
        self._claiming: asyncio.Task[None] | None = None
        self._holds: dict[str, int] = {}
        self.batches = 0  # store transactions made for claims (a figure for benchmarks)

    async def claim(self, rates: Rates, watch: str) -> Slot:
        future: asyncio.Future[Slot] = asyncio.get_running_loop().create_future()
        self._waiting.append((rates, watch, future))
        if self._claiming is None or self._claiming.done():
            self._claiming = asyncio.create_task(self._claim_waiting())
        return await future

    async def _claim_waiting(self) -> None:
        """Claim for every post waiting, one store transaction a batch, until none waits."""
        while self._waiting:
            batch, self._waiting = self._waiting, []
            posts = [(rates, watch) for rates, watch, _ in batch]

            def decide(
                states: Mapping[str, PaceState], now: float, posts: list[tuple[Rates, str]] = posts
            ) -> tuple[dict[str, PaceState], list[Slot]]:
                for key, (_, holds) in states.items():
                    self._holds[key] = holds
                return _claim_all(states, posts, now)

            keys = {k for rates, _ in posts for k in rates}
            try:
                slots = await self._store.work.pace(keys, decide)
            except Exception as exc:  # every post of the batch fails with the store
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.batches += 1
            for (_, _, future), slot in zip(batch, slots, strict=True):
                if not future.done():  # a post cancelled meanwhile leaves its slot unused
                    future.set_result(slot)

    async def hold(self, key: str, rate: Rate, retry_after: float) -> None:
        def decide(
            states: Mapping[str, PaceState], now: float
        ) -> tuple[dict[str, PaceState], None]:
            tat, holds = states.get(key, (None, 0))
            self._holds[key] = holds + 1
            return {key: (held(tat, now, retry_after, rate), holds + 1)}, None

        await self._store.work.pace([key], decide)

    def holds(self, key: str) -> int:
        return self._holds.get(key, 0)


class Paced:
    """Waits for posts' slots in a `Pacing` (sleep injectable, so tests never wait)."""

    def __init__(self, pacing: Pacing | None = None, sleep: Sleep = asyncio.sleep) -> None:
        self.pacing: Pacing = pacing or LocalPacing()
        self._sleep = sleep

    async def wait(self, rates: Rates, watch: str) -> None:
        """Return at this post's slot (claimed at once, so concurrent posts queue in order);
        a post whose `watch` key is held while it waits claims a new slot after the hold."""
        while True:
            slot = await self.pacing.claim(rates, watch)
            if slot.wait > 0:
                await self._sleep(slot.wait)
            if self.pacing.holds(watch) == slot.holds:
                return

    async def hold(self, key: str, rate: Rate, retry_after: float) -> None:
        """`key` takes nothing for `retry_after` s, posts already waiting included."""
        await self.pacing.hold(key, rate, retry_after)
