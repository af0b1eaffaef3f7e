"""Benchmark: how far a local text model can go on the evaluation days, with every label known.

For each day, the learned model of `scoring/ranking.py` (a logistic regression on word
uni+bigram tf-idf) is trained on *all* other days' candidates, the reference picks as selected
and every other paper as rejected, and ranks the held-out day. That is far more than a team's
likes or the LLM's verdicts ever give the bot (four times the likes, every paper labelled, and
future days too), so its recall in the top 30% is a ceiling for the local ranking stage, not a
target. A measurement, not a test.

    python -m bench.ceiling [--share 0.3]
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import numpy as np

from bot.models import Paper
from scoring.ranking import REJECTED, SELECTED, Example, learned_scores, paper_text
from tests.fakes.openai_server import load_labels
from tests.fakes.synth import eval_days, load_eval_day


def _paper(p: dict[str, Any]) -> Paper:
    return Paper(p["id"], p["title"], p["abstract"], tuple(p["authors"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--share", type=float, default=0.3)
    args = parser.parse_args()
    days = eval_days()
    papers = {d: [_paper(p) for p in load_eval_day(d)] for d in days}
    picks = {d: set(load_labels(d)) for d in days}
    found = total = 0
    for day in days:
        examples = [
            Example(p, SELECTED if p.id in picks[d] else REJECTED)
            for d in days
            if d != day
            for p in papers[d]
        ]
        scores = learned_scores([paper_text(p) for p in papers[day]], examples)
        k = math.ceil(args.share * len(papers[day]))
        top = {papers[day][i].id for i in np.argsort(-scores, kind="stable")[:k]}
        hit = len(top & picks[day])
        found, total = found + hit, total + len(picks[day])
        print(f"{day}  {len(papers[day]):>4} candidates  recall {hit / len(picks[day]):.3f}")
    print(f"overall recall of the reference picks in the top {args.share:.0%}: {found / total:.3f}")


if __name__ == "__main__":
    main()
