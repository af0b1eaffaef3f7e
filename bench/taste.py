"""Benchmark: do a team's likes visibly shape its digest?

A team whose taste is narrower than its criteria: every day after the post it likes exactly the
posted cards whose reference pick's comment names model compression (compression, quantization,
pruning, sparsity, distillation, low-rank), and nothing else (the other cards count as posted
and not liked). The evaluation days are replayed with the product's defaults (`bench.replay`:
`$ARXIV_BOT_SHARED_DIR`, `ARXIV_BOT_CRITERIA_FILE`, thresholds, warm-up, batch), once with
those likes and once without any. Over days 4 and later it measures the share of the first
five cards of each digest that are such papers. A measurement, not a test: it never gates CI.
Its last line:

    taste: liked-topic share of the first 5 cards 0.72 with likes, 0.31 without (days 4+)

    python -m bench.taste [--days N] [--first 5] [--from-day 4]
"""

from __future__ import annotations

import argparse
import asyncio
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from bench.replay import CHANNEL, DayResult, replay
from bot.models import Digest
from tests.fakes.openai_server import load_labels
from tests.fakes.synth import eval_days

TOPIC = re.compile(r"compress|quantiz|quantis|prun|sparsi|distill|low-rank|low rank", re.I)
"""What the team's taste is about: model compression, as the reference comments word it."""


def liked_topic(label: Mapping[str, Any] | None) -> bool:
    """Whether a reference pick's comment names model compression."""
    return label is not None and bool(TOPIC.search(str(label.get("comment", ""))))


async def team_likes_compression(
    store: Any, day: date, digest: Digest, labels: Mapping[str, Mapping[str, Any]]
) -> None:
    """Post the day's cards; like exactly those on the liked topic."""
    await store.digests.record_posted(CHANNEL, day, "parent", f"{day}-parent", daily=True)
    for entry in digest.entries:
        pid = entry.paper.id
        await store.digests.record_posted(CHANNEL, day, pid, f"{day}-{pid}", daily=True)
        if liked_topic(labels.get(pid)):
            await store.likes.set_like(CHANNEL, "team", pid, 1)


def topic_share(results: Sequence[DayResult], first: int, from_day: int) -> float:
    """Share of the first `first` cards of each digest from day `from_day` on (1-based) that
    are on the liked topic."""
    hits = cards = 0
    for r in results[from_day - 1 :]:
        labels = load_labels(r.day)
        top = r.shown[:first]
        hits += sum(1 for pid in top if liked_topic(labels.get(pid)))
        cards += len(top)
    return hits / cards if cards else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=0, help="only the first N days")
    parser.add_argument("--first", type=int, default=5, help="cards counted per digest")
    parser.add_argument("--from-day", type=int, default=4, help="first day counted (1-based)")
    args = parser.parse_args()
    days = eval_days()[: args.days or None]
    liked = asyncio.run(replay(days, "learning", react=team_likes_compression))
    plain = asyncio.run(replay(days, "cold"))
    print(f"{'day':<11}{'cards':>6}{'topic':>7}{'top with likes':>16}{'top without':>13}")
    for a, b in zip(liked, plain, strict=True):
        labels = load_labels(a.day)
        on_topic = sum(1 for pid in a.shown if liked_topic(labels.get(pid)))
        top_a = sum(1 for pid in a.shown[: args.first] if liked_topic(labels.get(pid)))
        top_b = sum(1 for pid in b.shown[: args.first] if liked_topic(labels.get(pid)))
        print(f"{a.day:<11}{len(a.shown):>6}{on_topic:>7}{top_a:>16}{top_b:>13}")
    with_likes = topic_share(liked, args.first, args.from_day)
    without = topic_share(plain, args.first, args.from_day)
    print(
        f"taste: liked-topic share of the first {args.first} cards {with_likes:.2f} with likes, "
        f"{without:.2f} without (days {args.from_day}+)"
    )


if __name__ == "__main__":
    main()
