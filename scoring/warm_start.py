"""How much a channel's imported reading list shortens the warm-up (`scoring.share`).

A team that imported the papers it already reads (`/arxiv import`) gives the local ranking
examples of what it picks before the LLM has given a single verdict. The ranking learns from
each imported paper as from one selected verdict (`scoring.ranking.IMPORT_STRENGTH`), so a
channel with at least `IMPORTED_FOR_WARM_START` imported papers counts them, one for one, as
selected verdicts for the warm-up too: 40 of them (`scoring.share.WARMUP_POSITIVES`) end it, and
the first day goes out at the channel's own share; 27 (two days of picks) start a 50% channel at
53% of the day instead of the warm-up cap's 60%.

The evidence (docs/ranking.md): after importing the reference picks of two evaluation days,
`python -m bench.replay --mode cold --import-picks 2` sends 53% of the first day instead of 60%
and finds 0.963 of its picks instead of 0.926, the first week 0.930 instead of 0.919.

Pure: counts in, a count out. This module must not do I/O, rank or decide the share itself.
"""

from __future__ import annotations

from scoring.share import WARMUP_POSITIVES

IMPORTED_FOR_WARM_START = 20
"""Imported papers from which the warm-up is shortened (fewer say too little)."""
IMPORTED_CREDIT = WARMUP_POSITIVES
"""At most this many imported papers count as selected verdicts: the whole warm-up."""


def imported_positives(imported: int) -> int:
    """The selected verdicts an imported reading list of `imported` papers stands for."""
    return min(imported, IMPORTED_CREDIT) if imported >= IMPORTED_FOR_WARM_START else 0
