"""The daily post: fetch after arXiv's feed is rebuilt, score once for every channel, and post in
each subscribed channel at its own local time, exactly once, through outages and restarts.

Everything here is driven by `DailyRunner.tick()`, which looks at the clock and the store and does
whatever is due: it is what the scheduler's cron jobs call at the exact times, what a periodic job
calls to retry, and what a (re)start calls to catch up. Ticks never overlap, and every step is
idempotent (feeds are stored by day, scores by paper and criteria, posts by channel, day and
slot), so calling it at any moment, any number of times, posts each digest once.

A tick serves many channels at once (`parallel` at a time); the feed, the ranking and the
scoring they share are done once through `bot.work`, and each channel-day's delivery is held by
one process's lease, so several processes on one database post every card exactly once (a
process killed mid-post is taken over when its lease expires, and the delivery's recovery
finishes the thread without a duplicate).

When what is due is `bot.daily_schedule`'s, pure.

This module must not import a platform SDK or sleep for real in tests (clock and sleep are
injected).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.channels import ChannelSettings
from bot.daily_schedule import (
    EASTERN,
    FEED_READY,
    RESCORE_EVERY,
    Outage,
    backoff,
    day_step,
    days_to_serve,
    due_at,
    in_window,
    latest_rebuild,
    outage_after,
    rescore_due,
)
from bot.deciding import DigestOptions
from bot.delivery import MISSED, POSTING, Delivery
from bot.digest import digest_from_json, digest_to_json
from bot.errors import FeedError, FeedUnreadable, LLMUnavailable, PlatformError, ScoringError
from bot.ingest import categories_key
from bot.models import Digest
from bot.service import DigestService
from bot.status import ChannelStatus as ChannelStatus
from bot.status import SettingsOf as SettingsOf
from bot.status import channel_statuses as channel_statuses
from bot.status import next_post_time as next_post_time
from bot.store import ChannelRow, Store
from bot.weekly import WeeklyPoster
from bot.work import Work
from scoring.pricing import format_usd

__all__ = [
    "EASTERN",
    "FEED_READY",
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

DAILY_START = "daily-start"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


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
    ) -> None:
        self._batch_margin = batch_margin
        self._batch_grace = batch_grace
        self._batches: set[asyncio.Task[None]] = set()
        self._store = store
        self._service = service
        self._delivery = delivery
        self._settings_of = settings_of
        self._catch_up = catch_up
        self._fetch_deadline = fetch_deadline
        self._clock = clock
        self._work: Work = service.work
        self._parallel = parallel
        self._keep_rankings = keep_rankings
        self._pruned: date | None = None
        self._llm_down: tuple[LLMUnavailable, datetime] | None = None
        self._lock = asyncio.Lock()
        self._fetched: dict[str, datetime] = {}
        self._outages: dict[str, Outage] = {}
        self._retry: dict[tuple[str, date], tuple[int, datetime]] = {}
        self._rescored: dict[tuple[str, date], datetime] = {}
        self.last_tick: datetime | None = None
        self._stopping = False
        self._current: asyncio.Task[None] | None = None
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
            await _all(self._refresh_feed(key, members, now) for key, members in by_key.items())
            await self._each(channels, lambda row, settings: self._serve_or_say(row, settings, now))
            await self._each(channels, lambda row, settings: self._weekly.serve(row, settings, now))
            await self._prune(now)
            self.last_tick = now

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
                if self._stopping:
                    return
                try:
                    await job(row, settings)
                except Exception:
                    log.exception(
                        "daily post of %s:%s failed; retrying later", row.platform, row.id
                    )

        await _all(one(row, settings) for row, settings in channels)

    async def _serve_or_say(
        self, row: ChannelRow, settings: ChannelSettings, now: datetime
    ) -> None:
        """Serve the channel; if that fails unexpectedly while a digest is due, the channel is
        told once that day (never silence), and the next tick tries again."""
        try:
            await self._serve(row, settings, now)
        except Exception as exc:
            log.exception("daily post of %s:%s failed; retrying later", row.platform, row.id)
            day = await self._store.papers.latest_feed_day(categories_key(settings.categories))
            if day is None or due_at(day, settings) > now:
                return
            await self._notify(
                row,
                day,
                "error",
                f"The arXiv digest of {day} ran into an error ({type(exc).__name__}) and is not "
                "posted yet. I keep retrying every few minutes; whoever runs the bot can find "
                "the details in its log.",
            )

    async def _prune(self, now: datetime) -> None:
        """Once a day, forget full rankings older than the retention (digests stay)."""
        today = now.date()
        if self._pruned == today:
            return
        self._pruned = today
        removed = await self._store.rankings.prune(today - self._keep_rankings)
        if removed:
            log.info("pruned %d day rankings older than %s", removed, self._keep_rankings)

    # -- fetch and score --------------------------------------------------------------------

    async def _refresh_feed(
        self, key: str, members: Sequence[tuple[ChannelRow, ChannelSettings]], now: datetime
    ) -> None:
        """Fetch the feed once after each rebuild (retrying an outage with backoff until the
        deadline, then telling the channels), and score the new day for every channel."""
        rebuild = latest_rebuild(now)
        if self._fetched.get(key, datetime.min.replace(tzinfo=UTC)) >= rebuild:
            return
        outage = self._outages.get(key)
        if outage is not None and now < outage.next_try:
            return
        categories = members[0][1].categories
        try:
            result = await self._service.ingest(categories, since=rebuild, now=now)
        except FeedUnreadable as exc:
            # not an outage: arXiv answered with a feed nobody can read; say so at once, once
            await self._fetch_failed(key, members, now, rebuild, str(exc))
            for row, _ in members:
                await self._notify(
                    row,
                    rebuild.date(),
                    "feed-unreadable",
                    f"No digest yet: {exc}. I keep trying; whoever runs the bot may need to "
                    "update it.",
                )
            return
        except FeedError as exc:
            await self._fetch_failed(key, members, now, rebuild, str(exc))
            return
        if outage is not None:
            log.info("arXiv feed %s is back after %d failed attempts", key, outage.attempts)
        self._outages.pop(key, None)
        self._fetched[key] = now
        if not result.announced or result.day is None:
            log.info("fetched %s: no announcement (weekend or holiday)", key)
            return
        log.info(
            "fetched %s for %s: %d new, %d cross-lists", key, result.day, result.new, result.cross
        )
        day = result.day
        if self._service.batching:
            await self._score_in_batch(members, day, now)
            return
        await self._each(members, lambda row, settings: self._build(row, settings, day, now))

    async def _score_in_batch(
        self, members: Sequence[tuple[ChannelRow, ChannelSettings]], day: date, now: datetime
    ) -> None:
        """The Batch API trigger: score the new day at batch prices, each channel until its
        post time minus the margin (then at once). The tick waits `batch_grace` seconds (a
        batch that is done at once, or a day scored at once, ends within the tick) and leaves
        the rest running; a post or command that comes meanwhile joins the build."""

        async def job(row: ChannelRow, settings: ChannelSettings) -> None:
            await self._build(row, settings, day, now, due_at(day, settings) - self._batch_margin)

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
        since = outage.first.astimezone(EASTERN).strftime("%H:%M %Z")
        text = (
            f"arXiv has not answered since {since} ({reason.rstrip('.')}), so the digest of "
            f"{day} is late. I keep trying and will post it as soon as arXiv is back."
        )
        for row, _ in members:
            await self._notify(row, day, "arxiv-down", text)

    async def _build(
        self,
        row: ChannelRow,
        settings: ChannelSettings,
        day: date,
        now: datetime,
        batch_until: datetime | None = None,
    ) -> Digest | None:
        """Score what the channel's digest of `day` lacks and store it; None if it cannot. When
        the LLM cannot be reached, the digest keeps what is scored and says when scoring is
        tried again (and the other channels of this tick do not wait for it again)."""
        options = DigestOptions.for_channel(settings)
        if self._llm_down is not None and self._llm_down[1] == now:
            return await self._waiting_for_llm(row, settings, day, now, self._llm_down[0])
        try:
            digest = await self._service.build(row.id, day, options, batch_until=batch_until)
        except LLMUnavailable as exc:
            log.error("scoring %s: %s (retrying at the next tick)", day, exc)
            self._llm_down = (exc, now)
            return await self._waiting_for_llm(row, settings, day, now, exc)
        except ScoringError as exc:
            log.error("scoring for %s on %s failed: %s", row.id, day, exc)
            digest = await self._service.build(row.id, day, options, scored_only=True)
            if digest is not None:
                await self._store.digests.save(row.id, day, "scored", digest_to_json(digest))
            return digest
        if digest is not None:
            u = digest.run_usage
            log.info(
                "scored %s for %s: %d of %d scored, %d selected, %d unscored; "
                "this run %d calls, %d tokens, %s",
                day,
                row.id,
                digest.counts.scored,
                digest.counts.considered,
                digest.counts.selected,
                digest.counts.unscored,
                u.calls,
                u.total_tokens,
                format_usd(u.cost_usd, u.priced),
            )
        return digest

    async def _waiting_for_llm(
        self,
        row: ChannelRow,
        settings: ChannelSettings,
        day: date,
        now: datetime,
        exc: LLMUnavailable,
    ) -> Digest | None:
        """The digest of what is scored, with a note saying the LLM could not be reached and
        when scoring is tried again."""
        options = DigestOptions.for_channel(settings)
        digest = await self._service.build(row.id, day, options, scored_only=True)
        if digest is None:
            return None
        again = (now + RESCORE_EVERY).astimezone(ZoneInfo(settings.timezone)).strftime("%H:%M")
        waiting = digest.counts.unscored
        if exc.refused:
            note = (
                f"The LLM refused the bot's API key, so {waiting} of {digest.counts.sent} papers "
                f"are not scored yet; {exc.retry_hint}."
            )
        else:
            note = (
                f"The LLM could not be reached ({exc.reason}), so {waiting} of "
                f"{digest.counts.sent} papers are not scored yet. I will try again at {again} "
                f"{settings.timezone} and add the ones that qualify to this digest."
            )
        digest = replace(digest, notes=(note,))
        await self._store.digests.save(row.id, day, "scored", digest_to_json(digest))
        return digest

    # -- post ----------------------------------------------------------------------------------

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
        async with self._work.attempt(f"deliver:{row.id}:{day}") as mine:
            if not mine:  # another process (or tick) is delivering it right now
                return
            await self._deliver(row, settings, day, now, attempts)

    async def _deliver(
        self, row: ChannelRow, settings: ChannelSettings, day: date, now: datetime, attempts: int
    ) -> None:
        key = (row.id, day)
        digest = await self._build(row, settings, day, now)
        if digest is None:
            return
        try:
            done = await self._delivery.deliver(row.platform, digest)
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
        async with self._work.attempt(f"deliver:{row.id}:{day}") as mine:
            if not mine:
                return
            try:
                await self._delivery.deliver(row.platform, digest)
            except PlatformError as exc:
                log.warning("adding late cards of %s to %s failed: %s", day, row.id, exc)

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
        return await self._build(row, settings, day, now)

    async def _missed(
        self, row: ChannelRow, settings: ChannelSettings, day: date, due: datetime
    ) -> None:
        """Too late to post: keep the digest, mark the day missed and say so once."""
        record = await self._store.digests.get(row.id, day)
        if record is None:
            options = DigestOptions.for_channel(settings)
            digest = await self._service.build(row.id, day, options, scored_only=True)
            if digest is None:
                return
            await self._store.digests.save(row.id, day, MISSED, digest_to_json(digest))
        await self._store.digests.set_state(row.id, day, MISSED)
        local = due.astimezone(ZoneInfo(settings.timezone)).strftime("%a %d %b %H:%M")
        log.warning("digest of %s for %s missed (was due %s)", day, row.id, local)
        await self._notify(
            row,
            day,
            "missed",
            f"The arXiv digest of {day} was not posted: it was due {local} {settings.timezone} "
            "and could not be delivered in time. `/arxiv today` shows the latest one.",
        )

    async def _notify(self, row: ChannelRow, day: date, kind: str, text: str) -> None:
        async with self._work.attempt(f"notice:{row.id}:{day}:{kind}") as mine:
            if not mine:
                return
            try:
                await self._delivery.notice(row.platform, row.id, day, kind, text)
            except PlatformError as exc:
                log.warning("notice to %s failed: %s", row.id, exc)

    # -- reporting and shutdown ------------------------------------------------------------

    async def status(self) -> list[ChannelStatus]:
        """Each subscribed channel's next post time and its latest digest's outcome."""
        return await channel_statuses(self._store, self._settings_of, self._clock())

    async def stop(self, grace: float) -> None:
        """Let a tick in progress finish (up to `grace` seconds), then cancel it. Whatever it
        stored is consistent; a cancelled delivery resumes on the next start."""
        self._stopping = True
        for batch in list(self._batches):  # a day left unscored is scored at its post
            batch.cancel()
        task = self._current
        if task is None or task.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), grace)
        except TimeoutError:
            log.warning("stopping: the tick in progress did not finish in %.0fs; cancelled", grace)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        except Exception:  # the tick logs its own failures
            return


async def _all(jobs: Iterable[Awaitable[object]]) -> None:
    """Await every job; a failure is logged, never stops the others."""
    for result in await asyncio.gather(*jobs, return_exceptions=True):
        if isinstance(result, Exception):
            log.error("daily tick step failed: %s", result, exc_info=result)
        elif isinstance(result, BaseException):
            raise result
