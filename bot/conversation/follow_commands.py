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
from bot.i18n import N_, _, number
from bot.models import Follow, Paper
from bot.safety import clip, defuse, whole_number
from bot.store import Store

log = logging.getLogger(__name__)

NAMES = frozenset({"follow author", "follow keyword", "following", "unfollow"})
"""The commands of the grammar (`bot.conversation.commands`) this module answers."""
EFFECT = N_(
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
        latest = None if day == datetime.now(UTC).date() else day
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
                _(
                    "This channel follows author {author} already (added by {user} on {when}), "
                    "which matches every paper {name} would."
                ).format(
                    author=defuse(covered.text),
                    user=defuse(covered.added_by),
                    when=covered.added_at[:10],
                    name=defuse(clip(follow.text, following.MAX_TEXT)),
                )
            )
        added = await self._store.follows.add(channel_id, follow, key, user_id, self._limit)
        if added.follow is None:
            raise BotError(
                _(
                    "this channel follows {count} authors and keywords, the most it may; "
                    "`/arxiv unfollow <n>` one of them first (`/arxiv following` lists them)"
                ).format(count=number(added.active))
            )
        shown = defuse(clip(added.follow.text, following.MAX_TEXT))
        if not added.created:
            return Answer(
                _("This channel follows {kind} {text} already (added by {user} on {when}).").format(
                    kind=_kind(follow.kind),
                    text=shown,
                    user=defuse(added.follow.added_by),
                    when=added.follow.added_at[:10],
                )
            )
        await self._audit(channel_id, user_id, f"follow {follow.kind}", follow.text)
        reach = await self._reach(follow, day_papers)
        if overlapping is not None:
            reach += " " + _(
                "It matches some of the same authors as author {author}, which this channel "
                "follows already (`/arxiv following` numbers them, `/arxiv unfollow <n>` stops "
                "one)."
            ).format(author=defuse(overlapping.text))
        head = _("This channel now follows {kind} {text} ({count} of {limit} follows).").format(
            kind=_kind(follow.kind),
            text=shown,
            count=number(added.active),
            limit=number(self._limit),
        )
        return Answer(f"{head}{reach} {_(EFFECT)}", public=True)

    async def _unfollow(self, channel_id: str, user_id: str, arg: str) -> Answer:
        follows = await self._store.follows.active(channel_id)
        wanted = whole_number(arg)
        if not follows:
            raise BotError(_("this channel follows nothing, so there is nothing to unfollow"))
        if wanted is None or not 1 <= wanted <= len(follows):
            raise BotError(
                _("there is no follow {follow}; give a number from 1 to {last}:").format(
                    follow=repr(clip(arg.strip(), 20)), last=len(follows)
                )
                + f"\n{_numbered(follows)}"
            )
        gone = follows[wanted - 1]
        if not await self._store.follows.remove(channel_id, gone.id, user_id):
            raise BotError(
                _("that follow was just removed by someone else; see `/arxiv following`")
            )
        await self._audit(channel_id, user_id, f"unfollow {gone.kind}", gone.text)
        return Answer(
            _("This channel no longer follows {kind} {text}.").format(
                kind=_kind(gone.kind), text=defuse(gone.text)
            ),
            public=True,
        )

    async def _list(self, channel_id: str, arg: str) -> Answer:
        word = arg.strip().lower()
        if word not in ("", "history"):
            raise BotError(_("say `/arxiv following` or `/arxiv following history`"))
        if word == "history":
            return Answer(await self._history(channel_id))
        follows = await self._store.follows.active(channel_id)
        if not follows:
            return Answer(
                _(
                    "This channel follows no author or keyword yet: `/arxiv follow author Jane "
                    'Doe` or `/arxiv follow keyword "diffusion model"`.'
                )
            )
        head = _("This channel follows ({count} of {limit}; `/arxiv unfollow <n>` stops one):")
        return Answer(
            head.format(count=number(len(follows)), limit=number(self._limit))
            + f"\n{_numbered(follows)}"
        )

    async def _history(self, channel_id: str) -> str:
        records = await self._store.follows.history(channel_id)
        if not records:
            return _("This channel has never followed an author or keyword.")
        rows = []
        for r in records:
            f = r.follow
            line = _("{kind} {text} — added {when} by {user}").format(
                kind=_kind(f.kind), text=defuse(f.text), when=f.added_at, user=defuse(f.added_by)
            )
            if r.removed_at:
                line += _(", removed {when} by {user}").format(
                    when=r.removed_at, user=defuse(r.removed_by or "")
                )
            rows.append(line)
        return _("Follows of this channel (newest first):") + "\n" + "\n".join(rows)

    async def _audit(self, channel_id: str, user_id: str, action: str, detail: str) -> None:
        await self._store.channels.record_event(channel_id, user_id, action, detail)
        log.info("channel %s: %s by %s: %s", channel_id, action, user_id, clip(detail, 120))


def _numbered(follows: list[Follow]) -> str:
    return "\n".join(
        f"{n}. "
        + _("{kind} {text} (added by {user}, {when})").format(
            kind=_kind(f.kind), text=defuse(f.text), user=defuse(f.added_by), when=f.added_at[:10]
        )
        for n, f in enumerate(follows, 1)
    )


def _kind(kind: str) -> str:
    """`author` or `keyword` in the reader's language."""
    return _(following.KIND_WORDS.get(kind, kind))
