"""Rate limits on what people can make the bot do: sliding windows over an injected clock.

This module owns `Limit` ("at most N uses per window"), its settings text (`5/min`, `30/h`,
`10/90s`, `off`), `RateLimits` (the bot's limits: commands that post publicly or spend money,
and changes to a channel, each per person and per channel, and the costly commands of the
whole bot) and `RateLimiter`, which checks
several keyed limits at once and records a use only when all of them admit it. Which command
counts against which limit is decided by `bot.conversation.dispatch`.

This module must not do I/O, sleep, read settings or know any platform.
"""

from __future__ import annotations

import math
import re
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from bot.i18n import _

Clock = Callable[[], float]

_UNITS: Final = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hour": 3600.0}
_LIMIT_RE: Final = re.compile(r"^(\d{1,6})\s*/\s*(\d{0,6})\s*([a-z]+)$")
MAX_KEYS: Final = 10_000


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `count` uses in any `per` seconds."""

    count: int
    per: float

    def __str__(self) -> str:
        for unit, seconds in (("h", 3600), ("min", 60)):
            if self.per == seconds:
                return f"{self.count} per {'hour' if unit == 'h' else 'minute'}"
        return f"{self.count} per {self.per:g} s"

    def words(self) -> str:
        """The limit for people, in the reader's language: '5 per minute'."""
        if self.per == 3600:
            return _("{count} per hour").format(count=self.count)
        if self.per == 60:
            return _("{count} per minute").format(count=self.count)
        return _("{count} per {seconds} s").format(count=self.count, seconds=f"{self.per:g}")


def parse_limit(text: str) -> Limit | None:
    """`5/min`, `30/h`, `10/90s` as a Limit; `off` as None. Raises ValueError otherwise."""
    value = text.strip().lower()
    if value in ("off", "none", "0"):
        return None
    match = _LIMIT_RE.match(value)
    if match is None or match[3] not in _UNITS:
        raise ValueError("expected uses per time, e.g. 5/min, 30/h, 10/90s, or off")
    count, times, unit = int(match[1]), int(match[2] or 1), _UNITS[match[3]]
    if count < 1 or times < 1:
        raise ValueError("both the uses and the time must be at least 1 (or use off)")
    return Limit(count, times * unit)


@dataclass(frozen=True, slots=True)
class RateLimits:
    """How often one person, and one channel, may run the commands that post publicly or spend
    money (`costly_*`) and change a channel's criteria, settings or subscription (`edits_*`);
    None means no limit."""

    costly_per_user: Limit | None = Limit(5, 60.0)
    costly_per_channel: Limit | None = Limit(15, 60.0)
    edits_per_user: Limit | None = Limit(10, 60.0)
    edits_per_channel: Limit | None = Limit(20, 60.0)
    costly_per_bot: Limit | None = Limit(60, 60.0)  # every person, channel, replica together


@dataclass(frozen=True, slots=True)
class Denied:
    """A use refused: which of the checked limits refused it, and when to try again."""

    index: int
    limit: Limit
    retry_after: float

    @property
    def wait_text(self) -> str:
        """When to try again, for people: 'in 42 s', 'in 3 min'."""
        seconds = max(1, math.ceil(self.retry_after))
        if seconds < 120:
            return _("in {seconds} s").format(seconds=seconds)
        return _("in {minutes} min").format(minutes=math.ceil(seconds / 60))


class RateLimiter:
    """Sliding-window limits per key (each key with its own limit), in this process only (the
    bot's commands are limited in the store, shared by every replica:
    `bot.conversation.limits`)."""

    def __init__(self, clock: Clock = time.monotonic, max_keys: int = MAX_KEYS) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._uses: dict[str, deque[float]] = {}
        self._longest = 0.0

    @property
    def tracked(self) -> int:
        """How many keys the limiter remembers (idle ones are dropped past `max_keys`)."""
        return len(self._uses)

    def acquire(self, checks: Sequence[tuple[str, Limit | None]]) -> Denied | None:
        """Record one use under every key if every limit admits it now; otherwise record
        nothing and say which limit refused and for how long (the longest wait)."""
        now = self._clock()
        worst: Denied | None = None
        for index, (key, limit) in enumerate(checks):
            if limit is None:
                continue
            wait = self._wait(key, limit, now)
            if wait > 0 and (worst is None or wait > worst.retry_after):
                worst = Denied(index, limit, wait)
        if worst is not None:
            return worst
        for key, limit in checks:
            if limit is not None:
                self._uses.setdefault(key, deque()).append(now)
                self._longest = max(self._longest, limit.per)
        if len(self._uses) > self._max_keys:
            self._forget_idle(now)
        return None

    def release(self, keys: Sequence[str]) -> None:
        """Give back the latest use recorded under each key: what it admitted spent nothing
        (the input was refused, say)."""
        for key in keys:
            uses = self._uses.get(key)
            if uses:
                uses.pop()

    def _wait(self, key: str, limit: Limit, now: float) -> float:
        uses = self._uses.get(key)
        if not uses:
            return 0.0
        while uses and uses[0] <= now - limit.per:
            uses.popleft()
        while len(uses) > limit.count:  # the limit was lowered since: keep the newest
            uses.popleft()
        if len(uses) < limit.count:
            return 0.0
        return uses[0] + limit.per - now

    def _forget_idle(self, now: float) -> None:
        """Drop keys with no use inside the longest window (they cannot refuse anything)."""
        idle = [k for k, uses in self._uses.items() if not uses or uses[-1] <= now - self._longest]
        for key in idle:
            del self._uses[key]
