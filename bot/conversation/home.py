"""What a person's home page shows (Slack's Home tab): each channel of their workspace the bot
posts to, with its criteria's topics, settings, follows and latest digest's top papers, and the
papers that person liked there, gathered in one pass over the store.

`gather_home` loads; it decides nothing and renders nothing (the adapter lays it out within its
platform's limits). The channels gathered are bounded (`MAX_CHANNELS`), so a workspace with
hundreds of channels costs the same few queries per channel shown, and the rest are counted.

It must not change anything, import a platform SDK or render platform markup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from bot.arxiv.categories import categories_key
from bot.config.channels import ChannelSettings
from bot.conversation.context import Context
from bot.conversation.criteria_topics import topics
from bot.i18n import DEFAULT
from bot.models import DigestEntry, Follow, Paper

MAX_CHANNELS = 12
"""Channels gathered for one home page; the others are only counted."""
TOP_PAPERS = 3
LIKES_SHOWN = 8


@dataclass(frozen=True, slots=True)
class HomeChannel:
    """One channel as the home page shows it."""

    channel_id: str
    subscribed: bool
    criteria_version: int
    topics: tuple[str, ...]
    settings: ChannelSettings
    follows: tuple[Follow, ...]
    day: date | None  # the channel's latest announcement day, None before any feed
    top: tuple[DigestEntry, ...]  # that day's best cards
    selected: int  # how many papers that day's digest selected
    built: bool = True  # whether that day's digest was built for the channel


@dataclass(frozen=True, slots=True)
class HomeLike:
    """A paper the person liked, in which channel, and when."""

    channel_id: str
    paper: Paper
    liked_at: str


@dataclass(frozen=True, slots=True)
class Home:
    """Everything one person's home page shows."""

    user_id: str
    channels: tuple[HomeChannel, ...]
    more_channels: int  # channels of the workspace not gathered (beyond `MAX_CHANNELS`)
    likes: tuple[HomeLike, ...]
    locale: str = DEFAULT  # the language the page is written in (one a catalog has)


async def gather_home(
    ctx: Context,
    platform: str,
    user_id: str,
    belongs: Callable[[str], bool],
    locale: str = DEFAULT,
) -> Home:
    """The home page of `user_id`: the platform's channels the bot posts to for which
    `belongs(channel_id)` holds (the person's workspace), and their likes there, to be written
    in `locale`."""
    rows = [row for row in await ctx.store.channels.posted_to(platform) if belongs(row.id)]
    shown = rows[:MAX_CHANNELS]
    channels = [await _channel(ctx, row.id, platform, row.subscribed) for row in shown]
    likes: list[HomeLike] = []
    for row in shown:
        liked = await ctx.store.likes.liked_papers(row.id, user_id, LIKES_SHOWN)
        likes += [HomeLike(row.id, like.paper, like.last_at) for like in liked]
    likes.sort(key=lambda like: like.liked_at, reverse=True)
    more = len(rows) - len(shown)
    return Home(user_id, tuple(channels), more, tuple(likes[:LIKES_SHOWN]), locale)


async def _channel(ctx: Context, channel_id: str, platform: str, subscribed: bool) -> HomeChannel:
    settings = await ctx.channel_settings(channel_id, platform)
    current = await ctx.store.channels.channel_criteria(channel_id)
    text, version = (current[0].text, current[1]) if current else ("", 0)
    day = await ctx.store.papers.latest_feed_day(categories_key(settings.categories))
    digest = await ctx.stored_digest(channel_id, day)
    entries = digest.entries if digest is not None else ()
    return HomeChannel(
        channel_id=channel_id,
        subscribed=subscribed,
        criteria_version=version,
        topics=tuple(t.label for t in topics(text)),
        settings=settings,
        follows=tuple(await ctx.store.follows.active(channel_id)),
        day=day,
        top=entries[:TOP_PAPERS],
        selected=len(entries),
        built=digest is not None,
    )
