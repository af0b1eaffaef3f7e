"""How much of a day goes to the LLM: a warm-up while the local ranking is unproven, then down
the ranking until the likely picks are in.

The local ranking learns what the criteria mean from the LLM's earlier verdicts. With none it
keeps about two thirds of the picks in its top 30%; each day of verdicts lifts that, and the
curve flattens after a few days (docs/ranking.md shows it). So:

- **warm-up**: while the criteria have fewer than `WARMUP_POSITIVES` selected verdicts, the
  share is widened in proportion to what is missing: the whole day with no verdicts at all,
  narrowing linearly to the channel's share as the selected verdicts accumulate, and never
  above the warm-up cap (`WARMUP_CAP`, `ARXIV_BOT_WARMUP_SHARE`), so fresh criteria cost at
  most that share of a day (and what is sent still goes through the daily budget);
- **calibrated cut**: once trained, the ranking's places are calibrated to the probability that
  the LLM selects a paper there, from the channel's earlier decided days (up to
  `CALIBRATION_DAYS`: where their selections ranked among what was sent), by Platt scaling on
  the place as a fraction of the day and its log (`calibrate`). Today's ranking is sent down
  to the first place where the expected picks above the cut are `RECALL_TARGET` of the
  expected picks of the whole day (`calibrated_cut`), never beyond the channel's share (its
  ceiling) nor below `FLOOR_PART` of it; the footer shows the expected recall ("about 97% of
  likely picks sent"). Without enough earlier selections to calibrate on
  (`MIN_CALIBRATION_SELECTED`), the channel's share as it is.

Papers a channel follows (`bot.digest.following`) are sent whatever their rank; they are added after
the share is decided and left out when a later day looks back at where the cut was
(`share_part`).

Every rule is a pure function of counts the caller loads (verdicts, earlier days' ranks); no
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
RECALL_TARGET = 0.97
"""The share of the day's expected picks the cut sends: the few left below it are the least
likely ones, where each paper sent costs the most per pick found."""
FLOOR_PART = 0.5
"""The least a calibrated cut sends, as a part of the channel's share: a calibration misled by
a few days never narrows the day below half of what the channel set."""
CALIBRATION_DAYS = 10
"""Earlier decided days the calibration reads: two weeks of announcements, so it follows the
ranking as it improves."""
MIN_CALIBRATION_SELECTED = 10
"""Fewer earlier selections than this do not calibrate a probability."""


@dataclass(frozen=True, slots=True)
class Yesterday:
    """An earlier decided day of the channel under the same criteria: how many candidates it
    had, how many were sent, and the 1-based ranks (among those sent) of the papers it
    selected."""

    candidates: int
    sent: int
    selected_ranks: tuple[int, ...]

    @property
    def share(self) -> float:
        """The share of the day that was sent."""
        return self.sent / self.candidates if self.candidates else 1.0


@dataclass(frozen=True, slots=True)
class Calibration:
    """P(the LLM selects the paper at place r of n) = sigmoid(a + b·log(f) + c·f), with
    f = (r - ½)/n: the odds fall as a power of the place near the top (b) and exponentially
    down the rest of the day (c)."""

    a: float
    b: float
    c: float = 0.0

    def probability(self, rank: int, candidates: int) -> float:
        """The calibrated probability of a pick at 1-based `rank` of a day of `candidates`."""
        f = (rank - 0.5) / candidates
        return _sigmoid(self.a + self.b * math.log(f) + self.c * f)


LOCAL_ONLY = "local"
"""The reason of a share of 0: the channel ranks locally only and sends nothing to the LLM."""
CALIBRATED = "calibrated"
"""The reason of a cut where the calibrated likely picks are in."""


@dataclass(frozen=True, slots=True)
class ShareDecision:
    """The share of today's ranking sent to the LLM, and why."""

    share: float
    base: float
    reason: str  # "base", "warm-up", CALIBRATED or LOCAL_ONLY
    positives: int = 0
    followed: int = 0  # papers sent beyond the share because the channel follows them
    expected_recall: float | None = None  # of the likely picks, what the calibrated cut sends

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
        if self.reason == CALIBRATED and self.expected_recall is not None:
            return (
                f"{self.share:.0%} of the day sent to the LLM (at most {self.base:.0%}): about "
                f"{self.expected_recall:.0%} of likely picks"
            )
        if self.reason == LOCAL_ONLY:
            return "nothing sent to the LLM: the channel's share is 0 (ranked locally only)"
        return f"{self.share:.0%} of the day sent to the LLM"


def warmup_share(base: float, positives: int, cap: float = 1.0) -> float:
    """The share the ranking's evidence warrants: `cap` of the day (the whole day uncapped)
    with no selected verdicts, narrowing linearly to `base` at `WARMUP_POSITIVES` (never below
    `base`: a channel whose own share is larger keeps it)."""
    missing = max(0.0, 1.0 - positives / WARMUP_POSITIVES)
    top = max(base, min(cap, 1.0))
    return base + (top - base) * missing


