"""The console adapter: every `/arxiv` command and reaction from a terminal, no chat tokens needed.

Lines are commands (`/arxiv today`, or just `today`); `:react N 👍` / `:unreact N 👍` react to
card N of the last digest shown; `:user NAME` switches who is speaking. Digests print as the
markdown report, and each card counts as a posted message so reactions and `explain N` work as
they do on a chat platform. It is also the tests' stand-in for a platform.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO

from adapters.markdown import render_markdown
from bot.conversation import Caller, Conversation, Reply

PLATFORM = "console"


@dataclass(slots=True)
class ConsoleAdapter:
    """Runs the conversation over lines of text."""

    conversation: Conversation
    channel_id: str = "console"
    user_id: str = "me"
    out: TextIO = field(default_factory=lambda: sys.stdout)
    cards: dict[int, str] = field(default_factory=dict)

    @property
    def caller(self) -> Caller:
        """Who is speaking now."""
        return Caller(PLATFORM, self.channel_id, self.user_id)

    async def respond(self, reply: Reply) -> None:
        """Print a reply; a digest is 'posted': its cards get message ids (no parent message is
        recorded: a terminal shows the digest again each time it is asked for)."""
        if reply.digest is None:
            self.out.write(reply.text + "\n")
            return
        digest = reply.digest
        self.cards = {}
        for n, entry in enumerate(digest.entries, 1):
            message_id = f"{digest.day}:{n}"
            await self.conversation.record_post(
                self.channel_id, digest.day, entry.paper.id, message_id
            )
            self.cards[n] = message_id
        self.out.write(render_markdown(digest))

    async def line(self, text: str) -> None:
        """Handle one line typed by the user."""
        text = text.strip()
        if not text:
            return
        if text.startswith(":"):
            await self._meta(text[1:].split())
            return
        command = text.removeprefix("/arxiv").strip() if text.startswith("/arxiv") else text
        await self.conversation.handle(self.caller, command, self.respond)

    async def _meta(self, words: list[str]) -> None:
        if len(words) == 2 and words[0] == "user":
            self.user_id = words[1]
            self.out.write(f"(now speaking as {self.user_id})\n")
        elif len(words) == 3 and words[0] in ("react", "unreact") and words[1].isdigit():
            message_id = self.cards.get(int(words[1]))
            if message_id is None:
                self.out.write(f"(no card {words[1]} in the last digest shown)\n")
                return
            changed = await self.conversation.react(
                self.caller, message_id, words[2], added=words[0] == "react"
            )
            self.out.write(f"({words[0]}ed: {changed})\n" if changed else "(no change)\n")
        else:
            self.out.write("(console: `:user NAME`, `:react N EMOJI`, `:unreact N EMOJI`)\n")

    async def run(self, lines: Iterable[str]) -> None:
        """Handle lines until they run out."""
        for text in lines:
            await self.line(text)
