"""What every command module shares: who asked (`Caller`), what the bot answers (`Reply`, sent
through `Respond`, with an optional `Chart`), the bot-wide defaults (`ConversationConfig`), and
`Context`, the channel lookups and the audit log the command modules use.

`bot.conversation.dispatch` parses and dispatches; each `*_commands` module answers its own commands
through a `Context`. This module owns no command and no guard (permissions and rate limits are
the conversation's); it must not import a command module, import a platform SDK or render
platform markup.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from bot.config.channels import ChannelSettings
from bot.conversation.shown import LastShown
from bot.digest.options import DigestOptions
from bot.digest.selection import digest_from_json
from bot.digest.service import DigestService
from bot.models import Digest
from bot.ratelimit import RateLimits
from bot.safety import clip
from bot.store import Store
from scoring.explain import Explainer

EVERYONE = "everyone"
"""In ARXIV_BOT_ADMINS: anyone may change any channel."""

# audit lines are logged as the conversation's, where they have always been
log = logging.getLogger("bot.conversation.dispatch")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a command, from which channel of which platform."""

    platform: str
    channel_id: str
    user_id: str
    roles: tuple[str, ...] = ()
    thread: str = ""  # the thread the command came from ("" outside one): `ask` follow-ups
    manager: Callable[[], Awaitable[bool]] | None = field(default=None, compare=False)
    """Asks the platform whether the caller manages the channel (a workspace admin, the
    channel's creator...), only when a change needs it; None where there is no one to ask (the
    console's local user)."""
    managers: str = ""
    """Who the platform counts as managing the channel, in words, for a refusal."""
    locale: str = ""  # the person's platform locale (`de-DE`), when the platform tells it


@dataclass(frozen=True, slots=True)
class Chart:
    """Papers selected, likes and LLM dollars per day over `days` (oldest first), for a
    platform that can show an image (`stats` on Slack with ARXIV_BOT_SLACK_CHARTS)."""

    days: tuple[date, ...]
    selected: tuple[int, ...]
    likes: tuple[int, ...]
    dollars: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer: text (light markdown, already defused), or a digest to render; `thread` is
    the id of a posted message the answer points to (adapters link to it); `chart` the same
    figures as an image, for adapters that can show one (the text stands without it);
    `language` the one the channel chose, which a digest posted for everyone is rendered in
    whoever asked ("": the locale the reply is written in)."""

    text: str
    ephemeral: bool = True
    digest: Digest | None = None
    thread: str | None = None
    chart: Chart | None = None
    language: str = ""


Respond = Callable[[Reply], Awaitable[None]]

Handler = Callable[[Caller, str, Respond], Awaitable[None]]
"""Answers one command of the grammar: who asked, what followed the command's name, where to
answer."""

Handlers = Mapping[str, Handler]
"""A command module's handlers by command name (`bot.conversation.commands` spec names)."""


@dataclass(frozen=True, slots=True)
class ConversationConfig:
    """Bot-wide defaults the conversation needs."""

    defaults: ChannelSettings
    default_criteria: str
    admins: frozenset[str]
    like_emoji: frozenset[str]
    limits: RateLimits = field(default_factory=RateLimits)
    preview_confirm_usd: float = 0.05  # `criteria preview` above this waits for `confirm`


class Context:
    """The store, service, explainer and defaults the command modules answer with, and the
    lookups and audit log they share."""

    def __init__(
        self,
        store: Store,
        service: DigestService,
        explainer: Explainer,
        config: ConversationConfig,
    ) -> None:
        self.store = store
        self.service = service
        self.explainer = explainer
        self.config = config
        self.shown = LastShown()

    async def channel_settings(self, channel_id: str, platform: str) -> ChannelSettings:
        """A channel's effective settings."""
        row = await self.store.channels.get(channel_id, platform)
        return self.config.defaults.with_overrides(row.overrides)

    async def options(self, caller: Caller) -> DigestOptions:
        """How the caller's channel builds its digests."""
        s = await self.channel_settings(caller.channel_id, caller.platform)
        return DigestOptions.for_channel(s)

    async def audit(self, caller: Caller, action: str, detail: str) -> None:
        """Write a change to the channel's audit log (and the log)."""
        await self.store.channels.record_event(caller.channel_id, caller.user_id, action, detail)
        log.info(
            "channel %s: %s by %s: %s", caller.channel_id, action, caller.user_id, clip(detail, 120)
        )

    async def stored_digest(self, channel_id: str, day: date | None) -> Digest | None:
        """The channel's digest of `day` as it was decided, if stored."""
        if day is None:
            return None
        stored = await self.store.digests.get(channel_id, day)
        return digest_from_json(stored[1]) if stored else None
