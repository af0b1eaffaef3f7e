"""A channel's language, as a team sees it: `settings language de` makes the LLM write the
cards' reasons, their TL;DRs and `explain` in German while the scores stay as they were, and a
code that is not a language is refused with the closest one."""

from __future__ import annotations

import io
from typing import Any

from scoring.prompt import language_line
from tests.fakes.openai_server import FakeOpenAI
from tests.test_conversation import session

GERMAN_LINE = "Write every comment and tldr in German (de)."


def scoring_systems(llm: FakeOpenAI) -> list[str]:
    """The system message of every scoring request so far (those that list paper ids)."""
    return [
        str(r["messages"][0]["content"])
        for r in llm.requests
        if "ARXIVID:" in str(r["messages"][-1]["content"])
    ]


async def test_a_typo_is_refused_with_the_closest_code_and_changes_nothing(core: Any) -> None:
    s = session(core)
    assert "'dee' is not a language code; did you mean de?" in await s.say("settings language dee")
    assert "'xx' is not a language code (e.g. de, fr, ja, zh_CN)" in await s.say(
        "settings language xx"
    )
    assert "language: en" in await s.say("settings")
    assert "语言：zh_CN" in await s.say("settings language zh-cn")  # answered in itself
    assert "Sprache: de" in await s.say("settings language de")
    assert "'xx' ist kein Sprachcode" in await s.say("settings language xx")


async def test_a_german_channel_gets_german_text_and_the_same_scores(
    core: Any, llm: FakeOpenAI
) -> None:
    english = await session(core, channel="team-en").say("today")
    english_systems = scoring_systems(llm)
    assert english_systems
    assert not any("## Language" in m for m in english_systems)
    calls = llm.calls

    s = session(core, channel="team-de")
    await s.say("settings language de")
    german = await s.say("today")
    german_systems = scoring_systems(llm)[len(english_systems) :]
    assert llm.calls > calls  # the written text differs, so German is asked for, not reused
    assert german_systems
    assert all(GERMAN_LINE in m for m in german_systems)
    # the relevance and novelty request is the English one plus the language line, nothing else
    assert {m.removesuffix(language_line("de")) for m in german_systems} <= set(english_systems)

    def scores(out: str) -> list[str]:
        return [
            line.split(" · https")[0].replace("Relevanz", "relevance").replace("Neuheit", "novelty")
            for line in out.splitlines()
            if line.strip().startswith("arXiv:")
        ]

    assert scores(german) == scores(english)
    assert "TL;DR: [de] " in german  # the fake model tags what it wrote in the asked language
    assert "arXiv-Digest vom 2025-05-02: 12 ausgewählt von 206 angekündigten" in german
    assert "Relevanz 9 · Neuheit 8" in german
    assert "TL;DR: [de]" not in english

    calls = llm.calls
    await session(core, channel="team-de2").say("settings language de")
    await session(core, channel="team-de2").say("today")
    assert llm.calls == calls  # a second German channel with the same criteria pays nothing


async def test_explain_and_ask_are_asked_in_the_channel_language(
    core: Any, llm: FakeOpenAI
) -> None:
    s = session(core)
    await s.say("settings language de")
    await s.say("today")
    await s.say("explain 1")
    assert str(llm.requests[-1]["messages"][0]["content"]).endswith(
        "Write your reply in German (de)."
    )


def test_ask_asks_in_the_channel_language_and_keys_its_answer_by_it() -> None:
    from bot.conversation.ask_commands import answer_key
    from bot.models import Section
    from scoring.ask import ask_messages

    sections = [Section("1", "Intro", "text")]
    german = ask_messages("T", sections, "", [], "criteria", "de")
    english = ask_messages("T", sections, "", [], "criteria")
    assert str(german[0]["content"]).endswith("Write your reply in German (de).")
    assert german[1:] == english[1:]
    assert answer_key("1", 1, 1, "m", "q", "de") != answer_key("1", 1, 1, "m", "q")


def test_every_catalog_compiles_complete_with_the_same_fields() -> None:
    import re

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    from bot.i18n import LOCALE_DIR

    with (LOCALE_DIR / "bot.pot").open("rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    fields = re.compile(r"\{\w+\}")
    for code in ("de", "zh_CN"):
        with (LOCALE_DIR / code / "LC_MESSAGES" / "bot.po").open("rb") as f:
            catalog = read_po(f)
        done = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
        assert set(done) == wanted, (code, sorted(wanted - set(done))[:5])
        for msgid, text in done.items():
            # every plural form names the fields the plural names (Chinese has one form)
            said = sorted(fields.findall(msgid if isinstance(msgid, str) else msgid[-1]))
            for form in (text,) if isinstance(text, str) else text:
                assert sorted(fields.findall(form)) == said, (code, msgid)
        write_mo(io.BytesIO(), catalog)  # what the bot does at first use
