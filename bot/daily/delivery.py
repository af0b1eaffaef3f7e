"""Delivering a channel's daily digest exactly once, whatever stops the bot halfway.

A stored digest moves scored → posting → posted. Every message id is recorded the moment the
platform returns it, so a restart only posts what is missing: never a second parent, never a
second card, never a lost card. The one gap a database cannot close, a crash after the platform
accepted a message and before its id was recorded, is closed by asking the platform
(`ChatPlatform.recover`) before posting anything into a digest that was left mid-way.

A delivery made under a fence (`bot.work.Work.hold`) is fenced message by message: the intent
to post a slot is recorded under the fence, then the message is posted, then its id is
recorded under the fence (a platform's post cannot check a fence itself). When another process
has taken the channel-day over, the next of those writes is refused and the delivery stops at
once with `LeaseLost`, posting nothing more; an intent left unconfirmed makes the next holder
ask the platform for that slot before posting it. An adapter that waits before sending (Slack's
pacing) checks the fence once more after its wait (`bot.platform.about_to_send`), so a pause
during that wait is covered too.

Delivery is idempotent: calling it again for a posted digest posts only entries that were added
since (papers scored on a later run), and nothing at all otherwise. Which process delivers is
the caller's business (the daily runner holds the channel-day's lease in `bot.work`); every post
here passes the operator's optional `Ceiling` (off by default), shared by every replica when its
pacing is the store's; each adapter keeps its platform's own limits (Slack per channel and per
workspace, with the cap in the same claim; discord.py per route).

This module must not import a platform SDK, fetch feeds or score papers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from bot.daily.pacer import LocalPacing, Paced, Pacing
from bot.daily.pacing import CAP, Rate, in_flight
from bot.errors import LeaseLost, PlatformError
from bot.models import Digest
from bot.platform import NOTICE, PARENT, ChatPlatform, PacedByWorkspace, before_send
from bot.store import Fence, Store

Record = Callable[[str, str], Awaitable[None]]
"""Records one posted message: its slot (`parent`, a paper id) and the platform's message id."""

log = logging.getLogger(__name__)

POSTING = "posting"
POSTED = "posted"
MISSED = "missed"


@dataclass(frozen=True, slots=True)
class Delivered:
    """What one delivery did."""

    parent_id: str
    posted: int  # messages posted by this call
    recovered: int  # messages found on the platform that the store had not recorded


class Ceiling:
    """At most `rate` posts per second across the whole bot, every replica together when
    `pacing` is the store's (`bot.daily.pacer.StoredPacing`): each post takes the next free
    slot of the key `bot` (clock and sleep injectable, so tests never wait)."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        pacing: Pacing | None = None,
    ) -> None:
        self.rate = Rate(1.0 / rate)
        self._paced = Paced(pacing or LocalPacing(clock), sleep)

    async def wait(self) -> None:
        """Return at this caller's slot."""
        await self._paced.wait({CAP: self.rate}, CAP)


def ceiling(rate: float, pacing: Pacing | None = None) -> Ceiling | None:
    """The operator's optional cap of posts per second (0: none), kept in `pacing`."""
    return Ceiling(rate, pacing=pacing) if rate > 0 else None


