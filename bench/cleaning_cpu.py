"""Benchmark: CPU seconds the bot spends turning a 1,000-paper day's text into `Paper`s.

Two steps read the same papers: parsing the RSS feed (titles, abstracts and authors are cleaned
of TeX there) and turning the arXiv API's answers into enrichment (primary category, categories,
comment). Both run on real payloads built from the evaluation days, in this process, with the
API's XML parsed by the `arxiv` client beforehand so only the bot's own work is timed. Each step
is run `--repeat` times in fresh caches and the median is printed. A measurement, not a test:
it never gates CI.

    python -m bench.cleaning_cpu [--papers 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from arxiv import _feed as arxiv_feed  # the client's own parser of API answers

from bench.digest_1000 import papers_for
from bot.arxiv import texclean
from bot.arxiv.api import papers_from_results
from bot.arxiv.feed import parse_feed
from tests.fakes.synth import api_feed, rss_feed

DAY = date(2025, 5, 2)


def cpu_seconds(step: Callable[[], object], repeat: int) -> float:
    """Median process CPU time of `step`, each run after the cleaning caches are emptied."""
    runs: list[float] = []
    for _ in range(repeat):
        for name in ("tex_to_unicode", "_convert"):  # whichever the cleaning caches in
            clear = getattr(getattr(texclean, name, None), "cache_clear", None)
            if clear is not None:
                clear()
        start = time.process_time()
        step()
        runs.append(time.process_time() - start)
    return statistics.median(runs)


def api_results(papers: list[dict[str, Any]]) -> list[Any]:
    """The `arxiv.Result`s the client would hand over for these papers, in batches of 100."""
    results: list[Any] = []
    for start in range(0, len(papers), 100):
        results.extend(arxiv_feed.parse(api_feed(papers[start : start + 100])).results)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    papers = papers_for(args.papers)
    feed = rss_feed(papers, DAY)
    results = api_results(papers)
    texclean.tex_to_unicode("warm $\\alpha$ up")  # pylatexenc's tables load once per process
    feed_s = cpu_seconds(lambda: parse_feed(feed), args.repeat)
    both_s = cpu_seconds(lambda: papers_from_results(results), args.repeat)
    day_s = cpu_seconds(lambda: (parse_feed(feed), papers_from_results(results)), args.repeat)
    print(f"{len(papers)} papers, median of {args.repeat} runs, CPU seconds")
    print(f"  feed parse (with cleaning)        {feed_s:6.3f} s")
    print(f"  API answers into papers           {both_s:6.3f} s")
    print(f"  both, as a day does them          {day_s:6.3f} s")


if __name__ == "__main__":
    main()
