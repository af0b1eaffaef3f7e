"""Benchmark: peak memory of the ranking worker learning from 60 days of verdicts.

Builds 60 days of synthetic verdicts from the evaluation days' papers (each paper cycled with a
day tag in its id and title, so no two examples are the same text; every day's reference picks
selected, 150 verdicts a day, the rest rejected), then ranks a 1,000-paper day in the real
ranking worker (`rank_off_loop`, a child process) and reads that process's peak RSS
(`ru_maxrss`, from inside it). A measurement, not a test.

    python -m bench.ranking_memory [--days 60] [--per-day 150] [--candidates 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
from typing import Any

from bot.models import Paper
from scoring import ranking
from scoring.criteria import default_criteria_text
from tests.fakes.openai_server import load_labels
from tests.fakes.synth import eval_days, load_eval_day


def _paper(d: dict[str, Any], tag: str) -> Paper:
    return Paper(f"{d['id']}{tag}", f"{d['title']} {tag}", d["abstract"], tuple(d["authors"]))


def synthetic(
    days: int, per_day: int, candidates: int
) -> tuple[list[Paper], list[ranking.Example]]:
    """`candidates` papers to rank and `days` × `per_day` verdicts on other papers."""
    pool: list[tuple[dict[str, Any], bool]] = []
    for day in eval_days():
        picks = load_labels(day)
        pool += [(p, p["id"] in picks) for p in load_eval_day(day)]
    today = [_paper(pool[i % len(pool)][0], "t") for i in range(candidates)]
    examples = []
    for n in range(days * per_day):
        d, picked = pool[(candidates + n) % len(pool)]
        label = ranking.SELECTED if picked else ranking.REJECTED
        examples.append(ranking.Example(_paper(d, f"v{n // len(pool)}"), label))
    return today, examples


async def measure(days: int, per_day: int, candidates: int) -> tuple[float, float, int]:
    """Seconds of the ranking, the worker's peak RSS in MB, and the examples it learned from."""
    from scoring.worker import WORKER

    papers, examples = synthetic(days, per_day, candidates)
    start = time.perf_counter()
    ranked = await ranking.rank_off_loop(papers, default_criteria_text(), examples)
    seconds = time.perf_counter() - start
    # a library function, not one of this module's: the worker does not import a `__main__`
    usage = await asyncio.wrap_future(WORKER.submit(resource.getrusage, resource.RUSAGE_SELF))
    return seconds, usage.ru_maxrss / 1024, ranked.examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--per-day", type=int, default=150)
    parser.add_argument("--candidates", type=int, default=1000)
    args = parser.parse_args()
    seconds, peak, learned = asyncio.run(measure(args.days, args.per_day, args.candidates))
    print(
        f"ranking worker: {args.candidates} papers, learned from {learned} verdicts "
        f"({args.days} days × {args.per_day}): {seconds:.1f} s (worker start included), "
        f"peak RSS {peak:.0f} MB (target < 250 MB)"
    )


if __name__ == "__main__":
    main()
