"""The week's best: once a week, in each subscribed channel that asked for it (`/arxiv settings
weekly on friday 16:00`, in the channel's time zone), one threaded post with the week's
most-liked papers and the best-scored papers nobody reacted to, exactly once through crashes,
kills and restarts.

- **Which week.** The post due at the channel's weekly moment looks back on the seven days that
  end then (a Friday post: last Saturday to that Friday) and is keyed by the ISO week of that
  moment (`2026-W48`), so a channel gets at most one weekly post per ISO week. A bot that was
  down at the moment posts late, up to the daily post's catch-up window; later, the week is
  skipped.
- **What.** The papers of the channel's digests of those days: the MOST_LIKED with most likes
  (then best scored), and the BEST_UNNOTICED best-scored ones nobody liked or disliked. A week
  with none of either (no digest had a paper) posts nothing, and is recorded as quiet.
- **Once.** The choice is frozen in the store (`weekly_posts`) when first made, so a restart
  posts the same papers; the post moves decided → posting → posted, and every message id is
  stored the moment the platform returns it (`weekly_messages`). The unit
  `weekly:{channel}:{week}` is held by one process at a time and fenced as the daily post's
  `deliver:` unit is (`bot.work.Work.hold`): each message's intent and id are recorded under
  the holding's epoch, so a process that paused past its lease stops at its next message with
  one log line instead of posting beside the process that took the post over. A post left
  mid-way first asks the platform what it already shows (`ChatPlatform.recover`), which
  covers a kill between posting a message and storing its id. The post is a `Digest` marked
  with its `week` whose `day` is the Sunday before that week: no daily digest has that day, so
  the platform's markers of the two posts never meet.

This module must not import a platform SDK, score papers or fetch feeds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config.channels import ChannelSettings
from bot.daily.delivery import Delivery
from bot.daily.post import stale
from bot.digest.selection import digest_from_json, digest_to_json
from bot.errors import LeaseLost, PlatformError
from bot.i18n import _, using
from bot.models import Digest, DigestEntry, StageCounts, digest_order
from bot.platform import PARENT
from bot.safety import excerpt
from bot.store import ChannelRow, Fence, Store
from bot.work import Work

log = logging.getLogger(__name__)

MOST_LIKED = 5
BEST_UNNOTICED = 5
DECIDED = "decided"
POSTING = "posting"
POSTED = "posted"
QUIET = "quiet"
LOOK_BACK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class WeekPick:
    """The week's choice: liked entries with their like counts, then unnoticed entries."""

    liked: tuple[tuple[DigestEntry, int], ...]
    unnoticed: tuple[DigestEntry, ...]

    @property
    def empty(self) -> bool:
        """Whether there is nothing to post."""
        return not self.liked and not self.unnoticed


def weekly_due(now: datetime, settings: ChannelSettings) -> datetime | None:
    """The channel's latest weekly moment at or before `now`; None when the post is off."""
    if settings.weekly_day is None:
        return None
    zone = ZoneInfo(settings.timezone)
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    for week_start in (monday, monday - timedelta(days=7)):
        day = week_start + timedelta(days=settings.weekly_day)
        due = datetime.combine(day, settings.weekly_time, zone)
        if due <= now:
            return due
    raise AssertionError("last week's moment is always before now")


def week_of(due: datetime) -> str:
    """The ISO week of a weekly moment, e.g. 2026-W48: the key of its post."""
    iso = due.date().isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def key_day(due: datetime) -> date:
    """The Sunday before the ISO week of `due`: the day the post is known by on the platform."""
    d = due.date()
    return d - timedelta(days=d.weekday() + 1)


def pick(digests: Sequence[Digest], likes: Mapping[str, tuple[int, int]]) -> WeekPick:
    """The most-liked and the best-scored unnoticed papers of the week's digests (pure)."""
    entries: dict[str, DigestEntry] = {}
    for digest in digests:
        for entry in digest.entries:
            entries.setdefault(entry.paper.id, entry)
    liked = sorted(
        ((e, likes[pid][0]) for pid, e in entries.items() if likes.get(pid, (0, 0))[0] > 0),
        key=lambda el: (-el[1], digest_order(el[0])),
    )
    unnoticed = sorted((e for pid, e in entries.items() if pid not in likes), key=digest_order)
    return WeekPick(tuple(liked[:MOST_LIKED]), tuple(unnoticed[:BEST_UNNOTICED]))


