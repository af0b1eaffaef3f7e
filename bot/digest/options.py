"""What a channel's digest depends on besides its criteria: categories, thresholds, cross-lists,
how much of a day goes to the LLM, and whether the channel's reactions teach the ranking.

Plain values, built from a channel's resolved settings (`bot.config.channels`) or the command
line's. This module must not read the store or decide anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.models import Thresholds
from scoring.share import WARMUP_CAP

if TYPE_CHECKING:
    from bot.config.channels import ChannelSettings


@dataclass(frozen=True, slots=True)
class LLMBudget:
    """How much of a day goes to the LLM after the local ranking: the top `share` of the
    candidates, at least `min_papers`, and (if set) no more than `dollars` of estimated spend."""

    share: float = 0.3
    min_papers: int = 60
    dollars: float | None = None
    adaptive: bool = True  # warm up a new ranking, then the calibrated cut (scoring/share.py)
    warmup_cap: float = WARMUP_CAP  # the largest share a warm-up sends


@dataclass(frozen=True, slots=True)
class DigestOptions:
    """What a channel's digest depends on besides its criteria."""

    categories: tuple[str, ...] = ("cs.LG", "cs.AI")
    thresholds: Thresholds = field(default_factory=Thresholds)
    cross_lists: bool = True
    budget: LLMBudget = field(default_factory=LLMBudget)
    learning: bool = True
    prompt_examples: int = 5
    language: str = "en"  # what the LLM writes in (comments, TL;DRs); the scores do not change

    @classmethod
    def for_channel(cls, s: ChannelSettings) -> DigestOptions:
        """A channel's options from its resolved settings (LLM budget and learning included)."""
        return cls(
            categories=s.categories,
            thresholds=s.thresholds,
            cross_lists=s.cross_lists,
            budget=LLMBudget(
                s.llm_share, s.llm_min_papers, s.llm_dollars, warmup_cap=s.warmup_share
            ),
            learning=s.learning,
            prompt_examples=s.prompt_examples,
            language=s.language,
        )
