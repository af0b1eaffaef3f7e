"""The Discord adapter: `/arxiv` application commands, the daily digest as a thread of cards with
persistent buttons, and reactions as likes, on discord.py 2.x in the bot's own event loop.

The adapter translates; the core decides. Every command becomes grammar text for
`Conversation.handle`, every reaction a `Conversation.react`, and the daily post goes through the
`bot.platform.ChatPlatform` methods. Rendering lives in `adapters.discord_render` (pure); the
message context menus ("Score for this channel", "Ask about this paper") and replies and
mentions that ask about a card's paper live in `adapters.discord_papers`.

Endpoints: `ARXIV_BOT_DISCORD_API_URL` and `ARXIV_BOT_DISCORD_GATEWAY_URL` replace discord.py's
REST base and default gateway. discord.py keeps both as class attributes, so the override is
process-wide while the adapter runs (one Discord bot per process) and is undone by `close()`.

It must not: log or show the bot token, let paper text mention anyone (every message is sent
with mentions disabled), answer an interaction later than Discord's 3 seconds without deferring,
or re-sync commands Discord already has.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from datetime import date
from typing import Any, Final, Literal, TypeVar

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters import discord_papers
from adapters import discord_render as render
from adapters.discord_forms import (
    LABEL_CHARS,
    MENU_NAMES,
    TITLE_CHARS,
    SettingsModal,
    refusal_text,
)
from bot.config.settings import Settings
from bot.conversation.dispatch import Caller, Conversation, Reply
from bot.conversation.reactions import reaction_verb
from bot.errors import BotError, PlatformError, PlatformUnavailable
from bot.i18n import N_, _, active, catalog_dir, catalog_locale, language_code, using
from bot.models import Digest, DigestEntry
from bot.platform import PARENT
from bot.safety import clip
from bot.secret import Secret

log = logging.getLogger(__name__)

PLATFORM: Final = "discord"
READY_TIMEOUT: Final = 60.0
MAX_RATELIMIT_WAIT: Final = 60.0
RECOVER_PARENT_LOOKBACK: Final = 50
RECOVER_CARD_LOOKBACK: Final = 100
THREAD_ARCHIVE_MINUTES: Final = 1440
AUTOCOMPLETE_CHOICES: Final = 25
APOLOGY: Final = N_("Sorry, something went wrong on my side; it has been logged.")
THREAD_ALREADY_EXISTS: Final = 160004
MAX_IMPORT_FILE_BYTES: Final = 5_000_000  # an attached .bib file `/arxiv import` reads

T = TypeVar("T")


class _NoKeyOptions(logging.Filter):
    """Keeps an interaction carrying `/arxiv import`'s `key` option out of discord.py's debug
    lines (the gateway logs every event it receives): a Zotero key must never reach a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if any("'name': 'key'" in str(a) and "'import'" in str(a) for a in args):
            record.msg, record.args = "(an /arxiv import interaction with a key, not logged)", ()
        return True


def _quiet_key_options() -> None:
    for name in ("discord.gateway", "discord.http", "discord.webhook.async_"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoKeyOptions) for f in logger.filters):
            logger.addFilter(_NoKeyOptions())


