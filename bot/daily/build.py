"""Building a channel's digest of a day for the daily post: scoring what it lacks (now, or
through the Batch API until a deadline) through `DigestService`, and when scoring fails, storing
the digest of what is scored (with a note saying when scoring is tried again, when the LLM
cannot be reached).

One `DailyBuilder` serves every channel of a process: when the LLM cannot be reached, the other
channels of the same tick get their digest of what is scored without trying it again.

This module must not post, fetch feeds or decide when anything is due (`bot.daily.schedule`
does); like the rest of the core it imports no platform SDK.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.config.channels import ChannelSettings
from bot.daily.schedule import RESCORE_EVERY
from bot.digest.notes import LLM_DOWN, LLM_REFUSED, note
from bot.digest.options import DigestOptions
from bot.digest.selection import digest_to_json
from bot.digest.service import DigestService
from bot.errors import LLMUnavailable, ScoringError
from bot.models import Digest, Note
from bot.store import ChannelRow, Store
from scoring.pricing import format_usd

log = logging.getLogger("bot.daily.runner")


def llm_down_note(exc: LLMUnavailable, digest: Digest, timezone: str, again: datetime) -> Note:
    """What a digest says when the LLM could not score `digest.counts.unscored` of its papers
    and scoring is tried again at `again` (worded where it is shown, `bot.digest.notes`)."""
    waiting, sent = digest.counts.unscored, digest.counts.sent
    if exc.refused:
        return note(LLM_REFUSED, waiting=waiting, sent=sent)
    at = again.astimezone(ZoneInfo(timezone)).strftime("%H:%M")
    return note(LLM_DOWN, reason=exc.reason, waiting=waiting, sent=sent, at=at, timezone=timezone)


class DailyBuilder:
    """Scores and stores the channels' digests for the daily post (see module docstring)."""

    def __init__(self, store: Store, service: DigestService) -> None:
        self._store = store
        self._service = service
        self._llm_down: tuple[LLMUnavailable, datetime] | None = None

    async def build(
        self,
        row: ChannelRow,
        settings: ChannelSettings,
        day: date,
        now: datetime,
        batch_until: datetime | None = None,
    ) -> Digest | None:
        """Score what the channel's digest of `day` lacks and store it; None if it cannot. When
        the LLM cannot be reached, the digest keeps what is scored and says when scoring is
        tried again (and the other channels of this tick do not wait for it again)."""
        options = DigestOptions.for_channel(settings)
        if self._llm_down is not None and self._llm_down[1] == now:
            return await self._waiting_for_llm(row, settings, day, now, self._llm_down[0])
        try:
            digest = await self._service.build(row.id, day, options, batch_until=batch_until)
        except LLMUnavailable as exc:
            log.error("scoring %s: %s (retrying at the next tick)", day, exc)
            self._llm_down = (exc, now)
            return await self._waiting_for_llm(row, settings, day, now, exc)
        except ScoringError as exc:
            log.error("scoring for %s on %s failed: %s", row.id, day, exc)
            digest = await self._service.stored(row.id, day, options)
            if digest is not None:
                await self._store.digests.save(row.id, day, "scored", digest_to_json(digest))
            return digest
        if digest is not None:
            u = digest.run_usage
            log.info(
                "scored %s for %s: %d of %d scored, %d selected, %d unscored; "
                "this run %d calls, %d tokens, %s",
                day,
                row.id,
                digest.counts.scored,
                digest.counts.considered,
                digest.counts.selected,
                digest.counts.unscored,
                u.calls,
                u.total_tokens,
                format_usd(u.cost_usd, u.priced),
            )
        return digest

    async def scored_only(
        self, row: ChannelRow, settings: ChannelSettings, day: date
    ) -> Digest | None:
        """The channel's digest of `day` from what is scored already, spending nothing."""
        options = DigestOptions.for_channel(settings)
        return await self._service.stored(row.id, day, options)

    async def _waiting_for_llm(
        self,
        row: ChannelRow,
        settings: ChannelSettings,
        day: date,
        now: datetime,
        exc: LLMUnavailable,
    ) -> Digest | None:
        """The digest of what is scored, with a note saying the LLM could not be reached and
        when scoring is tried again."""
        digest = await self.scored_only(row, settings, day)
        if digest is None:
            return None
        said = llm_down_note(exc, digest, settings.timezone, now + RESCORE_EVERY)
        digest = replace(digest, notes=(said,))
        await self._store.digests.save(row.id, day, "scored", digest_to_json(digest))
        return digest
