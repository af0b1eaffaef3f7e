"""The daily post's clock arithmetic, pure: when arXiv's feed of a day is ready, when a
channel's digest of that day is due, how long to wait after failures, which days a channel
still needs and what to do with each of them.

Time rules (US Eastern is arXiv's clock): announcements happen Sunday–Thursday at 20:00 and the
feed of day D is ready at about 00:30 on D (Monday–Friday). A channel's digest of D is due at
the first local post time at or after that. It is posted late if the bot was down at that
moment, up to the catch-up window; later than that it is reported in the channel instead.

Every function here takes what it decides on as arguments (the clock's `now` included) and
returns a value: this module must not read the clock, touch the store or the network, or log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.config.channels import ChannelSettings
from bot.daily.delivery import MISSED, POSTED, POSTING
from bot.store import DigestRecord

EASTERN = ZoneInfo("America/New_York")
FEED_READY = time(0, 30)
"""arXiv rebuilds its feeds around midnight US Eastern after each announcement."""
ANNOUNCEMENT_WEEKDAYS = frozenset(range(5))  # feeds of Monday..Friday carry announcements
RETRY_BASE = timedelta(minutes=1)
RETRY_MAX = timedelta(minutes=30)
RESCORE_EVERY = timedelta(minutes=15)

DayStep = Literal["skip", "complete", "missed", "post"]
"""What a due day of a channel needs: nothing (reported missed), adding late cards to its
posted thread, reporting it missed, or posting it."""


def feed_ready(day: date) -> datetime:
    """When arXiv's feed of announcement day `day` is ready."""
    return datetime.combine(day, FEED_READY, EASTERN)


def latest_rebuild(now: datetime) -> datetime:
    """The most recent moment at or before `now` when arXiv rebuilt its feed for an
    announcement day."""
    day = now.astimezone(EASTERN).date()
    while day.weekday() not in ANNOUNCEMENT_WEEKDAYS or feed_ready(day) > now:
        day -= timedelta(days=1)
    return feed_ready(day)


def due_at(day: date, settings: ChannelSettings) -> datetime:
    """When a channel's digest of announcement day `day` is due: its first local post time at
    or after the feed of that day is ready."""
    zone = ZoneInfo(settings.timezone)
    ready = feed_ready(day).astimezone(zone)
    due = datetime.combine(ready.date(), settings.post_time, zone)
    return (
        due
        if due >= ready
        else datetime.combine(ready.date() + timedelta(1), settings.post_time, zone)
    )


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt after `attempts` failures: 1, 2, 4 … 30 minutes."""
    wait: timedelta = RETRY_BASE * (2 ** min(max(attempts - 1, 0), 16))
    return min(wait, RETRY_MAX)


def days_to_serve(latest: date | None, records: Iterable[DigestRecord]) -> list[date]:
    """The days a channel still needs, oldest first: the latest announcement day of its
    categories, plus older days (of `records`, its scored and posting digests) whose delivery
    was started or attempted and never finished."""
    days: set[date] = set()
    if latest is not None:
        days.add(latest)
    for rec in records:
        if rec.state == POSTING or rec.attempts:
            days.add(rec.day)
    return sorted(days)


def in_window(due: datetime, start: datetime, now: datetime) -> bool:
    """Whether a digest due at `due` is served now: it is due, and not before the channel's
    daily posts started (`start`)."""
    return start <= due <= now


def day_step(state: str | None, due: datetime, now: datetime, catch_up: timedelta) -> DayStep:
    """What a digest in delivery state `state` (None: never stored), due at `due`, needs now."""
    if state == MISSED:
        return "skip"
    if state == POSTED:
        return "complete"
    if now - due > catch_up:
        return "missed"
    return "post"


def rescore_due(unscored: int, last: datetime, now: datetime) -> bool:
    """Whether a posted digest's `unscored` papers are tried again now (last tried at `last`)."""
    return bool(unscored) and now - last >= RESCORE_EVERY


@dataclass(frozen=True, slots=True)
class Outage:
    """Failed fetches of one category set since the first failure."""

    first: datetime
    next_try: datetime
    attempts: int = 0
    reason: str = ""
    reported: bool = False

    def failed(self, now: datetime, reason: str) -> Outage:
        """The outage after one more failed attempt at `now`."""
        attempts = self.attempts + 1
        return replace(self, attempts=attempts, reason=reason, next_try=now + backoff(attempts))

    def to_report(self, now: datetime, deadline: timedelta) -> bool:
        """Whether the channels are told now: the outage has lasted `deadline` and they were
        not told yet."""
        return not self.reported and now - self.first >= deadline


def outage_after(outage: Outage | None, now: datetime, reason: str) -> Outage:
    """The outage of a category set after a failed fetch at `now` (the first one starts it)."""
    return (outage or Outage(first=now, next_try=now)).failed(now, reason)
