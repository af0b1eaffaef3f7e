"""Benchmark: replay the evaluation days through the bot and compare with the reference pipeline.

Every day of `shared/eval/` goes through the real pipeline in-process: the day's RSS feed from
the fake arXiv server, ingest into a fresh store, the local ranking, scoring against a fake
OpenAI server that answers from the day's reference labels (a reference pick gets its recorded
scores and comment, any other paper 3/3), and selection. Per day and overall it prints the
candidates, the papers sent to the LLM, the recall of the reference picks in the digest, prompt,
cached and completion tokens, dollars at gpt-4o list prices, and the ratio to the reference
pipeline's recorded tokens and dollars (priced the same way), what the day's ranking
learned from (likes, and the LLM's verdicts on earlier days) and, on a day the calibrated cut
decided, its expected recall of the likely picks (`exp.`, as the footer shows it); then the
ranking's time per 1,000 papers and its peak memory.

Modes: **cold** (no likes: the ranking learns only from the LLM's verdicts on earlier days) and
**learning** (before each day the team has also liked every fourth reference pick, in id order,
of each earlier day, and the bot's earlier digests are recorded as posted; nothing from the day
itself). A measurement, not a test: it never gates CI.

It runs on any data and with the product's defaults: the days come from
`$ARXIV_BOT_SHARED_DIR/eval` (default `../shared`), the criteria from `ARXIV_BOT_CRITERIA_FILE`
and the thresholds from `ARXIV_BOT_MIN_RELEVANCE` / `_MIN_NOVELTY` when set, and each day is
scored as the daily post scores it: the share the product decides (warm-up, adaptive share;
`--share` sets the channel's share, `--fixed-share` turns the adaptive rules off) through the
Batch API at batch prices (`--no-batch`: synchronously). Each mode ends with one line:

    replay cold: recall R (first day F), $D of the reference
    replay cold: recall R (first day F, days 6+ S), $D of the reference ($L at list prices),
    tokens per scored paper T (reference U)

(printed as one line; "tokens per scored paper" is prompt plus completion tokens over the papers
sent to the LLM, and the reference's is its reports' tokens over their "Total scanned papers",
pooled over `$ARXIV_BOT_SHARED_DIR/seeds/`).

    python -m bench.replay [--mode cold|learning|both] [--days N] [--share 0.3] [--no-batch]
    python -m bench.replay --import-picks 2   # the first week after an import, vs without

`--import-picks N` imports the reference picks of the first N evaluation days as the channel's
reading list (`/arxiv import`) and replays the next five days cold, with and without it: the
first day's share and recall, the week's recall and dollars, as a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.__main__ import digest_options, open_core
from bot.config.settings import Settings
from bot.digest.options import LLMBudget
from bot.models import Digest, Usage
from scoring import ranking
from scoring.pricing import PriceTable
from tests.conftest import bot_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI, LabelAnswerer, load_labels, shared_dir
from tests.fakes.synth import eval_days, load_eval_day, rss_feed

Reacting = Callable[[Any, date, Digest, Mapping[str, Mapping[str, Any]]], Awaitable[None]]
"""A team's reaction to a day's digest: (store, day, digest, the day's reference picks)."""

MODEL = "gpt-4o"
CHANNEL = "replay"
LIKE_EVERY = 4
STEADY_FROM = 5  # "days 6+": the days after the first five, when the warm-up is over


@dataclass(frozen=True, slots=True)
class DayResult:
    """One replayed day, beside what the reference pipeline recorded for it."""

    day: str
    candidates: int
    sent: int
    picks: int
    found: int
    usage: Usage
    reference_prompt: int
    reference_completion: int
    reference_usd: float
    liked: int = 0
    verdicts: int = 0
    shown: tuple[str, ...] = ()  # the digest's cards, in order
    expected: float | None = None  # the calibrated cut's expected recall of likely picks

    @property
    def recall(self) -> float:
        """Share of the reference picks that the digest lists."""
        return self.found / self.picks if self.picks else 1.0


@dataclass(slots=True)
class RankTimer:
    """Wraps the ranking functions (in a thread or a worker process, whichever the service
    awaits) to measure their time and the papers they ranked."""

    seconds: float = 0.0
    papers: int = 0
    peak_bytes: int = 0
    calls: list[int] = field(default_factory=list)

    def __call__(
        self,
        papers: Sequence[Any],
        criteria: str,
        examples: Sequence[ranking.Example] = (),
        core: AbstractSet[str] = frozenset(),
    ) -> ranking.Ranking:
        start = time.perf_counter()
        result = _RANK(papers, criteria, examples, core)
        self.seconds += time.perf_counter() - start
        self.papers += len(papers)
        self.calls.append(len(papers))
        return result

    async def off_loop(
        self,
        papers: Sequence[Any],
        criteria: str,
        examples: Sequence[ranking.Example] = (),
        core: AbstractSet[str] = frozenset(),
    ) -> ranking.Ranking:
        start = time.perf_counter()
        ranking.rank = _RANK  # the worker is sent the real function; replays rank one at a time
        try:
            result = await _RANK_OFF_LOOP(papers, criteria, examples, core)
        finally:
            ranking.rank = self  # type: ignore[assignment]
        self.seconds += time.perf_counter() - start
        self.papers += len(papers)
        self.calls.append(len(papers))
        return result


_RANK = ranking.rank
_RANK_OFF_LOOP = ranking.rank_off_loop


def reference_usd(prompt: int, completion: int) -> float:
    """The reference pipeline's recorded tokens at gpt-4o list prices (no caching)."""
    return PriceTable().usage(MODEL, prompt, 0, completion).cost_usd


def reference(day: str) -> dict[str, Any]:
    """The reference label file of a day."""
    import json

    data: dict[str, Any] = json.loads(
        (shared_dir() / "eval" / "labels" / f"{day}.json").read_text("utf-8")
    )
    return data


async def replay(
    days: Sequence[str],
    mode: str,
    *,
    share: float | None = None,
    min_papers: int | None = None,
    timer: RankTimer | None = None,
    adaptive: bool = True,
    batch: bool = True,
    react: Reacting | None = None,
    imported: Sequence[Mapping[str, Any]] = (),
) -> list[DayResult]:
    """Replay `days` in order through a fresh store; `mode` is `cold` or `learning`. `share`
    and `min_papers` default to the product's settings; `react`, when given, is the team's
    reaction to each day's digest instead of the learning mode's; `imported` papers (eval-day
    dicts) are the channel's imported reading list before the first day (`/arxiv import`)."""
    results: list[DayResult] = []
    async with FakeArxiv() as arxiv, FakeOpenAI(model=MODEL) as llm:
        with tempfile.TemporaryDirectory() as tmp:
            env = bot_env(
                arxiv,
                llm,
                Path(tmp) / "replay.sqlite3",
                ARXIV_BOT_ENRICH="false",
                ARXIV_BOT_LEARNING="true" if mode == "learning" or imported else "false",
                ARXIV_BOT_ADAPTIVE_SHARE="true" if adaptive else "false",
                ARXIV_BOT_BATCH="auto" if batch else "off",
                **_product_env(share, min_papers),
            )
            settings = Settings.from_env(env)
            options = replace(
                digest_options(settings),
                budget=LLMBudget(settings.llm_share, settings.llm_min_papers, adaptive=adaptive),
            )
            async with open_core(settings) as core:
                await core.service.use_criteria(CHANNEL, core.criteria_text, "replay")
                if imported:
                    await core.store.imports.add(
                        CHANNEL, "team", "bench", [_paper(d) for d in imported]
                    )
                for name in days:
                    day = date.fromisoformat(name)
                    labels = load_labels(name)
                    llm.answerer = LabelAnswerer(labels)
                    arxiv.set_feed(rss_feed(load_eval_day(name), day))
                    # as the daily post scores: after the fetch, through the Batch API
                    ingest = await core.service.ingest(options.categories)
                    assert ingest.day == day, f"{name}: the feed announced {ingest.day}"
                    until = datetime.now(UTC) + timedelta(hours=1)
                    digest = await core.service.build(CHANNEL, day, options, batch_until=until)
                    assert digest is not None, f"{name}: no digest"
                    listed = {e.paper.id for e in digest.entries}
                    ref = reference(name)
                    learned = await core.store.rankings.learning_state(CHANNEL)
                    results.append(
                        DayResult(
                            day=name,
                            candidates=digest.counts.considered,
                            sent=digest.counts.sent,
                            picks=len(labels),
                            found=len(listed & labels.keys()),
                            usage=digest.run_usage,
                            reference_prompt=int(ref["reference_prompt_tokens"]),
                            reference_completion=int(ref["reference_completion_tokens"]),
                            reference_usd=reference_usd(
                                int(ref["reference_prompt_tokens"]),
                                int(ref["reference_completion_tokens"]),
                            ),
                            liked=learned.learned_from,
                            verdicts=learned.verdicts,
                            shown=tuple(e.paper.id for e in digest.entries),
                            expected=digest.share.expected_recall if digest.share else None,
                        )
                    )
                    if react is not None:
                        await react(core.store, day, digest, labels)
                    elif mode == "learning":
                        await _team_reacts(core.store, day, [e.paper.id for e in digest.entries])
                        await _team_likes(core.store, day, sorted(labels))
    return results


def _paper(d: Mapping[str, Any]) -> Any:
    from bot.models import Paper

    return Paper(d["id"], d["title"], d["abstract"], tuple(d["authors"]))


FIRST_WEEK = 5  # announcement days


async def import_comparison(days: Sequence[str], before: int, **options: Any) -> list[str]:
    """The first week after `before` days, replayed cold twice: without an import, and after
    importing the reference picks of those `before` days; one table row each."""
    earlier, week = days[:before], days[before : before + FIRST_WEEK]
    picks = [p for d in earlier for p in load_eval_day(d) if p["id"] in load_labels(d)]
    rows = []
    for label, imported in (("no import", []), (f"{len(picks)} picks imported", picks)):
        results = await replay(week, "cold", imported=imported, **options)
        report(label, results)
        total = totals(results)
        rows.append(
            f"| {label} | {results[0].sent / max(results[0].candidates, 1):.0%} | "
            f"{results[0].recall:.3f} | {total.recall:.3f} | ${total.usage.cost_usd:.3f} | "
            f"{total.usage.cost_usd / max(total.reference_usd, 1e-9):.2f} |"
        )
    return [
        f"first week ({week[0]} to {week[-1]}), cold, after importing the picks of "
        f"{', '.join(earlier)}:",
        "| | first-day share sent | first-day recall | first-week recall | first-week $ | "
        "$ vs reference |",
        "|---|---|---|---|---|---|",
        *rows,
    ]


def _product_env(share: float | None, min_papers: int | None) -> dict[str, str]:
    """The settings a replay takes from the caller's environment (criteria, thresholds, the
    channel's share), over the product's defaults; `share`/`min_papers` override them."""
    names = (
        "ARXIV_BOT_CRITERIA_FILE",
        "ARXIV_BOT_MIN_RELEVANCE",
        "ARXIV_BOT_MIN_NOVELTY",
        "ARXIV_BOT_LLM_MIN_PAPERS",
    )
    env = {name: os.environ[name] for name in names if name in os.environ}
    env["ARXIV_BOT_LLM_SHARE"] = str(share if share is not None else Settings().llm_share)
    if min_papers is not None:
        env["ARXIV_BOT_LLM_MIN_PAPERS"] = str(min_papers)
    elif "ARXIV_BOT_LLM_MIN_PAPERS" not in env:
        env["ARXIV_BOT_LLM_MIN_PAPERS"] = str(Settings().llm_min_papers)
    return env


def summary(mode: str, results: Sequence[DayResult]) -> str:
    """The mode's last line: recall over all days, the first day's, dollars vs the reference."""
    total = totals(results)
    first = results[0].recall if results else 0.0
    dollars = total.usage.cost_usd / max(total.reference_usd, 1e-9)
    return (
        f"replay {mode}: recall {total.recall:.3f} (first day {first:.3f}), "
        f"${dollars:.2f} of the reference"
    )


def steady_summary(mode: str, results: Sequence[DayResult], reference_per_paper: float) -> str:
    """The steady-state line: recall pooled over all days, the first day's and days 6 on
    (after the warm-up); dollars as spent and at list prices (no Batch discount) over the
    reference's; tokens per paper sent to the LLM beside the reference's per paper it scored."""
    total = totals(results)
    first = results[0].recall if results else 0.0
    later = totals(results[STEADY_FROM:]) if len(results) > STEADY_FROM else total
    ref = max(total.reference_usd, 1e-9)
    u = total.usage
    listed = PriceTable().usage(MODEL, u.prompt_tokens, u.cached_tokens, u.completion_tokens)
    per_paper = u.total_tokens / max(total.sent, 1)
    return (
        f"replay {mode}: recall {total.recall:.3f} (first day {first:.3f}, days 6+ "
        f"{later.recall:.3f}), ${u.cost_usd / ref:.2f} of the reference "
        f"(${listed.cost_usd / ref:.2f} at list prices), tokens per scored paper "
        f"{per_paper:.0f} (reference {reference_per_paper:.0f})"
    )


_SEED_TOKENS = re.compile(r"\*\*Token\*\*\s*\|\s*\d+\s*\|\s*\d+\s*\|\s*(\d+)")
_SEED_SCANNED = re.compile(r"Total scanned papers:\s*(\d+)")


def reference_tokens_per_paper(seeds: Sequence[str]) -> float:
    """The reference's total tokens over the papers it scored, pooled over its full daily
    reports (`shared/seeds/`: the only place it says how many papers it scanned; its label
    files give tokens only). 0 when no report says both."""
    tokens = scanned = 0
    for text in seeds:
        t, n = _SEED_TOKENS.search(text), _SEED_SCANNED.search(text)
        if t and n:
            tokens, scanned = tokens + int(t.group(1)), scanned + int(n.group(1))
    return tokens / scanned if scanned else 0.0


def _seed_reports() -> list[str]:
    folder = shared_dir() / "seeds"
    return [p.read_text("utf-8") for p in sorted(folder.glob("*.txt"))] if folder.is_dir() else []


async def _team_reacts(store: Any, day: date, shown: Sequence[str]) -> None:
    """The bot's digest of the day, posted as cards."""
    await store.digests.record_posted(CHANNEL, day, "parent", f"{day}-parent", daily=True)
    for pid in shown:
        await store.digests.record_posted(CHANNEL, day, pid, f"{day}-{pid}", daily=True)


async def _team_likes(store: Any, day: date, picks: Sequence[str]) -> None:
    """Every fourth reference pick of the day, in id order, liked by the team."""
    for pid in picks[::LIKE_EVERY]:
        await store.likes.set_like(CHANNEL, "team", pid, 1)


def totals(results: Sequence[DayResult]) -> DayResult:
    """All days added up (recall over all picks; what the last day's ranking learned from)."""
    usage = Usage()
    for r in results:
        usage = usage + r.usage
    return DayResult(
        day="overall",
        candidates=sum(r.candidates for r in results),
        sent=sum(r.sent for r in results),
        picks=sum(r.picks for r in results),
        found=sum(r.found for r in results),
        usage=usage,
        reference_prompt=sum(r.reference_prompt for r in results),
        reference_completion=sum(r.reference_completion for r in results),
        reference_usd=sum(r.reference_usd for r in results),
        liked=results[-1].liked if results else 0,
        verdicts=results[-1].verdicts if results else 0,
    )


HEADER = (
    f"{'day':<11}{'cands':>6}{'sent':>6}{'share':>7}{'picks':>6}{'recall':>8}"
    f"{'prompt':>9}{'cached':>8}{'compl':>7}{'$':>8}{'tok/ref':>8}{'$/ref':>7}"
    f"{'likes':>7}{'verd.':>7}{'exp.':>6}"
)


def row(r: DayResult) -> str:
    """One line of the table."""
    tokens = r.usage.prompt_tokens + r.usage.completion_tokens
    ref_tokens = r.reference_prompt + r.reference_completion
    return (
        f"{r.day:<11}{r.candidates:>6}{r.sent:>6}{r.sent / max(r.candidates, 1):>7.1%}"
        f"{r.picks:>6}{r.recall:>8.3f}{r.usage.prompt_tokens:>9}{r.usage.cached_tokens:>8}"
        f"{r.usage.completion_tokens:>7}{r.usage.cost_usd:>8.4f}"
        f"{tokens / max(ref_tokens, 1):>8.2f}{r.usage.cost_usd / max(r.reference_usd, 1e-9):>7.2f}"
        f"{r.liked:>7}{r.verdicts:>7}"
        f"{f'{r.expected:.2f}' if r.expected is not None else '':>6}"
    )


def report(mode: str, results: Sequence[DayResult]) -> None:
    """The per-day table and the overall line."""
    print(f"\n== {mode} ==")
    print(HEADER)
    for r in results:
        print(row(r))
    print(row(totals(results)))
    n = len(results)
    worst = min(r.recall for r in results)
    print(
        f"per day: mean recall {sum(r.recall for r in results) / n:.3f} (worst {worst:.3f}), "
        f"mean share sent {sum(r.sent / r.candidates for r in results) / n:.1%}, "
        f"mean ${sum(r.usage.cost_usd for r in results) / n:.4f} vs reference "
        f"${sum(r.reference_usd for r in results) / n:.4f}"
    )


def ranking_cost(days: Sequence[str]) -> tuple[float, float]:
    """Seconds per 1,000 papers and peak MB (tracemalloc) of ranking the largest day with the
    most a ranking learns from: every fourth pick of the other days liked, and their papers as
    LLM verdicts up to the cap."""
    from bot.models import Paper

    def paper(d: dict[str, Any]) -> Paper:
        return Paper(d["id"], d["title"], d["abstract"], tuple(d["authors"]))

    from scoring.criteria import default_criteria_text

    loaded = {d: [paper(p) for p in load_eval_day(d)] for d in days}
    largest = max(days, key=lambda d: len(loaded[d]))
    others = [d for d in days if d != largest]
    picks = {d: set(load_labels(d)) for d in others}
    examples = [
        ranking.Example(p, ranking.LIKE)
        for d in others
        for p in loaded[d]
        if p.id in set(sorted(picks[d])[::LIKE_EVERY])
    ] + [
        ranking.Example(p, ranking.SELECTED if p.id in picks[d] else ranking.REJECTED)
        for d in others
        for p in loaded[d]
    ]
    criteria = default_criteria_text()
    ranking.rank(loaded[largest][:50], criteria, examples)  # warm the imports
    start = time.perf_counter()
    ranking.rank(loaded[largest], criteria, examples)
    seconds = time.perf_counter() - start
    tracemalloc.start()  # tracing slows allocation down, so memory is a second run
    ranking.rank(loaded[largest], criteria, examples)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds / len(loaded[largest]) * 1000, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("cold", "learning", "both"), default="both")
    parser.add_argument("--days", type=int, default=0, help="only the first N days")
    parser.add_argument("--share", type=float, default=None, help="the channel's share")
    parser.add_argument("--min-papers", type=int, default=None)
    parser.add_argument("--fixed-share", action="store_true", help="no warm-up, no adaptive share")
    parser.add_argument("--no-batch", action="store_true", help="score synchronously")
    parser.add_argument("--no-cost", action="store_true", help="skip the ranking-cost figures")
    parser.add_argument(
        "--import-picks",
        type=int,
        default=0,
        metavar="N",
        help="import the reference picks of the first N days, then compare the next five days "
        "with and without the import",
    )
    args = parser.parse_args()
    days = eval_days()[: args.days or None]
    if args.import_picks:
        table = asyncio.run(
            import_comparison(
                days,
                args.import_picks,
                share=args.share,
                min_papers=args.min_papers,
                adaptive=not args.fixed_share,
                batch=not args.no_batch,
            )
        )
        print("\n" + "\n".join(table))
        return
    modes = ("cold", "learning") if args.mode == "both" else (args.mode,)
    timer = RankTimer()
    ranking.rank = timer  # type: ignore[assignment]
    ranking.rank_off_loop = timer.off_loop  # type: ignore[assignment]
    lines: list[str] = []
    per_paper = reference_tokens_per_paper(_seed_reports())
    try:
        for mode in modes:
            results = asyncio.run(
                replay(
                    days,
                    mode,
                    share=args.share,
                    min_papers=args.min_papers,
                    adaptive=not args.fixed_share,
                    batch=not args.no_batch,
                )
            )
            report(mode, results)
            lines.append(summary(mode, results))
            lines.append(steady_summary(mode, results, per_paper))
    finally:
        ranking.rank, ranking.rank_off_loop = _RANK, _RANK_OFF_LOOP
    if not args.no_cost:
        _ranking_figures(days, timer)
    print()
    for line in lines:
        print(line)


def _ranking_figures(days: Sequence[str], timer: RankTimer) -> None:
    per_1000, peak_mb = ranking_cost(days)
    print(
        f"\nranking in the pipeline: {timer.seconds:.1f} s for {timer.papers} papers "
        f"({timer.seconds / max(timer.papers, 1) * 1000:.2f} s per 1,000; includes the held-out "
        "recall measurement)"
    )
    print(
        f"ranking the largest day alone: {per_1000:.2f} s per 1,000 papers (target < 5 s), "
        f"peak {peak_mb:.0f} MB traced (target < 300 MB)"
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the whole replay (bot, fake servers, store): {rss:.0f} MB")


if __name__ == "__main__":
    main()
