"""The Discord adapter's pure helpers with literal inputs: rendering within every Discord limit,
defused paper text, the `/arxiv` option mapping, reaction translation and command comparison."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import discord
import pytest

from adapters import discord_render as render
from bot.conversation import commands
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

DAY = date(2025, 5, 2)


def entry(n: int, *, size: int = 1, text: str = "") -> DigestEntry:
    paper = Paper(
        id=f"2505.{n:05d}",
        title=(text or f"Sparse experts {n} ") * size,
        abstract=(text or "We study sparse mixtures of experts. ") * 40 * size,
        authors=tuple(f"Author Number{k} {text}" for k in range(20 * size)),
        comment=(text or "12 pages, 3 figures. ") * 10 * size,
    )
    return DigestEntry(paper, Score(paper.id, 9, 8, (text or "Directly on topic. ") * 30 * size))


def digest(*entries: DigestEntry, notes: tuple[str, ...] = ()) -> Digest:
    return Digest(
        day=DAY,
        channel_id="111",
        model="gpt-4o",
        criteria=Criteria("Sparse mixture-of-experts."),
        criteria_version=3,
        thresholds=Thresholds(8, 7),
        counts=StageCounts(400, 380, 380, len(entries)),
        entries=entries,
        usage=Usage(calls=5, prompt_tokens=1000, completion_tokens=200, prompt_cost_usd=0.0123),
        notes=notes,
    )


def assert_within_limits(embed: discord.Embed) -> None:
    assert len(embed.title or "") <= render.EMBED_TITLE_CHARS
    assert len(embed.description or "") <= render.EMBED_DESCRIPTION_CHARS
    assert all(len(f.value or "") <= render.EMBED_FIELD_CHARS for f in embed.fields)
    assert len(embed.footer.text or "") <= render.EMBED_FOOTER_CHARS
    assert len(embed) <= render.EMBED_TOTAL_CHARS


@pytest.mark.parametrize("size", [1, 5, 40])
def test_cards_stay_within_every_embed_limit(size: int) -> None:
    d = digest(entry(1, size=size))
    card = render.card_embed(d, d.entries[0], 1)
    assert_within_limits(card)
    assert card.url == "https://arxiv.org/abs/2505.00001"
    assert card.title is not None
    assert card.title.startswith("1. Sparse experts 1")
    assert [f.name for f in card.fields][:2] == ["Relevance", "Novelty"]
    assert card.fields[0].value == "9/10"


def test_a_short_card_keeps_the_whole_abstract() -> None:
    d = digest(entry(1))
    card = render.card_embed(d, d.entries[0], 1)
    assert card.description == render.inert(d.entries[0].paper.abstract)


@pytest.mark.parametrize("count", [0, 1, 12, 200])
def test_parent_stays_within_limits_and_lists_the_top_titles(count: int) -> None:
    d = digest(*(entry(n, size=3) for n in range(1, count + 1)))
    parent = render.parent_embed(d, daily=True)
    assert_within_limits(parent)
    assert parent.title == "arXiv digest for 2025-05-02"
    assert parent.description is not None
    if count == 0:
        assert "No paper met the thresholds today." in parent.description
    else:
        assert "[Sparse experts 1" in parent.description
        assert f"**{count}** of 380 papers" in parent.description
    assert ("more in the thread" in parent.description) == (count > render.TOP_TITLES)
    assert "$0.01" in parent.description


@pytest.mark.parametrize("size", [1, 40])
def test_a_day_ranked_locally_only_lists_the_local_top(size: int) -> None:
    top = tuple((entry(n, size=size).paper, 0.9 - n / 100) for n in range(1, 16))
    d = replace(digest(), share=LLMShare(0.0, 0.0, LOCAL_ONLY), ranked_locally=top, followed=())
    parent = render.parent_embed(d, daily=True)
    assert_within_limits(parent)
    shown = parent.description or ""
    assert "**Ranked locally** (best by similarity to the criteria, not scored by an LLM)" in shown
    assert "1. [Sparse experts 1" in shown
    assert "local rank 1 · similarity 0.89" in shown
    assert ("local rank 15 · similarity 0.75" in shown) == (size == 1)
    assert "No paper met the thresholds today." not in shown
    assert "Ranked locally only, not scored by an LLM" in shown


def test_paper_text_cannot_mention_anyone_or_break_markup() -> None:
    nasty = "@everyone <@&123> <@456> **bold** [x](http://evil) @here "
    d = digest(entry(1, text=nasty), notes=("@everyone note",))
    card = render.card_embed(d, d.entries[0], 1)
    parent = render.parent_embed(d, daily=True)
    shown = " ".join(
        [card.title or "", card.description or "", parent.description or ""]
        + [f.value or "" for f in card.fields]
    )
    for ping in ("@everyone", "@here", "<@&", "<@4"):
        assert ping not in shown
    assert "**bold**" not in (card.description or "")
    assert render.NO_MENTIONS.everyone is False
    assert render.NO_MENTIONS.roles is False
    assert render.NO_MENTIONS.users is False


def test_message_chunks_respect_the_message_limit() -> None:
    text = "\n".join(["short line"] * 300 + ["x" * 4500])
    chunks = render.message_chunks(text)
    assert all(0 < len(c) <= render.MESSAGE_CHARS for c in chunks)
    assert "".join(chunks).replace("\n", "") == text.replace("\n", "")
    assert render.message_chunks("") == [""]


def test_thread_name_fits() -> None:
    assert render.thread_name(digest(entry(1))) == "arXiv 2025-05-02 · 1 paper"
    assert len(render.thread_name(digest(*(entry(n) for n in range(3))))) <= 100


def test_recover_reads_back_what_was_rendered() -> None:
    d = digest(entry(7))
    parent = render.parent_embed(d, daily=True)
    requested = render.parent_embed(d, daily=False)
    card = render.card_embed(d, d.entries[0], 1)
    assert render.is_daily_parent([parent], DAY)
    assert not render.is_daily_parent([requested], DAY)
    assert not render.is_daily_parent([parent], date(2025, 5, 3))
    assert render.card_paper([card], DAY) == "2505.00007"
    assert render.card_paper([card], date(2025, 5, 5)) is None
    assert render.card_paper([parent], DAY) is None


@pytest.mark.parametrize(
    ("sub", "options", "text"),
    [
        ("today", {}, "today"),
        ("explain", {"paper": " 2505.00326 "}, "explain 2505.00326"),
        ("explain", {"paper": "3"}, "explain 3"),
        ("criteria", {"action": "show", "value": None}, "criteria"),
        ("criteria", {}, "criteria"),
        ("criteria", {"action": "add", "value": "Diffusion  models"}, "criteria add Diffusion models"),  # noqa: E501
        ("criteria", {"action": "remove", "value": "2"}, "criteria remove 2"),
        ("criteria", {"action": "history"}, "criteria history"),
        ("criteria", {"action": "revert", "value": "1"}, "criteria revert 1"),
        ("criteria", {"action": "preview"}, "criteria preview"),
        ("settings", {"action": "show"}, "settings"),
        ("settings", {"action": "threshold", "value": "relevance 7"}, "settings threshold relevance 7"),  # noqa: E501
        ("settings", {"action": "time", "value": "08:30 Europe/Berlin"}, "settings time 08:30 Europe/Berlin"),  # noqa: E501
        ("settings", {"action": "categories", "value": "cs.CL,cs.LG"}, "settings categories cs.CL,cs.LG"),  # noqa: E501
        ("settings", {"action": "cross-lists", "value": "off"}, "settings cross-lists off"),
        ("settings", {"action": "reset"}, "settings reset"),
        ("likes", {"whose": "channel"}, "likes"),
        ("likes", {"whose": "me"}, "likes me"),
        ("stats", {}, "stats"),
        ("subscribe", {}, "subscribe"),
        ("unsubscribe", {}, "unsubscribe"),
        ("today", {"repost": True}, "today repost"),
        ("criteria", {"action": "list"}, "criteria"),
        ("criteria", {"action": "show", "value": "1"}, "criteria show 1"),
        ("criteria", {"action": "diff", "value": "1 2"}, "criteria diff 1 2"),
        ("settings", {"action": "llm-share", "value": "30% $0.05"}, "settings llm-share 30% $0.05"),
        ("settings", {"action": "learning", "value": "reset"}, "settings learning reset"),
        ("explain", {"paper": "2505.00326", "fresh": True}, "explain 2505.00326 fresh"),
        ("help", {}, "help"),
    ],
)  # fmt: skip
def test_command_options_map_onto_the_grammar(
    sub: str, options: dict[str, object], text: str
) -> None:
    assert render.command_text(sub, options) == text
    assert commands.parse(text).name  # the grammar accepts every mapped command


@pytest.mark.parametrize(
    ("text", "public"),
    [
        ("today", True),
        ("criteria preview", True),
        ("subscribe", True),
        ("settings threshold relevance 7", True),
        ("criteria set New text", True),
        ("explain 2505.00326", False),
        ("likes me", False),
        ("settings", False),
        ("help", False),
        ("nonsense", False),
    ],
)
def test_personal_answers_are_private(text: str, public: bool) -> None:
    assert render.answers_publicly(text) is public


def test_reactions_translate_to_likes_and_ignore_the_bot_and_custom_emoji() -> None:
    def event(user: int, emoji: str, emoji_id: int | None = None, added: bool = True):
        return render.reaction_event(
            user_id=user,
            bot_user_id=10,
            message_id=555,
            emoji_name=emoji,
            emoji_id=emoji_id,
            added=added,
        )

    assert event(20, "👍") == render.ReactionEvent("20", "555", "👍", True)
    assert event(20, "👍", added=False) == render.ReactionEvent("20", "555", "👍", False)
    assert event(10, "👍") is None  # the bot's own reaction on its cards
    assert event(20, "thumbs", emoji_id=99) is None  # a server's custom emoji


def test_explain_ids_match_the_button_template() -> None:
    import re

    custom_id = render.explain_custom_id("2505.00326")
    match = re.fullmatch(render.EXPLAIN_TEMPLATE, custom_id)
    assert match is not None
    assert match["paper_id"] == "2505.00326"
    assert len(render.explain_custom_id("hep-th/9901001")) <= 100


def test_command_signature_ignores_what_discord_adds() -> None:
    local = [
        {
            "name": "arxiv",
            "description": "d",
            "type": 1,
            "nsfw": False,
            "options": [{"type": 1, "name": "today", "description": "t", "options": []}],
        }
    ]
    remote = [
        {
            "id": "1",
            "application_id": "2",
            "version": "3",
            "name": "arxiv",
            "description": "d",
            "default_member_permissions": None,
            "options": [{"type": 1, "name": "today", "description": "t"}],
        }
    ]
    assert render.command_signature(local) == render.command_signature(remote)
    changed = [{**remote[0], "description": "new"}]
    assert render.command_signature(local) != render.command_signature(changed)
    assert render.command_signature(local) != render.command_signature([])


def test_the_invite_asks_for_exactly_the_documented_permissions() -> None:
    assert render.invite_permissions().value == 309237730368
    url = render.invite_url(123)
    assert "client_id=123" in url
    assert "scope=bot+applications.commands" in url
    docs = (Path(__file__).resolve().parents[1] / "docs" / "discord.md").read_text("utf-8")
    assert url.replace("123", "YOUR_APPLICATION_ID") in docs


async def test_the_commands_descriptions_are_translated_where_a_catalog_exists() -> None:
    from discord import Locale, app_commands

    from adapters.discord import CatalogTranslator, arxiv_group

    command = arxiv_group().get_command("unsubscribe")
    assert isinstance(command, app_commands.Command)
    where: app_commands.TranslationContextTypes = app_commands.TranslationContext(
        location=app_commands.TranslationContextLocation.command_description, data=command
    )
    text = app_commands.locale_str("Stop the daily post here")
    translator = CatalogTranslator()
    assert (
        await translator.translate(text, Locale.german, where) == "Den täglichen Post hier beenden"
    )
    assert await translator.translate(text, Locale.chinese, where) == "停止在这里的每日推送"
    assert await translator.translate(text, Locale.american_english, where) is None
    assert await translator.translate(text, Locale.japanese, where) is None  # no catalog yet
    named: app_commands.TranslationContextTypes = app_commands.TranslationContext(
        location=app_commands.TranslationContextLocation.command_name, data=command
    )
    assert await translator.translate(text, Locale.german, named) is None  # names stay
