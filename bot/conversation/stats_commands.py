"""The `stats` command: what a channel saw, scored, posted and liked today, in 7 and in 30 days,
what the LLM cost the whole bot, what the channel's ranking learned (its imported papers among it)
and sent to the LLM, and
sparklines (`▁▂▃▄▅▆▇█`) of papers selected, likes and dollars per day over 30 days, which read
the same on every platform (one line each, nothing to align). The same figures go with the reply
as a `Chart`; `chart_png` draws one with matplotlib (the optional `charts` extra, imported only
when drawn, off the event loop) for an adapter that shows images.

It loads the counts, usage, learning state and recent digest bodies from the store, then words
them in the pure functions below. Rate limits are `bot.conversation.dispatch`'s.

It must not change anything, spend, import a platform SDK or render platform markup.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.arxiv.categories import categories_key
from bot.conversation.context import Caller, Chart, Context, Handlers, Reply, Respond
from bot.digest.selection import cost_text, day_text
from bot.i18n import N_, _, ngettext, number, percent
from bot.models import Usage
from bot.store import LearningState

PERIODS = ((N_("today:"), 0), (N_("7 days:"), 6), (N_("30 days:"), 29))
"""Each line of `stats`: its label (translated where shown) and how many days before today it
starts."""
SHARE_DIGESTS = 30  # the latest digests the LLM share line looks back on
SPARK_DAYS = 30
BARS = "▁▂▃▄▅▆▇█"


class StatsCommands:
    """Answers `stats` (see module docstring)."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._store = ctx.store

    def handlers(self) -> Handlers:
        return {"stats": self._stats}

    async def _stats(self, caller: Caller, _arg: str, respond: Respond) -> None:
        s = await self._ctx.channel_settings(caller.channel_id, caller.platform)
        midnight = datetime.combine(datetime.now(UTC).date(), datetime.min.time(), UTC)
        periods: list[tuple[str, Mapping[str, int], Usage]] = []
        for label, days in PERIODS:
            start = midnight - timedelta(days=days)
            counts = await self._store.stats.channel_counts(
                caller.channel_id, categories_key(s.categories), start
            )
            periods.append((label, counts, await self._store.stats.usage(since=start)))
        state = await self._store.rankings.learning_state(caller.channel_id)
        bodies = await self._digest_bodies(caller.channel_id)
        imported = await self._store.imports.count(caller.channel_id)
        lines = [*period_lines(periods), taste_line(state, learning=s.learning)]
        if imported:
            lines.append(imported_line(imported))
        lines.append(share_line(body for _, body in bodies))
        window = spark_days(midnight.date())
        likes, dollars = await self._store.stats.per_day(caller.channel_id, window[0])
        selected = selected_per_day(bodies)
        lines += spark_lines(window, selected, likes, dollars)
        chart = month_chart(window, selected, likes, dollars)
        head = _("Stats (LLM cost is the whole bot's):")
        await respond(Reply(head + "\n" + "\n".join(lines), chart=chart))

    async def _digest_bodies(self, channel_id: str) -> list[tuple[date, Any]]:
        """The days and bodies of the channel's latest stored digests, newest first."""
        bodies = []
        for record in (await self._store.digests.records(channel_id))[:SHARE_DIGESTS]:
            stored = await self._store.digests.get(channel_id, record.day)
            bodies.append((record.day, stored[1] if stored else None))
        return bodies


def spark_days(today: date, count: int = SPARK_DAYS) -> list[date]:
    """The `count` days ending today, oldest first."""
    return [today - timedelta(days=n) for n in range(count - 1, -1, -1)]


def sparkline(values: Sequence[float]) -> str:
    """One bar per value, scaled to the largest: `▁` is none, `▂`…`█` a share of the most."""
    top = max(values, default=0)
    if top <= 0:
        return BARS[0] * len(values)
    return "".join(BARS[0] if v <= 0 else BARS[1 + round(v / top * 6)] for v in values)


def selected_per_day(bodies: Iterable[tuple[date, Any]]) -> dict[date, int]:
    """Papers each stored digest selected, by its day."""
    out: dict[date, int] = {}
    for day, body in bodies:
        counts = body.get("counts") if isinstance(body, dict) else None
        if isinstance(counts, dict) and isinstance(counts.get("selected"), int):
            out[day] = counts["selected"]
    return out


def spark_lines(
    days: Sequence[date],
    selected: Mapping[date, int],
    likes: Mapping[date, int],
    dollars: Mapping[date, float],
) -> list[str]:
    """Three sparklines over `days` (oldest first), each with its total and its busiest day."""
    span = f"{day_text(days[0])} – {day_text(days[-1])}"
    lines = [
        _("Per day over {count} days ({span}, oldest first; ▁ is none):").format(
            count=number(len(days)), span=span
        )
    ]
    for label, series, shown in (
        (_("papers selected"), selected, number),
        (_("likes"), likes, number),
        (_("LLM $"), dollars, cost_text),
    ):
        values = [series.get(d, 0) for d in days]
        total = sum(values)
        best = max(range(len(days)), key=lambda n: (values[n], n))
        if values[best] > 0:
            text = _("{label}: {total} in all, most {most} on {day}").format(
                label=label, total=shown(total), most=shown(values[best]), day=day_text(days[best])
            )
        else:
            text = _("{label}: {total} in all").format(label=label, total=shown(total))
        lines.append(f"{sparkline(values)} {text}")
    return lines


