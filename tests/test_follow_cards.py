"""Code links, the venue line and the "Followed" part on every platform's rendering — markdown,
Slack Block Kit, Discord embeds — with literal digests, within each platform's limits however
long or many the followed papers and their texts are."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from adapters import discord_render, markdown, slack_blocks
from bot.digest.selection import digest_from_json, digest_to_json
from bot.models import (
    Criteria,
    Digest,
    DigestEntry,
    FollowedEntry,
    LocalView,
    Paper,
    Score,
    StageCounts,
    Thresholds,
    Usage,
)
from tests.test_discord_render import assert_within_limits
from tests.test_slack_blocks import check_limits

DAY = date(2025, 5, 2)
HOSTILE = "<!channel> [x](https://evil.example) @everyone"


def card_paper(n: int = 1, **extra: str) -> Paper:
    return Paper(
        id=f"2505.{n:05d}",
        title=f"Sparse experts {n}",
        abstract="We release code at https://github.com/org/sparse-experts.",
        authors=("Jane Doe", "Ann Lee"),
        comment="Accepted at ICML 2025. 9 pages",
        journal_ref=extra.get("journal_ref"),
    )


def followed(n: int, reason: str = "follows author Jane Doe", scored: bool = True) -> FollowedEntry:
    p = Paper(f"2505.{100 + n:05d}", f"Followed paper {n}", "An abstract.", ("Jane Doe",))
    return FollowedEntry(p, (reason,), Score(p.id, 4, 5, "Off topic.") if scored else None)


def digest(entries: tuple[DigestEntry, ...], follows: tuple[FollowedEntry, ...]) -> Digest:
    return Digest(
        day=DAY,
        channel_id="C1",
        model="gpt-4o",
        criteria=Criteria("Sparse models."),
        criteria_version=2,
        thresholds=Thresholds(8, 7),
        counts=StageCounts(500, 400, 400, len(entries)),
        entries=entries,
        usage=Usage(calls=3, prompt_tokens=100, completion_tokens=20),
        followed=follows,
    )


def card() -> DigestEntry:
    p = card_paper()
    return DigestEntry(p, Score(p.id, 9, 8, "On topic."))


def with_followed_card() -> Digest:
    """A selected card by a followed author, and two followed papers under the thresholds."""
    c = card()
    return digest(
        (c,),
        (
            FollowedEntry(c.paper, ("follows author Jane Doe",), c.score),
            followed(1),
            followed(2, "follows keyword “diffusion model”", scored=False),
        ),
    )


# -- markdown --


def test_markdown_cards_show_venue_code_and_why_they_are_followed() -> None:
    out = markdown.render_markdown(with_followed_card())
    section = out.split("## 1. ")[1].split("---")[0]
    assert "**Venue:** Accepted at ICML 2025" in section
    assert "**Code:** [github.com/org/sparse-experts](https://github.com/org/sparse-experts)" in (
        section
    )
    assert "**Followed:** follows author Jane Doe" in section


def test_markdown_has_a_followed_part_for_papers_under_the_thresholds() -> None:
    out = markdown.render_markdown(with_followed_card())
    part = out.split("## Followed")[1].split("---")[0]
    assert "Followed paper 1" in part
    assert "follows author Jane Doe · relevance 4, novelty 5" in part
    assert "follows keyword “diffusion model” · not scored" in part
    assert "Sparse experts 1" not in part  # the card above already shows it


def test_the_journal_reference_is_the_venue_when_there_is_one() -> None:
    p = card_paper(journal_ref="Phys. Rev. D 110 (2024)")
    d = digest((DigestEntry(p, Score(p.id, 9, 8, "x")),), ())
    assert "**Venue:** Phys. Rev. D 110 (2024)" in markdown.render_markdown(d)
    assert "## Followed" not in markdown.render_markdown(d)


def test_a_long_followed_part_is_cut_with_a_count() -> None:
    many = tuple(followed(n) for n in range(markdown.FOLLOWED_SHOWN + 7))
    out = markdown.render_markdown(digest((), many))
    assert "… and 7 more followed papers" in out


def test_followed_papers_and_journal_refs_survive_the_json_form() -> None:
    d = with_followed_card()
    data = json.loads(markdown.render_json(d))
    assert data["followed"][1]["reasons"] == ["follows author Jane Doe"]
    assert data["followed"][2]["relevance"] is None
    assert data["papers"][0]["code"] == ["https://github.com/org/sparse-experts"]
    assert data["papers"][0]["venue"] == "Accepted at ICML 2025"
    assert digest_from_json(digest_to_json(d)) == d


def test_the_local_ranking_shows_followed_papers_too() -> None:
    f = followed(1, scored=False)
    view = LocalView(DAY, 10, 10, ((card_paper(), 0.5),), followed=(f,))
    out = markdown.render_local_markdown(view)
    assert "## Followed" in out
    assert "Followed paper 1" in out
    assert "not scored" in out
    assert "**Code:**" in out
    data = json.loads(markdown.render_local_json(view))
    assert data["followed"][0]["reasons"] == ["follows author Jane Doe"]


# -- Slack --


def test_slack_cards_show_venue_code_and_why_they_are_followed() -> None:
    d = with_followed_card()
    _, blocks = slack_blocks.card_message(1, d.entries[0], ("follows author Jane Doe",))
    check_limits(blocks)
    texts = json.dumps(blocks, ensure_ascii=False)
    assert "Followed: follows author Jane Doe" in texts
    assert "Venue: Accepted at ICML 2025" in texts
    assert "<https://github.com/org/sparse-experts|github.com/org/sparse-experts>" in texts


def test_the_slack_summary_has_the_followed_part() -> None:
    _, blocks = slack_blocks.parent_message(with_followed_card())
    check_limits(blocks)
    (part,) = [b for b in blocks if "*Followed*" in b.get("text", {}).get("text", "")]
    text = part["text"]["text"]
    assert "Followed paper 1" in text
    assert "relevance 4, novelty 5" in text
    assert "not scored" in text
    assert "Sparse experts 1" not in text


def test_a_day_with_no_pick_still_shows_followed_papers_on_slack() -> None:
    _, blocks = slack_blocks.parent_message(digest((), (followed(1),)))
    check_limits(blocks)
    assert any("Followed paper 1" in json.dumps(b) for b in blocks)


@pytest.mark.parametrize("count", [1, 15, 200])
def test_slack_followed_parts_stay_within_limits(count: int) -> None:
    long = "x" * 2_000 + HOSTILE
    many = tuple(
        FollowedEntry(
            Paper(f"2505.{n:05d}", long, long, (long,)), (f"follows keyword “{long}”",), None
        )
        for n in range(count)
    )
    entries = tuple(
        DigestEntry(
            Paper(f"2506.{n:05d}", long, long, (long,), comment=long), Score("x", 9, 9, long)
        )
        for n in range(60)
    )
    _, blocks = slack_blocks.parent_message(digest(entries, many))
    check_limits(blocks)
    text = json.dumps(blocks, ensure_ascii=False)
    assert "<!channel>" not in text
    assert count == 1 or "more" in text
    (part,) = [
        b["text"]["text"] for b in blocks if "*Followed*" in b.get("text", {}).get("text", "")
    ]
    # at least one followed paper fits, and every link in the part is whole
    opened = part.count("<https://arxiv.org/abs/2505.")
    assert opened >= 1
    assert len(re.findall(r"<https://arxiv\.org/abs/2505\.\d+\|[^<>]*>", part)) == opened


def test_slack_cards_with_many_long_links_stay_within_limits() -> None:
    links = " ".join(f"https://github.com/org/{'r' * 150}{n}" for n in range(10))
    p = Paper("2505.00001", "T", links, ("A",), comment="Accepted at " + "V" * 5_000)
    _, blocks = slack_blocks.card_message(1, DigestEntry(p, Score(p.id, 9, 9, "c")), ("r" * 9_000,))
    check_limits(blocks)


# -- Discord --


def test_discord_cards_show_venue_code_and_why_they_are_followed() -> None:
    d = with_followed_card()
    embed = discord_render.card_embed(d, d.entries[0], 1)
    assert_within_limits(embed)
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Followed"] == "follows author Jane Doe"
    assert fields["Venue"] == "Accepted at ICML 2025"
    assert (
        fields["Code"] == "[github.com/org/sparse-experts](https://github.com/org/sparse-experts)"
    )


def test_the_discord_summary_has_the_followed_part() -> None:
    embed = discord_render.parent_embed(with_followed_card(), daily=True)
    assert_within_limits(embed)
    part = (embed.description or "").split("**Followed**")[1]
    assert "Followed paper 1" in part
    assert "relevance 4, novelty 5" in part
    assert "not scored" in part
    assert "LLM: 3 calls" in part  # the cost line still closes the summary


@pytest.mark.parametrize("count", [1, 15, 200])
def test_discord_followed_parts_stay_within_limits(count: int) -> None:
    long = "y" * 2_000 + HOSTILE
    many = tuple(
        FollowedEntry(Paper(f"2505.{n:05d}", long, long, (long,)), (long,), None)
        for n in range(count)
    )
    entries = tuple(
        DigestEntry(Paper(f"2506.{n:05d}", long, long, (long,)), Score("x", 9, 9, long))
        for n in range(30)
    )
    embed = discord_render.parent_embed(digest(entries, many), daily=True)
    assert_within_limits(embed)
    description = embed.description or ""
    assert "@everyone" not in description.replace("@\u2060everyone", "")
    assert "**Followed**" in description
    assert "more" in description
    assert re.search(r"LLM: \d+ calls", description)


def test_discord_cards_with_everything_long_stay_within_limits() -> None:
    long = "z" * 6_000
    links = " ".join(f"https://huggingface.co/org/{'m' * 150}{n}" for n in range(10))
    p = Paper("2505.00001", long, links + long, (long,) * 30, comment=long, journal_ref=long)
    entry = DigestEntry(p, Score(p.id, 9, 9, long))
    d = digest((entry,), (FollowedEntry(p, (long, long), entry.score),))
    embed = discord_render.card_embed(d, entry, 1)
    assert_within_limits(embed)
    assert {"Followed", "Venue", "Code"} <= {f.name for f in embed.fields}