def weekly_digest(base: Digest, chosen: WeekPick, week: str, day: date) -> Digest:
    """The weekly post as a digest: the liked papers first, then the unnoticed ones; its notes
    say which are which (the summary message shows them)."""
    entries = tuple(e for e, _ in chosen.liked) + chosen.unnoticed
    notes: list[str] = []
    if chosen.liked:
        items = [
            f"{n}. {excerpt(e.paper.title, 90)} ({k} 👍)"
            for n, (e, k) in enumerate(chosen.liked, 1)
        ]
        notes.append(_("Most liked: ") + "; ".join(items))
    if chosen.unnoticed:
        first = len(chosen.liked) + 1
        items = [
            f"{n}. {excerpt(e.paper.title, 90)} ("
            + _("relevance {relevance}, novelty {novelty}").format(
                relevance=e.score.relevance, novelty=e.score.novelty
            )
            + ")"
            for n, e in enumerate(chosen.unnoticed, first)
        ]
        notes.append(_("Best scored, nobody reacted yet: ") + "; ".join(items))
    return Digest(
        day=day,
        channel_id=base.channel_id,
        model=base.model,
        criteria=base.criteria,
        criteria_version=base.criteria_version,
        thresholds=base.thresholds,
        counts=StageCounts(0, 0, 0, len(entries)),
        entries=entries,
        notes=tuple(notes),
        week=week,
    )


class WeeklyPoster:
    """Posts each channel's weekly post when it is due (see module docstring)."""

    def __init__(
        self,
        store: Store,
        delivery: Delivery,
        work: Work,
        *,
        catch_up: timedelta = timedelta(hours=18),
    ) -> None:
        self._store = store
        self._delivery = delivery
        self._work = work
        self._catch_up = catch_up

    async def serve(self, row: ChannelRow, settings: ChannelSettings, now: datetime) -> None:
        """Post (or finish) the channel's weekly post if it is due and not posted; a platform
        failure is logged and retried on a later tick. Its own words (the notes) are written
        in the channel's language."""
        with using(settings.language):
            await self._serve(row, settings, now)

    async def _serve(self, row: ChannelRow, settings: ChannelSettings, now: datetime) -> None:
        due = weekly_due(now, settings)
        if due is None:
            return
        week = week_of(due)
        record = await self._store.weekly.get(row.id, week)
        if record is not None and record[0] in (POSTED, QUIET):
            return
        if record is None and now - due > self._catch_up:
            return
        async with self._work.hold(f"weekly:{row.id}:{week}") as fence:
            if fence is None:  # another process (or tick) is posting it right now
                return
            record = await self._store.weekly.get(row.id, week) or await self._decide(
                row.id, due, week
            )
            state, body = record
            if state in (POSTED, QUIET):
                return
            try:
                await self._deliver(
                    row.platform, row.id, week, state, digest_from_json(body), fence
                )
            except PlatformError as exc:
                log.warning("weekly post %s to %s:%s failed: %s", week, row.platform, row.id, exc)
            except LeaseLost as lost:
                stale(lost)

    async def _decide(self, channel_id: str, due: datetime, week: str) -> tuple[str, Any]:
        """Choose the week's papers and freeze the choice (the first one stored stands)."""
        since = due.date() - LOOK_BACK
        digests: list[Digest] = []
        for record in reversed(await self._store.digests.records(channel_id)):
            if since < record.day <= due.date():
                stored = await self._store.digests.get(channel_id, record.day)
                if stored is not None and isinstance(stored[1], dict):
                    digests.append(digest_from_json(stored[1]))
        ids = [e.paper.id for d in digests for e in d.entries]
        chosen = pick(digests, await self._store.likes.like_counts(channel_id, ids))
        if chosen.empty:
            log.info("weekly post %s of %s: a quiet week, nothing to post", week, channel_id)
            return await self._store.weekly.freeze(channel_id, week, QUIET, {})
        body = digest_to_json(weekly_digest(digests[-1], chosen, week, key_day(due)))
        return await self._store.weekly.freeze(channel_id, week, DECIDED, body)

    async def _deliver(
        self,
        platform_name: str,
        channel: str,
        week: str,
        state: str,
        digest: Digest,
        fence: Fence,
    ) -> None:
        """Post whatever of the weekly post is not on the platform yet, fenced as the daily
        post is (`LeaseLost` once another process took the week's post over)."""
        platform = self._delivery.platform(platform_name)
        if state != POSTING:
            await self._store.weekly.set_state(channel, week, POSTING)

        async def record(slot: str, message: str) -> None:
            if not await self._store.weekly.record_posted(channel, week, slot, message, fence):
                raise LeaseLost(fence.key, fence.epoch)
            if slot != PARENT:  # a reaction on a weekly card is a like of its paper
                await self._store.digests.record_posted(channel, digest.day, slot, message)

        unsure = bool(await self._store.work.intents(fence.key))
        _posted, count, recovered = await self._delivery.post_thread(
            platform,
            digest,
            await self._store.weekly.posted(channel, week),
            record,
            recover=state == POSTING or unsure,
            fence=fence,
        )
        await self._store.weekly.set_state(channel, week, POSTED)
        log.info(
            "posted the weekly post %s to %s:%s (%d messages, %d recovered)",
            week,
            platform_name,
            channel,
            count,
            recovered,
        )
