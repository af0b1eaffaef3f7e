"""Every user-visible word of a reply goes through the catalogs: each command form of the help,
and some mistyped ones, answered under a pseudo-locale that wraps every translated string in
⟦…⟧; whatever words are left outside the marks escaped translation. Data is allowed outside
them: command usage (the grammar is not translated), backticked commands, ids, links, numbers.

Titles, authors, abstracts and what the (fake) LLM wrote are data too: `data_of` lists the day's,
and `untranslated` takes them out first, whole or cut short as a card shows them. So is the
channel's data a reply shows (`shown_data`: its criteria, their topics, the titles of the papers
it names).

Every command family is wrapped now, so `NOT_YET` is empty; a family that came back to it
would have to show untranslated words, so the list only ever shrinks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest

from bot.conversation import commands
from bot.conversation.criteria_topics import context, topics
from bot.i18n import PSEUDO, using
from tests.fakes.openai_server import QUESTION_ANSWER, fake_tldr, load_labels
from tests.test_conversation import session

NOT_YET: frozenset[str] = frozenset()
MISTYPED = (
    "todya",
    "settings threshold relevance 11",
    "settings time 25:00",
    "settings time 08:00 europe/berlin",
    "settings categories nonsense",
    "settings cross-lists maybe",
    "settings llm-share lots",
    "settings weekly on fryday",
    "settings language dee",
    "settings language xx",
    "help me",
    "settings",
)
_INNER = re.compile(r"⟦[^⟦⟧]*⟧")
_DATA = re.compile(
    r"/arxiv [^⟦\n]*|`[^`]*`|https?://\S+|arXiv:\S+|'[^']*'|ARXIV_BOT_\w+|[A-Z][a-z]+/[A-Za-z_]+"
)
_WORD = re.compile(r"[^\W\d_]{2,}")


_IDS = re.compile(r"(?:arXiv:|/abs/)(\d{4}\.\d{4,5})")

_HEAD = 16  # a data text cut short is recognised by this many characters of its start


def data_of(papers: list[dict[str, Any]], day: str = "2025-05-02") -> list[str]:
    """What the replies of `day` may show untranslated: its papers' texts and the fake LLM's."""
    texts = [QUESTION_ANSWER]
    for p in papers:
        texts += [p["title"], p.get("abstract", ""), p.get("comment") or "", *p["authors"]]
    for label in load_labels(day).values():
        texts += [label["comment"], fake_tldr(label["comment"])]
    flat = {" ".join(t.split()) for t in texts}
    return sorted((t for t in flat if len(t) > 1), key=len, reverse=True)


def without_data(text: str, data: Sequence[str]) -> str:
    """`text` with each data text taken out, whole or as the start a card cut short (`…`)."""
    for item in sorted({d for d in data if d.strip()}, key=len, reverse=True):
        text = text.replace(item, " ")
        at = text.find(item[:_HEAD]) if len(item) > _HEAD else -1
        while at >= 0:
            end = at + _HEAD
            while end < len(text) and end - at < len(item) and text[end] == item[end - at]:
                end += 1
            cut = text[end : end + 1] == "…"
            text = text[:at] + " " + text[end + 1 :] if cut else text
            at = text.find(item[:_HEAD], at + (1 if cut else _HEAD))
    return text


def untranslated(reply: str, data: Sequence[str] = ()) -> list[str]:
    """The words of `reply` outside every ⟦…⟧ that are not data."""
    text = without_data(reply, data)
    while _INNER.search(text):
        text = _INNER.sub(" ", text)
    return _WORD.findall(_DATA.sub(" ", text))


def test_the_checker_sees_a_word_outside_the_marks() -> None:
    assert untranslated("⟦Settings updated:⟧\n⟦categories: cs.LG⟧") == []
    assert untranslated("⟦a ⟦nested⟧ one⟧ `/arxiv help` arXiv:2505.00326 42") == []
    assert untranslated("⟦Settings⟧ updated") == ["updated"]
    assert untranslated("1. A Long Paper Title Here\n⟦more⟧", ["A Long Paper Title Here"]) == []
    cut = "1. A Long Paper Title H…\n⟦more⟧"
    assert untranslated(cut, ["A Long Paper Title Here"]) == []
    assert untranslated("A Long Paper Title H… and more", ["A Long Paper Title Here"]) == [
        "and",
        "more",
    ]
    assert untranslated("⟦Topics:⟧\n1. Sparse models\nmore", ["Sparse models"]) == ["more"]


async def shown_data(core: Any, reply: str, channel: str = "team-a") -> list[str]:
    """What of the channel's data a reply may show: every version of its criteria, line by line
    and as topics, and the titles of the papers it names."""
    data: list[str] = []
    for version in await core.store.channels.criteria_history(channel):
        text = version.criteria.text
        data += [line.strip() for line in text.splitlines()]
        data += [t.label for t in (*context(text), *topics(text))]
    papers = await core.store.papers.get(sorted(set(_IDS.findall(reply))))
    return data + [p.title for p in papers.values()]


EXAMPLES = [(s.name, e) for s in commands.COMMANDS for e in s.examples]


@pytest.mark.parametrize(("name", "example"), EXAMPLES, ids=[e for _, e in EXAMPLES])
async def test_every_command_form_answers_in_translated_words(
    core: Any, day_feed: list[dict[str, Any]], name: str, example: str
) -> None:
    s = session(core)
    with using(PSEUDO):
        reply = await s.say(example)
    if name == "settings language":  # a new language answers in itself, not in the reader's
        said = {"de": "Einstellungen geändert:", "zh_CN": "设置已更新：", "en": "Settings updated:"}
        assert said[example.split()[-1]] in reply
        return
    left = untranslated(reply, data_of(day_feed) + await shown_data(core, reply))
    if name in NOT_YET:
        assert left, f"`{example}` is translated now: take {name!r} off NOT_YET"
    else:
        assert not left, f"`{example}` shows untranslated words {left[:8]}:\n{reply}"


@pytest.mark.parametrize("line", MISTYPED)
async def test_mistakes_are_answered_in_translated_words(core: Any, line: str) -> None:
    with using(PSEUDO):
        reply = await session(core).say(line)
    assert reply.strip()
    assert not untranslated(reply), reply


AFTER_TODAY = (
    "today",
    "today repost",
    "explain 3",
    "explain 2505.00326 fresh",
    "explain 2505.00040",
    "ask 3 which datasets do they use?",
    "ask 2505.00326",
    "search sparse autoencoders",
    "search xylophone",
    "similar 3",
    "similar 2505.00326",
    "day 2025-05-02",
    "day 2025-05-01",
    "day tomorrow",
    "more",
    "more all",
    "more",
    "stats",
)


async def test_a_day_of_digest_and_reading_answers_in_translated_words(
    core: Any, day_feed: list[dict[str, Any]]
) -> None:
    """With a digest posted, its cards, the papers' explanations, answers, searches, similar
    papers, a past day and the stats all answer in translated words around the data."""
    s = session(core)
    data = data_of(day_feed)
    for n, line in enumerate(AFTER_TODAY):
        if n % 4 == 3:  # a few people, so no one reaches the rate limits
            await s.say(f":user reader{n}")
        with using(PSEUDO):
            reply = await s.say(line)
        assert reply.strip(), line
        assert not untranslated(reply, data), f"`{line}`:\n{reply}"
