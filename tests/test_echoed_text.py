"""Text a user typed or a paper carried, echoed in every rendering: bidi overrides, zero-width
characters and BOMs are gone, a 2 MB abstract is clipped, and on Discord user-typed markdown
(masked links, code fences) shows as typed. Literal digests, plus the conversation for
`/arxiv criteria` as Discord shows it."""

from __future__ import annotations

import json
import time
import unicodedata
from datetime import date
from typing import Any

from adapters import discord_render, slack_blocks
from adapters.markdown import ABSTRACT_CHARS, render_json, render_markdown
from bot.conversation.dispatch import Caller, Reply
from bot.models import (
    Criteria,
    Digest,
    DigestEntry,
    Paper,
    Score,
    StageCounts,
    Thresholds,
    Usage,
)
from bot.safety import defuse, excerpt, strip_controls

BIDI = "\u202e\u2066\u2067\u2068\u2069\u202a\u200f"
ZERO_WIDTH = "\u200b\u200c\u200d\ufeff\u2060"
HIDDEN = BIDI + ZERO_WIDTH
TWO_MB = 2 * 1024 * 1024


def hostile(text: str) -> str:
    """`text` with every kind of hidden character threaded through it."""
    return (" " + HIDDEN).join(text.split(" ")) + "\ufeff"


def entry(abstract: str = "We study sparse experts.") -> DigestEntry:
    paper = Paper(
        id="2505.00326",
        title=hostile("Sparse experts gnp.exe"),
        abstract=abstract,
        authors=(hostile("Ada Lovelace"), "Alan Turing"),
        categories=("cs.LG",),
        comment=hostile("12 pages"),
    )
    return DigestEntry(paper, Score(paper.id, 9, 8, hostile("Directly on topic")))


def digest(*entries: DigestEntry) -> Digest:
    return Digest(
        day=date(2025, 5, 2),
        channel_id="c",
        model="gpt-4o",
        criteria=Criteria(hostile("Sparse mixture-of-experts.")),
        criteria_version=2,
        thresholds=Thresholds(8, 7),
        counts=StageCounts(10, 10, 10, len(entries)),
        entries=entries,
        usage=Usage(1, 100, 0, 10),
        notes=(hostile("1 of 10 papers could not be scored"),),
    )


def assert_nothing_hidden(text: str) -> None:
    hidden = sorted({f"U+{ord(ch):04X}" for ch in text if ch in HIDDEN})
    assert not hidden, f"hidden characters left: {hidden}"


# -- safety --


def test_strip_controls_removes_every_control_and_format_character_python_knows() -> None:
    by_kind: dict[str, list[str]] = {"hidden": [], "space": [], "visible": []}
    for code in range(0x110000):
        ch = chr(code)
        kind = unicodedata.category(ch)
        if kind in ("Cc", "Cf", "Cs") and ch not in "\t\n":
            by_kind["hidden"].append(ch)
        elif kind in ("Zs", "Zl", "Zp"):
            by_kind["space"].append(ch)
        elif kind != "Cn":
            by_kind["visible"].append(ch)
    assert strip_controls("".join(by_kind["hidden"])) == ""
    assert set(strip_controls("".join(by_kind["space"]))) == {" ", "\n"}
    visible = "".join(by_kind["visible"])
    assert strip_controls(visible) == visible


def test_defused_text_stays_defused_after_another_pass() -> None:
    once = defuse("@everyone <!channel>")
    assert strip_controls(once) == once
    assert defuse(once) == once


def test_an_excerpt_of_two_megabytes_is_short_and_quick() -> None:
    start = time.monotonic()
    cut = excerpt("word " * (TWO_MB // 5), 700)
    assert time.monotonic() - start < 0.1
    assert len(cut) <= 700
    assert cut.endswith("…")


# -- markdown and JSON --


def test_markdown_digest_strips_bidi_overrides_zero_width_characters_and_boms() -> None:
    md = render_markdown(digest(entry(hostile("We study sparse experts."))))
    assert_nothing_hidden(md)
    assert "Sparse experts gnp.exe" in md
    assert "Ada Lovelace" in md
    assert "Sparse mixture-of-experts." in md


def test_markdown_digest_clips_a_two_megabyte_abstract() -> None:
    start = time.monotonic()
    md = render_markdown(digest(entry("x" * 10 + " lorem ipsum" * (TWO_MB // 12))))
    assert time.monotonic() - start < 1.0
    [line] = [line for line in md.splitlines() if line.startswith("**Abstract:**")]
    assert len(line) <= len("**Abstract:** ") + ABSTRACT_CHARS
    assert line.endswith("…")
    assert len(md) < 20_000


def test_json_digest_strips_hidden_characters_but_keeps_the_text() -> None:
    data = render_json(digest(entry(hostile("We study sparse experts."))))
    assert_nothing_hidden(json.loads(data).__repr__() + data)
    assert "Sparse experts gnp.exe" in data


# -- Slack blocks --


def test_slack_card_strips_hidden_characters_and_clips_a_two_megabyte_abstract() -> None:
    fallback, blocks = slack_blocks.card_message(1, entry(hostile("lorem ipsum " * 200_000)))
    rendered = json.dumps(blocks, ensure_ascii=False) + fallback
    assert_nothing_hidden(rendered)
    abstract = blocks[2]["text"]["text"]
    assert len(abstract) <= slack_blocks.ABSTRACT_CHARS
    assert abstract.endswith("…")
    _, parent = slack_blocks.parent_message(digest(entry()))
    assert_nothing_hidden(json.dumps(parent, ensure_ascii=False))


# -- Discord --


def test_discord_card_strips_hidden_characters_and_clips_a_two_megabyte_abstract() -> None:
    start = time.monotonic()
    card = discord_render.card_embed(digest(), entry("lorem ipsum " * 200_000), 1)
    assert time.monotonic() - start < 1.0
    assert len(card) <= discord_render.EMBED_TOTAL_CHARS
    assert (card.description or "").endswith("…")
    assert_nothing_hidden(json.dumps(card.to_dict(), ensure_ascii=False))
    parent = discord_render.parent_embed(digest(entry()), daily=True)
    assert_nothing_hidden(json.dumps(parent.to_dict(), ensure_ascii=False))


def test_discord_reply_shows_masked_links_code_fences_and_headings_as_typed() -> None:
    typed = "1. [masked](https://evil.example)\n```py\nx\n```\n# big\n> quote\n||hidden||"
    [shown] = discord_render.message_chunks(typed)
    assert "[masked](" not in shown
    assert "```" not in shown
    assert "\n# " not in shown
    assert "\n> " not in shown
    assert "||" not in shown
    # the same characters are still there to read
    assert shown.replace("\\", "") == typed


async def test_discord_criteria_shows_user_typed_markdown_links_and_code_fences_as_text(
    core: Any,
) -> None:
    replies: list[Reply] = []

    async def respond(reply: Reply) -> None:
        replies.append(reply)

    caller = Caller("discord", "4242", "alice")
    topic = "Look at [masked](https://evil.example) and ```rm -rf``` \u202eexe.pdf"
    await core.conversation.handle(caller, f"criteria add {topic}", respond)
    await core.conversation.handle(caller, "criteria", respond)
    shown = "\n".join(discord_render.message_chunks(replies[-1].text))
    assert "masked" in shown
    assert "[masked](" not in shown
    assert "```" not in shown
    assert_nothing_hidden(shown)
