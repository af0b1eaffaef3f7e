"""Reactions and likes: a reaction on a posted card becomes a like, an unlike or a dislike of
the paper it shows, and `/arxiv likes [me]` lists what the channel (or the caller) liked.

Adapters pass reactions through `Conversation.react` and report each message they post through
`Conversation.record_post`, which is how a reaction finds its paper. Which emoji count is
`reaction_value`'s (pure); how the listing reads is `bot.conversation.likes`'s.

It must not import a platform SDK, render platform markup, or name other people in a reply.
"""

from __future__ import annotations

from datetime import date

from bot.conversation.context import Caller, Context, Handlers, Reply, Respond
from bot.conversation.likes import likes_text
from bot.errors import BotError
from bot.i18n import _

DISLIKE = "👎"
LIKES_SHOWN = 15  # papers `likes` lists, each once


def reaction_value(emoji: str, like_emoji: frozenset[str]) -> int:
    """1 for a like emoji, -1 for a dislike, 0 for any other emoji."""
    return 1 if emoji in like_emoji else -1 if emoji == DISLIKE else 0


def reaction_verb(emoji: str, added: bool) -> str:
    """What a recorded reaction did, for a log line: liked, unliked, disliked or undisliked."""
    verb = "disliked" if emoji == DISLIKE else "liked"
    return verb if added else f"un{verb}"


class Reactions:
    """Records reactions and posted messages, and answers `likes` (see module docstring)."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._store = ctx.store

    def handlers(self) -> Handlers:
        return {"likes": self._likes}

    async def react(self, caller: Caller, message_id: str, emoji: str, added: bool) -> str | None:
        """A reaction on a posted message: like/unlike (or dislike) the paper it shows.
        Returns the paper id when something changed; other messages and emoji are ignored."""
        value = reaction_value(emoji, self._ctx.config.like_emoji)
        if not value:
            return None
        paper_id = await self._store.digests.posted_paper(caller.channel_id, message_id)
        if paper_id is None:
            return None
        if added:
            changed = await self._store.likes.set_like(
                caller.channel_id, caller.user_id, paper_id, value
            )
        else:
            changed = await self._store.likes.remove_like(
                caller.channel_id, caller.user_id, paper_id
            )
        return paper_id if changed else None

    async def record_post(
        self, channel_id: str, day: date, slot: str, message_id: str, *, daily: bool = False
    ) -> None:
        """An adapter posted a message: `slot` is 'parent', 'notice' or the paper id of a card;
        `daily` is for the scheduled daily post only (the delivery records those itself)."""
        await self._store.digests.record_posted(channel_id, day, slot, message_id, daily=daily)

    async def _likes(self, caller: Caller, arg: str, respond: Respond) -> None:
        mine = arg.strip().lower() == "me"
        if arg.strip() and not mine:
            raise BotError(_("say `/arxiv likes` for the channel or `/arxiv likes me` for yours"))
        who = caller.user_id if mine else None
        liked = await self._store.likes.liked_papers(caller.channel_id, who, LIKES_SHOWN)
        imported = [] if mine else await self._store.imports.recent(caller.channel_id, LIKES_SHOWN)
        total = await self._store.imports.count(caller.channel_id) if imported else 0
        text = likes_text(liked, caller.user_id, mine=mine, imported=imported, imported_total=total)
        await respond(Reply(text))
