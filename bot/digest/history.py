"""The channel's earlier decided days as the share rule reads them (`scoring.share.Yesterday`):
each day's size, what its share sent and where its selections ranked among what was sent.

It owns loading them from the store, newest first, under the channel's current criteria
only. It must not decide a share, rank, score or render anything.
"""

from __future__ import annotations

from bot.digest.assembly import DayContext, frozen
from bot.models import Thresholds
from bot.store import Store
from scoring import share


async def earlier_days(
    store: Store, ctx: DayContext, thresholds: Thresholds, limit: int = share.CALIBRATION_DAYS
) -> list[share.Yesterday]:
    """Up to `limit` of the channel's decided days before `ctx.day` under its current criteria,
    newest first; a day decided under other criteria, or whose ranking is gone, is skipped."""
    days: list[share.Yesterday] = []
    for day in await store.rankings.ranked_days(ctx.channel_id, ctx.day, limit=limit):
        frame = await store.digests.frame(ctx.channel_id, day)
        if frame is None or frame.sent_ids is None or not frozen(frame, ctx.criteria):
            continue
        assert frame.ranking_key is not None
        ranked = await store.rankings.ranking_set(day, frame.ranking_key)
        if ranked is None:
            continue
        sent = share.share_part(ranked.ids, frame.sent_ids)
        scores = await store.scores.get(sent, ctx.key)
        chosen = {pid for pid, s in scores.items() if thresholds.admits(s)}
        days.append(share.Yesterday(len(ranked.ids), len(sent), share.selected_ranks(sent, chosen)))
    return days
