"""Slack renderings with literal inputs: escaping, Block Kit limits, fallbacks, metadata and
reaction names."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from adapters.slack_blocks import (
    BUTTON_LIMIT,
    HEADER_LIMIT,
    MAX_BLOCKS,
    TEXT_LIMIT,
    authors_line,
    card_message,
    chunks,
    emoji_from_name,
    escape,
    metadata,
    parent_message,
    slot_of,
    text_message,
)
from bot.models import (
    Criteria,
    Digest,
    DigestEntry,
    LLMShare,
    Paper,
    Score,
    StageCounts,
    Thresholds,
    Usage,
)
from scoring.share import LOCAL_ONLY
from tests.fakes.block_kit import block_kit_problems

DAY = date(2025, 5, 2)
HOSTILE = "<!channel> & <@U0BOSS> ping <https://evil.example|click> *now*"


def entry(n: int, title: str = "", authors: int = 3, abstract_words: int = 50) -> DigestEntry:
    paper = Paper(
        id=f"2505.{n:05d}",
        title=title or f"Paper number {n} on sparse models",
        abstract=" ".join(["word"] * abstract_words),
        authors=tuple(f"Author {i}" for i in range(authors)),
        primary_category="cs.LG",
    )
    return DigestEntry(paper, Score(paper.id, 9, 8, f"Relevant to item {n}."))


def digest(*entries: DigestEntry, notes: tuple[str, ...] = ()) -> Digest:
    return Digest(
        day=DAY,
        channel_id="C0TEAM",
        model="gpt-4o",
        criteria=Criteria("Sparse models."),
        criteria_version=2,
        thresholds=Thresholds(8, 7),
        counts=StageCounts(500, 400, 400, len(entries)),
        entries=entries,
        usage=Usage(calls=3, prompt_tokens=12_000, cached_tokens=2_048, completion_tokens=900),
        notes=notes,
    )


def all_texts(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def check_limits(blocks: list[dict[str, Any]]) -> None:
    """Our own limits, and slack_sdk's block models (an SDK that tightens a limit fails here)."""
    assert block_kit_problems(blocks) == []
    assert len(blocks) <= MAX_BLOCKS
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= HEADER_LIMIT
        if block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= TEXT_LIMIT
        for element in block.get("elements", []):
            if element.get("type") == "button":
                assert len(element["text"]["text"]) <= BUTTON_LIMIT
            elif element.get("type") == "mrkdwn":
                assert len(element["text"]) <= TEXT_LIMIT


def test_escape_touches_only_the_three_characters() -> None:
    assert escape("a & b < c > d *e* _f_ `g`") == "a &amp; b &lt; c &gt; d *e* _f_ `g`"


def test_a_hostile_title_cannot_mention_or_link() -> None:
    text, blocks = card_message(1, entry(1, title=HOSTILE))
    rendered = all_texts(blocks)
    assert "<!channel>" not in rendered
    assert "<@U0BOSS>" not in rendered
    assert "<https://evil" not in rendered
    assert "&amp;" in rendered
    assert "&lt;" in rendered
    assert "<!channel>" not in text
    assert "<@U0BOSS>" not in text
    parent_text, parent_blocks = parent_message(digest(entry(1, title=HOSTILE)))
    assert "<!channel>" not in parent_text + all_texts(parent_blocks)


def test_the_card_shows_title_link_scores_comment_and_buttons() -> None:
    text, blocks = card_message(3, entry(7))
    head = blocks[0]["text"]["text"]
    assert head.startswith("*3. <https://arxiv.org/abs/2505.00007|Paper number 7")
    assert "Relevance *9* · Novelty *8*" in head
    assert blocks[1]["text"]["text"] == "_Relevant to item 7._"
    buttons = blocks[-1]["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Explain", "Ask", "arXiv", "PDF"]
    assert buttons[0]["value"] == buttons[1]["value"] == "2505.00007"
    assert buttons[3]["url"] == "https://arxiv.org/pdf/2505.00007"
    assert text.endswith("https://arxiv.org/abs/2505.00007")


def test_long_author_lists_are_shortened() -> None:
    assert authors_line(("A", "B")) == "A, B"
    assert authors_line(tuple("ABCDE")) == "A, B, C, D, E"
    assert authors_line(tuple("ABCDEFGH")) == "A, B, C, D and 4 more"


def test_huge_papers_stay_within_every_limit() -> None:
    big = entry(1, title="T" * 5_000, authors=3_000, abstract_words=10_000)
    text, blocks = card_message(60, big)
    check_limits(blocks)
    assert len(text) < 4_000
    assert len(blocks[2]["text"]["text"]) <= 701  # the abstract is folded


