"""What the daily post needs from a chat platform: the contract every chat adapter implements.

The daily delivery (`bot.daily.delivery`) calls these methods and records every message id they
return in the store right away, so a restart knows what is already on the platform. A digest is a
*parent* message (the day's summary) plus one *card* per selected paper in the parent's thread;
a card is its own message so a reaction on it maps to exactly one paper.

Errors: raise `bot.errors.PlatformUnavailable` when the platform cannot be reached or keeps
failing (the delivery retries later and loses nothing), `bot.errors.PlatformError` when it refuses
the post (bot removed from the channel, bad request); anything else is a bug.

Fencing: the delivery records its intent to post a message before it calls `post_*`, but an
adapter may wait before the request leaves (its own pacing, a 429's Retry-After). An adapter that
waits awaits `about_to_send()` after its wait, right before the request: under a fenced delivery
that checks the fence again, so a process paused in that wait past its lease posts nothing
(`bot.errors.LeaseLost` propagates).

Start-up: an adapter's `start` raises `PlatformUnavailable` when its platform cannot be reached;
`arxiv-bot run` then tries it again after `start_backoff(attempt)` seconds while the other
platforms keep running, so no platform's outage at start stops another.

This module must not import a platform SDK.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import date
from typing import Final, Protocol, runtime_checkable

from bot.models import Digest, DigestEntry

PARENT = "parent"
NOTICE = "notice"
START_BACKOFF_CAP: Final = 300


BeforeSend = Callable[[], Awaitable[None]]
before_send: ContextVar[BeforeSend | None] = ContextVar("before_send", default=None)
"""Set by the delivery around one `post_*` call: the check `about_to_send` runs."""


async def about_to_send() -> None:
    """Called by an adapter right before a post's request leaves, after any wait of its own:
    the delivery's last fence check (`LeaseLost` when another process took the post over)."""
    check = before_send.get()
    if check is not None:
        await check()


def start_backoff(attempt: int) -> float:
    """Seconds before start-up try `attempt + 1` when a platform could not be reached: 1, 2,
    4 … up to 5 minutes."""
    return float(min(2 ** min(attempt, 16), START_BACKOFF_CAP))


class ChatPlatform(Protocol):
    """A chat platform the bot posts daily digests to."""

    @property
    def platform(self) -> str:
        """The platform name stored with each channel ('slack', 'discord', 'console')."""
        ...

    async def post_parent(self, channel_id: str, digest: Digest) -> str:
        """Post the day's summary message (date, counts, top titles, cost line); a digest with
        no entries posts a short 'nothing today' note instead. Returns the message id that
        `post_card` threads under."""
        ...

    async def post_card(
        self, channel_id: str, parent_id: str, digest: Digest, entry: DigestEntry
    ) -> str:
        """Post one paper's card in the thread of `parent_id` (creating the thread if the
        platform needs one and it does not exist yet). Returns the card's message id."""
        ...

    async def post_notice(self, channel_id: str, text: str) -> str:
        """Post a short plain notice in the channel (outages, a missed day). Returns its id."""
        ...

    async def recover(self, channel_id: str, day: date, parent_id: str | None) -> dict[str, str]:
        """Messages of `day`'s daily post that are on the platform, by slot ('parent' or a
        paper id): the delivery asks this after a restart, so a message posted just before a
        crash (and never recorded) is not posted twice. Return {} if the platform cannot
        tell."""
        ...


@runtime_checkable
class PacedByWorkspace(Protocol):
    """A platform that limits posts per workspace (Slack): the daily post keeps as many of a
    workspace's channels in flight as it can take. Platforms without it are posted `bound`
    channels at a time."""

    def workspace_of(self, channel_id: str) -> str | None:
        """The workspace of a channel (None: the deployment's own)."""
        ...

    @property
    def channels_at_once(self) -> int:
        """How many channels of one workspace can post at their own pace together."""
        ...
