"""The daily post: fetch after arXiv's feed is rebuilt, score once for every channel, and post in
each subscribed channel at its own local time, exactly once, through outages and restarts.

Everything here is driven by `DailyRunner.tick()`, which looks at the clock and the store and does
whatever is due: it is what the scheduler's cron jobs call at the exact times, what a periodic job
calls to retry, and what a (re)start calls to catch up. Ticks never overlap, and every step is
idempotent (feeds are stored by day, scores by paper and criteria, posts by channel, day and
slot), so calling it at any moment, any number of times, posts each digest once.

A tick serves many channels at once, each in step with its feed: once a feed is in, its
channels' digests are built (`parallel` at a time) and each channel is posted as soon as its
own digest is built (as many at once as their workspaces can take), so the first channels post
while the rest build. The feed, the ranking and the scoring they share are done once through
`bot.work`, and each channel-day's delivery is held by
one process's lease, so several processes on one database post every card exactly once (a
process killed mid-post is taken over when its lease expires, and the delivery's recovery
finishes the thread without a duplicate).

This module owns the tick: which channels it serves, refreshing each category set's feed once
after a rebuild (retrying an outage with backoff and telling the channels past the deadline),
starting the day's scoring (through the Batch API when it is on), the fan-out over channels,
pruning old rankings and stopping. What is due when is `bot.daily.schedule`'s (pure), building
a channel's digest `bot.daily.build`'s, and posting it, its late cards, missed days and notices
`bot.daily.post`'s; the weekly post is `bot.daily.weekly`'s.

This module must not import a platform SDK, post or build a digest itself, or sleep for real in
tests (clock and sleep are injected).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from bot.arxiv.categories import categories_key
from bot.config.channels import ChannelSettings
from bot.daily.build import DailyBuilder
from bot.daily.delivery import POSTING, Delivery
from bot.daily.post import DailyPoster
from bot.daily.schedule import EASTERN, Outage, backoff, due_at, latest_rebuild, outage_after
from bot.daily.status import ChannelStatus, SettingsOf, channel_statuses, next_post_time
from bot.daily.weekly import WeeklyPoster
from bot.digest.service import DigestService
from bot.errors import FeedError, FeedUnreadable
from bot.store import ChannelRow, Store
from bot.work import Work

__all__ = [
    "ChannelStatus",
    "Clock",
    "DailyRunner",
    "SettingsOf",
    "backoff",
    "channel_statuses",
    "due_at",
    "latest_rebuild",
    "next_post_time",
    "utc_now",
]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


def unreadable_text(exc: FeedUnreadable) -> str:
    """What the channels are told when arXiv answers with a feed nobody can read."""
    return f"No digest yet: {exc}. I keep trying; whoever runs the bot may need to update it."


def outage_text(outage: Outage, day: date) -> str:
    """What the channels are told when arXiv has not answered for the fetch deadline."""
    since = outage.first.astimezone(EASTERN).strftime("%H:%M %Z")
    return (
        f"arXiv has not answered since {since} ({outage.reason.rstrip('.')}), so the digest of "
        f"{day} is late. I keep trying and will post it as soon as arXiv is back."
    )


class DailyRunner:
    """Does whatever the daily post needs at the moment it is asked (see module docstring)."""

    def __init__(
        self,
        store: Store,
        service: DigestService,
        delivery: Delivery,
        settings_of: SettingsOf,
        *,
        catch_up: timedelta = timedelta(hours=18),
        fetch_deadline: timedelta = timedelta(hours=6),
        clock: Clock = utc_now,
        parallel: int = 64,
        keep_rankings: timedelta = timedelta(days=60),
        batch_margin: timedelta = timedelta(minutes=30),
        batch_grace: float = 10.0,
        work: Work | None = None,
    ) -> None:
        self._batch_margin = batch_margin
        self._batch_grace = batch_grace
        self._batches: set[asyncio.Task[None]] = set()
        self._store = store
        self._service = service
        self._delivery = delivery
        self._settings_of = settings_of
        self._fetch_deadline = fetch_deadline
        self._clock = clock
        self._work: Work = work or service.work  # who holds each channel-day's delivery
        self._parallel = parallel
        self._keep_rankings = keep_rankings
        self._pruned: date | None = None
        self._lock = asyncio.Lock()
        self._fetched: dict[str, datetime] = {}
        self._outages: dict[str, Outage] = {}
        self.last_tick: datetime | None = None
        self._stopping = False
        self._current: asyncio.Task[None] | None = None
        self._taking_over: set[asyncio.Task[object]] = set()  # take-overs outside the tick
        self._builder = DailyBuilder(store, service)
        self._poster = DailyPoster(store, delivery, self._work, self._builder, catch_up=catch_up)
        self._weekly = WeeklyPoster(store, delivery, self._work, catch_up=catch_up)

    # -- the one entry point ----------------------------------------------------------------

    async def tick(self) -> None:
        """Fetch, score and post whatever is due now. Never raises for outages: they are
        logged, remembered and retried on a later tick."""
        if self._stopping:
            return
        async with self._lock:
            self._current = asyncio.current_task()
            now = self._clock()
            channels = [
                (row, self._settings_of(row))
                for row in await self._store.channels.subscribed()
                if row.platform in self._delivery.platforms
            ]
            by_key: dict[str, list[tuple[ChannelRow, ChannelSettings]]] = {}
            for row, settings in channels:
                by_key.setdefault(categories_key(settings.categories), []).append((row, settings))
            feeds = {
                key: asyncio.create_task(self._feed(key, members, now))
                for key, members in by_key.items()
            }
            try:
                await self._build_and_serve(channels, feeds, now)
            finally:
                for feed in feeds.values():  # a tick cut short leaves no fetch behind
                    feed.cancel()
                await asyncio.gather(*feeds.values(), return_exceptions=True)
            await self._each(channels, lambda row, settings: self._weekly.serve(row, settings, now))
            await self._prune(now)
            self.last_tick = now

    async def _build_and_serve(
        self,
        channels: Sequence[tuple[ChannelRow, ChannelSettings]],
        feeds: Mapping[str, asyncio.Task[date | None]],
        now: datetime,
    ) -> None:
        """Each channel in step: once its feed is in, its digest of the new day is built
        (`parallel` builds at once) and then it is served (as many at once as the workspaces
        can take), so the channels built first post while the rest build."""
        building = asyncio.Semaphore(self._parallel)
        posting = asyncio.Semaphore(
            self._delivery.in_flight([(r.platform, r.id) for r, _ in channels], self._parallel)
        )

        async def one(row: ChannelRow, settings: ChannelSettings) -> None:
            day = await asyncio.shield(feeds[categories_key(settings.categories)])
            if day is not None:
                async with building:
                    await self._guarded(
                        "build", row, lambda: self._builder.build(row, settings, day, now)
                    )
            async with posting:
                await self._guarded(
                    "daily post", row, lambda: self._poster.serve(row, settings, now)
                )

        await _all(one(row, settings) for row, settings in channels)

    async def _guarded(
        self, what: str, row: ChannelRow, job: Callable[[], Awaitable[object]]
    ) -> None:
        """Run one channel's step unless the runner is stopping; its failure is logged and
        retried on a later tick, never stops the other channels."""
        if self._stopping:
            return
        try:
            await job()
        except Exception:
            log.exception("%s of %s:%s failed; retrying later", what, row.platform, row.id)

    async def _each(
        self,
        channels: Sequence[tuple[ChannelRow, ChannelSettings]],
        job: Callable[[ChannelRow, ChannelSettings], Awaitable[object]],
    ) -> None:
        """Run `job` for every channel, `parallel` at a time; one channel's failure is logged
        and retried on a later tick, never stops the others."""
        gate = asyncio.Semaphore(self._parallel)

        async def one(row: ChannelRow, settings: ChannelSettings) -> None:
            async with gate:
                await self._guarded("daily post", row, lambda: job(row, settings))

        await _all(one(row, settings) for row, settings in channels)

    async def _prune(self, now: datetime) -> None:
        """Once a day, forget full rankings older than the retention (digests stay), the
        kept `similar` answers over days as old, and the pacing of keys idle for a day."""
        today = now.date()
        if self._pruned == today:
            return
        self._pruned = today
        removed = await self._store.rankings.prune(today - self._keep_rankings)
        if removed:
            log.info("pruned %d day rankings older than %s", removed, self._keep_rankings)
        await self._store.similar.prune(today - self._keep_rankings)
        await self._store.work.prune_pacing(86_400.0)  # keys idle a day start afresh

    @property
    def lease_seconds(self) -> float:
        """How long a delivery's lease lasts without renewal."""
        return self._work.ttl

    async def take_over(self) -> int:
        """Serve at once every channel whose delivery lease is orphaned (it expired by the
        database's clock, or its holder was a process of this host that died) or whose
        thread was left mid-post with its lease given back (no platform error: those wait for
        their backoff), outside the tick, so a dead replica's thread is finished within its
        lease time plus the watch period rather than at the next retry. Returns how many
        channels it served. `stop` waits for it as for a tick."""
        if self._stopping:
            return 0
        task = asyncio.current_task()
        if task is None:
            return await self._take_over()
        self._taking_over.add(task)
        try:
            return await self._take_over()
        finally:
            self._taking_over.discard(task)

    async def _take_over(self) -> int:
        records = await self._store.digests.records(states=(POSTING, "scored"))
        undone = {f"deliver:{r.channel_id}:{r.day}" for r in records}
        keys = {k for k in await self._work.orphans("deliver:") if k in undone}
        for r in records:  # left mid-post and given back (its store failed, it was stopped)
            key = f"deliver:{r.channel_id}:{r.day}"
            if r.state == POSTING and not r.last_error and not await self._work.held(key):
                keys.add(key)
        ids = {key.removeprefix("deliver:").rpartition(":")[0] for key in keys}
        if not ids:
            return 0
        channels = [
            (row, self._settings_of(row))
            for row in await self._store.channels.subscribed()
            if row.id in ids and row.platform in self._delivery.platforms
        ]
        log.info("taking over the delivery of %d channels whose holder is gone", len(channels))
        now = self._clock()
        await self._each(channels, lambda row, settings: self._poster.serve(row, settings, now))
        return len(channels)

    # -- fetch and score --------------------------------------------------------------------

    async def _feed(
        self, key: str, members: Sequence[tuple[ChannelRow, ChannelSettings]], now: datetime
    ) -> date | None:
        """`_refresh_feed`, whose unexpected failure is logged (the channels are still
        served from what is stored) and retried on a later tick."""
        try:
            return await self._refresh_feed(key, members, now)
        except Exception:
            log.exception("refreshing the feed %s failed; retrying later", key)
            return None

    async def _refresh_feed(
        self, key: str, members: Sequence[tuple[ChannelRow, ChannelSettings]], now: datetime
    ) -> date | None:
        """Fetch the feed once after each rebuild (retrying an outage with backoff until the
        deadline, then telling the channels); the new day its channels' digests are built for
        now, or None (no new day, or the Batch API scores it)."""
        rebuild = latest_rebuild(now)
        if self._fetched.get(key, datetime.min.replace(tzinfo=UTC)) >= rebuild:
            return None
        outage = self._outages.get(key)
        if outage is not None and now < outage.next_try:
            return None
        categories = members[0][1].categories
        try:
            result = await self._service.ingest(categories, since=rebuild, now=now)
        except FeedUnreadable as exc:
            # not an outage: arXiv answered with a feed nobody can read; say so at once, once
            await self._fetch_failed(key, members, now, rebuild, str(exc))
            for row, _ in members:
                await self._poster.notify(
                    row, rebuild.date(), "feed-unreadable", unreadable_text(exc)
                )
            return None
        except FeedError as exc:
            await self._fetch_failed(key, members, now, rebuild, str(exc))
            return None
        if outage is not None:
            log.info("arXiv feed %s is back after %d failed attempts", key, outage.attempts)
        self._outages.pop(key, None)
        self._fetched[key] = now
        if not result.announced or result.day is None:
            log.info("fetched %s: no announcement (weekend or holiday)", key)
            return None
        log.info(
            "fetched %s for %s: %d new, %d cross-lists", key, result.day, result.new, result.cross
        )
        day = result.day
        if self._service.batching:
            await self._score_in_batch(members, day, now)
            return None
        return day

    async def _score_in_batch(
        self, members: Sequence[tuple[ChannelRow, ChannelSettings]], day: date, now: datetime
    ) -> None:
        """The Batch API trigger: score the new day at batch prices, each channel until its
        post time minus the margin (then at once). The tick waits `batch_grace` seconds (a
        batch that is done at once, or a day scored at once, ends within the tick) and leaves
        the rest running; a post or command that comes meanwhile joins the build."""

        async def job(row: ChannelRow, settings: ChannelSettings) -> None:
            until = due_at(day, settings) - self._batch_margin
            await self._builder.build(row, settings, day, now, until)

        task = asyncio.create_task(self._each(members, job))
        self._batches.add(task)
        task.add_done_callback(self._batches.discard)
        done, _ = await asyncio.wait([task], timeout=self._batch_grace)
        if task in done:
            task.result()  # what stops a process (a kill) stops it here too, as without batches

    async def _fetch_failed(
        self,
        key: str,
        members: Sequence[tuple[ChannelRow, ChannelSettings]],
        now: datetime,
        rebuild: datetime,
        reason: str,
    ) -> None:
        """Remember a failed fetch (the next try after a backoff); past the deadline, tell the
        channels once."""
        outage = outage_after(self._outages.get(key), now, reason)
        log.warning(
            "fetch of %s failed (attempt %d, next at %s): %s",
            key,
            outage.attempts,
            outage.next_try.isoformat(timespec="minutes"),
            reason,
        )
        report = outage.to_report(now, self._fetch_deadline)
        self._outages[key] = replace(outage, reported=True) if report else outage
        if not report:
            return
        day = rebuild.date()
        for row, _ in members:
            await self._poster.notify(row, day, "arxiv-down", outage_text(outage, day))

    # -- reporting and shutdown ------------------------------------------------------------

    async def status(self) -> list[ChannelStatus]:
        """Each subscribed channel's next post time and its latest digest's outcome."""
        return await channel_statuses(self._store, self._settings_of, self._clock())

    async def stop(self, grace: float) -> None:
        """Let a tick and take-overs in progress finish (up to `grace` seconds), then cancel
        them. Whatever they stored is consistent; a cancelled delivery resumes on the next
        start."""
        self._stopping = True
        for batch in list(self._batches):  # a day left unscored is scored at its post
            batch.cancel()
        running = [t for t in (self._current, *self._taking_over) if t is not None]
        running = [t for t in running if not t.done() and t is not asyncio.current_task()]
        if not running:
            return
        _, late = await asyncio.wait(running, timeout=grace)
        if not late:
            return  # a tick's or take-over's own failure is logged where it happened
        log.warning("stopping: the tick in progress did not finish in %.0fs; cancelled", grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)


async def _all(jobs: Iterable[Awaitable[object]]) -> None:
    """Await every job; a failure is logged, never stops the others."""
    for result in await asyncio.gather(*jobs, return_exceptions=True):
        if isinstance(result, Exception):
            log.error("daily tick step failed: %s", result, exc_info=result)
        elif isinstance(result, BaseException):
            raise result
