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
- `bot.conversation.import_commands`: `import`, `import file`, `import zotero`, `import undo`
- `bot.conversation.unfurl`: arXiv links someone shared, with the channel's scores (`link_views`)

`Caller`, `Reply`, `Respond` and `ConversationConfig` live in `bot.conversation.context` and are
importable from here. This module must not answer a command itself (but `help`), import a
platform SDK or render platform markup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import date

from bot.arxiv.api import ArxivApi
from bot.arxiv.categories import categories_key
from bot.arxiv.fetch import PaperFetcher
from bot.config.channels import ChannelSettings
from bot.config.settings_form import FormErrors
from bot.conversation import commands, follow_commands
from bot.conversation.ask_commands import AskCommands
from bot.conversation.commands import Command
from bot.conversation.context import (
    EVERYONE,
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
from bot.conversation.home import Home, gather_home
from bot.conversation.import_commands import ImportCommands, ImportConfig
from bot.conversation.limits import SharedLimiter
from bot.conversation.reactions import Reactions
from bot.conversation.search_commands import SearchCommands
from bot.conversation.settings_commands import SettingsCommands
from bot.conversation.stats_commands import StatsCommands
from bot.conversation.unfurl import LinkScores, LinkViews
from bot.digest.search import Lookups
from bot.digest.service import DigestService
from bot.errors import BotError
from bot.i18n import N_, _, active, catalog_locale, language_code, using
from bot.models import Digest, Paper
from bot.ratelimit import RateLimiter
from bot.safety import defuse
from bot.secret import Secret
from bot.store import Counted, Store
from scoring.ask import Asker
from scoring.explain import Explainer

__all__ = [
    "COSTLY_COMMANDS",
    "CRITERIA_FIELD",
    "Caller",
    "Conversation",
    "ConversationConfig",
    "Reply",
    "Respond",
    "handler_table",
]

# Commands that post in the channel or spend LLM money; changes to a channel count separately.
COSTLY_COMMANDS = frozenset({"today", "criteria preview", "explain", "ask", "day", "similar"})
COSTLY_BUDGET = N_("`today`, `explain`, `ask`, `day`, `similar` and `criteria preview` together")
"""The budget those commands share, as a refusal names it (not only the command refused)."""

CRITERIA_FIELD = "criteria"
"""The field a criteria form's refusal is returned under."""


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
        imports: ImportConfig | None = None,
        api: ArxivApi | None = None,
    ) -> None:
        self._ctx = Context(store, service, explainer, config)
        self._store = store
        self._service = service
        self._config = config
        self._local = limiter  # one process's counts (tests with a clock); else the store's
        self._shared = SharedLimiter(store)
        self._follows = follow_commands.FollowCommands(store)
        lookups = Lookups(store, service)
        self._digests = DigestCommands(self._ctx, lookups)
        self._reactions = Reactions(self._ctx)
        self._settings = SettingsCommands(self._ctx)
        self._imports = ImportCommands(self._ctx, imports or ImportConfig())
        # scoring a shared link spends like `explain`: it shares the costly commands' limits
        self._links = LinkScores(
            self._ctx,
            api,
            lambda caller: self._check_rate(caller, "explain", False),
            daily_budget_usd=daily_budget_usd,
        )
        self._handlers = handler_table(
            [
                self._digests.handlers(),
                SearchCommands(self._ctx, lookups).handlers(),
                CriteriaCommands(self._ctx).handlers(),
                CriteriaPreview(self._ctx).handlers(),
                ExplainCommands(self._ctx).handlers(),
                AskCommands(self._ctx, asker, fetcher).handlers(),
                self._settings.handlers(),
                StatsCommands(self._ctx).handlers(),
                self._reactions.handlers(),
                self._imports.handlers(),
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
        with using(await self.language(caller)):
            await self._handle(caller, text, respond)

    async def language(self, caller: Caller) -> str:
        """What the caller's channel reads in (its replies, its forms, its unfurls): the
        channel's language when it chose one, else the caller's platform locale (a private
        reply follows its reader), else the locale already active."""
        s = await self._ctx.channel_settings(caller.channel_id, caller.platform)
        if s.language_set:
            return s.language
        return (language_code(caller.locale) if caller.locale else None) or active()

    async def _handle(self, caller: Caller, text: str, respond: Respond) -> None:
        try:
            command = commands.parse(text)
            changes = commands.spec(command.name).changes_channel
            await self._guarded(
                caller,
                command.name,
                changes,
                lambda: self._run(caller, command, self._noting(caller, respond)),
            )
        except BotError as exc:
            await respond(Reply(defuse(str(exc))))

    # -- forms (criteria and settings in a modal, the home page) ---------------------------------

    async def criteria_form(self, caller: Caller) -> tuple[str, int]:
        """What a criteria form shows: the channel's current criteria text and version."""
        await self._ensure_channel(caller)
        current = await self._store.channels.channel_criteria(caller.channel_id)
        assert current is not None, "channels get default criteria on first contact"
        return current[0].text, current[1]

    async def settings_form(self, caller: Caller) -> dict[str, str]:
        """What a settings form shows: each field's current value (`bot.config.settings_form`)."""
        await self._ensure_channel(caller)
        return self._settings.form(
            await self._ctx.channel_settings(caller.channel_id, caller.platform)
        )

    async def submit_criteria(self, caller: Caller, text: str, respond: Respond) -> dict[str, str]:
        """A criteria form submitted: exactly `criteria set <text>` (permissions, edit limits,
        audit log, the reply offering a preview through `respond`). A refusal is returned
        instead of replied, for the form to show: {"criteria": why}; {} when it was applied.
        Refusals and replies are in the channel's language."""
        with using(await self.language(caller)):
            return await self._submit_criteria(caller, text, respond)

    async def _submit_criteria(self, caller: Caller, text: str, respond: Respond) -> dict[str, str]:
        try:
            await self._guarded(
                caller,
                "criteria set",
                True,
                lambda: self._handlers["criteria set"](caller, text, respond),
            )
        except BotError as exc:
            return {CRITERIA_FIELD: defuse(str(exc))}
        return {}

    async def submit_settings(
        self, caller: Caller, values: Mapping[str, str], respond: Respond
    ) -> dict[str, str]:
        """A settings form submitted, as the `settings ...` commands would change it, in one
        change. A refusal is returned by field name ("" for one that is no field's, such as a
        permission); {} when it was applied. In the channel's language."""
        with using(await self.language(caller)):
            return await self._submit_settings(caller, values, respond)

    async def _submit_settings(
        self, caller: Caller, values: Mapping[str, str], respond: Respond
    ) -> dict[str, str]:
        try:
            await self._guarded(
                caller, "settings", True, lambda: self._settings.apply_form(caller, values, respond)
            )
        except FormErrors as exc:
            return {name: defuse(why) for name, why in exc.errors.items()}
        except BotError as exc:
            return {"": defuse(str(exc))}
        return {}

    async def home(
        self, platform: str, user_id: str, belongs: Callable[[str], bool], locale: str = ""
    ) -> Home:
        """A person's home page: the channels of their workspace (`belongs`) the bot posts to,
        and their likes there (`bot.conversation.home`), to be written in the person's
        platform `locale` when a catalog has it (a page is a person's, not a channel's)."""
        return await gather_home(self._ctx, platform, user_id, belongs, catalog_locale(locale))

    async def import_text(self, caller: Caller, text: str, respond: Respond) -> None:
        """`import` of a file a platform received (a Slack file share, a Discord attachment):
        BibTeX or ids, with the guards of `import`; problems become a reply."""
        await self._guarded_reply(
            caller, "import", lambda r: self._imports.import_text(caller, text, r), respond
        )

    async def import_zotero(
        self, caller: Caller, arg: str, key: Secret | None, respond: Respond
    ) -> None:
        """`import zotero <library>` with the API key the adapter collected privately (a
        modal, an ephemeral option, a prompt); the key is never echoed or logged."""
        await self._guarded_reply(
            caller,
            "import zotero",
            lambda r: self._imports.import_zotero(caller, arg, key, r),
            respond,
        )

    async def _guarded_reply(
        self,
        caller: Caller,
        name: str,
        run: Callable[[Respond], Awaitable[None]],
        respond: Respond,
    ) -> None:
        """Run a command an adapter calls directly under the guards `handle` applies, in the
        channel's language."""
        with using(await self.language(caller)):
            await self._guarded_reply_in(caller, name, run, respond)

    async def _guarded_reply_in(
        self,
        caller: Caller,
        name: str,
        run: Callable[[Respond], Awaitable[None]],
        respond: Respond,
    ) -> None:
        try:
            await self._ensure_channel(caller)
            await self._check_permission(caller)
            counted = await self._check_rate(caller, name, True)
            try:
                await run(self._noting(caller, respond))
            except BotError:
                await self._release(counted)  # refused input spends nothing
                raise
        except BotError as exc:
            await respond(Reply(defuse(str(exc))))

    async def _release(self, counted: list[str] | list[Counted]) -> None:
        """Give back a use counted by `_check_rate`."""
        if self._local is not None:
            self._local.release([c for c in counted if isinstance(c, str)])
        else:
            await self._shared.release([c for c in counted if isinstance(c, Counted)])

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

    async def link_views(self, caller: Caller, paper_ids: list[str]) -> LinkViews:
        """Linked papers with the caller's channel's scores (see `bot.conversation.unfurl`);
        their notes in the channel's language."""
        await self._ensure_channel(caller)
        with using(await self.language(caller)):
            return await self._links.views(caller, paper_ids)

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

    async def _guarded(
        self, caller: Caller, name: str, changes: bool, work: Callable[[], Awaitable[None]]
    ) -> None:
        """`work` under the guards every command shares: the channel made, permission for a
        change, the rate limits (given back when the input is refused)."""
        await self._ensure_channel(caller)
        if changes:
            await self._check_permission(caller)
        counted = await self._check_rate(caller, name, changes)
        try:
            await work()
        except BotError:
            await self._release(counted)  # refused input spends nothing
            raise

    async def _ensure_channel(self, caller: Caller) -> None:
        await self._store.channels.get(caller.channel_id, caller.platform)
        if await self._store.channels.channel_criteria(caller.channel_id) is None:
            await self._service.use_criteria(
                caller.channel_id, self._config.default_criteria, "default"
            )

    async def _check_permission(self, caller: Caller) -> None:
        """Changes to a channel: by default its managers as the platform says (`Caller.manager`;
        the console's local user may), else whom ARXIV_BOT_ADMINS lists, or everyone when it
        says `everyone`; a refusal says who may."""
        admins = self._config.admins
        if EVERYONE in admins:
            return
        if admins:
            if caller.user_id in admins or any(f"role:{r}" in admins for r in caller.roles):
                return
            raise BotError(
                _(
                    "only the people and roles this bot's ARXIV_BOT_ADMINS lists may change the "
                    "channel's criteria, settings, follows or subscription; reading is open to "
                    "everyone"
                )
            )
        if caller.manager is None or await caller.manager():
            return
        # the adapter's words for its managers are marked for the catalogs (N_) where defined
        who = _(caller.managers) if caller.managers else _("the channel's managers")
        raise BotError(
            _(
                "only {who} may change this channel's criteria, settings, follows or "
                "subscription (the bot's operator can open it with ARXIV_BOT_ADMINS=everyone or "
                "list people and roles there); reading is open to everyone"
            ).format(who=who)
        )

    async def _check_rate(
        self, caller: Caller, name: str, changes: bool
    ) -> list[str] | list[Counted]:
        """Refuse, with when to try again, a costly command or a change over its limits (per
        person, per channel and, for costly commands, for the whole bot, across replicas); what
        the use was counted under."""
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
        if kind == "costly":
            checks.append(("costly:bot:all", limits.costly_per_bot))
        counted: list[str] | list[Counted]
        if self._local is not None:
            denied = self._local.acquire(checks)
            counted = [key for key, limit in checks if limit is not None]
        else:
            counted, denied = await self._shared.acquire(checks)
        if denied is None:
            return counted
        what = _("changes to this channel") if kind == "edits" else _(COSTLY_BUDGET)
        who = (_("per person"), _("in this channel"), _("for the whole bot"))[denied.index]
        raise BotError(
            _("Slow down a little: {what} can run {limit} {who}. Please try again {wait}.").format(
                what=what, limit=denied.limit.words(), who=who, wait=denied.wait_text
            )
        )
