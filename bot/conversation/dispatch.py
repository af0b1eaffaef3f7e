"""The conversation: everything a team can say to the bot, and what it answers, platform-neutral.

Adapters turn a slash command into `handle(caller, text, respond)` and a reaction into
`react(...)`; they render the `Reply` values they get back. This module parses a command
(`bot.conversation.commands`), makes sure the channel exists, applies the guards every command
shares (admins only for changes to a channel, rate limits on costly commands and changes) and
dispatches to the module that owns the command:

- `bot.conversation.digest_commands`: `today`, `today repost`, `day`
- `bot.conversation.search_commands`: `search`, `similar`
- `bot.conversation.criteria_commands`: `criteria` and its edits, versions and history
- `bot.conversation.criteria_preview`: `criteria preview`
- `bot.conversation.explain_commands`: `explain`
- `bot.conversation.ask_commands`: `ask`
- `bot.conversation.settings_commands`: `settings ...`, `subscribe`, `unsubscribe`
- `bot.conversation.stats_commands`: `stats`
- `bot.conversation.reactions`: reactions, posted messages, `likes`
- `bot.conversation.follow_commands`: `follow`, `following`, `unfollow`

`Caller`, `Reply`, `Respond` and `ConversationConfig` live in `bot.conversation.context` and are
importable from here. This module must not answer a command itself (but `help`), import a
platform SDK or render platform markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from bot.arxiv.categories import categories_key
from bot.arxiv.fetch import PaperFetcher
from bot.config.channels import ChannelSettings
from bot.conversation import commands, follow_commands
from bot.conversation.ask_commands import AskCommands
from bot.conversation.commands import Command
from bot.conversation.context import (
    Caller,
    Context,
    ConversationConfig,
    Handler,
    Handlers,
    Reply,
    Respond,
)
from bot.conversation.criteria_commands import CriteriaCommands
from bot.conversation.criteria_preview import CriteriaPreview
from bot.conversation.digest_commands import DigestCommands
from bot.conversation.explain_commands import ExplainCommands
from bot.conversation.reactions import Reactions
from bot.conversation.search_commands import SearchCommands
from bot.conversation.settings_commands import SettingsCommands
from bot.conversation.stats_commands import StatsCommands
from bot.digest.search import Lookups
from bot.digest.service import DigestService
from bot.errors import BotError
from bot.i18n import _, active, language_code, using
from bot.models import Digest, Paper
from bot.ratelimit import RateLimiter
from bot.safety import defuse
from bot.store import Store
from scoring.ask import Asker
from scoring.explain import Explainer

__all__ = [
    "COSTLY_COMMANDS",
    "Caller",
    "Conversation",
    "ConversationConfig",
    "Reply",
    "Respond",
    "handler_table",
]

# Commands that post in the channel or spend LLM money; changes to a channel count separately.
COSTLY_COMMANDS = frozenset({"today", "criteria preview", "explain", "ask", "day", "similar"})
COSTLY_BUDGET = "`today`, `explain`, `ask`, `day`, `similar` and `criteria preview` together"
"""The budget those commands share, as a refusal names it (not only the command refused)."""


def handler_table(parts: Iterable[Handlers]) -> dict[str, Handler]:
    """The command modules' handlers in one table; a command claimed twice is a bug."""
    table: dict[str, Handler] = {}
    for handlers in parts:
        for name, handler in handlers.items():
            if name in table:
                raise ValueError(f"two handlers answer `{name}`")
            table[name] = handler
    return table


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
        asker: Asker | None = None,
        fetcher: PaperFetcher | None = None,
        daily_budget_usd: float | None = None,
    ) -> None:
        self._ctx = Context(store, service, explainer, config)
        self._store = store
        self._service = service
        self._config = config
        self._limiter = limiter or RateLimiter()
        self._follows = follow_commands.FollowCommands(store)
        lookups = Lookups(store, service)
        self._digests = DigestCommands(self._ctx, lookups)
        self._reactions = Reactions(self._ctx)
        self._handlers = handler_table(
            [
                self._digests.handlers(),
                SearchCommands(self._ctx, lookups).handlers(),
                CriteriaCommands(self._ctx).handlers(),
                CriteriaPreview(self._ctx).handlers(),
                ExplainCommands(self._ctx).handlers(),
                AskCommands(
                    self._ctx, asker, fetcher, daily_budget_usd=daily_budget_usd
                ).handlers(),
                SettingsCommands(self._ctx).handlers(),
                StatsCommands(self._ctx).handlers(),
                self._reactions.handlers(),
                {"help": self._help},
            ]
        )

    @property
    def commands_answered(self) -> frozenset[str]:
        """The names of the grammar's commands this conversation answers."""
        return frozenset(self._handlers) | follow_commands.NAMES

    # -- entry points ---------------------------------------------------------------------------

    async def handle(self, caller: Caller, text: str, respond: Respond) -> None:
        """Parse and run one command, in the channel's language (else the caller's, else the
        one active); every user-facing problem becomes a reply."""
        with using(await self._reply_locale(caller)):
            await self._handle(caller, text, respond)

    async def _reply_locale(self, caller: Caller) -> str:
        """The channel's language when it chose one, else the caller's platform locale (a
        private reply follows its reader), else the locale already active."""
        s = await self._ctx.channel_settings(caller.channel_id, caller.platform)
        if s.language_set:
            return s.language
        return (language_code(caller.locale) if caller.locale else None) or active()

    async def _handle(self, caller: Caller, text: str, respond: Respond) -> None:
        try:
            command = commands.parse(text)
            await self._ensure_channel(caller)
            changes = commands.spec(command.name).changes_channel
            if changes:
                self._check_permission(caller)
            counted = self._check_rate(caller, command.name, changes)
            try:
                await self._run(caller, command, self._noting(caller, respond))
            except BotError:
                self._limiter.release(counted)  # refused input spends nothing
                raise
        except BotError as exc:
            await respond(Reply(defuse(str(exc))))

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

    async def today_digest(self, caller: Caller, respond: Respond | None = None) -> Digest | None:
        """The channel's digest of the latest announcement day (see
        `bot.conversation.digest_commands`)."""
        return await self._digests.today_digest(caller, respond)

    # -- dispatch -------------------------------------------------------------------------------

    def _noting(self, caller: Caller, respond: Respond) -> Respond:
        """`respond`, remembering a digest it shows as the caller's last one in the channel."""

        async def noted(reply: Reply) -> None:
            await respond(reply)
            if reply.digest is not None:
                self._ctx.shown.note(caller.channel_id, caller.user_id, reply.digest)

        return noted

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
        await self._handlers[command.name](caller, command.arg, respond)

    async def _latest_papers(self, caller: Caller) -> tuple[date, list[Paper]] | None:
        """The channel's latest stored day and its papers as the digest considers them."""
        options = await self._ctx.options(caller)
        day = await self._store.papers.latest_feed_day(categories_key(options.categories))
        return (day, await self._service.day_papers(day, options)) if day is not None else None

    async def _help(self, caller: Caller, arg: str, respond: Respond) -> None:
        await respond(Reply(commands.help_text()))

    # -- guards ---------------------------------------------------------------------------------

    async def _ensure_channel(self, caller: Caller) -> None:
        await self._store.channels.get(caller.channel_id, caller.platform)
        if await self._store.channels.channel_criteria(caller.channel_id) is None:
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
            _(
                "only this bot's admins may change the channel's criteria, settings or "
                "subscription (ARXIV_BOT_ADMINS); reading is open to everyone"
            )
        )

    def _check_rate(self, caller: Caller, name: str, changes: bool) -> list[str]:
        """Refuse, with when to try again, a costly command or a change over its limits; the
        keys of the limits the use was counted under."""
        kind = "costly" if name in COSTLY_COMMANDS else "edits" if changes else None
        if kind is None:
            return []
        limits = self._config.limits
        per_user, per_channel = (
            (limits.costly_per_user, limits.costly_per_channel)
            if kind == "costly"
            else (limits.edits_per_user, limits.edits_per_channel)
        )
        place = f"{caller.platform}:{caller.channel_id}"
        checks = [
            (f"{kind}:user:{caller.platform}:{caller.user_id}", per_user),
            (f"{kind}:channel:{place}", per_channel),
        ]
        denied = self._limiter.acquire(checks)
        if denied is None:
            return [key for key, limit in checks if limit is not None]
        what = "changes to this channel" if kind == "edits" else COSTLY_BUDGET
        who = "per person" if denied.index == 0 else "in this channel"
        raise BotError(
            f"Slow down a little: {what} can run {denied.limit} {who}. "
            f"Please try again {denied.wait_text}."
        )