def intents() -> discord.Intents:
    """Only what the bot reads: guilds (channels, threads), reactions, and messages (to hear
    replies and mentions, whose text Discord sends without the Message Content intent)."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.guild_reactions = True
    return wanted


class DiscordAdapter:
    """The bot on Discord: application commands, reactions, and the daily post."""

    def __init__(
        self,
        conversation: Conversation,
        token: Secret,
        *,
        guild_ids: tuple[int, ...] = (),
        api_url: str | None = None,
        gateway_url: str | None = None,
        like_emoji: str = "👍",
        guild_ready_timeout: float = 2.0,
    ) -> None:
        self._conversation = conversation
        self._token = token
        _quiet_key_options()
        self._guild_ids = guild_ids
        self._api_url = api_url
        self._gateway_url = gateway_url
        self._like_emoji = like_emoji
        self._guild_ready_timeout = guild_ready_timeout
        self._client = _ArxivClient(self, guild_ready_timeout)
        self._task: asyncio.Task[None] | None = None
        self._saved_endpoints: tuple[str, yarl.URL] | None = None
        self._parents: dict[int, int] = {}  # thread id → the channel it was started in
        self._recent: dict[str, list[tuple[str, str]]] = {}  # channel → (paper id, title)

    @classmethod
    def from_settings(
        cls, settings: Settings, conversation: Conversation, *, guild_ready_timeout: float = 2.0
    ) -> DiscordAdapter:
        """The adapter configured by `DISCORD_BOT_TOKEN` and the `ARXIV_BOT_DISCORD_*` settings;
        `guild_ready_timeout` is how long discord.py waits for more servers after READY."""
        if settings.discord_bot_token is None:
            raise PlatformError("DISCORD_BOT_TOKEN is not set")
        return cls(
            conversation,
            settings.discord_bot_token,
            guild_ids=settings.discord_guilds,
            api_url=settings.discord_api_url,
            gateway_url=settings.discord_gateway_url,
            like_emoji=settings.like_emoji[0],
            guild_ready_timeout=guild_ready_timeout,
        )

    def __repr__(self) -> str:
        return f"DiscordAdapter(guilds={self._guild_ids}, api_url={self._api_url!r})"

    @property
    def platform(self) -> str:
        """The platform name stored with each channel."""
        return PLATFORM

    @property
    def client(self) -> discord.Client:
        """The discord.py client (for tests and diagnostics)."""
        return self._client

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Log in, sync the commands if they changed, connect the gateway in a background task
        on the current loop, and return once Discord says the bot is ready. An unreachable
        Discord raises `PlatformUnavailable` and a later call tries afresh (a closed
        discord.py client cannot connect again, so each try gets a new one)."""
        if self._client.is_closed():
            self._client = _ArxivClient(self, self._guild_ready_timeout)
        self._apply_endpoints()
        try:
            await self._client.login(self._token.get_secret_value())
        except discord.LoginFailure:
            await self.close()
            raise PlatformError(
                "Discord refused DISCORD_BOT_TOKEN (401): copy the token again from the "
                "Developer Portal → your application → Bot"
            ) from None
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            await self.close()
            raise PlatformUnavailable(f"cannot log in to Discord: {_describe(exc)}") from None
        except BaseException:
            await self.close()
            raise
        self._task = asyncio.create_task(self._client.connect(reconnect=True), name="discord")
        self._task.add_done_callback(_report_gateway_end)
        ready = asyncio.create_task(self._client.wait_until_ready())
        done, _ = await asyncio.wait(
            {self._task, ready}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            failure = self._task.exception() if self._task in done else None
            await self.close()
            why = _describe(failure) if failure else f"no READY within {READY_TIMEOUT:.0f} s"
            raise PlatformUnavailable(f"cannot connect to Discord's gateway: {why}")
        log.info("Discord: connected as %s", self._client.user)
        if self._client.application_id is not None and not self._client.guilds:
            log.warning(
                "Discord: the bot is in no server yet; invite it with %s",
                render.invite_url(self._client.application_id),
            )

    async def close(self) -> None:
        """Disconnect and undo the endpoint overrides."""
        await self._client.close()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 10)
            except Exception:
                log.debug("Discord: the gateway task ended with an error on close", exc_info=True)
            self._task = None
        self._restore_endpoints()

    def _apply_endpoints(self) -> None:
        if self._saved_endpoints is None:
            self._saved_endpoints = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
        if self._api_url:
            Route.BASE = self._api_url.rstrip("/")
        if self._gateway_url:
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self._gateway_url)

    def _restore_endpoints(self) -> None:
        if self._saved_endpoints is not None:
            Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = self._saved_endpoints
            self._saved_endpoints = None

    # -- command sync ---------------------------------------------------------------------------

    async def sync_commands(self) -> None:
        """Register `/arxiv` where it is missing or outdated: per configured guild (shown at once)
        or globally; a tree Discord already has is left alone."""
        tree = self._client.tree
        app_id = self._client.application_id
        assert app_id is not None, "login sets the application id"
        http = self._client.http
        try:
            if not self._guild_ids:
                remote = await http.get_global_commands(app_id)
                await self._sync_if_changed(tree, None, list(remote))
                return
            for guild_id in self._guild_ids:
                guild = discord.Object(guild_id)
                tree.copy_global_to(guild=guild)
                remote = await http.get_guild_commands(app_id, guild_id)
                await self._sync_if_changed(tree, guild, list(remote))
        except discord.Forbidden as exc:
            raise PlatformError(
                f"Discord refused to register /arxiv ({_describe(exc)}): invite the bot with the "
                "applications.commands scope to every server in ARXIV_BOT_DISCORD_GUILDS "
                "(docs/discord.md)"
            ) from None

    async def _sync_if_changed(
        self, tree: app_commands.CommandTree[Any], guild: discord.Object | None, remote: list[Any]
    ) -> None:
        local = [c.to_dict(tree) for c in tree.get_commands(guild=guild)]
        where = f"guild {guild.id}" if guild else "globally"
        if render.command_signature(local) == render.command_signature(remote):
            log.info("Discord: /arxiv commands are up to date %s", where)
            return
        await tree.sync(guild=guild)
        log.info("Discord: synced /arxiv commands %s", where)

    # -- the daily post (bot.platform.ChatPlatform) ---------------------------------------------

    async def post_parent(self, channel_id: str, digest: Digest) -> str:
        """The day's summary message in the channel; its thread holds the cards."""
        embed = render.parent_embed(digest, daily=True)
        async with _platform_errors("post the digest"):
            message = await self._channel(int(channel_id)).send(
                embed=embed, allowed_mentions=render.NO_MENTIONS
            )
        return str(message.id)

    async def post_card(
        self, channel_id: str, parent_id: str, digest: Digest, entry: DigestEntry
    ) -> str:
        """One card in the parent's thread (a thread started from a message has the message's
        id); the thread is started first unless this process already did."""
        number = digest.entries.index(entry) + 1 if entry in digest.entries else 1
        self._remember(channel_id, digest)
        async with _platform_errors("post a card"):
            await self._ensure_thread(int(channel_id), int(parent_id), digest)
            message = await self._send_card(int(parent_id), digest, entry, number)
        return str(message.id)

    async def post_notice(self, channel_id: str, text: str) -> str:
        """A short plain notice in the channel."""
        content = render.message_chunks(render.inert(text))[0]
        async with _platform_errors("post a notice"):
            message = await self._channel(int(channel_id)).send(
                content, allowed_mentions=render.NO_MENTIONS
            )
        return str(message.id)

    async def recover(self, channel_id: str, day: date, parent_id: str | None) -> dict[str, str]:
        """The messages of `day`'s daily post already on Discord, found by their embed footers
        among the bot's own recent messages (no message-content intent is needed for those)."""
        me = self._client.user
        if me is None:
            return {}
        found: dict[str, str] = {}
        async with _platform_errors("read the channel"):
            if parent_id is None:
                async for message in self._channel(int(channel_id)).history(
                    limit=RECOVER_PARENT_LOOKBACK
                ):
                    if message.author.id == me.id and render.is_daily_parent(message.embeds, day):
                        parent_id = str(message.id)
                        break
            if parent_id is None:
                return found
            found[PARENT] = parent_id
            try:
                async for message in self._channel(int(parent_id)).history(
                    limit=RECOVER_CARD_LOOKBACK
                ):
                    paper_id = render.card_paper(message.embeds, day)
                    if message.author.id == me.id and paper_id is not None:
                        found.setdefault(paper_id, str(message.id))
            except discord.NotFound:
                pass  # no thread yet: only the parent was posted
        return found

    # -- posting helpers ------------------------------------------------------------------------

    def _channel(self, channel_id: int) -> discord.PartialMessageable:
        return self._client.get_partial_messageable(channel_id)

    async def _send_card(
        self, thread_id: int, digest: Digest, entry: DigestEntry, number: int
    ) -> discord.Message:
        message = await self._channel(thread_id).send(
            embed=render.card_embed(digest, entry, number),
            view=card_view(entry),
            allowed_mentions=render.NO_MENTIONS,
        )
        try:
            await message.add_reaction(self._like_emoji)
        except Exception as exc:  # a convenience: the posted card must not be posted again
            log.warning("Discord: could not add the like reaction to a card: %s", _describe(exc))
        return message

    async def _ensure_thread(self, channel_id: int, message_id: int, digest: Digest) -> None:
        """Start the thread of a parent message unless it exists (e.g. after a crash between the
        parent and the thread, or a restart, Discord answers 'already created')."""
        if message_id in self._parents:
            return
        try:
            await self._client.http.start_thread_with_message(
                channel_id,
                message_id,
                name=render.thread_name(digest),
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            )
        except discord.HTTPException as exc:
            if exc.code != THREAD_ALREADY_EXISTS:
                raise
        self._parents[message_id] = channel_id

    def _remember(self, channel_id: str, digest: Digest) -> None:
        self._recent[channel_id] = [(e.paper.id, e.paper.title) for e in digest.entries]

    # -- interactions ---------------------------------------------------------------------------

    async def home_channel(self, channel: object, channel_id: int | None) -> str:
        """The channel a command or reaction belongs to: a digest thread counts as the channel
        it was started in, so explain, likes and settings work from inside it."""
        if isinstance(channel, discord.Thread) and channel.parent_id:
            return str(channel.parent_id)
        if channel_id is None:
            raise PlatformError("this command only works in a server channel")
        return str(await self._parent_of(channel_id))

    async def _parent_of(self, channel_id: int) -> int:
        if channel_id in self._parents:
            return self._parents[channel_id]
        channel = self._client.get_channel(channel_id)
        if channel is None:
            try:
                channel = await self._client.fetch_channel(channel_id)
            except discord.HTTPException:
                return channel_id
        parent = channel.parent_id if isinstance(channel, discord.Thread) else None
        self._parents[channel_id] = parent or channel_id
        return self._parents[channel_id]

    @property
    def conversation(self) -> Conversation:
        """The conversation commands are handed to (`adapters.discord_papers` uses it too)."""
        return self._conversation

    async def caller(self, interaction: discord.Interaction[Any]) -> Caller:
        """Who runs a command: user, home channel and role names and ids (for `role:` admins)."""
        user = interaction.user
        roles: tuple[str, ...] = ()
        if isinstance(user, discord.Member):
            roles = tuple(
                item for r in user.roles if not r.is_default() for item in (r.name, str(r.id))
            )
        channel_id = await self.home_channel(interaction.channel, interaction.channel_id)
        manages = manages_channel(interaction.permissions)

        async def manager() -> bool:
            return manages

        # the person's Discord language: replies follow it when the channel has chosen none
        locale = str(getattr(interaction.locale, "value", "") or "")
        return Caller(
            PLATFORM,
            channel_id,
            str(user.id),
            roles,
            manager=manager,
            managers=MANAGERS,
            locale=locale,
        )

    async def answer_privately(self, interaction: discord.Interaction[Any], text: str) -> None:
        """Answer with `text` that only the person who asked sees (deferred, as every
        command is, then follow-ups)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        await _Replies(self, interaction, public_defer=False)(Reply(text))

    async def run_command(self, interaction: discord.Interaction[Any], text: str) -> None:
        """Defer at once, then let the conversation answer through follow-ups."""
        public = render.answers_publicly(text)
        await interaction.response.defer(ephemeral=not public, thinking=True)
        replies = _Replies(self, interaction, public_defer=public)
        try:
            caller = await self.caller(interaction)
            await self._conversation.handle(caller, text, replies)
        except Exception as exc:
            await replies.fail(exc)

    async def open_settings_form(self, interaction: discord.Interaction[Any]) -> None:
        """`/arxiv settings action:edit`: the settings form, filled with the current ones (a
        modal must be the first answer, so nothing is deferred before it)."""
        caller = await self.caller(interaction)
        values = await self._conversation.settings_form(caller)
        with using(await self._conversation.language(caller)):
            modal = SettingsModal(values, self.submit_settings, _apologise)
        await interaction.response.send_modal(modal)

    async def open_criteria_form(self, interaction: discord.Interaction[Any]) -> None:
        """`/arxiv criteria action:edit`: the criteria form, in the channel's language."""
        caller = await self.caller(interaction)
        with using(await self._conversation.language(caller)):
            modal = CriteriaModal()
        await interaction.response.send_modal(modal)

    async def submit_settings(
        self, interaction: discord.Interaction[Any], values: dict[str, str]
    ) -> None:
        """A submitted settings form: changed as the `settings` commands change it; what is
        refused is said privately, field by field."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        replies = _Replies(self, interaction, public_defer=False)
        try:
            caller = await self.caller(interaction)
            refused = await self._conversation.submit_settings(caller, values, replies)
            if refused:
                with using(await self._conversation.language(caller)):
                    text = refusal_text(refused)
                await replies(Reply(text))
        except Exception as exc:
            await replies.fail(exc)

    async def run_zotero_import(
        self, interaction: discord.Interaction[Any], library: str, key: Secret
    ) -> None:
        """`/arxiv import zotero` with its `key` option: answered privately from the deferral
        on, so the invocation and its options stay the user's own; the key is never shown."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        replies = _Replies(self, interaction, public_defer=False)

        async def private(reply: Reply) -> None:
            await replies(dataclasses.replace(reply, ephemeral=True))

        try:
            caller = await self.caller(interaction)
            await self._conversation.import_zotero(caller, library, key, private)
        except Exception as exc:
            await replies.fail(exc)

    async def run_file_import(
        self, interaction: discord.Interaction[Any], file: discord.Attachment
    ) -> None:
        """`/arxiv import` with an attached .bib file (or a list of ids)."""
        await interaction.response.defer(ephemeral=False, thinking=True)
        replies = _Replies(self, interaction, public_defer=True)
        try:
            caller = await self.caller(interaction)
            if file.size > MAX_IMPORT_FILE_BYTES:
                await replies(Reply(f"{file.filename} is over 5 MB: import it in parts"))
                return
            text = (await file.read()).decode("utf-8", errors="replace")
            await self._conversation.import_text(caller, text, replies)
        except Exception as exc:
            await replies.fail(exc)

    async def explain_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        """The papers of the latest digest posted in this channel that match what is typed."""
        channel_id = await self.home_channel(interaction.channel, interaction.channel_id)
        wanted = current.strip().lower()
        choices = []
        for n, (paper_id, title) in enumerate(self._recent.get(channel_id, ()), 1):
            label = clip(f"{n}. {' '.join(title.split())} ({paper_id})", 100)
            if wanted in label.lower():
                choices.append(app_commands.Choice(name=label, value=paper_id))
        return choices[:AUTOCOMPLETE_CHOICES]

    async def post_digest_reply(
        self,
        interaction: discord.Interaction[Any],
        replies: _Replies,
        digest: Digest,
        language: str = "",
    ) -> None:
        """`/arxiv today`: the summary as the command's answer, then a thread of cards, each
        recorded so reactions and Explain work on it; in the channel's `language` (the
        reader's locale when "")."""
        with using(language or active()):
            await self._post_digest_reply(interaction, replies, digest)

    async def _post_digest_reply(
        self, interaction: discord.Interaction[Any], replies: _Replies, digest: Digest
    ) -> None:
        channel_id = await self.home_channel(interaction.channel, interaction.channel_id)
        parent = await replies.send(
            "", ephemeral=False, embed=render.parent_embed(digest, daily=False)
        )
        await self._conversation.record_post(channel_id, digest.day, PARENT, str(parent.id))
        self._remember(channel_id, digest)
        await self._ensure_thread(parent.channel.id, parent.id, digest)
        for n, entry in enumerate(digest.entries, 1):
            card = await self._send_card(parent.id, digest, entry, n)
            await self._conversation.record_post(
                channel_id, digest.day, entry.paper.id, str(card.id)
            )

    async def on_reaction(self, payload: discord.RawReactionActionEvent) -> None:
        """A reaction added or removed on any message, cached or not: a like or an unlike."""
        me = self._client.user
        event = render.reaction_event(
            user_id=payload.user_id,
            bot_user_id=me.id if me else None,
            message_id=payload.message_id,
            emoji_name=payload.emoji.name,
            emoji_id=payload.emoji.id,
            added=payload.event_type == "REACTION_ADD",
        )
        if event is None or payload.guild_id is None:
            return
        channel_id = str(await self._parent_of(payload.channel_id))
        caller = Caller(PLATFORM, channel_id, event.user_id)
        changed = await self._conversation.react(caller, event.message_id, event.emoji, event.added)
        if changed:
            verb = reaction_verb(event.emoji, event.added)
            log.info("Discord: %s %s arXiv:%s in %s", event.user_id, verb, changed, channel_id)


