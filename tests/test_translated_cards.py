"""The digest cards in the channel's language: what a Slack or Discord reader sees of a digest
(the summary, every card, their buttons, footers and plain-text fallbacks, the notes a digest
carries) is written through the catalogs, and only the papers' and the LLM's text stays as it
came.

- a `de` channel's `/arxiv today`, through the real slack_sdk client against the fake Slack,
  posts German labels, buttons, counts and dates;
- under the pseudo-locale, every word of the rendered Slack blocks and Discord embeds outside
  ⟦…⟧ is data (titles, authors, abstracts, the fake LLM's comments, categories, venues, links)
  or a marker `recover` reads back;
- a digest's notes are stored as kinds and figures: `day` after `settings language de` shows a
  note from an English build in German, and a row stored before notes had kinds still reads;
- the `likes` listing says what imported papers teach, in English, German and Chinese.
"""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import date
from typing import Any

import discord

from adapters import discord_papers, discord_render
from adapters.console import APOLOGY as CONSOLE_APOLOGY
from adapters.discord import APOLOGY as DISCORD_APOLOGY
from adapters.slack import APOLOGY as SLACK_APOLOGY
from adapters.slack import SlackAdapter
from adapters.slack_blocks import card_message, parent_message
from bot.arxiv.links import venue
from bot.conversation.likes import likes_text
from bot.conversation.unfurl import SPENT, LinkView, LinkViews
from bot.digest.notes import (
    BUDGET,
    LLM_DOWN,
    LLM_REFUSED,
    NEVER_BUILT,
    UNSCORED,
    note,
    notes_from_json,
)
from bot.digest.selection import digest_from_json, digest_to_json, followed_reasons
from bot.i18n import PSEUDO, _, using
from bot.models import Digest, FollowedEntry, LLMShare, Paper
from bot.store.records import ImportedPaper
from tests.fakes.slack_server import FakeSlack
from tests.test_conversation import session
from tests.test_slack import CHANNEL, adapter, answers, command, core, fake_time, slack
from tests.test_translated import data_of, untranslated

__all__ = ["adapter", "core", "fake_time", "slack"]  # the Slack fixtures, used by name

DAY = date(2025, 5, 2)


# -- a German channel on Slack -------------------------------------------------------------


