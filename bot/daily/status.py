"""What `arxiv-bot status` shows: each subscribed channel's next post time and last outcome,
the paused workspaces, each channel's weekly post and the daily LLM budget's account today
(whether ARXIV_BOT_TOKEN_KEY opens the installations kept is `adapters.slack_install`'s).

It reads the store and the channels' settings only, so the status command loads neither the
digest service nor the daily runner; `bot.daily.runner` re-exports these names for its own use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from scoring.pricing import format_usd

if TYPE_CHECKING:
    from bot.config.channels import ChannelSettings
    from bot.store import ChannelRow, Store

SettingsOf = Callable[["ChannelRow"], "ChannelSettings"]


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    """What `arxiv-bot status` shows for a subscribed channel."""

    channel_id: str
    platform: str
    settings: ChannelSettings
    next_post: datetime
    last_day: date | None
    last_state: str | None
    attempts: int
    last_error: str


def next_post_time(now: datetime, settings: ChannelSettings) -> datetime:
    """The channel's next local post time after `now` (whether or not a digest is due then)."""
    zone = ZoneInfo(settings.timezone)
    local = now.astimezone(zone)
    candidate = datetime.combine(local.date(), settings.post_time, zone)
    return (
        candidate
        if candidate > now
        else datetime.combine(local.date() + timedelta(1), settings.post_time, zone)
    )


async def channel_statuses(
    store: Store, settings_of: SettingsOf, now: datetime
) -> list[ChannelStatus]:
    """Each subscribed channel's next post time and its latest digest's outcome."""
    out = []
    for row in await store.channels.subscribed():
        settings = settings_of(row)
        records = await store.digests.records(row.id)
        last = records[0] if records else None
        out.append(
            ChannelStatus(
                channel_id=row.id,
                platform=row.platform,
                settings=settings,
                next_post=next_post_time(now, settings),
                last_day=last.day if last else None,
                last_state=last.state if last else None,
                attempts=last.attempts if last else 0,
                last_error=last.last_error if last else "",
            )
        )
    return out


WEEKLY_POSTED = "posted"
"""The state of a weekly post that reached its channel (`bot.daily.weekly.POSTED`; not imported, so
the status command does not load the weekly runner)."""


def budget_line(day: date, cap_usd: float, spent_usd: float, held_usd: float) -> str:
    """The daily LLM budget's account on a UTC day, in one line."""
    return (
        f"LLM budget {day} (UTC): {format_usd(spent_usd)} spent, {format_usd(held_usd)} held for "
        f"requests in flight, of {format_usd(cap_usd)}"
    )


async def status_notes(store: Store, settings_of: SettingsOf) -> list[str]:
    """The lines `arxiv-bot status` adds after the channels: which workspaces are paused (they
    get no post until installed again) and each subscribed channel's weekly post."""
    lines = [
        f"paused: {p.platform} workspace {p.workspace} ({p.reason}): {p.channels} "
        f"channel{'s' if p.channels != 1 else ''}, {p.subscribed} subscribed, get no post until "
        "it is installed again"
        for p in await store.installations.paused_channels()
    ]
    for row in await store.channels.subscribed():
        settings = settings_of(row)
        if settings.weekly_day is None:
            continue
        last = await store.weekly.last_week(row.id, WEEKLY_POSTED)
        lines.append(
            f"{row.platform}:{row.id}  weekly post {settings.weekly_text()}  "
            f"last posted: {last or 'none yet'}"
        )
    return lines
