"""The commands that show a channel a digest: `today`, `today repost` and `day <YYYY-MM-DD>`.

`today` builds (or reuses) the latest announcement day's digest and posts it once in the
channel, pointing to the posted thread otherwise; concurrent `today`s share one build and one
post (`bot.work`). `day` shows a stored day again through `bot.digest.search.Lookups`, never
spending. Permissions and rate limits are `bot.conversation.dispatch`'s.

It must not import a platform SDK, render platform markup, or decide which papers a digest
shows (`bot.digest.service` does).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.arxiv.categories import categories_key
from bot.conversation.context import Caller, Context, Handlers, Reply, Respond
from bot.digest.search import Lookups
from bot.digest.selection import day_text
from bot.digest.service import FEED_FRESH_FOR
from bot.i18n import _, active, using
from bot.models import Digest


class DigestCommands:
    """Answers `today`, `today repost` and `day` (see module docstring)."""

    def __init__(self, ctx: Context, lookups: Lookups) -> None:
        self._ctx = ctx
        self._store = ctx.store
        self._service = ctx.service
        self._lookups = lookups

    def handlers(self) -> Handlers:
        return {"today": self._today, "today repost": self._today_repost, "day": self._day}

    async def _today_repost(self, caller: Caller, _arg: str, respond: Respond) -> None:
        await self._post_today(caller, respond, repost=True)

    async def _today(self, caller: Caller, _arg: str, respond: Respond) -> None:
        await self._post_today(caller, respond, repost=False)

    async def _post_today(self, caller: Caller, respond: Respond, *, repost: bool) -> None:
        """Post the day's digest in the channel unless it is there already (then point to it
        privately) or another `today` is posting it right now."""
        digest = await self.today_digest(caller, respond)
        if digest is None:
            return
        posted = await self._store.digests.thread_of(caller.channel_id, digest.day)
        if posted is not None and not repost:
            await respond(
                Reply(
                    _(
                        "The digest of {day} is already posted in this channel: see its "
                        "thread. `/arxiv today repost` posts it here again."
                    ).format(day=day_text(digest.day)),
                    thread=posted,
                )
            )
            return
        # many `today` at once share one digest, and only one of them posts it
        async with self._service.work.attempt(f"today:{caller.channel_id}:{digest.day}") as mine:
            if not mine:
                await respond(
                    Reply(
                        _("The digest of {day} is being posted here right now.").format(
                            day=day_text(digest.day)
                        )
                    )
                )
                return
            await respond(await self._posted(caller, digest))

    async def today_digest(self, caller: Caller, respond: Respond | None = None) -> Digest | None:
        """The channel's digest of the latest announcement day: from the store when the feed
        was fetched in the last half hour and everything is scored, otherwise built now (a
        caller asking while the same digest is being built joins that build)."""
        options = await self._ctx.options(caller)
        key = categories_key(options.categories)
        since = datetime.now(UTC) - FEED_FRESH_FOR
        last = await self._store.papers.last_fetch(key)
        if last is not None and last.fetched_at >= since and last.day is not None:
            stored = await self._service.stored(caller.channel_id, last.day, options)
            if (
                stored is not None
                and not stored.counts.unscored
                and stored.counts.sent
                and await self._decided_under_current(caller.channel_id, last.day)
            ):
                return stored
        if respond is not None:
            await respond(Reply(_("Working on today's digest… I'll post it here when it's ready.")))
        outcome = await self._service.today(caller.channel_id, options, since=since)
        if outcome.digest is not None:
            return outcome.digest
        latest = await self._store.papers.latest_feed_day(key)
        if respond is not None:
            text = _("No arXiv announcement today (weekend or holiday).")
            if latest:
                text += " " + _("The latest announcement was on {day}.").format(
                    day=day_text(latest)
                )
            await respond(Reply(text))
        return None

    async def _decided_under_current(self, channel_id: str, day: date) -> bool:
        """Whether the stored digest of `day` was decided under the channel's current criteria;
        if not (the criteria changed, or were reverted, since), `today` decides it again, so that
        `day` shows what was posted, under the criteria it names."""
        frame = await self._store.digests.frame(channel_id, day)
        current = await self._store.channels.channel_criteria(channel_id)
        return frame is not None and current is not None and frame.criteria_id == current[0].id

    async def _day(self, caller: Caller, arg: str, respond: Respond) -> None:
        digest = await self._lookups.day(caller.channel_id, await self._ctx.options(caller), arg)
        await respond(await self._posted(caller, digest))

    async def _posted(self, caller: Caller, digest: Digest) -> Reply:
        """A digest for everyone in the channel: shown in the language the channel chose (the
        one its LLM text is written in) whoever asked; in the locale replies take when it
        chose none."""
        s = await self._ctx.channel_settings(caller.channel_id, caller.platform)
        language = s.language if s.language_set else ""
        with using(language or active()):
            title = digest_title(digest)
        return Reply(title, ephemeral=False, digest=digest, language=language)


def digest_title(digest: Digest) -> str:
    """The text a posted digest goes with (what a platform shows where it cannot show it)."""
    return _("arXiv digest for {day}").format(day=day_text(digest.day))
