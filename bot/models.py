"""The shared vocabulary of the bot: frozen value types passed between ingest, store, scoring and
adapters.

This module owns plain data only. It must not do I/O, import a platform SDK or know about SQL.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class AnnounceType(StrEnum):
    """How a paper appears in a day's arXiv feed."""

    NEW = "new"
    CROSS = "cross"
    REPLACE = "replace"
    REPLACE_CROSS = "replace-cross"

    @property
    def is_replacement(self) -> bool:
        """A replacement updates a paper already announced; it is never a new paper."""
        return self in (AnnounceType.REPLACE, AnnounceType.REPLACE_CROSS)


@dataclass(frozen=True, slots=True)
class Paper:
    """One arXiv paper, keyed by its id without version."""

    id: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    categories: tuple[str, ...] = ()
    primary_category: str | None = None
    comment: str | None = None
    version: int = 1
    journal_ref: str | None = None  # the arXiv API's journal reference, when the authors gave one

    @property
    def abs_url(self) -> str:
        """The paper's abstract page."""
        return f"https://arxiv.org/abs/{self.id}"

    @property
    def pdf_url(self) -> str:
        """The paper's PDF."""
        return f"https://arxiv.org/pdf/{self.id}"


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One entry of a day's feed: a paper and how it was announced."""

    paper: Paper
    announce_type: AnnounceType


