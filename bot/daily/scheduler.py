"""When the daily runner ticks: apscheduler 3.x jobs on the bot's event loop.

- `fetch`: after arXiv rebuilds its feed (00:30 US Eastern, Monday–Friday), fetch and score.
- `post:<channel>`: one cron job per subscribed channel at its local post time, in its time zone.
- `retry`: every few minutes, retry outages and late deliveries (and catch up after a restart).
- `weekly:<channel>`: one cron job per channel with a weekly post, at its weekly moment.
- `watch`: every `watch_period(lease ttl)` seconds, take over the deliveries whose lease expired
  or whose holder died (`DailyRunner.take_over`), so a dead replica's thread is finished within
  its lease time plus that period (at most 30 s), by whichever replica looks first.
- `sync`: every minute, make the channel jobs match the store, so a new subscription or a changed
  post time takes effect without a restart.

Every job calls the same idempotent `DailyRunner.tick()`; ticks never overlap, so the jobs only
decide *when* work happens, never *what*. A failing tick is logged with its traceback and the
next one runs as planned.

This module must not import a platform SDK.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config.channels import ChannelSettings
from bot.daily.runner import DailyRunner, SettingsOf
from bot.daily.schedule import EASTERN, FEED_READY
from bot.store import ChannelRow, Store

log = logging.getLogger(__name__)

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600}


def watch_period(ttl: float) -> float:
    """How often to look for orphaned deliveries: a quarter of the lease time, between 1 and
    30 seconds (a take-over then comes within the lease time plus 30 s)."""
    return min(30.0, max(1.0, ttl / 4))


def fetch_trigger() -> CronTrigger:
    """Right after arXiv's feed is rebuilt for an announcement day."""
    return CronTrigger(
        day_of_week="mon-fri", hour=FEED_READY.hour, minute=FEED_READY.minute, timezone=EASTERN
    )


def post_trigger(settings: ChannelSettings) -> CronTrigger:
    """Every day at the channel's local post time (days without a digest post nothing)."""
    return CronTrigger(
        hour=settings.post_time.hour, minute=settings.post_time.minute, timezone=settings.timezone
    )


def weekly_triggers(rows: Sequence[ChannelRow], settings_of: SettingsOf) -> dict[str, CronTrigger]:
    """`weekly:<channel>` at each channel's weekly moment, for channels that have one."""
    out: dict[str, CronTrigger] = {}
    for row in rows:
        s = settings_of(row)
        if s.weekly_day is not None:
            out[f"weekly:{row.id}"] = CronTrigger(
                day_of_week=s.weekly_day,
                hour=s.weekly_time.hour,
                minute=s.weekly_time.minute,
                timezone=s.timezone,
            )
    return out


class DailyScheduler:
    """Runs the daily runner's ticks at the right moments (see module docstring)."""

    def __init__(
        self,
        runner: DailyRunner,
        store: Store,
        settings_of: SettingsOf,
        *,
        retry_every: timedelta = timedelta(minutes=5),
        sync_every: timedelta = timedelta(minutes=1),
        watch_every: float | None = None,
    ) -> None:
        self._runner = runner
        self._store = store
        self._settings_of = settings_of
        self._retry_every = retry_every
        self._sync_every = sync_every
        self._watch_every = watch_every or watch_period(runner.lease_seconds)
        self._scheduler = AsyncIOScheduler(timezone=UTC, job_defaults=JOB_DEFAULTS)
        self._channel_jobs: dict[str, str] = {}  # job id -> its trigger, as text

    def start(self) -> None:
        """Start the jobs on the running loop; a catch-up tick runs at once."""
        now = datetime.now(UTC)
        add = self._scheduler.add_job
        add(self.tick, fetch_trigger(), id="fetch", name="fetch and score")
        add(
            self.tick,
            IntervalTrigger(seconds=self._retry_every.total_seconds()),
            id="retry",
            name="retry and catch up",
            next_run_time=now,
        )
        add(
            self.watch,
            IntervalTrigger(seconds=self._watch_every),
            id="watch",
            name="take over orphaned deliveries",
        )
        add(
            self.sync,
            IntervalTrigger(seconds=self._sync_every.total_seconds()),
            id="sync",
            name="follow subscriptions",
            next_run_time=now,
        )
        self._scheduler.start()

    async def shutdown(self, grace: float = 25.0) -> None:
        """Stop planning new ticks, let the current one finish within `grace` seconds, then stop
        the scheduler (apscheduler's shutdown cancels running jobs, so it comes last)."""
        if self._scheduler.running:
            self._scheduler.pause()
        await self._runner.stop(grace)
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def jobs(self) -> dict[str, datetime | None]:
        """Every job and its next run time (for status and tests)."""
        return {job.id: job.next_run_time for job in self._scheduler.get_jobs()}

    async def tick(self) -> None:
        """One runner tick; a failure is logged and does not stop the schedule."""
        try:
            await self._runner.tick()
        except Exception:
            log.exception("daily tick failed; the next one runs as planned")

    async def watch(self) -> None:
        """Take over orphaned deliveries; a failure (an outage) is logged once per try."""
        try:
            await self._runner.take_over()
        except Exception as exc:
            log.warning("could not look for orphaned deliveries: %s", exc)

    async def sync(self) -> None:
        """Make the per-channel post jobs match the subscribed channels and their settings."""
        try:
            rows = await self._store.channels.subscribed()
        except Exception:
            log.exception("could not read subscriptions; keeping the current schedule")
            return
        wanted = {f"post:{row.id}": post_trigger(self._settings_of(row)) for row in rows}
        wanted.update(weekly_triggers(rows, self._settings_of))
        for job_id in set(self._channel_jobs) - set(wanted):
            self._scheduler.remove_job(job_id)
            del self._channel_jobs[job_id]
            log.info("schedule: %s removed", job_id)
        for job_id, trigger in wanted.items():
            text = str(trigger)
            if self._channel_jobs.get(job_id) == text:
                continue
            self._scheduler.add_job(
                self.tick, trigger, id=job_id, name=job_id, replace_existing=True
            )
            self._channel_jobs[job_id] = text
            log.info("schedule: %s at %s", job_id, text)