class _Replies:
    """Delivers the conversation's replies to one deferred interaction as follow-ups; the first
    follow-up replaces the 'thinking…' placeholder unless its visibility differs."""

    def __init__(
        self, adapter: DiscordAdapter, interaction: discord.Interaction[Any], *, public_defer: bool
    ) -> None:
        self._adapter = adapter
        self._interaction = interaction
        self._public_defer = public_defer
        self._placeholder = True

    async def __call__(self, reply: Reply) -> None:
        if reply.digest is not None:
            await self._adapter.post_digest_reply(
                self._interaction, self, reply.digest, reply.language
            )
            return
        text = reply.text
        guild = self._interaction.guild_id
        if reply.thread is not None and guild is not None:
            channel = await self._adapter.home_channel(
                self._interaction.channel, self._interaction.channel_id
            )
            text += f"\nhttps://discord.com/channels/{guild}/{channel}/{reply.thread}"
        for chunk in render.message_chunks(text):
            await self.send(chunk, ephemeral=reply.ephemeral)

    async def send(
        self, content: str, *, ephemeral: bool, embed: discord.Embed | None = None
    ) -> discord.WebhookMessage:
        """One follow-up message, with mentions disabled."""
        if self._placeholder and ephemeral == self._public_defer:
            await self._interaction.delete_original_response()
            self._placeholder = False
        self._placeholder = False
        followup = self._interaction.followup
        if embed is None:
            return await followup.send(
                content, ephemeral=ephemeral, wait=True, allowed_mentions=render.NO_MENTIONS
            )
        return await followup.send(
            content,
            embed=embed,
            ephemeral=ephemeral,
            wait=True,
            allowed_mentions=render.NO_MENTIONS,
        )

    async def fail(self, exc: BaseException) -> None:
        """The one error path: users read a short message, the log keeps the traceback."""
        if isinstance(exc, BotError):
            text = render.inert(str(exc))
        else:
            log.error("Discord: a command failed", exc_info=exc)
            text = _apology(self._interaction)
        try:
            await self.send(text, ephemeral=True)
        except Exception as again:
            log.warning("Discord: could not tell the user about a failure: %s", _describe(again))


