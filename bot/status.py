"""What `arxiv-bot status` shows: each subscribed channel's next post time and last outcome.

It reads the store and the channels' settings only, so the status command loads neither the
digest service nor the daily runner; `bot.daily` re-exports these names for its own use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from bot.channels import ChannelSettings
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
    for row in await store.subscribed_channels():
        settings = settings_of(row)
        records = await store.digest_records(row.id)
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
