"""The console adapter: every `/arxiv` command and reaction from a terminal, no chat tokens needed.

Lines are commands (`/arxiv today`, or just `today`); `:react N 👍` / `:unreact N 👍` react to
card N of the last digest shown; `:user NAME` switches who is speaking. Digests print as the
markdown report, and each card counts as a posted message so reactions and `explain N` work as
they do on a chat platform. It is also the tests' stand-in for a platform.

Every line ends in a printed answer: a user error is shown as it is, anything else is logged and
answered with a short apology, so no input can end the console with a traceback. It must not
parse numbers itself (`bot.commands.whole_number` does) or decide what a command means.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO

from adapters.markdown import render_markdown
from bot.commands import whole_number
from bot.conversation import Caller, Conversation, Reply
from bot.errors import BotError
from bot.safety import clip, defuse

log = logging.getLogger(__name__)

PLATFORM = "console"
APOLOGY = "(sorry, that went wrong on my side; the details are in the log)"


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
        try:
            if text.startswith(":"):
                await self._meta(text[1:].split())
                return
            command = text.removeprefix("/arxiv").strip() if text.startswith("/arxiv") else text
            await self.conversation.handle(self.caller, command, self.respond)
        except BotError as exc:
            self.out.write(defuse(str(exc)) + "\n")
        except Exception:
            log.exception("console: the line %r failed", clip(text, 80))
            self.out.write(APOLOGY + "\n")

    async def _meta(self, words: list[str]) -> None:
        card = whole_number(words[1]) if len(words) == 3 else None
        if len(words) == 2 and words[0] == "user":
            self.user_id = words[1]
            self.out.write(f"(now speaking as {defuse(self.user_id)})\n")
        elif card is not None and words[0] in ("react", "unreact"):
            message_id = self.cards.get(card)
            if message_id is None:
                self.out.write(f"(no card {card} in the last digest shown)\n")
                return
            changed = await self.conversation.react(
                self.caller, message_id, words[2], added=words[0] == "react"
            )
            if changed:
                self.out.write(f"({words[0]}ed: {changed})\n")
            else:
                self.out.write(
                    f"(no change) {words[2]} is not a like or 👎 here, or it was already "
                    "recorded; ARXIV_BOT_LIKE_EMOJI sets the likes\n"
                )
        else:
            self.out.write("(console: `:user NAME`, `:react N EMOJI`, `:unreact N EMOJI`)\n")

    async def run(self, lines: Iterable[str]) -> None:
        """Handle lines until they run out."""
        for text in lines:
            await self.line(text)
