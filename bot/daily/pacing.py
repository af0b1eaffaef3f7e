"""How fast the bot may post into a chat workspace: pure slot arithmetic, no clock, no I/O.

Slack limits `chat.postMessage` per channel (about one message a second, with short bursts)
and per workspace (the method's tier), and a 429's `Retry-After` holds one workspace only;
nothing limits the bot across the workspaces it is installed in. This module owns that policy
as functions of (state, now): a key's state is one number, its *theoretical arrival time*
(the generic cell rate algorithm), so the next free slot of a channel or a workspace can be
kept anywhere a number fits (a dict, a store row) and claimed atomically there.

This module must not sleep, read a clock, do I/O or know any platform SDK.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rate:
    """At most one message per `interval` seconds on average, `burst` of them back to back."""

    interval: float
    burst: int = 1

    @property
    def tolerance(self) -> float:
        """How far ahead of the average a key may run (the burst beyond the first message)."""
        return self.interval * max(self.burst - 1, 0)


SLACK_CHANNEL = Rate(1.0, burst=3)
"""Slack's chat.postMessage per channel: about one a second, short bursts allowed."""
SLACK_WORKSPACE = Rate(60 / 600, burst=20)
"""Slack's chat.postMessage per workspace: several hundred a minute (600/min here)."""


LATE = 1.0
"""Seconds a post may reach the platform after its slot (a busy loop, a slow connection, posts
reordered on the way) without finding its key over the platform's limit: a key that was idle
is full, so a late burst wastes refill and the next on-time post would find the key empty."""


def planned(rate: Rate, late: float = LATE) -> Rate:
    """The rate the bot plans a platform's limit with: the burst less what `late` seconds of
    refill make up, at most half of it, so that much is always spare (Slack: a channel's 3
    as 2, a workspace's 20 as 10)."""
    spare = math.ceil(late / rate.interval) if rate.interval > 0 else 0
    return Rate(rate.interval, max(1, rate.burst - min(spare, rate.burst // 2)))


CAP = "bot"
"""The key of the operator's bot-wide cap (ARXIV_BOT_POSTS_PER_SECOND), the same everywhere."""


def allowed_at(tat: float | None, now: float, rate: Rate) -> float:
    """The earliest moment a key whose state is `tat` may take a message (now or later)."""
    if tat is None:
        return now
    return max(now, tat - rate.tolerance)


def after_post(tat: float | None, slot: float, rate: Rate) -> float:
    """A key's state once a message has been given `slot`."""
    return max(tat if tat is not None else slot, slot) + rate.interval


def claim(
    states: Mapping[str, float | None], rates: Mapping[str, Rate], now: float
) -> tuple[float, dict[str, float]]:
    """One message that must pass every key (a channel, its workspace, an operator cap): its
    slot, the latest of the keys' allowed moments, and every key's state after it."""
    slot = max([now, *(allowed_at(states.get(k), now, r) for k, r in rates.items())])
    return slot, {k: after_post(states.get(k), slot, r) for k, r in rates.items()}


def held(tat: float | None, now: float, retry_after: float, rate: Rate) -> float:
    """A key's state after the platform said "retry after `retry_after` s": nothing passes it
    before then, and it resumes at its own rate afterwards."""
    hold = now + max(retry_after, 0.0) + rate.tolerance
    return max(tat if tat is not None else hold, hold)


def keys(workspace: str | None, channel: str, cap: bool = False) -> Sequence[str]:
    """The pacing keys of one message into `channel` of `workspace` (None: a single-token
    deployment's own workspace); `cap` adds the bot-wide operator cap."""
    team = workspace or "-"
    return (f"channel:{team}:{channel}", f"workspace:{team}", *((CAP,) if cap else ()))


def per_workspace(channel: Rate, workspace: Rate) -> int:
    """How many channels of one workspace can post at their own rate at once: the workspace's
    rate over a channel's (Slack: 600/min over 1/s, ten)."""
    if workspace.interval <= 0:
        return 1_000_000
    return max(1, round(channel.interval / workspace.interval))


def in_flight(workspaces: Iterable[str | None], each: int, bound: int) -> int:
    """How many channels to post at once: per workspace (one value per channel) as many as it
    can take now, `each` at most, and `bound` (open connections) over all."""
    wanted = sum(min(n, each) for n in Counter(workspaces).values())
    return max(1, min(bound, wanted))
