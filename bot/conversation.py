"""The conversation: everything a team can say to the bot, and what it answers, platform-neutral.

Adapters turn a slash command into `handle(caller, text, respond)` and a reaction into
`react(...)`; they render the `Reply` values they get back (`Caller`, `Reply`, `Respond` and
`ConversationConfig` live in `bot.context` and are importable from here). Permissions,
validation, explanations and likes live here once; the audit log is `bot.context`'s.

This module must not import a platform SDK or render platform markup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

from bot import commands, follow_commands
from bot.channels import (
    ChannelSettings,
)
from bot.commands import Command
from bot.context import Caller, Context, ConversationConfig, Reply, Respond
from bot.criteria_commands import CriteriaCommands
from bot.criteria_preview import CriteriaPreview
from bot.deciding import (
    DigestOptions,
)
from bot.errors import BotError
from bot.explain_commands import ExplainCommands, paper_reference
from bot.ingest import categories_key
from bot.models import Digest, Paper
from bot.ratelimit import RateLimiter
from bot.reactions import Reactions
from bot.safety import defuse
from bot.search import Lookups
from bot.service import FEED_FRESH_FOR, DigestService
from bot.settings_commands import SettingsCommands
from bot.stats_commands import StatsCommands
from bot.store import Store
from scoring.explain import Explainer

__all__ = [
    "COSTLY_COMMANDS",
    "Caller",
    "Conversation",
    "ConversationConfig",
    "Reply",
    "Respond",
]

# Commands that post in the channel or spend LLM money; changes to a channel count separately.
COSTLY_COMMANDS = frozenset({"today", "criteria preview", "explain", "day", "similar"})


class Conversation:
    """Answers `/arxiv` commands and records reactions for every platform."""

    def __init__(
        self,
        store: Store,
        service: DigestService,
        explainer: Explainer,
        config: ConversationConfig,
        *,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._ctx = Context(store, service, explainer, config)
        self._store = store
        self._service = service
        self._explainer = explainer
        self._config = config
        self._limiter = limiter or RateLimiter()
        self._follows = follow_commands.FollowCommands(store)
        self._lookups = Lookups(store, service)
        self._reactions = Reactions(self._ctx)

    # -- entry points ---------------------------------------------------------------------------

    async def handle(self, caller: Caller, text: str, respond: Respond) -> None:
        """Parse and run one command; every user-facing problem becomes a reply."""
        try:
            command = commands.parse(text)
            await self._ensure_channel(caller)
            changes = commands.spec(command.name).changes_channel
            if changes:
                self._check_permission(caller)
            self._check_rate(caller, command.name, changes)
            await self._run(caller, command, respond)
        except BotError as exc:
            await respond(Reply(defuse(str(exc))))

    def _check_rate(self, caller: Caller, name: str, changes: bool) -> None:
        """Refuse, with when to try again, a costly command or a change over its limits."""
        kind = "costly" if name in COSTLY_COMMANDS else "edits" if changes else None
        if kind is None:
            return
        limits = self._config.limits
        per_user, per_channel = (
            (limits.costly_per_user, limits.costly_per_channel)
            if kind == "costly"
            else (limits.edits_per_user, limits.edits_per_channel)
        )
        place = f"{caller.platform}:{caller.channel_id}"
        denied = self._limiter.acquire(
            [
                (f"{kind}:user:{caller.platform}:{caller.user_id}", per_user),
                (f"{kind}:channel:{place}", per_channel),
            ]
        )
        if denied is None:
            return
        what = "changes to this channel" if kind == "edits" else f"`{name}`"
        who = "per person" if denied.index == 0 else "in this channel"
        raise BotError(
            f"Slow down a little: {what} can run {denied.limit} {who}. "
            f"Please try again {denied.wait_text}."
        )

    async def react(self, caller: Caller, message_id: str, emoji: str, added: bool) -> str | None:
        """A reaction on a posted message: like/unlike (or dislike) the paper it shows.
        Returns the paper id when something changed; other messages and emoji are ignored."""
        return await self._reactions.react(caller, message_id, emoji, added)

    async def record_post(
        self, channel_id: str, day: date, slot: str, message_id: str, *, daily: bool = False
    ) -> None:
        """An adapter posted a message: `slot` is 'parent', 'notice' or the paper id of a card;
        `daily` is for the scheduled daily post only (the delivery records those itself)."""
        await self._reactions.record_post(channel_id, day, slot, message_id, daily=daily)

    async def channel_settings(self, channel_id: str, platform: str) -> ChannelSettings:
        """A channel's effective settings."""
        return await self._ctx.channel_settings(channel_id, platform)

    async def _latest_papers(self, caller: Caller) -> tuple[date, list[Paper]] | None:
        """The channel's latest stored day and its papers as the digest considers them."""
        options = await self._options(caller)
        day = await self._store.latest_feed_day(categories_key(options.categories))
        return (day, await self._service.day_papers(day, options)) if day is not None else None

    # -- dispatch -------------------------------------------------------------------------------

    async def _run(self, caller: Caller, command: Command, respond: Respond) -> None:
        if command.name in follow_commands.NAMES:
            answer = await self._follows.run(
                command.name,
                caller.channel_id,
                caller.user_id,
                command.arg,
                lambda: self._latest_papers(caller),
            )
            await respond(Reply(answer.text, ephemeral=not answer.public))
            return
        handlers: dict[str, Callable[[Caller, str, Respond], Awaitable[None]]] = {
            "today": self._today,
            "today repost": self._today_repost,
            "help": self._help,
            **self._lookback_handlers(),
            **self._reactions.handlers(),
            **ExplainCommands(self._ctx).handlers(),
            **CriteriaCommands(self._ctx).handlers(),
            **CriteriaPreview(self._ctx).handlers(),
            **SettingsCommands(self._ctx).handlers(),
            **StatsCommands(self._ctx).handlers(),
        }
        await handlers[command.name](caller, command.arg, respond)

    async def _ensure_channel(self, caller: Caller) -> None:
        await self._store.channel(caller.channel_id, caller.platform)
        if await self._store.channel_criteria(caller.channel_id) is None:
            await self._service.use_criteria(
                caller.channel_id, self._config.default_criteria, "default"
            )

    def _check_permission(self, caller: Caller) -> None:
        admins = self._config.admins
        if (
            not admins
            or caller.user_id in admins
            or any(f"role:{r}" in admins for r in caller.roles)
        ):
            return
        raise BotError(
            "only this bot's admins may change the channel's criteria, settings or "
            "subscription (ARXIV_BOT_ADMINS); reading is open to everyone"
        )

    async def _audit(self, caller: Caller, action: str, detail: str) -> None:
        await self._ctx.audit(caller, action, detail)

    async def _options(self, caller: Caller) -> DigestOptions:
        return await self._ctx.options(caller)

    # -- today ----------------------------------------------------------------------------------

    async def _today_repost(self, caller: Caller, _: str, respond: Respond) -> None:
        await self._post_today(caller, respond, repost=True)

    async def _today(self, caller: Caller, _: str, respond: Respond) -> None:
        await self._post_today(caller, respond, repost=False)

    async def _post_today(self, caller: Caller, respond: Respond, *, repost: bool) -> None:
        """Post the day's digest in the channel unless it is there already (then point to it
        privately) or another `today` is posting it right now."""
        digest = await self.today_digest(caller, respond)
        if digest is None:
            return
        posted = await self._store.thread_of(caller.channel_id, digest.day)
        if posted is not None and not repost:
            await respond(
                Reply(
                    f"The digest of {digest.day} is already posted in this channel: see its "
                    "thread. `/arxiv today repost` posts it here again.",
                    thread=posted,
                )
            )
            return
        # many `today` at once share one digest, and only one of them posts it
        async with self._service.work.attempt(f"today:{caller.channel_id}:{digest.day}") as mine:
            if not mine:
                await respond(Reply(f"The digest of {digest.day} is being posted here right now."))
                return
            await respond(Reply(f"arXiv digest for {digest.day}", ephemeral=False, digest=digest))

    async def today_digest(self, caller: Caller, respond: Respond | None = None) -> Digest | None:
        """The channel's digest of the latest announcement day: from the store when the feed
        was fetched in the last half hour and everything is scored, otherwise built now (a
        caller asking while the same digest is being built joins that build)."""
        options = await self._options(caller)
        key = categories_key(options.categories)
        since = datetime.now(UTC) - FEED_FRESH_FOR
        last = await self._store.last_fetch(key)
        if last is not None and last.fetched_at >= since and last.day is not None:
            stored = await self._service.build(
                caller.channel_id, last.day, options, scored_only=True
            )
            if stored is not None and not stored.counts.unscored and stored.counts.sent:
                return stored
        if respond is not None:
            await respond(Reply("Working on today's digest… I'll post it here when it's ready."))
        outcome = await self._service.today(caller.channel_id, options, since=since)
        if outcome.digest is not None:
            return outcome.digest
        latest = await self._store.latest_feed_day(key)
        if respond is not None:
            tail = f" The latest announcement was on {latest}." if latest else ""
            await respond(Reply(f"No arXiv announcement today (weekend or holiday).{tail}"))
        return None

    # -- search, past days, more like this (bot.search), help ------------------------------

    def _lookback_handlers(self) -> dict[str, Callable[[Caller, str, Respond], Awaitable[None]]]:
        return {
            "search": self._search,
            "day": self._day,
            "similar": self._similar,
        }

    async def _search(self, caller: Caller, arg: str, respond: Respond) -> None:
        await respond(Reply(await self._lookups.search(caller.channel_id, arg)))

    async def _day(self, caller: Caller, arg: str, respond: Respond) -> None:
        digest = await self._lookups.day(caller.channel_id, await self._options(caller), arg)
        await respond(Reply(f"arXiv digest for {digest.day}", ephemeral=False, digest=digest))

    async def _similar(self, caller: Caller, arg: str, respond: Respond) -> None:
        options = await self._options(caller)
        text = await self._lookups.similar(caller.channel_id, options, paper_reference(arg))
        await respond(Reply(text))

    async def _help(self, caller: Caller, _: str, respond: Respond) -> None:
        await respond(Reply(commands.help_text()))
