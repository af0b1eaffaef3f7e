"""The daily post's clock arithmetic on literal inputs: which days a channel still needs, what
each due day needs now, when a posted day's unscored papers are tried again, and how a feed
outage grows and when the channels are told."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.daily.delivery import MISSED, POSTED, POSTING
from bot.daily.schedule import (
    RESCORE_EVERY,
    Outage,
    backoff,
    day_step,
    days_to_serve,
    in_window,
    outage_after,
    rescore_due,
)
from bot.store import DigestRecord

NOW = datetime(2025, 5, 2, 12, 0, tzinfo=UTC)
CATCH_UP = timedelta(hours=18)


def record(day: int, state: str, attempts: int = 0) -> DigestRecord:
    return DigestRecord("C1", date(2025, 4, day), state, attempts, "", "")


def test_a_channel_needs_the_latest_day_and_every_delivery_left_unfinished() -> None:
    records = [
        record(28, "scored"),  # built, never tried: a day the channel did not need
        record(29, "scored", attempts=2),  # tried and failed: still needed
        record(30, POSTING),  # a post interrupted mid-thread: still needed
    ]
    assert days_to_serve(date(2025, 5, 1), records) == [
        date(2025, 4, 29),
        date(2025, 4, 30),
        date(2025, 5, 1),
    ]
    assert days_to_serve(None, []) == []
    assert days_to_serve(date(2025, 4, 30), [record(30, POSTING)]) == [date(2025, 4, 30)]


def test_a_due_day_is_posted_completed_skipped_or_reported_missed() -> None:
    due = NOW - timedelta(hours=1)
    assert day_step(None, due, NOW, CATCH_UP) == "post"
    assert day_step(POSTING, due, NOW, CATCH_UP) == "post"
    assert day_step(POSTED, due, NOW, CATCH_UP) == "complete"  # late cards join its thread
    assert day_step(MISSED, due, NOW, CATCH_UP) == "skip"  # said once, never again
    late = NOW - CATCH_UP - timedelta(seconds=1)
    assert day_step(None, late, NOW, CATCH_UP) == "missed"
    assert day_step(POSTED, late, NOW, CATCH_UP) == "complete"
    assert day_step(None, NOW - CATCH_UP, NOW, CATCH_UP) == "post"  # the window's last moment


def test_a_day_is_served_once_due_and_only_after_the_channel_started() -> None:
    start = NOW - timedelta(days=1)
    assert in_window(NOW, start, NOW)
    assert not in_window(NOW + timedelta(seconds=1), start, NOW)  # not due yet
    assert not in_window(start - timedelta(seconds=1), start, NOW)  # before it subscribed


def test_unscored_papers_of_a_posted_day_are_tried_again_every_quarter_hour() -> None:
    assert rescore_due(3, NOW - RESCORE_EVERY, NOW)
    assert not rescore_due(3, NOW - RESCORE_EVERY + timedelta(seconds=1), NOW)
    assert not rescore_due(0, NOW - timedelta(days=1), NOW)


def test_a_feed_outage_backs_off_and_is_told_once_after_the_deadline() -> None:
    deadline = timedelta(hours=6)
    outage = outage_after(None, NOW, "arXiv answered 503")
    assert (outage.first, outage.attempts, outage.reason) == (NOW, 1, "arXiv answered 503")
    assert outage.next_try == NOW + timedelta(minutes=1)
    later = NOW + timedelta(minutes=5)
    again = outage_after(outage, later, "timed out")
    assert (again.first, again.attempts, again.reason) == (NOW, 2, "timed out")
    assert again.next_try == later + backoff(2) == later + timedelta(minutes=2)
    assert not again.to_report(NOW + deadline - timedelta(seconds=1), deadline)
    assert again.to_report(NOW + deadline, deadline)
    told = Outage(NOW, NOW, 9, "timed out", reported=True)
    assert not told.to_report(NOW + 2 * deadline, deadline)
    assert backoff(50) == timedelta(minutes=30)  # never longer than half an hour
