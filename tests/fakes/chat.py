"""A stand-in chat platform for the daily post: keeps every message it is sent, can be down for a
number of calls, and can 'kill the bot' right after it accepted a message (before the bot could
record it), which is the hardest moment for exactly-once delivery.

It implements `bot.platform.ChatPlatform` in memory; the Slack and Discord adapters are tested
against their own fake servers.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from datetime import date

from bot.errors import PlatformError, PlatformUnavailable
from bot.models import Digest, DigestEntry
from bot.platform import PARENT


class Killed(BaseException):
    """The bot process died (raised where a kill would have stopped it)."""


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    channel_id: str
    kind: str  # parent, card, notice
    text: str
    day: date | None = None
    thread: str | None = None
    paper_id: str | None = None


@dataclass(slots=True)
class FakeChat:
    """An in-memory chat platform named `platform`."""

    platform: str = "fake"
    messages: list[Message] = field(default_factory=list)
    down: int = 0  # the next `down` calls fail as unreachable
    refuse: int = 0  # the next `refuse` calls are refused
    kill_after: int | None = None  # accept this many more posts, then die after the next one
    calls: int = 0
    posted: asyncio.Event = field(default_factory=asyncio.Event)  # set by the first message
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _gate(self) -> None:
        self.calls += 1
        if self.down:
            self.down -= 1
            raise PlatformUnavailable(f"{self.platform} is unreachable (connection refused)")
        if self.refuse:
            self.refuse -= 1
            raise PlatformError(f"{self.platform} refused the post: not_in_channel")

    def _keep(self, message: Message) -> str:
        self.messages.append(message)
        self.posted.set()
        if self.kill_after is not None:
            if self.kill_after == 0:
                self.kill_after = None
                raise Killed(f"killed after posting {message.id}")
            self.kill_after -= 1
        return message.id

    def _next_id(self) -> str:
        return f"m{next(self._ids)}"

    async def post_parent(self, channel_id: str, digest: Digest) -> str:
        self._gate()
        text = (
            f"arXiv digest {digest.day}: {len(digest.entries)} papers"
            if digest.entries
            else f"arXiv {digest.day}: nothing today"
        )
        return self._keep(Message(self._next_id(), channel_id, "parent", text, digest.day))

    async def post_card(
        self, channel_id: str, parent_id: str, digest: Digest, entry: DigestEntry
    ) -> str:
        self._gate()
        return self._keep(
            Message(
                self._next_id(),
                channel_id,
                "card",
                entry.paper.title,
                digest.day,
                parent_id,
                entry.paper.id,
            )
        )

    async def post_notice(self, channel_id: str, text: str) -> str:
        self._gate()
        return self._keep(Message(self._next_id(), channel_id, "notice", text))

    async def recover(self, channel_id: str, day: date, parent_id: str | None) -> dict[str, str]:
        self._gate()
        found: dict[str, str] = {}
        for m in self.messages:
            if m.channel_id != channel_id or m.day != day:
                continue
            if m.kind == "parent":
                found[PARENT] = m.id
            elif m.kind == "card" and m.paper_id is not None:
                found[m.paper_id] = m.id
        return found

    # -- what tests look at --

    def of(self, channel_id: str, kind: str | None = None) -> list[Message]:
        return [m for m in self.messages if m.channel_id == channel_id and kind in (None, m.kind)]

    def cards(self, channel_id: str) -> list[str]:
        return [m.paper_id or "" for m in self.of(channel_id, "card")]