# -- the client, commands and buttons ------------------------------------------------------------


class _ArxivClient(discord.Client):
    """discord.py's client with the `/arxiv` tree and the persistent Explain button."""

    def __init__(self, adapter: DiscordAdapter, guild_ready_timeout: float) -> None:
        super().__init__(
            intents=intents(),
            max_ratelimit_timeout=MAX_RATELIMIT_WAIT,
            guild_ready_timeout=guild_ready_timeout,
        )
        self.adapter = adapter
        self.tree: app_commands.CommandTree[_ArxivClient] = app_commands.CommandTree(self)
        self.tree.add_command(arxiv_group())
        for menu in discord_papers.context_menus():
            self.tree.add_command(menu)
        self.tree.on_error = self._on_tree_error  # type: ignore[method-assign]

    async def setup_hook(self) -> None:
        self.add_dynamic_items(ExplainButton)
        await self.tree.set_translator(CatalogTranslator())
        await self.adapter.sync_commands()

    async def on_message(self, message: discord.Message) -> None:
        if self.user is not None:
            await _logged(
                discord_papers.answer_message(self.adapter, self.user, message), "a message"
            )

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await _logged(self.adapter.on_reaction(payload), "a reaction")

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await _logged(self.adapter.on_reaction(payload), "a reaction")

    async def _on_tree_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        log.error("Discord: a command failed", exc_info=error)
        await _apologise(interaction)


