"""The follow commands: `follow author`, `follow keyword`, `following [history]`, `unfollow`.

It checks what a person typed (`bot.digest.following`), keeps the channel's follows
(`bot.store.follows`, which also keeps who added or removed each and when) and writes each
change to the channel's audit log, as criteria changes are. Answers are plain text for
`bot.conversation.dispatch` to send; permissions and rate limits are the conversation's, as for
every command that changes a channel.

It must not import a platform SDK, render platform markup or decide which papers match.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from bot.digest import following
from bot.errors import BotError
from bot.models import Follow, Paper
from bot.safety import clip, defuse, whole_number
from bot.store import Store

log = logging.getLogger(__name__)

NAMES = frozenset({"follow author", "follow keyword", "following", "unfollow"})
"""The commands of the grammar (`bot.conversation.commands`) this module answers."""
EFFECT = (
    "Its papers always go to the LLM and show under “Followed” in the digest, even below the "
    "thresholds, from the next digest on; a day already decided shows them under “Followed” "
    "with the score they have, without scoring them again."
)


DayPapers = Callable[[], Awaitable[tuple[date, Sequence[Paper]] | None]]
"""Loads a channel's latest stored day and its new papers (None: no day stored yet)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What a follow command answers, and whether the whole channel should see it."""

    text: str
    public: bool = False


class FollowCommands:
    """Answers the follow commands of one bot (see module docstring)."""

    def __init__(self, store: Store, limit: int = following.MAX_FOLLOWS) -> None:
        self._store = store
        self._limit = limit

    async def run(
        self,
        name: str,
        channel_id: str,
        user_id: str,
        arg: str,
        day_papers: DayPapers | None = None,
    ) -> Answer:
        """Run one of `NAMES`; BotError for anything wrong with what was typed. `day_papers`
        loads the channel's latest stored day, for what a new keyword would match."""
        if name == "following":
            return await self._list(channel_id, arg)
        if name == "unfollow":
            return await self._unfollow(channel_id, user_id, arg)
        kind = following.AUTHOR if name == "follow author" else following.KEYWORD
        return await self._follow(
            channel_id, user_id, following.parse_follow(kind, arg), day_papers
        )

    async def _reach(self, follow: Follow, day_papers: DayPapers | None) -> str:
        """How many papers of the channel's latest stored day a new keyword follow matches (the
        day's new papers, as the digest considers them); nothing for an author or no day."""
        if follow.kind != following.KEYWORD or day_papers is None:
            return ""
        found = await day_papers()
        if found is None:
            return ""
        day, papers = found
        matched = await following.match_off_loop(papers, [follow])
        latest = "today's" if day == datetime.now(UTC).date() else f"{day.isoformat()}'s"
        return " " + following.reach_note(len(matched), len(papers), latest)

    async def _follow(
        self, channel_id: str, user_id: str, follow: Follow, day_papers: DayPapers | None
    ) -> Answer:
        key = following.follow_key(follow)
        covered, overlapping = None, None
        if follow.kind == following.AUTHOR:
            active = await self._store.follows.active(channel_id)
            covered, overlapping = following.same_author(follow, active)
        if covered is not None and following.follow_key(covered) != key:
            return Answer(
                f"This channel follows author {defuse(covered.text)} already (added by "
                f"{defuse(covered.added_by)} on {covered.added_at[:10]}), which matches every "
                f"paper {defuse(clip(follow.text, following.MAX_TEXT))} would."
            )
        added = await self._store.follows.add(channel_id, follow, key, user_id, self._limit)
        if added.follow is None:
            raise BotError(
                f"this channel follows {added.active} authors and keywords, the most it may; "
                "`/arxiv unfollow <n>` one of them first (`/arxiv following` lists them)"
            )
        shown = defuse(clip(added.follow.text, following.MAX_TEXT))
        if not added.created:
            return Answer(
                f"This channel follows {follow.kind} {shown} already (added by "
                f"{defuse(added.follow.added_by)} on {added.follow.added_at[:10]})."
            )
        await self._audit(channel_id, user_id, f"follow {follow.kind}", follow.text)
        reach = await self._reach(follow, day_papers)
        if overlapping is not None:
            reach += (
                f" It matches some of the same authors as author {defuse(overlapping.text)}, "
                "which this channel follows already (`/arxiv following` numbers them, "
                "`/arxiv unfollow <n>` stops one)."
            )
        return Answer(
            f"This channel now follows {follow.kind} {shown} ({added.active} of "
            f"{self._limit} follows).{reach} {EFFECT}",
            public=True,
        )

    async def _unfollow(self, channel_id: str, user_id: str, arg: str) -> Answer:
        follows = await self._store.follows.active(channel_id)
        number = whole_number(arg)
        if not follows:
            raise BotError("this channel follows nothing, so there is nothing to unfollow")
        if number is None or not 1 <= number <= len(follows):
            raise BotError(
                f"there is no follow {clip(arg.strip(), 20)!r}; give a number from 1 to "
                f"{len(follows)}:\n{_numbered(follows)}"
            )
        gone = follows[number - 1]
        if not await self._store.follows.remove(channel_id, gone.id, user_id):
            raise BotError("that follow was just removed by someone else; see `/arxiv following`")
        await self._audit(channel_id, user_id, f"unfollow {gone.kind}", gone.text)
        return Answer(
            f"This channel no longer follows {gone.kind} {defuse(gone.text)}.", public=True
        )

    async def _list(self, channel_id: str, arg: str) -> Answer:
        word = arg.strip().lower()
        if word not in ("", "history"):
            raise BotError("say `/arxiv following` or `/arxiv following history`")
        if word == "history":
            return Answer(await self._history(channel_id))
        follows = await self._store.follows.active(channel_id)
        if not follows:
            return Answer(
                "This channel follows no author or keyword yet: `/arxiv follow author Jane Doe`"
                ' or `/arxiv follow keyword "diffusion model"`.'
            )
        return Answer(
            f"This channel follows ({len(follows)} of {self._limit}; `/arxiv unfollow <n>` "
            f"stops one):\n{_numbered(follows)}"
        )

    async def _history(self, channel_id: str) -> str:
        records = await self._store.follows.history(channel_id)
        if not records:
            return "This channel has never followed an author or keyword."
        rows = []
        for r in records:
            f = r.follow
            line = f"{f.kind} {defuse(f.text)} — added {f.added_at} by {defuse(f.added_by)}" + (
                f", removed {r.removed_at} by {defuse(r.removed_by or '')}" if r.removed_at else ""
            )
            rows.append(line)
        return "Follows of this channel (newest first):\n" + "\n".join(rows)

    async def _audit(self, channel_id: str, user_id: str, action: str, detail: str) -> None:
        await self._store.channels.record_event(channel_id, user_id, action, detail)
        log.info("channel %s: %s by %s: %s", channel_id, action, user_id, clip(detail, 120))


def _numbered(follows: list[Follow]) -> str:
    return "\n".join(
        f"{n}. {f.kind} {defuse(f.text)} (added by {defuse(f.added_by)}, {f.added_at[:10]})"
        for n, f in enumerate(follows, 1)
    )