@dataclass(frozen=True, slots=True)
class FeedDay:
    """A parsed announcement feed; `day` is None when the feed announces nothing."""

    day: date | None
    items: tuple[FeedItem, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True on weekends and holidays, when arXiv announces nothing."""
        return not self.items


@dataclass(frozen=True, slots=True)
class Criteria:
    """A team's plain-English relevance criteria; identical texts share one id and one set of
    scores."""

    text: str
    id: int | None = None

    @property
    def sha256(self) -> str:
        """Content address of the criteria text."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Score:
    """The LLM's judgement of one paper under one criteria version."""

    paper_id: str
    relevance: int
    novelty: int
    comment: str
    tldr: str = ""  # one line on what the paper does, in the channel's language; may be empty

    @property
    def total(self) -> int:
        """Relevance plus novelty, the primary sort key of a digest."""
        return self.relevance + self.novelty


@dataclass(frozen=True, slots=True)
class ScoreKey:
    """What a score depends on: a paper is scored at most once per key."""

    criteria_id: int
    model: str
    prompt_version: str


@dataclass(frozen=True, slots=True)
class Usage:
    """LLM tokens and dollars, summed over any number of calls."""

    calls: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    prompt_cost_usd: float = 0.0
    completion_cost_usd: float = 0.0
    priced: bool = True

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens (cached tokens are part of the prompt)."""
        return self.prompt_tokens + self.completion_tokens

    @property
    def cost_usd(self) -> float:
        """Dollars for prompt and completion together."""
        return self.prompt_cost_usd + self.completion_cost_usd

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            calls=self.calls + other.calls,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            prompt_cost_usd=self.prompt_cost_usd + other.prompt_cost_usd,
            completion_cost_usd=self.completion_cost_usd + other.completion_cost_usd,
            priced=self.priced and other.priced,
        )


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Minimum relevance and novelty for a paper to enter the digest."""

    relevance: int = 8
    novelty: int = 7

    def admits(self, score: Score) -> bool:
        """Whether a scored paper is selected."""
        return score.relevance >= self.relevance and score.novelty >= self.novelty


@dataclass(frozen=True, slots=True)
class StageCounts:
    """Honest per-stage counts of one digest, each after de-duplication by arXiv id."""

    announced: int
    considered: int
    scored: int
    selected: int
    unscored: int = 0
    replaced: int = 0
    ranked_out: int = 0  # considered, but below the channel's LLM budget in the local ranking

    @property
    def sent(self) -> int:
        """Considered papers the local ranking sent on to the LLM."""
        return self.considered - self.ranked_out


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One selected paper with its score; `moved` is how many places the channel's taste moved
    it up (negative: down) from the order of the LLM's scores."""

    paper: Paper
    score: Score
    moved: int = 0


@dataclass(frozen=True, slots=True)
class LLMShare:
    """How much of the day went to the LLM and why: the channel's `base` share, more while the
    ranking warms up ("warm-up"), or down to where the likely picks are in ("calibrated", with
    the `expected_recall` of them that was sent); `extra_usd` is about what sending more than
    the base share cost."""

    share: float
    base: float
    reason: str = "base"
    positives: int = 0
    extra_usd: float = 0.0
    expected_recall: float | None = None


@dataclass(frozen=True, slots=True)
class Note:
    """A line a digest says about itself, kept as what it says (`kind`) and its figures
    (`values`) rather than as words, so each showing writes it in the reader's language
    (`bot.digest.notes` owns the wording)."""

    kind: str
    values: tuple[tuple[str, str | int | float], ...] = ()


@dataclass(frozen=True, slots=True)
class Digest:
    """A day's selection for one channel, ready to render on any platform."""

    day: date
    channel_id: str
    model: str
    criteria: Criteria
    criteria_version: int
    thresholds: Thresholds
    counts: StageCounts
    entries: tuple[DigestEntry, ...]
    usage: Usage = field(default_factory=Usage)
    run_usage: Usage = field(default_factory=Usage)
    notes: tuple[Note | str, ...] = ()
    """What the digest says about itself: `Note`s, or finished words (the weekly post's, and
    what digests stored before notes had kinds hold)."""
    more_like: tuple[DigestEntry, ...] = ()
    """"More like what you liked": papers just under the thresholds the taste ranks highest."""
    share: LLMShare | None = None
    followed: tuple[FollowedEntry, ...] = ()
    """Papers of the day by a followed author or matching a followed keyword, with why; shown
    whatever their score (`score` is None for a paper the LLM did not see)."""
    week: str = ""
    """Set on the weekly post (`bot.daily.weekly`): the ISO week it looks back on, e.g. 2026-W48;
    `day` is then the Sunday before that week, a day no daily digest has."""
    ranked_locally: tuple[tuple[Paper, float], ...] = ()
    """Set on a day ranked locally only (a share of 0): the local ranking's best papers, best
    first, with their similarity to the criteria; no LLM scored them."""


@dataclass(frozen=True, slots=True)
class Follow:
    """An author or a keyword a channel follows: its papers always go to the LLM and show in the
    digest. `text` is what the person typed (cleaned); `id` numbers it in the store."""

    kind: str  # "author" or "keyword"
    text: str
    id: int = 0
    added_by: str = ""
    added_at: str = ""


@dataclass(frozen=True, slots=True)
class FollowedEntry:
    """A followed paper of a day: why it is followed, and its score when it has one."""

    paper: Paper
    reasons: tuple[str, ...]
    score: Score | None = None


def digest_order(entry: DigestEntry) -> tuple[int, int, int, str]:
    """Deterministic digest order: best total first, then relevance, novelty, and arXiv id."""
    s = entry.score
    return (-s.total, -s.relevance, -s.novelty, entry.paper.id)


@dataclass(frozen=True, slots=True)
class LocalView:
    """A day ranked on this machine only, with no LLM score: what `digest` shows when no API
    key is set. `top` holds the best papers and their local ranking scores."""

    day: date
    announced: int
    considered: int
    top: tuple[tuple[Paper, float], ...]
    verdicts: int = 0
    liked: int = 0
    followed: tuple[FollowedEntry, ...] = ()
    note: str | None = None
    """Why no LLM scored the day, when it is not the missing key (the renderers' default)."""


@dataclass(frozen=True, slots=True)
class Section:
    """One section of a paper's full text: its number ("4.2", or "" if none), title and text."""

    number: str
    title: str
    text: str

    @property
    def label(self) -> str:
        """How an answer names it: "§4.2 Experiments"."""
        return f"§{self.number} {self.title}".strip() if self.number else self.title
