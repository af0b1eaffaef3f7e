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
from bot.models import Usage
from bot.store import LearningState
from scoring.pricing import format_usd

PERIODS = (("today:", 0), ("7 days:", 6), ("30 days:", 29))
"""Each line of `stats`: its label and how many days before today it starts."""
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

    async def _stats(self, caller: Caller, _: str, respond: Respond) -> None:
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
        await respond(
            Reply("Stats (LLM cost is the whole bot's):\n" + "\n".join(lines), chart=chart)
        )

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
    span = f"{days[0].isoformat()} – {days[-1].isoformat()}"
    lines = [f"Per day over {len(days)} days ({span}, oldest first; ▁ is none):"]
    for label, series, shown in (
        ("papers selected", selected, str),
        ("likes", likes, str),
        ("LLM $", dollars, format_usd),
    ):
        values = [series.get(d, 0) for d in days]
        total = sum(values)
        best = max(range(len(days)), key=lambda n: (values[n], n))
        most = (
            f", most {shown(values[best])} on {days[best].isoformat()}" if values[best] > 0 else ""
        )
        lines.append(f"{sparkline(values)} {label}: {shown(total)} in all{most}")
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


class ChartUnavailable(Exception):
    """matplotlib (the `charts` extra) is not installed: no chart can be drawn."""


def chart_png(chart: Chart) -> bytes:
    """The chart as a PNG: three bar panels sharing the days. CPU work: call it with
    asyncio.to_thread. Raises ChartUnavailable without matplotlib."""
    try:  # optional and heavy; the Agg canvas, not pyplot, whose global state threads share
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as exc:
        raise ChartUnavailable("matplotlib is not installed (the `charts` extra)") from exc
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
        rest = (
            f"{counts['seen']} papers seen, {counts['scored']} scored, "
            f"{counts['posted']} posted, {_counted(counts['likes'], 'like')}; LLM "
            f"{usage.calls} calls, {usage.total_tokens} tokens ({usage.cached_tokens} cached)"
        )
        rows.append((label, format_usd(usage.cost_usd, usage.priced), rest))
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
        return "LLM share: no digest decided yet"
    return (
        f"LLM share: {latest['share']:.0%} of the latest day ({latest['reason']}); warm-up "
        f"and widened days in the last 30 digests: {wider}, costing about {format_usd(extra)} "
        "beyond the channel's share"
    )


def imported_line(imported: int) -> str:
    """The channel's imported reading list, which the ranking learns from as likes."""
    return (
        f"imported: {_counted(imported, 'paper')} in the reading list, learned from as likes "
        "(`import undo` takes back the latest import)"
    )


def taste_line(state: LearningState, *, learning: bool) -> str:
    """What the channel's ranking learned from likes, and how well it recalled them."""
    verdicts = f"{state.verdicts} earlier LLM verdicts under these criteria"
    if not learning:
        return f"learning from likes: off (ranking by the criteria and {verdicts})"
    measured = (
        f"recall of liked papers at the last measurement ({state.measured_day}) {state.recall:.2f}"
        if state.recall is not None
        else "recall not measured yet (needs likes on an earlier ranked day)"
    )
    return (
        f"learning from likes: learned from {_counted(state.learned_from, 'like')} and "
        f"{verdicts}; {measured}"
    )


def _counted(count: int, noun: str) -> str:
    """'1 like', '2 likes'."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