async def test_a_german_channels_digest_on_slack_reads_in_german(
    adapter: SlackAdapter, slack: FakeSlack
) -> None:
    """After `settings language de`, `/arxiv today` posts a summary headed `arXiv-Digest vom
    02.05.2025` with German counts and footer, and cards whose scores, buttons and fallback
    text are German, whoever asks (here someone whose Slack speaks English)."""
    assert await command(adapter, slack, "settings language de") == 200
    await slack.wait_until(lambda: bool(answers(slack, "settings")))
    assert await command(adapter, slack, "today") == 200
    await slack.wait_until(lambda: len(slack.channel_messages(CHANNEL)) == 13, within=10)
    parent, *cards = slack.channel_messages(CHANNEL)

    assert parent.blocks[0]["text"]["text"] == "arXiv-Digest vom 02.05.2025"
    assert parent.text.startswith("arXiv-Digest vom 02.05.2025: 12 Papers ausgewählt — ")
    summary = "\n".join(texts(parent.blocks))
    assert "angekündigt ·" in summary
    assert "*12 ausgewählt*" in summary
    assert "*Top-Papers*" in summary
    assert "LLM-Aufrufe" in summary
    assert "ein Paper pro Antwort im Thread ↓" in summary
    assert "announced" not in summary
    assert "Top papers" not in summary

    first = cards[0]
    assert "Relevanz *" in first.blocks[0]["text"]["text"]
    assert "· Neuheit *" in first.blocks[0]["text"]["text"]
    buttons = [
        e["text"]["text"] for b in first.blocks if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons == ["Erklären", "Fragen", "arXiv", "PDF"]
    assert "— Relevanz " in first.text
    assert ", Neuheit " in first.text
    assert "relevance" not in first.text


def texts(value: Any) -> list[str]:
    """Every `text` string of a Block Kit payload."""
    if isinstance(value, dict):
        found = [value["text"]] if isinstance(value.get("text"), str) else []
        return found + [t for v in value.values() for t in texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in texts(v)]
    return []


# -- the pseudo-locale over the rendered cards ---------------------------------------------

_SLACK_LINK = re.compile(r"<(https?://[^|>]+)\|")  # `<url|label>`: the url is data
_DISCORD_ESCAPE = re.compile(r"\\([\\*_~`|>\[\]()#-])")


def rich(digest: Digest) -> Digest:
    """The day's digest with every part a summary can show: a note of each kind, followed
    papers the cards do not show, a "more like" part and a warm-up share line."""
    rest = digest.entries[6:]
    return replace(
        digest,
        entries=digest.entries[:6],
        notes=(
            note(UNSCORED, unscored=3, sent=40),
            note(BUDGET, unscored=1, sent=40, budget=0.02),
            note(LLM_DOWN, reason="HTTP 503", waiting=3, sent=40, at="09:30", timezone="UTC"),
            note(LLM_REFUSED, waiting=3, sent=40),
            note(NEVER_BUILT, day=DAY.isoformat()),
        ),
        followed=tuple(
            FollowedEntry(e.paper, ("follows author Jane Doe", "follows keyword “sparse”"), e.score)
            for e in (digest.entries[0], *rest[:3])
        ),
        more_like=rest[3:5],
        share=LLMShare(share=0.4, base=0.3, reason="warm-up", positives=4, extra_usd=0.01),
    )


def shown_words(text: str, data: list[str]) -> list[str]:
    """The words of rendered text outside every ⟦…⟧ that are not data, with Slack's and
    Discord's escapes undone first (data is compared as it came)."""
    text = _SLACK_LINK.sub(" ", _DISCORD_ESCAPE.sub(r"\1", html.unescape(text)))
    return untranslated(text, data)


def card_data(digest: Digest, day_feed: list[dict[str, Any]]) -> list[str]:
    papers = [e.paper for e in (*digest.entries, *digest.more_like)] + [
        f.paper for f in digest.followed
    ]
    extra = [p.primary_category or "" for p in papers] + [venue(p) or "" for p in papers]
    for p in papers:  # as the store holds them (TeX cleaned), as well as the feed had them
        extra += [" ".join(t.split()) for t in (p.title, p.abstract, p.comment or "", *p.authors)]
    for e in (*digest.entries, *digest.more_like):
        extra += [" ".join(e.score.comment.split()), " ".join(e.score.tldr.split())]
    # the bot's name, the model's, and what the test's follows and notes name are data too
    named = ["arxiv-bot", "Jane Doe", "“sparse”", "HTTP", "UTC"]
    return [*data_of(day_feed), *extra, digest.model, *named]


async def built_digest(core: Any) -> Digest:
    await session(core).say("today")
    stored = await core.store.digests.get("team-a", DAY)
    assert stored is not None
    return digest_from_json(stored[1])


async def test_the_slack_blocks_of_a_digest_are_written_in_translated_words(
    core: Any, day_feed: list[dict[str, Any]]
) -> None:
    """Under the pseudo-locale, the summary and every card (labels, buttons, counts, the
    notes, the share line, the fallback text) show no untranslated word around the data."""
    digest = rich(await built_digest(core))
    data = card_data(digest, day_feed)
    with using(PSEUDO):
        messages = [parent_message(digest)]
        messages += [
            card_message(n, e, followed_reasons(digest, e.paper.id))
            for n, e in enumerate(digest.entries, 1)
        ]
        nothing = parent_message(replace(digest, entries=(), followed=(), more_like=()))
    for fallback, blocks in [*messages, nothing]:
        left = shown_words("\n".join([fallback, *texts(blocks)]), data)
        assert not left, f"untranslated {left[:8]} in {fallback[:80]!r}"
    with using("en"):  # the check sees words: the same summary in English shows them
        fallback, blocks = parent_message(digest)
    assert "announced" in shown_words("\n".join([fallback, *texts(blocks)]), data)


async def test_the_discord_embeds_of_a_digest_are_written_in_translated_words(
    core: Any, day_feed: list[dict[str, Any]]
) -> None:
    """Under the pseudo-locale, the summary embed (posted and daily), every card's fields and
    the thread's name show no untranslated word around the data; the daily footer that
    `recover` reads back stays as it is."""
    digest = rich(await built_digest(core))
    data = card_data(digest, day_feed)
    with using(PSEUDO):
        embeds = [discord_render.parent_embed(digest, daily=False)]
        embeds += [discord_render.card_embed(digest, e, n) for n, e in enumerate(digest.entries, 1)]
        daily = discord_render.parent_embed(digest, daily=True)
        name = discord_render.thread_name(digest)
    assert daily.footer.text == discord_render.daily_footer(DAY)  # read back by `recover`
    assert not shown_words(name, data), name
    for embed in [*embeds, replace_footer(daily)]:
        left = shown_words(embed_text(embed), data)
        assert not left, f"untranslated {left[:8]} in {embed.title!r}"
    with using("en"):
        english = embed_text(discord_render.parent_embed(digest, daily=False))
    assert shown_words(english, data), "the check sees English words"


def embed_text(embed: discord.Embed) -> str:
    parts = [embed.title or "", embed.description or "", embed.footer.text or ""]
    for field in embed.fields:
        parts += [field.name or "", field.value or ""]
    return "\n".join(parts)


def replace_footer(embed: discord.Embed) -> discord.Embed:
    return embed.set_footer(text="")


# -- notes shown in the channel's language now ---------------------------------------------


async def test_a_stored_note_reads_in_the_language_the_channel_chose_since(
    core: Any,
) -> None:
    """A day built in English with a note (its scoring stopped at the daily budget): after
    `settings language de`, `day 2025-05-02` shows the note in German, with the dollars as
    German writes them; the stored row keeps the English words for scripts."""
    digest = await built_digest(core)
    noted = replace(digest, notes=(note(BUDGET, unscored=2, sent=40, budget=0.02),))
    await core.store.digests.save("team-a", DAY, "posted", digest_to_json(noted))
    s = session(core)
    english = await s.say("day 2025-05-02")
    assert "The daily LLM budget of $0.02 was reached: 2 of 40 papers wait" in english

    await s.say("settings language de")
    german = await s.say("day 2025-05-02")
    assert "Das tägliche LLM-Budget von 0,02 $ ist erreicht: 2 von 40 Papers warten" in german
    assert "daily LLM budget" not in german
    stored = await core.store.digests.get("team-a", DAY)
    assert stored is not None
    assert stored[1]["notes"] == [
        "The daily LLM budget of $0.02 was reached: 2 of 40 papers wait for tomorrow's budget."
    ]


async def test_a_note_stored_as_words_before_notes_had_kinds_still_shows(core: Any) -> None:
    """A row stored with finished English notes (no kinds) shows them as they are."""
    digest = await built_digest(core)
    body = digest_to_json(replace(digest, notes=()))
    body["notes"] = ["3 of 40 papers could not be scored; they will be retried on the next run."]
    await core.store.digests.save("team-a", DAY, "posted", body)
    s = session(core)
    await s.say("settings language de")
    shown = await s.say("day 2025-05-02")
    assert "(3 of 40 papers could not be scored; they will be retried on the next run.)" in shown


# -- the likes listing's imports -----------------------------------------------------------


def test_the_likes_listing_says_what_imported_papers_teach_in_each_language() -> None:
    """The imported part of `likes` says the ranking learns from them as from papers the
    channel picked (not "like likes"), with its date as the language writes it."""
    paper = Paper("2505.00326", "A Paper", "Abstract.", ("Ann Lee",))
    imported = [ImportedPaper(paper, "2026-12-01T10:00:00+00:00")]
    said = {}
    for code in ("en", "de", "zh_CN"):
        with using(code):
            said[code] = likes_text([], "U1", mine=False, imported=imported, imported_total=1)
    assert (
        "Imported reading list (1 paper; the ranking learns from it as from a paper this "
        "channel picked; `import undo` takes back the latest import):"
    ) in said["en"]
    assert "(imported 2026-12-01)" in said["en"]
    assert (
        "die Rangfolge lernt daraus wie aus einem Paper, das dieser Kanal ausgewählt hat"
        in (said["de"])
    )
    assert "01.12.2026" in said["de"]
    assert "排序会像对待本频道选中的论文一样从中学习" in said["zh_CN"]
    assert all("like likes" not in text for text in said.values())


def test_a_stored_note_this_version_cannot_word_keeps_its_words() -> None:
    """A note of an unknown kind, or missing a figure its kind needs, reads as stored."""
    body = {
        "notes": ["First stored words.", "Second stored words.", "3 of 40 papers …"],
        "note_data": [
            {"kind": "from-a-later-version", "values": {}},
            {"kind": BUDGET, "values": {"unscored": 1}},
            {"kind": UNSCORED, "values": {"unscored": 3, "sent": 40}},
        ],
    }
    assert notes_from_json(body) == (
        "First stored words.",
        "Second stored words.",
        note(UNSCORED, unscored=3, sent=40),
    )


async def test_discords_score_answer_ask_form_and_apologies_are_written_in_translated_words(
    core: Any, day_feed: list[dict[str, Any]]
) -> None:
    """Under the pseudo-locale, the "Score for this channel" answer (scores, a paper arXiv
    lacks, a paper without a score, the note), the Ask form's title and label, "no paper" and
    each adapter's apology show no untranslated word around the data."""
    digest = await built_digest(core)
    data = card_data(digest, day_feed)
    first, second = digest.entries[:2]
    views = LinkViews(
        (
            LinkView(first.paper.id, first.paper, first.score),
            LinkView(second.paper.id, second.paper),
            LinkView("2501.99999", None),
        ),
        criteria_version=1,
        note=SPENT,
    )
    constants = [
        discord_papers.NO_PAPER,
        discord_papers.APOLOGY,
        DISCORD_APOLOGY,
        SLACK_APOLOGY,
        CONSOLE_APOLOGY,
    ]
    with using(PSEUDO):
        answer = discord_papers.link_views_text(replace(views, note=_(SPENT)))
        form = discord_papers.AskModal(first.paper.id)
        label = str(form.question.to_component_dict().get("label"))  # as Discord is sent it
        shown = [answer, form.title or "", label, *map(_, constants)]
    for text in shown:
        assert not shown_words(text, data), text
    with using("en"):
        english = discord_papers.link_views_text(views)
    assert "Relevance" in shown_words(english, data), "the check sees English words"
