"""The value types the store returns: rows of the bot's tables as frozen dataclasses.

This module must not run SQL; the query modules of `bot.store` build these from rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.models import AnnounceType, Criteria, Paper


@dataclass(frozen=True, slots=True)
class DigestRecord:
    """A stored digest's delivery state."""

    channel_id: str
    day: date
    state: str  # scored, posting, posted, missed
    attempts: int
    last_error: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class ChannelEvent:
    """One entry of a channel's audit log."""

    id: int
    user_id: str
    action: str
    detail: str
    at: str


@dataclass(frozen=True, slots=True)
class ChannelRow:
    """A channel as stored: its platform, setting overrides and subscription."""

    id: str
    platform: str
    overrides: dict[str, Any]
    subscribed: bool


@dataclass(frozen=True, slots=True)
class CriteriaVersion:
    """One entry of a channel's criteria history."""

    version: int
    criteria: Criteria
    changed_by: str
    changed_at: str
    note: str


@dataclass(frozen=True, slots=True)
class Like:
    """A user's like of a paper in a channel."""

    paper: Paper
    user_id: str
    at: str


@dataclass(frozen=True, slots=True)
class LikedPaper:
    """A paper liked in a channel, once however many liked it: who (newest first) and when
    it was last liked."""

    paper: Paper
    likers: tuple[str, ...]
    last_at: str


@dataclass(frozen=True, slots=True)
class ImportRecord:
    """One import of papers into a channel's reading list: who, from what, how many it added."""

    id: int
    user_id: str
    source: str
    papers: int
    created_at: str


@dataclass(frozen=True, slots=True)
class ImportedPaper:
    """A paper of a channel's imported reading list and when it was imported."""

    paper: Paper
    imported_at: str


@dataclass(frozen=True, slots=True)
class RankingRow:
    """One paper's place in a channel's local ranking of a day."""

    paper_id: str
    day: date
    model_version: str
    score: float
    rank: int
    sent: bool


@dataclass(frozen=True, slots=True)
class RankingSet:
    """A day's local ranking under one ranking key: paper ids best first, their scores, and
    what the model learned from."""

    model_version: str
    ids: tuple[str, ...]
    scores: tuple[float, ...]
    liked: int = 0
    verdicts: int = 0


@dataclass(frozen=True, slots=True)
class DigestFrame:
    """What a channel's digest of a day was decided on: the criteria, the ranking and the
    papers sent to the LLM. Once stored, rebuilding that day reuses it."""

    criteria_id: int | None
    ranking_key: str | None
    sent_ids: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class Lease:
    """A unit of work held by one process until `expires_at` (unix seconds)."""

    key: str
    owner: str
    taken_at: float
    expires_at: float
    epoch: int = 0  # the fencing epoch: grows with every take-over of the unit


@dataclass(frozen=True, slots=True)
class Fence:
    """One holding of a unit of work: its key, the holder and the lease's epoch then. A write
    made under a fence is refused once another process has taken the unit over."""

    key: str
    owner: str
    epoch: int
    ttl: float  # seconds a fenced write extends the lease by


@dataclass(frozen=True, slots=True)
class FeedFetch:
    """The latest completed fetch of a feed: when, and the day it announced (None: nothing)."""

    fetched_at: datetime
    day: date | None
    new: int
    cross: int
    replaced: int


@dataclass(frozen=True, slots=True)
class RankedDay:
    """Where a paper stood in a channel's ranking of a day, and the size of that day."""

    row: RankingRow
    ranked: int
    sent: int


@dataclass(frozen=True, slots=True)
class Reaction:
    """What a channel said about a paper since the last learning reset: 1 liked, -1 disliked
    (and nobody liked it), 0 posted and nobody reacted; `imported` for a 1 that only the
    channel's imported reading list says (nobody liked it)."""

    paper: Paper
    value: int
    imported: bool = False


@dataclass(frozen=True, slots=True)
class LearningState:
    """A channel's personalisation: what the ranking learned from and how well it did."""

    learned_from: int = 0
    recall: float | None = None
    measured_day: date | None = None
    reset_at: str | None = None
    verdicts: int = 0


@dataclass(frozen=True, slots=True)
class Announcement:
    """A paper as announced on one day."""

    paper: Paper
    announce_type: AnnounceType