def _report_gateway_end(task: asyncio.Task[None]) -> None:
    """The gateway task ends only on close, or when discord.py gives up reconnecting."""
    failure = None if task.cancelled() else task.exception()
    if failure is not None:
        log.error("Discord: the gateway connection ended: %s", _describe(failure))


async def _logged(work: Awaitable[T], what: str) -> T | None:
    try:
        return await work
    except Exception:
        log.exception("Discord: handling %s failed", what)
        return None


def _apology(interaction: discord.Interaction[Any]) -> str:
    """The apology in its reader's Discord language (the store may be what failed, so the
    channel's is not asked for)."""
    with using(catalog_locale(interaction.locale.value)):
        return _(APOLOGY)


async def _apologise(interaction: discord.Interaction[Any]) -> None:
    try:
        if interaction.response.is_done():
            await interaction.followup.send(_apology(interaction), ephemeral=True)
        else:
            await interaction.response.send_message(_apology(interaction), ephemeral=True)
    except discord.HTTPException as exc:
        log.warning("Discord: could not apologise: %s", _describe(exc))


def _adapter(interaction: discord.Interaction[Any]) -> DiscordAdapter:
    client = interaction.client
    assert isinstance(client, _ArxivClient)
    return client.adapter


class CatalogTranslator(app_commands.Translator):
    """The commands' descriptions and the message commands' names (`MENU_NAMES`) in each
    Discord language the catalogs have (`bot/locale`); the slash commands' names stay the
    grammar's, so `/arxiv settings` is the same command everywhere."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        menu = (
            context.location is app_commands.TranslationContextLocation.command_name
            and string.message in MENU_NAMES
        )
        if context.location not in _DESCRIBED and not menu:
            return None
        code = language_code(locale.value)
        if code is None or catalog_dir(code) is None:
            return None
        with using(code):
            text = _(string.message)
        return text if text != string.message else None


_DESCRIBED = frozenset(
    {
        app_commands.TranslationContextLocation.command_description,
        app_commands.TranslationContextLocation.group_description,
    }
)


def arxiv_group() -> app_commands.Group:
    """The `/arxiv` command group; each subcommand maps its options onto the grammar."""
    group = app_commands.Group(
        name="arxiv", description=N_("Today's arXiv papers for this channel")
    )

    async def run(interaction: discord.Interaction[Any], sub: str, **options: object) -> None:
        await _adapter(interaction).run_command(interaction, render.command_text(sub, options))

    @group.command(name="today", description=N_("Today's digest for this channel"))
    @app_commands.describe(repost="post it here again even if it was already posted")
    async def today(interaction: discord.Interaction[Any], repost: bool = False) -> None:
        await run(interaction, "today", repost=repost)

    @group.command(name="explain", description=N_("Why a paper got its relevance and novelty here"))
    @app_commands.describe(
        paper="arXiv id or link (e.g. 2505.00326) or card number",
        fresh="ask the LLM again under the current criteria",
    )
    async def explain(
        interaction: discord.Interaction[Any], paper: str, fresh: bool = False
    ) -> None:
        await run(interaction, "explain", paper=paper, fresh=fresh)

    @explain.autocomplete("paper")
    async def explain_papers(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await _adapter(interaction).explain_autocomplete(interaction, current)

    @group.command(name="ask", description=N_("Ask about a paper, answered from its full text"))
    @app_commands.describe(
        paper="card number, arXiv id or link (e.g. 2505.00326)",
        question="your question (none: a summary)",
    )
    async def ask(interaction: discord.Interaction[Any], paper: str, question: str = "") -> None:
        await run(interaction, "ask", paper=paper, question=question)

    @group.command(name="criteria", description=N_("Show or change this channel's criteria"))
    @app_commands.describe(
        action="list the topics (default), edit in a form, set, add/remove a topic, show a "
        "version, diff two versions, history, revert, preview",
        value="the new criteria, the topic to add, the topic number to remove, a version (two "
        "for diff), or 'confirm' for a preview",
    )
    async def criteria(
        interaction: discord.Interaction[Any],
        action: Literal[
            "list", "edit", "set", "add", "remove", "show", "diff", "history", "revert", "preview"
        ] = "list",
        value: str | None = None,
    ) -> None:
        if action == "edit":
            await _adapter(interaction).open_criteria_form(interaction)
            return
        await run(interaction, "criteria", action=action, value=value)

    @group.command(name="settings", description=N_("Show or change this channel's settings"))
    @app_commands.describe(
        action="show (default), the setting to change, or edit them all in a form",
        value="e.g. 'relevance 7', '08:30 Europe/Berlin', 'cs.CL,cs.LG', 'off', '30% $0.05', "
        "'on friday 16:00', 'de'",
    )
    async def settings(
        interaction: discord.Interaction[Any],
        action: Literal[
            "show",
            "threshold",
            "time",
            "categories",
            "cross-lists",
            "llm-share",
            "learning",
            "weekly",
            "language",
            "reset",
            "edit",
        ] = "show",
        value: str | None = None,
    ) -> None:
        if action == "edit":
            await _adapter(interaction).open_settings_form(interaction)
            return
        await run(interaction, "settings", action=action, value=value)

    @group.command(name="likes", description=N_("What the channel (or you) liked recently"))
    async def likes(
        interaction: discord.Interaction[Any], whose: Literal["channel", "me"] = "channel"
    ) -> None:
        await run(interaction, "likes", whose=whose)

    @group.command(name="follow", description=N_("Always show an author's or a keyword's papers"))
    @app_commands.describe(
        kind="follow an author or a keyword",
        value='a name (Jane Doe, J. Doe) or words ("diffusion model" in quotes for a phrase)',
    )
    async def follow(
        interaction: discord.Interaction[Any], kind: Literal["author", "keyword"], value: str
    ) -> None:
        await run(interaction, "follow", kind=kind, value=value)

    @group.command(
        name="following", description=N_("The authors and keywords this channel follows")
    )
    @app_commands.describe(history="who added or removed each follow, and when")
    async def following(interaction: discord.Interaction[Any], history: bool = False) -> None:
        await run(interaction, "following", history=history)

    @group.command(name="unfollow", description=N_("Stop following an author or keyword"))
    @app_commands.describe(number="its number in /arxiv following")
    async def unfollow(interaction: discord.Interaction[Any], number: str) -> None:
        await run(interaction, "unfollow", number=number)

    @group.command(name="stats", description=N_("Papers seen, scored, posted, likes and LLM cost"))
    async def stats(interaction: discord.Interaction[Any]) -> None:
        await run(interaction, "stats")

    @group.command(name="subscribe", description=N_("Post the digest here every announcement day"))
    async def subscribe(interaction: discord.Interaction[Any]) -> None:
        await run(interaction, "subscribe")

    @group.command(name="unsubscribe", description=N_("Stop the daily post here"))
    async def unsubscribe(interaction: discord.Interaction[Any]) -> None:
        await run(interaction, "unsubscribe")

    @group.command(name="search", description=N_("Stored papers with all these words, best first"))
    @app_commands.describe(value="words of the title, abstract or authors")
    async def search(interaction: discord.Interaction[Any], value: str) -> None:
        await run(interaction, "search", value=value)

    @group.command(name="day", description=N_("A stored day's digest again, from the store"))
    @app_commands.describe(value="the day, YYYY-MM-DD")
    async def day(interaction: discord.Interaction[Any], value: str) -> None:
        await run(interaction, "day", value=value)

    @group.command(name="similar", description=N_("The closest papers of the last stored days"))
    @app_commands.describe(value="arXiv id or link (e.g. 2505.00326) or card number")
    async def similar(interaction: discord.Interaction[Any], value: str) -> None:
        await run(interaction, "similar", value=value)

    @group.command(name="import", description=N_("Start from the papers the team already reads"))
    @app_commands.describe(
        action="ids (default: ids, links or BibTeX in value), zotero, undo",
        value="arXiv ids or links, BibTeX text, or a Zotero library: user:123 [collection KEY]",
        file="a .bib file or a list of ids",
        key="your Zotero API key (only you see this command; kept encrypted, never shown)",
    )
    async def import_(
        interaction: discord.Interaction[Any],
        action: Literal["ids", "file", "zotero", "undo"] = "ids",
        value: str | None = None,
        file: discord.Attachment | None = None,
        key: str | None = None,
    ) -> None:
        adapter = _adapter(interaction)
        if action == "zotero" and key:
            await adapter.run_zotero_import(interaction, value or "", Secret(key))
        elif file is not None and action in ("ids", "file"):
            await adapter.run_file_import(interaction, file)
        else:
            await run(interaction, "import", action=action, value=value)

    @group.command(name="help", description=N_("Every /arxiv command"))
    async def help_(interaction: discord.Interaction[Any]) -> None:
        # the grammar's help shows typed text; Discord's box takes options, so show those
        await _adapter(interaction).answer_privately(
            interaction, render.command_help(group.to_dict(interaction.client.tree))
        )

    return group


class CriteriaModal(discord.ui.Modal):
    """A form to replace the criteria text; submitting runs `criteria set`. Built in the
    channel's language."""

    def __init__(self) -> None:
        super().__init__(title=clip(_("Edit this channel's criteria"), TITLE_CHARS))
        self.text: discord.ui.TextInput[CriteriaModal] = discord.ui.TextInput(
            label=clip(_("Criteria (plain English, one topic per line)"), LABEL_CHARS),
            style=discord.TextStyle.paragraph,
            max_length=4000,
        )
        self.add_item(self.text)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await _adapter(interaction).run_command(interaction, f"criteria set {self.text.value}")

    async def on_error(  # type: ignore[override]  # Modal's own signature, as discord.py has it
        self, interaction: discord.Interaction[Any], error: Exception, /
    ) -> None:
        log.error("Discord: the criteria form failed", exc_info=error)
        await _apologise(interaction)


class ExplainButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=render.EXPLAIN_TEMPLATE
):
    """A card's Explain button; its custom id carries the paper, so it works after restarts."""

    def __init__(self, paper_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Explain",
                style=discord.ButtonStyle.primary,
                custom_id=render.explain_custom_id(paper_id),
            )
        )
        self.paper_id = paper_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> ExplainButton:
        return cls(match["paper_id"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _adapter(interaction).run_command(interaction, f"explain {self.paper_id}")


def card_view(entry: DigestEntry) -> discord.ui.View:
    """A card's buttons: Explain (persistent) and links to the abstract page and the PDF."""
    view = discord.ui.View(timeout=None)
    view.add_item(ExplainButton(entry.paper.id))
    view.add_item(discord.ui.Button(label="arXiv", url=entry.paper.abs_url))
    view.add_item(discord.ui.Button(label="PDF", url=entry.paper.pdf_url))
    return view


# -- errors --------------------------------------------------------------------------------------


@asynccontextmanager
async def _platform_errors(action: str) -> AsyncIterator[None]:
    """Discord failures as the platform contract's errors: unreachable or overloaded →
    PlatformUnavailable (retry later), refused → PlatformError."""
    try:
        yield
    except (discord.DiscordServerError, discord.RateLimited) as exc:
        raise PlatformUnavailable(f"Discord could not {action}: {_describe(exc)}") from None
    except (discord.Forbidden, discord.NotFound) as exc:
        raise PlatformError(
            f"Discord refused to {action} ({_describe(exc)}): is the bot in the channel, with "
            "the permissions docs/discord.md lists?"
        ) from None
    except discord.HTTPException as exc:
        raise PlatformError(f"Discord refused to {action}: {_describe(exc)}") from None
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise PlatformUnavailable(f"Discord could not {action}: {_describe(exc)}") from None


def _describe(exc: BaseException) -> str:
    """A one-line description of a failure that cannot contain a token."""
    if isinstance(exc, discord.HTTPException):
        return f"HTTP {exc.status}, code {exc.code}: {clip(exc.text, 200)}"
    if isinstance(exc, discord.RateLimited):
        return f"rate limited for {exc.retry_after:.0f} s"
    return type(exc).__name__


MANAGERS: Final = N_("members with the Manage Server or Manage Channels permission")
"""Who may change a channel on Discord unless ARXIV_BOT_ADMINS says otherwise (translated where
a refusal names them)."""


def manages_channel(permissions: discord.Permissions) -> bool:
    """Whether the member's permissions in the channel (as the interaction carries them) let
    them manage the server or the channel."""
    return bool(
        permissions.administrator or permissions.manage_guild or permissions.manage_channels
    )