def month_chart(
    days: Sequence[date],
    selected: Mapping[date, int],
    likes: Mapping[date, int],
    dollars: Mapping[date, float],
) -> Chart:
    """The sparklines' figures as a `Chart` (a day without any counts as 0)."""
    return Chart(
        tuple(days),
        tuple(selected.get(d, 0) for d in days),
        tuple(likes.get(d, 0) for d in days),
        tuple(float(dollars.get(d, 0.0)) for d in days),
    )


NO_MATPLOTLIB = N_("matplotlib is not installed (the `charts` extra)")


class ChartUnavailable(Exception):
    """matplotlib (the `charts` extra) is not installed: no chart can be drawn (the message is
    `NO_MATPLOTLIB`, marked for translation where it is shown)."""


def chart_png(chart: Chart) -> bytes:
    """The chart as a PNG: three bar panels sharing the days. CPU work: call it with
    asyncio.to_thread. Raises ChartUnavailable without matplotlib."""
    try:  # optional and heavy; the Agg canvas, not pyplot, whose global state threads share
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as exc:
        raise ChartUnavailable(NO_MATPLOTLIB) from exc
    figure = Figure(figsize=(8, 6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    panels = figure.subplots(3, 1, sharex=True)
    span = f"{chart.days[0].isoformat()} – {chart.days[-1].isoformat()}" if chart.days else ""
    figure.suptitle(f"Per day, {span}")
    for axes, (label, values, colour) in zip(
        panels,
        (
            ("papers selected", chart.selected, "tab:blue"),
            ("likes", chart.likes, "tab:orange"),
            ("LLM $", chart.dollars, "tab:green"),
        ),
        strict=True,
    ):
        axes.bar(list(chart.days), list(values), color=colour)
        axes.set_ylabel(label)
        if label != "LLM $":  # counts: no 0.25 of a like
            axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(axis="y", alpha=0.3)
    figure.autofmt_xdate()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def period_lines(periods: Sequence[tuple[str, Mapping[str, int], Usage]]) -> list[str]:
    """One line per period: LLM cost, then counts and LLM usage; nothing is padded into
    columns, which only line up in a monospace font (Slack's and Discord's are not)."""
    rows: list[tuple[str, str, str]] = []
    for label, counts, usage in periods:
        rest = _(
            "{seen} papers seen, {scored} scored, {posted} posted, {likes}; LLM {calls} calls, "
            "{tokens} tokens ({cached} cached)"
        ).format(
            seen=number(counts["seen"]),
            scored=number(counts["scored"]),
            posted=number(counts["posted"]),
            likes=_likes(counts["likes"]),
            calls=number(usage.calls),
            tokens=number(usage.total_tokens),
            cached=number(usage.cached_tokens),
        )
        rows.append((_(label), cost_text(usage.cost_usd, usage.priced), rest))
    return [f"{label} {cost} · {rest}" for label, cost, rest in rows]


def share_line(bodies: Iterable[Any]) -> str:
    """What the LLM share was on the latest day, and what warm-up and widened days cost, from
    the latest digest bodies, newest first."""
    extra, wider, latest = 0.0, 0, None
    for body in bodies:
        share = body.get("llm_share") if isinstance(body, dict) else None
        if not isinstance(share, dict):
            continue
        latest = latest or share
        if share.get("reason") in ("warm-up", "widened"):
            wider += 1
            extra += float(share.get("extra_usd") or 0.0)
    if latest is None:
        return _("LLM share: no digest decided yet")
    reason = str(latest["reason"])
    return _(
        "LLM share: {share} of the latest day ({reason}); warm-up and widened days in the last "
        "30 digests: {wider}, costing about {cost} beyond the channel's share"
    ).format(
        share=percent(latest["share"]),
        reason=_(SHARE_REASONS[reason]) if reason in SHARE_REASONS else reason,
        wider=number(wider),
        cost=cost_text(extra),
    )


SHARE_REASONS = {
    "base": N_("the channel's share"),
    "warm-up": N_("warm-up"),
    "widened": N_("widened"),
    "calibrated": N_("calibrated"),
    "local": N_("ranked locally only"),
}
"""The reasons a day's LLM share has, in words (`scoring.share`)."""


def imported_line(imported: int) -> str:
    """The channel's imported reading list, which the ranking learns from as likes."""
    return ngettext(
        "imported: {count} paper in the reading list, learned from as likes "
        "(`import undo` takes back the latest import)",
        "imported: {count} papers in the reading list, learned from as likes "
        "(`import undo` takes back the latest import)",
        imported,
    ).format(count=number(imported))


def taste_line(state: LearningState, *, learning: bool) -> str:
    """What the channel's ranking learned from likes, and how well it recalled them."""
    verdicts = ngettext(
        "{count} earlier LLM verdict under these criteria",
        "{count} earlier LLM verdicts under these criteria",
        state.verdicts,
    ).format(count=number(state.verdicts))
    if not learning:
        return _("learning from likes: off (ranking by the criteria and {verdicts})").format(
            verdicts=verdicts
        )
    measured = (
        _("recall of liked papers at the last measurement ({day}) {recall}").format(
            day=day_text(state.measured_day) if state.measured_day else "–",
            recall=number(state.recall, 2),
        )
        if state.recall is not None
        else _("recall not measured yet (needs likes on an earlier ranked day)")
    )
    return _("learning from likes: learned from {likes} and {verdicts}; {measured}").format(
        likes=_likes(state.learned_from), verdicts=verdicts, measured=measured
    )


def _likes(count: int) -> str:
    """'1 like', '2 likes'."""
    return ngettext("{count} like", "{count} likes", count).format(count=number(count))
