"""Every user-visible word of a reply goes through the catalogs: each command form of the help,
and some mistyped ones, answered under a pseudo-locale that wraps every translated string in
⟦…⟧; whatever words are left outside the marks escaped translation. Data is allowed outside
them: command usage (the grammar is not translated), backticked commands, ids, links, numbers.

Data shown in a reply (the channel's criteria, their topics, the titles of the papers it names)
is taken out before the words are read.

The command families whose replies are not wrapped yet are listed in `NOT_YET`; the test also
fails when one of them is fully translated, so the list only ever shrinks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest

from bot.conversation import commands
from bot.conversation.criteria_topics import context, topics
from bot.i18n import PSEUDO, using
from tests.test_conversation import session

NOT_YET = frozenset(
    {
        "today",
        "today repost",
        "explain",
        "ask",
        "search",
        "day",
        "similar",
        "stats",
    }
)
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


def untranslated(reply: str, data: Sequence[str] = ()) -> list[str]:
    """The words of `reply` outside every ⟦…⟧ that are not data (`data`: strings of it)."""
    text = reply
    for piece in sorted({d for d in data if d.strip()}, key=len, reverse=True):
        text = text.replace(piece, " ")
    while _INNER.search(text):
        text = _INNER.sub(" ", text)
    return _WORD.findall(_DATA.sub(" ", text))


def test_the_checker_sees_a_word_outside_the_marks() -> None:
    assert untranslated("⟦Settings updated:⟧\n⟦categories: cs.LG⟧") == []
    assert untranslated("⟦a ⟦nested⟧ one⟧ `/arxiv help` arXiv:2505.00326 42") == []
    assert untranslated("⟦Settings⟧ updated") == ["updated"]
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
    core: Any, name: str, example: str
) -> None:
    s = session(core)
    with using(PSEUDO):
        reply = await s.say(example)
    if name == "settings language":  # a new language answers in itself, not in the reader's
        said = {"de": "Einstellungen geändert:", "zh_CN": "设置已更新：", "en": "Settings updated:"}
        assert said[example.split()[-1]] in reply
        return
    left = untranslated(reply, await shown_data(core, reply))
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
