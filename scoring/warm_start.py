"""How much a channel's imported reading list shortens the warm-up (`scoring.share`).

A team that imported the papers it already reads (`/arxiv import`) gives the local ranking
examples of what it picks before the LLM has given a single verdict. The ranking learns from
them as from likes, so a channel with at least `IMPORTED_FOR_WARM_START` imported papers counts
them as selected verdicts for the warm-up, up to `IMPORTED_CREDIT`: the first day starts halfway
between the warm-up's cap and the channel's share (at a 30% share and the 60% cap, 45% of the
day instead of 60%). The leave-days-out table in
docs/ranking.md is the evidence: one day of picks (17 selected verdicts) already keeps 0.92 of
the next day's picks in the top 50%; `python -m bench.replay --import-picks N` measures the
first day and the first week with and without the import.

Pure: counts in, a count out. This module must not do I/O, rank or decide the share itself.
"""

from __future__ import annotations

IMPORTED_FOR_WARM_START = 20
"""Imported papers from which the warm-up is shortened (fewer say too little)."""
IMPORTED_CREDIT = 20
"""At most this many imported papers count as selected verdicts: half the warm-up
(`scoring.share.WARMUP_POSITIVES`), since imports show what a team picks but not what it
passes over."""


def imported_positives(imported: int) -> int:
    """The selected verdicts an imported reading list of `imported` papers stands for."""
    return min(imported, IMPORTED_CREDIT) if imported >= IMPORTED_FOR_WARM_START else 0
