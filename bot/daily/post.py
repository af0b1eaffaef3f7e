"""Serving one channel's daily post: every digest of it that is due and not posted is posted
exactly once through `bot.daily.delivery`, a posted one gets its late cards, one past the catch-up
window is marked missed and reported, and an unexpected failure or an outage is told in the
channel once per day and kind (`notify`).

Each channel-day's delivery is the unit `deliver:{channel}:{day}` and each notice the unit
`notice:{channel}:{day}:{kind}` (`bot.work`), held by one process at a time, so several
processes on one database post every card and every notice once. A delivery is made under
its holding's fence: a process that paused past its lease and finds on waking that another
took the channel-day over stops at once, posting nothing more, and says so in one log line.
Whether and when a day is
due is decided in `bot.daily.schedule`'s pure functions from what is loaded here.

This module must not fetch feeds, call the scorer other than through `DailyBuilder`, or run
channels in parallel (`DailyRunner` fans out); like the rest of the core it imports no platform
SDK.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.arxiv.categories import categories_key
from bot.config.channels import ChannelSettings
from bot.daily.build import DailyBuilder
from bot.daily.delivery import MISSED, POSTING, Delivery
from bot.daily.schedule import backoff, day_step, days_to_serve, due_at, in_window, rescore_due
from bot.digest.selection import digest_from_json, digest_to_json
from bot.errors import LeaseLost, PlatformError
from bot.i18n import using
from bot.models import Digest
from bot.store import ChannelRow, Fence, Store
from bot.work import Work
from scoring.pricing import format_usd

log = logging.getLogger("bot.daily.runner")

DAILY_START = "daily-start"


def error_text(day: date, exc: Exception) -> str:
    """What a channel is told when its digest of `day` ran into an unexpected error."""
    return (
        f"The arXiv digest of {day} ran into an error ({type(exc).__name__}) and is not "
        "posted yet. I keep retrying every few minutes; whoever runs the bot can find "
        "the details in its log."
    )


def missed_text(day: date, local: str, timezone: str) -> str:
    """What a channel is told when its digest of `day`, due at `local`, was not posted."""
    return (
        f"The arXiv digest of {day} was not posted: it was due {local} {timezone} "
        "and could not be delivered in time. `/arxiv today` shows the latest one."
    )


def stale(lost: LeaseLost) -> None:
    """The one line a delivery (a thread or a notice) that lost its unit to another process
    logs."""
    log.warning(
        "%s: another process took this delivery over (epoch %d is stale); this process "
        "stopped posting it",
        lost.key,
        lost.epoch,
    )


class DailyPoster:
    """Posts each channel's due digests and tells it what went wrong (see module docstring)."""

    def __init__(
        self,
        store: Store,
        delivery: Delivery,
        work: Work,
        builder: DailyBuilder,
        *,
        catch_up: timedelta,
    ) -> None:
        self._store = store
        self._delivery = delivery
        self._work = work
        self._builder = builder
        self._catch_up = catch_up
        self._retry: dict[tuple[str, date], tuple[int, datetime]] = {}
        self._rescored: dict[tuple[str, date], datetime] = {}

    async def serve(self, row: ChannelRow, settings: ChannelSettings, now: datetime) -> None:
        """Serve the channel; if that fails unexpectedly while a digest is due, the channel is
        told once that day (never silence), and the next tick tries again."""
        try:
            with using(settings.language):  # the post's own words in the channel's language
                await self._serve(row, settings, now)
        except Exception as exc:
            log.exception("daily post of %s:%s failed; retrying later", row.platform, row.id)
            day = await self._store.papers.latest_feed_day(categories_key(settings.categories))
            if day is None or due_at(day, settings) > now:
                return
            await self.notify(row, day, "error", error_text(day, exc))

    async def notify(self, row: ChannelRow, day: date, kind: str, text: str) -> None:
        """Tell the channel `text`, once per day and `kind` across processes."""
        async with self._work.hold(f"notice:{row.id}:{day}:{kind}") as fence:
            if fence is None:
                return
            try:
                await self._delivery.notice(row.platform, row.id, day, kind, text, fence)
            except PlatformError as exc:
                log.warning("notice to %s failed: %s", row.id, exc)
            except LeaseLost as lost:
                stale(lost)

    async def _serve(self, row: ChannelRow, settings: ChannelSettings, now: datetime) -> None:
        """Post every digest of this channel that is due and not posted; report the ones that
        are too late."""
        start = await self._daily_start(row.id, now)
        latest = await self._store.papers.latest_feed_day(categories_key(settings.categories))
        records = await self._store.digests.records(row.id, (POSTING, "scored"))
        for day in days_to_serve(latest, records):
            due = due_at(day, settings)
            if not in_window(due, start, now):
                continue
            record = await self._store.digests.get(row.id, day)
            step = day_step(record[0] if record else None, due, now, self._catch_up)
            if step == "complete":
                await self._complete(row, settings, day, record, now)
            elif step == "missed":
                await self._missed(row, settings, day, due)
            elif step == "post":
                await self._post(row, settings, day, now)

    async def _daily_start(self, channel_id: str, now: datetime) -> datetime:
        """Since when this channel gets daily posts: the first tick that saw its current
        subscription. Digests due before that are neither posted nor reported as missed."""
        event = await self._store.channels.last_event(channel_id, ("subscribe", DAILY_START))
        if event is not None and event.action == DAILY_START:
            return datetime.fromisoformat(event.detail)
        await self._store.channels.record_event(
            channel_id, "arxiv-bot", DAILY_START, now.isoformat()
        )
        return now

    async def _post(
        self, row: ChannelRow, settings: ChannelSettings, day: date, now: datetime
    ) -> None:
        key = (row.id, day)
        attempts, retry_at = self._retry.get(key, (0, now))
        if now < retry_at:
            return
        async with self._work.hold(f"deliver:{row.id}:{day}") as fence:
            if fence is None:  # another process (or tick) is delivering it right now
                return
            try:
                await self._deliver(row, settings, day, now, attempts, fence)
            except LeaseLost as lost:
                stale(lost)

    async def _deliver(
        self,
        row: ChannelRow,
        settings: ChannelSettings,
        day: date,
        now: datetime,
        attempts: int,
        fence: Fence,
    ) -> None:
        key = (row.id, day)
        digest = await self._builder.build(row, settings, day, now)
        if digest is None:
            return
        try:
            done = await self._delivery.deliver(row.platform, digest, fence)
        except PlatformError as exc:
            attempts += 1
            self._retry[key] = (attempts, now + backoff(attempts))
            log.warning(
                "posting %s to %s:%s failed (attempt %d, retrying in %s): %s",
                day,
                row.platform,
                row.id,
                attempts,
                backoff(attempts),
                exc,
            )
            return
        self._retry.pop(key, None)
        self._rescored[key] = now
        log.info(
            "posted %s to %s:%s: %d cards, cost so far %s",
            day,
            row.platform,
            row.id,
            len(digest.entries),
            format_usd(digest.usage.cost_usd, digest.usage.priced),
        )
        if done.recovered:
            log.info("found %d messages posted before a restart", done.recovered)

    async def _complete(
        self,
        row: ChannelRow,
        settings: ChannelSettings,
        day: date,
        record: tuple[str, object] | None,
        now: datetime,
    ) -> None:
        """A posted digest with papers that could not be scored: score them again (every so
        often) and add the ones that now qualify to the thread; selected papers that are not
        in the thread yet (scored by another process or before a restart) are added at once."""
        body = record[1] if record else None
        if not isinstance(body, dict):
            return
        stored = digest_from_json(body)
        posted = await self._store.digests.daily_posted(row.id, day)
        missing = any(e.paper.id not in posted for e in stored.entries)
        digest = stored if missing else await self._rescore(row, settings, day, stored, now)
        if digest is None:
            return
        async with self._work.hold(f"deliver:{row.id}:{day}") as fence:
            if fence is None:
                return
            try:
                await self._delivery.deliver(row.platform, digest, fence)
            except PlatformError as exc:
                log.warning("adding late cards of %s to %s failed: %s", day, row.id, exc)
            except LeaseLost as lost:
                stale(lost)

    async def _rescore(
        self, row: ChannelRow, settings: ChannelSettings, day: date, stored: Digest, now: datetime
    ) -> Digest | None:
        """The digest with its unscored papers tried again, at most every RESCORE_EVERY; None
        when there is nothing to try (yet)."""
        key = (row.id, day)
        last = self._rescored.get(key, datetime.min.replace(tzinfo=UTC))
        if not rescore_due(stored.counts.unscored, last, now):
            return None
        self._rescored[key] = now
        return await self._builder.build(row, settings, day, now)

    async def _missed(
        self, row: ChannelRow, settings: ChannelSettings, day: date, due: datetime
    ) -> None:
        """Too late to post: keep the digest, mark the day missed and say so once."""
        record = await self._store.digests.get(row.id, day)
        if record is None:
            digest = await self._builder.scored_only(row, settings, day)
            if digest is None:
                return
            await self._store.digests.save(row.id, day, MISSED, digest_to_json(digest))
        await self._store.digests.set_state(row.id, day, MISSED)
        local = due.astimezone(ZoneInfo(settings.timezone)).strftime("%a %d %b %H:%M")
        log.warning("digest of %s for %s missed (was due %s)", day, row.id, local)
        await self.notify(row, day, "missed", missed_text(day, local, settings.timezone))
