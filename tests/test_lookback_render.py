"""Search and similar answers and the weekly post, rendered on every platform within its limits:
Slack's sections and blocks, Discord's messages and embeds, and the console's lines, whatever
the papers hold (10,000-character titles, hundreds of authors, mention syntax)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from adapters import discord_render as render
from adapters.slack_blocks import (
    HEADER_LIMIT,
    MAX_BLOCKS,
    TEXT_LIMIT,
    parent_message,
    text_message,
)
from bot.conversation import commands
from bot.daily.weekly import WeekPick, weekly_digest
from bot.digest.search import MAX_RESULTS, result_line
from bot.models import Criteria, Digest, DigestEntry, Paper, Score, StageCounts, Thresholds

HOSTILE = "<!channel> @everyone <@U0BOSS> [click](https://evil.example) ```x``` "
KEY_DAY = date(2025, 4, 27)


def huge_paper(n: int) -> Paper:
    return Paper(
        id=f"2505.{n:05d}",
        title=(HOSTILE + "Sparse experts ") * 200,
        abstract="word " * 5000,
        authors=tuple(f"{HOSTILE}Author{k}" for k in range(300)),
        categories=("cs.LG",),
    )


def search_answer() -> str:
    lines = [
        result_line(n, huge_paper(n), Score(f"2505.{n:05d}", 9, 8, "x") if n % 2 else None)
        for n in range(1, MAX_RESULTS + 1)
    ]
    return "Stored papers with “sparse experts”, best match first:\n" + "\n".join(lines)


def test_a_result_line_is_short_and_inert_whatever_the_paper() -> None:
    line = result_line(1, huge_paper(1), None)
    assert len(line) < 300
    assert "<!channel>" not in line
    assert "@everyone" not in line
    assert "https://arxiv.org/abs/2505.00001" in line
    assert line.endswith("not scored here")
    scored = result_line(2, huge_paper(2), Score("2505.00002", 9, 8, "x"), "similarity 0.42")
    assert scored.endswith("relevance 9, novelty 8 here — similarity 0.42")


def test_search_answers_fit_slack_discord_and_the_console() -> None:
    answer = search_answer()
    _, blocks = text_message(answer)
    assert len(blocks) <= MAX_BLOCKS
    assert all(0 < len(b["text"]["text"]) <= TEXT_LIMIT for b in blocks)
    assert "<!channel>" not in json.dumps(blocks)
    chunks = render.message_chunks(answer)
    assert 1 <= len(chunks) <= 2
    assert all(len(c) <= render.MESSAGE_CHARS for c in chunks)
    assert len(answer.splitlines()) == MAX_RESULTS + 1  # the console prints it as it is
    assert max(len(line) for line in answer.splitlines()) < 300


def weekly() -> Digest:
    entries = tuple(
        DigestEntry(huge_paper(n), Score(f"2505.{n:05d}", 9, 8, HOSTILE * 50)) for n in range(10)
    )
    base = Digest(
        KEY_DAY, "C1", "m", Criteria("c"), 1, Thresholds(), StageCounts(0, 0, 0, 10), entries
    )
    chosen = WeekPick(tuple((e, 99) for e in entries[:5]), entries[5:])
    return weekly_digest(base, chosen, "2025-W18", KEY_DAY)


def test_the_weekly_summary_fits_slack() -> None:
    _, blocks = parent_message(weekly())
    assert len(blocks) <= MAX_BLOCKS
    assert blocks[0]["text"]["text"] == "The week's best · 2025-W18"
    assert len(blocks[0]["text"]["text"]) <= HEADER_LIMIT
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert sections[0].startswith("Most liked: 1. ")
    assert sections[1].startswith("Best scored, nobody reacted yet: 6. ")
    assert all(len(s) <= TEXT_LIMIT for s in sections)
    assert "<!channel>" not in json.dumps(blocks)


def test_the_weekly_summary_fits_discord_and_is_found_again() -> None:
    post = weekly()
    embed = render.parent_embed(post, daily=True)
    assert embed.title == "The week's best · 2025-W18"
    assert len(embed) <= render.EMBED_TOTAL_CHARS
    assert len(embed.description or "") <= render.EMBED_DESCRIPTION_CHARS
    assert "@everyone" not in (embed.description or "")
    assert render.is_daily_parent([embed], KEY_DAY)  # recover finds it by its key day
    assert render.thread_name(post) == "The week's best · 2025-W18"
    card = render.card_embed(post, post.entries[0], 1)
    assert len(card) <= render.EMBED_TOTAL_CHARS
    assert render.card_paper([card], KEY_DAY) == "2505.00000"


@pytest.mark.parametrize(
    ("sub", "options", "text"),
    [
        ("search", {"value": " sparse  experts "}, "search sparse experts"),
        ("day", {"value": "2025-05-02"}, "day 2025-05-02"),
        ("similar", {"value": "3"}, "similar 3"),
        ("settings", {"action": "weekly", "value": "on friday 16:00"}, "settings weekly on friday 16:00"),  # noqa: E501
        ("settings", {"action": "weekly", "value": "off"}, "settings weekly off"),
    ],
)  # fmt: skip
def test_discord_options_map_onto_the_new_commands(
    sub: str, options: dict[str, object], text: str
) -> None:
    assert render.command_text(sub, options) == text
    name = commands.parse(text).name
    assert name in ("search", "day", "similar", "settings weekly")
    assert text.startswith(name)


def test_a_day_is_shown_to_the_channel_and_searches_privately() -> None:
    assert render.answers_publicly("day 2025-05-02")
    assert not render.answers_publicly("search sparse experts")
    assert not render.answers_publicly("similar 3")
    assert render.answers_publicly("settings weekly on")