class Delivery:
    """Posts stored digests through the chat platform of each channel."""

    def __init__(
        self,
        store: Store,
        platforms: Mapping[str, ChatPlatform],
        ceiling: Ceiling | None = None,
    ) -> None:
        self._store = store
        self._platforms = dict(platforms)
        self._ceiling = ceiling

    async def _wait(self, platform: ChatPlatform) -> None:
        """The operator's cap, for a platform that does not pace its posts itself (one paced
        by workspace takes the cap's slot with its channel's and workspace's, in one claim)."""
        if self._ceiling is not None and not isinstance(platform, PacedByWorkspace):
            await self._ceiling.wait()

    def platform(self, name: str) -> ChatPlatform:
        """The running adapter of a platform; PlatformError when none is configured."""
        try:
            return self._platforms[name]
        except KeyError:
            raise PlatformError(
                f"no {name} adapter is running (set its token to post there)"
            ) from None

    @property
    def platforms(self) -> tuple[str, ...]:
        """Names of the platforms this delivery can post to."""
        return tuple(self._platforms)

    def in_flight(self, channels: Sequence[tuple[str, str]], bound: int) -> int:
        """How many of these (platform, channel) to post at once: as many as their workspaces
        can take now, at most `bound` (open connections)."""
        total = 0
        for name in {p for p, _ in channels}:
            ids = [c for p, c in channels if p == name]
            platform = self._platforms.get(name)
            if isinstance(platform, PacedByWorkspace):
                each = platform.channels_at_once
                total += in_flight((platform.workspace_of(c) for c in ids), each, bound)
            else:
                total += min(len(ids), bound)
        return max(1, min(bound, total))

    async def deliver(
        self, platform_name: str, digest: Digest, fence: Fence | None = None
    ) -> Delivered:
        """Post whatever of the digest is not on the channel yet (under `fence`, the holding of
        its channel-day: `LeaseLost` once another process took it over). On failure the
        attempt and its reason are stored and the error propagates; what was posted stays
        recorded."""
        channel, day = digest.channel_id, digest.day
        record = await self._store.digests.get(channel, day)
        state = record[0] if record else None
        try:
            platform = self.platform(platform_name)
            if state != POSTED:
                await self._store.digests.set_state(channel, day, POSTING)

            async def save(slot: str, message: str) -> None:
                store = self._store.digests
                if not await store.record_posted(
                    channel, day, slot, message, daily=True, fence=fence
                ):
                    assert fence is not None  # only a fenced record is refused
                    raise LeaseLost(fence.key, fence.epoch)

            unsure = bool(fence and await self._store.work.intents(fence.key))
            parent, count, recovered = await self.post_thread(
                platform,
                digest,
                await self._store.digests.daily_posted(channel, day),
                save,
                recover=state == POSTING or unsure,
                fence=fence,
            )
        except PlatformError as exc:
            await self._store.digests.set_state(channel, day, state or POSTING, error=str(exc))
            raise
        await self._store.digests.set_state(channel, day, POSTED)
        if count or recovered:
            log.info(
                "posted the digest of %s to %s:%s (%d messages, %d recovered)",
                day,
                platform_name,
                channel,
                count,
                recovered,
            )
        return Delivered(parent, count, recovered)

    async def notice(
        self,
        platform_name: str,
        channel_id: str,
        day: date,
        kind: str,
        text: str,
        fence: Fence | None = None,
    ) -> bool:
        """Post a notice of one kind about one day at most once (under `fence`, the holding
        of its unit: `LeaseLost` once another process took it over); True if it was posted
        now."""
        slot = f"{NOTICE}:{kind}"
        if slot in await self._store.digests.daily_posted(channel_id, day):
            return False
        if fence is not None and await self._store.work.intend(fence, slot) == "stale":
            raise LeaseLost(fence.key, fence.epoch)
        platform = self.platform(platform_name)
        await self._wait(platform)
        with self._fenced(fence, slot):
            message = await platform.post_notice(channel_id, text)
        if not await self._store.digests.record_posted(
            channel_id, day, slot, message, daily=True, fence=fence
        ):
            assert fence is not None  # only a fenced record is refused
            raise LeaseLost(fence.key, fence.epoch)
        log.info("notice to %s:%s about %s: %s", platform_name, channel_id, day, kind)
        return True

    async def post_thread(
        self,
        platform: ChatPlatform,
        digest: Digest,
        posted: dict[str, str],
        record: Record,
        *,
        recover: bool,
        fence: Fence | None = None,
    ) -> tuple[str, int, int]:
        """Post the parent and the cards of `digest` that `posted` (slot -> message) lacks,
        each under the bot-wide ceiling and recorded with `record` as soon as it lands. With
        `recover` (an interrupted post), first record what the platform already shows. Under
        a `fence`, each post is preceded by its intent (see the module docstring). The daily
        post and the weekly post share it; each keeps its own records and states. Returns the
        parent's id, the messages posted now and those recovered."""
        channel = digest.channel_id
        recovered = 0
        if recover:
            recovered = await self._recover(platform, digest, posted, record)
        count = 0
        parent = posted.get(PARENT)
        if parent is None and await self._intend(platform, digest, posted, record, fence, PARENT):
            await self._wait(platform)
            with self._fenced(fence, PARENT):
                parent = await platform.post_parent(channel, digest)
            await record(PARENT, parent)
            posted[PARENT] = parent
            count += 1
        parent = posted[PARENT]
        for entry in digest.entries:
            slot = entry.paper.id
            if slot in posted or not await self._intend(
                platform, digest, posted, record, fence, slot
            ):
                continue
            await self._wait(platform)
            with self._fenced(fence, slot):
                message = await platform.post_card(channel, parent, digest, entry)
            await record(slot, message)
            posted[slot] = message
            count += 1
        return parent, count, recovered

    async def _recover(
        self, platform: ChatPlatform, digest: Digest, posted: dict[str, str], record: Record
    ) -> int:
        """Record what the platform shows of the post that `posted` lacks; how many."""
        channel = digest.channel_id
        found = await platform.recover(channel, digest.day, posted.get(PARENT))
        recovered = 0
        for slot, message in found.items():
            if slot not in posted:
                await record(slot, message)
                posted[slot] = message
                recovered += 1
        if recovered:
            log.warning(
                "recovered %d unrecorded messages of %s's post in %s",
                recovered,
                digest.week or digest.day,
                channel,
            )
        return recovered

    @contextlib.contextmanager
    def _fenced(self, fence: Fence | None, slot: str) -> Iterator[None]:
        """Around one post under `fence`: the adapter's last check before its request leaves
        (after its own pacing), so a process paused in that wait past its lease, and taken
        over meanwhile, raises `LeaseLost` instead of posting the slot a second time."""
        if fence is None:
            yield
            return

        async def check() -> None:  # the slot's intent is recorded: only the fence is asked
            if not await self._store.work.still_holds(fence):
                raise LeaseLost(fence.key, fence.epoch)

        token = before_send.set(check)
        try:
            yield
        finally:
            before_send.reset(token)

    async def _intend(
        self,
        platform: ChatPlatform,
        digest: Digest,
        posted: dict[str, str],
        record: Record,
        fence: Fence | None,
        slot: str,
    ) -> bool:
        """Before posting `slot` under a fence: record the intent (`LeaseLost` when the fence
        is stale); when an earlier holding left an intent on the slot, ask the platform first.
        True if the slot is still to be posted."""
        if fence is None:
            return True
        intent = await self._store.work.intend(fence, slot)
        if intent == "stale":
            raise LeaseLost(fence.key, fence.epoch)
        if intent == "unsure":
            await self._recover(platform, digest, posted, record)
        return slot not in posted
