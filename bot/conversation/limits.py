"""The bot's rate limits shared by every replica: each use of a limited command is counted in
the store (`bot.store`'s rate counters, on the database's clock), so two replicas together let a
person, a channel or the whole bot through no more than the limit, not once per process.

This module owns turning keyed `Limit`s into the store's checks and its answer into `Denied`;
which command counts against which limit is `bot.conversation.dispatch`'s. It must not keep
counts in memory (that is `bot.ratelimit.RateLimiter`, for one process) nor know any platform.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.ratelimit import Denied, Limit
from bot.store import Counted, RateCheck, Store


class SharedLimiter:
    """Sliding-window limits per key, counted in the store (see module docstring)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def acquire(
        self, checks: Sequence[tuple[str, Limit | None]]
    ) -> tuple[list[Counted], Denied | None]:
        """Count one use under every key if every limit admits it now; otherwise count nothing
        and say which limit refused and for how long (the longest wait). A key is
        `scope:who` (`costly:user:slack:U1`: scope `costly:user`)."""
        kept = [(i, key, limit) for i, (key, limit) in enumerate(checks) if limit is not None]
        asked = [RateCheck(*_split(key), limit.count, limit.per) for _, key, limit in kept]
        counted, refused = await self._store.work.count_use(asked)
        if refused is None:
            return counted, None
        index, wait = refused
        original, _, limit = kept[index]
        return [], Denied(original, limit, wait)

    async def release(self, counted: Sequence[Counted]) -> None:
        """Give back what `acquire` counted (the input was refused, say)."""
        if counted:
            await self._store.work.uncount(counted)


def _split(key: str) -> tuple[str, str]:
    """A limit's key as the store's (scope, who): the first two parts name the limit."""
    parts = key.split(":", 2)
    if len(parts) < 3:
        return key, ""
    return f"{parts[0]}:{parts[1]}", parts[2]