def test_the_parent_lists_counts_top_titles_and_cost() -> None:
    entries = tuple(entry(n) for n in range(1, 61))
    text, blocks = parent_message(digest(*entries, notes=("3 papers could not be scored.",)))
    check_limits(blocks)
    rendered = all_texts(blocks)
    assert blocks[0]["text"]["text"] == "arXiv digest for 2025-05-02"
    assert "*60 selected*" in rendered
    assert "…and 55 more" in rendered
    assert "12,900 tokens" in rendered
    assert "3 papers could not be scored." in rendered
    assert text.startswith("arXiv digest for 2025-05-02: 60 papers selected")


def test_a_day_without_papers_is_a_short_note() -> None:
    text, blocks = parent_message(digest())
    check_limits(blocks)
    assert text.startswith("arXiv digest for 2025-05-02: nothing today")
    assert len(blocks) == 2


def test_a_day_ranked_locally_only_says_so_in_slack() -> None:
    local = replace(digest(), share=LLMShare(0.0, 0.0, LOCAL_ONLY))
    text, blocks = parent_message(local)
    check_limits(blocks)
    assert "Ranked locally only, not scored by an LLM" in all_texts(blocks)
    assert "nothing today" in text


@pytest.mark.parametrize("title_words", [1, 400])
def test_a_day_ranked_locally_only_lists_the_local_top_in_slack(title_words: int) -> None:
    top = tuple(
        (replace(entry(n).paper, title=" ".join([HOSTILE] * title_words)), 0.9 - n / 100)
        for n in range(1, 16)
    )
    local = replace(digest(), share=LLMShare(0.0, 0.0, LOCAL_ONLY), ranked_locally=top)
    text, blocks = parent_message(local)
    check_limits(blocks)
    shown = all_texts(blocks)
    assert blocks[0]["text"]["text"] == "arXiv digest for 2025-05-02 · ranked locally"
    assert "*Ranked locally* (best by similarity to the criteria, not scored by an LLM)" in shown
    assert "1. <https://arxiv.org/abs/2505.00001|" in shown
    assert "local rank 1 · similarity 0.89" in shown
    assert ("15. <https://arxiv.org/abs/2505.00015|" in shown) == (title_words == 1)
    assert "met the thresholds" not in shown
    assert "nothing today" not in text
    assert "<!channel>" not in shown
    assert "Ranked locally only, not scored by an LLM" in shown


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ({"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}, "3000"),
        ({"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}, "150"),
        ({"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 11}, "10 elements"),
        ({"type": "no_such_block", "text": "x"}, "not a block type"),
        ({"type": "header"}, "text attribute must be specified"),
        ({"type": "carousel"}, "missing 1 required keyword-only argument"),
        ({"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "colour": "red"}, "changed"),
    ],
)
def test_slack_sdk_models_catch_what_slack_would_refuse(
    block: dict[str, Any], problem: str
) -> None:
    """The check the fake Slack runs on every message: it can fail."""
    (found,) = block_kit_problems([block])
    assert problem in found


def test_every_message_the_renderers_make_passes_slack_sdk() -> None:
    entries = tuple(entry(n, title=HOSTILE if n == 1 else "") for n in range(1, 61))
    messages = [
        parent_message(digest(*entries, notes=(HOSTILE,)))[1],
        *(card_message(n, e)[1] for n, e in enumerate(entries, 1)),
        text_message(HOSTILE * 500)[1],
    ]
    assert [block_kit_problems(blocks) for blocks in messages] == [[]] * len(messages)


def test_long_replies_are_split_into_sections_and_capped() -> None:
    line = "x" * 99 + "\n"
    pieces = chunks(line * 100)
    assert all(len(p) <= TEXT_LIMIT for p in pieces)
    assert "".join(pieces).count("x") == 9_900
    text, blocks = text_message(line * 3_000)
    check_limits(blocks)
    assert blocks[-1]["text"]["text"].startswith("_(cut")
    assert len(text) < 4_000


def test_metadata_round_trips_and_other_days_are_ignored() -> None:
    message = {"ts": "1.2", "metadata": metadata(DAY, "2505.00001")}
    assert slot_of(message, DAY) == "2505.00001"
    assert slot_of(message, date(2025, 5, 5)) is None
    assert slot_of({"ts": "1.2"}, DAY) is None
    assert slot_of({"metadata": {"event_type": "other", "event_payload": {}}}, DAY) is None


@pytest.mark.parametrize(
    ("name", "emoji"),
    [
        ("+1", "👍"),
        ("thumbsup", "👍"),
        ("+1::skin-tone-2", "👍"),
        ("heart", "❤️"),
        ("star", "⭐"),
        ("fire", "🔥"),
        ("-1", "👎"),
        ("thumbsdown::skin-tone-6", "👎"),
        ("rocket", "🚀"),
        ("partyparrot", ":partyparrot:"),
    ],
)
def test_reaction_names_become_unicode(name: str, emoji: str) -> None:
    assert emoji_from_name(name) == emoji
