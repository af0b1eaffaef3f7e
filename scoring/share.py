"""How much of a day goes to the LLM: a warm-up while the local ranking is unproven, and an
adaptive share that widens when yesterday's selections crowded the bottom of what was sent.

The local ranking learns what the criteria mean from the LLM's earlier verdicts. With none it
keeps about two thirds of the picks in its top 30%; each day of verdicts lifts that, and the
curve flattens after a few days (docs/ranking.md shows it). So:

- **warm-up**: while the criteria have fewer than `WARMUP_POSITIVES` selected verdicts, the
  share is widened in proportion to what is missing: the whole day with no verdicts at all,
  narrowing linearly to the channel's share as the selected verdicts accumulate, and never
  above the warm-up cap (`WARMUP_CAP`, `ARXIV_BOT_WARMUP_SHARE`), so fresh criteria cost at
  most that share of a day (and what is sent still goes through the daily budget);
- **adaptive share**: yesterday's selections show whether the cut was too early. If the
  lowest-ranked part of what was sent (its last `TAIL_PART`) was still at least
  `TAIL_RICHNESS` times as rich in selections as the day as a whole, the ranking was still
  finding picks where it stopped, and today sends `WIDEN` times yesterday's share; otherwise
  the share steps back down by the same factor towards the channel's own share.

Papers a channel follows (`bot.digest.following`) are sent whatever their rank; they are added after
the share is decided and left out when a later day looks back at where the cut was
(`share_part`).

Every rule is a pure function of counts the caller loads (verdicts, yesterday's ranks); no
rule knows a day, a date or a paper. This module must not do I/O or rank papers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WARMUP_CAP = 0.6
"""The largest share a warm-up sends (a channel's own larger share still applies): the ranking
with no verdicts keeps most picks in its top 60%, at 60% of a whole day's cost."""
WARMUP_POSITIVES = 40
"""Selected verdicts after which the ranking counts as trained: about two announcement days of
picks, where the measured recall curve flattens (docs/ranking.md)."""
TAIL_PART = 0.25
"""The lowest-ranked quarter of what was sent is where a too-early cut shows."""
TAIL_RICHNESS = 2.0
"""A tail twice as rich in selections as the day overall means picks lie beyond the cut."""
WIDEN = 1.5
"""One step of the adaptive share, up or down (geometric steps: quick to react, stable)."""
MIN_SELECTED = 3
"""Fewer selections than this say nothing about where they sit."""


@dataclass(frozen=True, slots=True)
class Yesterday:
    """The channel's previous decided day under the same criteria: how many candidates it had,
    how many were sent, and the 1-based ranks (among those sent) of the papers it selected."""

    candidates: int
    sent: int
    selected_ranks: tuple[int, ...]

    @property
    def share(self) -> float:
        """The share of the day that was sent."""
        return self.sent / self.candidates if self.candidates else 1.0

    @property
    def tail_selected(self) -> int:
        """Selections in the lowest-ranked `TAIL_PART` of what was sent."""
        start = self.sent - math.ceil(TAIL_PART * self.sent)
        return sum(1 for r in self.selected_ranks if r > start)

    @property
    def tail_rich(self) -> bool:
        """Whether the bottom of the sent window was still rich in selections."""
        selected = len(self.selected_ranks)
        if selected < MIN_SELECTED or not self.sent or not self.candidates:
            return False
        tail_papers = math.ceil(TAIL_PART * self.sent)
        tail_density = self.tail_selected / tail_papers
        day_density = selected / self.candidates
        return tail_density >= TAIL_RICHNESS * day_density


LOCAL_ONLY = "local"
"""The reason of a share of 0: the channel ranks locally only and sends nothing to the LLM."""


@dataclass(frozen=True, slots=True)
class ShareDecision:
    """The share of today's ranking sent to the LLM, and why."""

    share: float
    base: float
    reason: str  # "base", "warm-up", "widened" or LOCAL_ONLY
    positives: int = 0
    followed: int = 0  # papers sent beyond the share because the channel follows them

    @property
    def warmup(self) -> bool:
        """Whether the ranking is still being warmed up."""
        return self.reason == "warm-up"

    def describe(self) -> str:
        """One line for people: what was sent and why."""
        followed = f", and {self.followed} followed papers beyond it" if self.followed else ""
        return self._describe_share() + followed

    def _describe_share(self) -> str:
        if self.reason == "warm-up":
            return (
                f"warm-up: {self.share:.0%} of the day sent to the LLM (the channel's share is "
                f"{self.base:.0%}) while the ranking learns; it has {self.positives} of the "
                f"{WARMUP_POSITIVES} selected LLM verdicts it needs"
            )
        if self.reason == "widened":
            return (
                f"{self.share:.0%} of the day sent to the LLM (the channel's share is "
                f"{self.base:.0%}): yesterday's picks reached the bottom of what was sent"
            )
        if self.reason == LOCAL_ONLY:
            return "nothing sent to the LLM: the channel's share is 0 (ranked locally only)"
        return f"{self.share:.0%} of the day sent to the LLM"


def warmup_share(base: float, positives: int, cap: float = 1.0) -> float:
    """The share the ranking's evidence warrants: the whole day with no selected verdicts,
    narrowing linearly to `base` at `WARMUP_POSITIVES`; never above `cap` (nor below `base`)."""
    missing = max(0.0, 1.0 - positives / WARMUP_POSITIVES)
    return min(base + (1.0 - base) * missing, max(base, cap))


def adaptive_share(base: float, yesterday: Yesterday | None) -> float:
    """Yesterday's share one step up when its tail was rich, one step down otherwise; never
    below `base`."""
    if yesterday is None or not yesterday.candidates:
        return base
    previous = max(base, yesterday.share)
    stepped = previous * WIDEN if yesterday.tail_rich else previous / WIDEN
    return min(1.0, max(base, stepped))


def decide_share(
    base: float,
    positives: int,
    yesterday: Yesterday | None,
    *,
    adaptive: bool = True,
    warmup_cap: float = WARMUP_CAP,
) -> ShareDecision:
    """Today's share from the channel's `base` share, the selected verdicts the ranking learns
    from, and yesterday's decided day (None: no earlier day under these criteria). With
    `adaptive` off, the channel's share as it is. A share of 0 stays 0 ("local"): a channel
    that ranks locally only is never warmed up or widened into spending. A warm-up sends at
    most `warmup_cap` of the day."""
    if base <= 0:
        return ShareDecision(0.0, 0.0, LOCAL_ONLY, positives)
    if not adaptive:
        return ShareDecision(base, base, "base", positives)
    warm = warmup_share(base, positives, warmup_cap)
    adapt = adaptive_share(base, yesterday)
    if warm > base and warm >= adapt:
        return ShareDecision(warm, base, "warm-up", positives)
    if adapt > base + 1e-9:
        rich = yesterday is not None and yesterday.tail_rich
        if positives < WARMUP_POSITIVES and not rich:  # stepping down from a wider warm-up
            return ShareDecision(min(adapt, max(base, warmup_cap)), base, "warm-up", positives)
        return ShareDecision(adapt, base, "widened", positives)
    return ShareDecision(base, base, "base", positives)


def selected_ranks(sent: Sequence[str], selected: set[str] | frozenset[str]) -> tuple[int, ...]:
    """The 1-based ranks, among the papers sent, of those that were selected."""
    return tuple(n for n, pid in enumerate(sent, 1) if pid in selected)


def share_part(ranked: Sequence[str], sent: Sequence[str]) -> tuple[str, ...]:
    """The papers a day sent because of its share: the top of the ranking, without the followed
    papers sent beyond it (they were sent whatever their rank, so where they rank says nothing
    about where the cut should be)."""
    n = 0
    for a, b in zip(ranked, sent, strict=False):
        if a != b:
            break
        n += 1
    return tuple(sent[:n])