def decide_share(
    base: float,
    positives: int,
    history: Sequence[Yesterday] = (),
    *,
    adaptive: bool = True,
    candidates: int = 0,
    warmup_cap: float = WARMUP_CAP,
) -> ShareDecision:
    """Today's share of a day of `candidates` from the channel's `base` share (the ceiling),
    the selected verdicts the ranking learns from, and the channel's earlier decided days under
    these criteria, newest first (`history`). With `adaptive` off, the channel's share as it
    is. A share of 0 stays 0 ("local"): a channel that ranks locally only is never warmed up
    into spending. A warm-up sends at most `warmup_cap` of the day."""
    if base <= 0:
        return ShareDecision(0.0, 0.0, LOCAL_ONLY, positives)
    if not adaptive:
        return ShareDecision(base, base, "base", positives)
    warm = warmup_share(base, positives, warmup_cap)
    if warm > base:
        return ShareDecision(warm, base, "warm-up", positives)
    fitted = calibrate(history[:CALIBRATION_DAYS])
    if fitted is None or candidates <= 0:
        return ShareDecision(base, base, "base", positives)
    k, expected = calibrated_cut(fitted, candidates, base)
    return ShareDecision(k / candidates, base, CALIBRATED, positives, expected_recall=expected)


def calibrated_cut(fitted: Calibration, candidates: int, base: float) -> tuple[int, float]:
    """How many of the best-ranked `candidates` to send, and the expected recall of the
    likely picks that gives: the fewest whose expected picks reach `RECALL_TARGET` of the
    day's, between `FLOOR_PART` of `base` and `base`."""
    p = [fitted.probability(r, candidates) for r in range(1, candidates + 1)]
    total = math.fsum(p)
    ceiling = max(1, min(candidates, math.ceil(base * candidates - 1e-9)))
    floor = max(1, min(ceiling, math.ceil(FLOOR_PART * base * candidates - 1e-9)))
    above = 0.0
    k = ceiling
    for n, value in enumerate(p, 1):
        above += value
        if n >= floor and above >= RECALL_TARGET * total:
            k = n
            break
    k = max(floor, min(k, ceiling))
    return k, math.fsum(p[:k]) / total if total > 0 else 1.0


def calibrate(history: Sequence[Yesterday]) -> Calibration | None:
    """Platt scaling of the ranking's places on earlier days: a logistic regression of
    "selected" on log(f) and f, f = (rank - ½) / candidates, over every paper those days sent
    (their selections; the rest were scored and not selected), falling down the ranking
    (with a slope that would rise, on log(f) alone). None with fewer than
    `MIN_CALIBRATION_SELECTED` selections, or none unselected, to fit on."""
    rows: list[tuple[float, float, float]] = []
    ys: list[float] = []
    for day in history:
        picked = set(day.selected_ranks)
        for r in range(1, min(day.sent, day.candidates) + 1):
            f = (r - 0.5) / day.candidates
            rows.append((1.0, math.log(f), f))
            ys.append(1.0 if r in picked else 0.0)
    chosen = sum(ys)
    if chosen < MIN_CALIBRATION_SELECTED or chosen == len(ys):
        return None
    a, b, c = _fit_logistic(rows, ys)
    if b > 0 or c > 0:  # a probability that rises down the ranking: keep the power law alone
        a, b, c = _fit_logistic([(one, log_f, 0.0) for one, log_f, _ in rows], ys)
    return Calibration(a, b, c)


PLATT_ITERATIONS = 50
PLATT_RIDGE = 1e-3  # keeps the fit finite when the selections separate perfectly


def _fit_logistic(
    rows: Sequence[tuple[float, float, float]], ys: Sequence[float]
) -> tuple[float, float, float]:
    """The weights maximising the likelihood of y ~ sigmoid(w·row), by Newton's method with
    Platt's smoothed targets (so a handful of points never gives an infinite slope) and a
    small ridge on the slopes."""
    pos = sum(ys)
    neg = len(ys) - pos
    hi, lo = (pos + 1) / (pos + 2), 1 / (neg + 2)
    targets = [hi if y else lo for y in ys]
    w = [math.log((pos + 1) / (neg + 1)), 0.0, 0.0]
    for _ in range(PLATT_ITERATIONS):
        grad = [0.0, 0.0, 0.0]
        hess = [[0.0] * 3 for _ in range(3)]
        for row, t in zip(rows, targets, strict=True):
            p = _sigmoid(sum(wi * xi for wi, xi in zip(w, row, strict=True)))
            weight = p * (1 - p)
            for i in range(3):
                grad[i] += (p - t) * row[i]
                for j in range(3):
                    hess[i][j] += weight * row[i] * row[j]
        for i in range(3):
            hess[i][i] += PLATT_RIDGE
            grad[i] += PLATT_RIDGE * w[i] if i else 0.0
        step = _solve(hess, grad)
        if step is None:
            break
        w = [wi - si for wi, si in zip(w, step, strict=True)]
        if sum(abs(si) for si in step) < 1e-10:
            break
    return w[0], w[1], w[2]


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float] | None:
    """x with matrix·x = vector (Gaussian elimination with partial pivoting); None when the
    matrix is singular."""
    n = len(vector)
    m = [[*row, v] for row, v in zip(matrix, vector, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        if abs(m[pivot][col]) < 1e-12:
            return None
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(col + 1, n):
            factor = m[r][col] / m[col][col]
            for c in range(col, n + 1):
                m[r][c] -= factor * m[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


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
