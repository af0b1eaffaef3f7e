"""Every user-visible word of a reply goes through the catalogs: each command form of the help,
and some mistyped ones, answered under a pseudo-locale that wraps every translated string in
⟦…⟧; whatever words are left outside the marks escaped translation. Data is allowed outside
them: command usage (the grammar is not translated), backticked commands, ids, links, numbers.

Titles, authors, abstracts and what the (fake) LLM wrote are data too: `data_of` lists the day's,
and `untranslated` takes them out first, whole or cut short as a card shows them. So is the
channel's data a reply shows (`shown_data`: its criteria, their topics, the titles of the papers
it names).

The platforms' own surfaces are rendered under the pseudo-locale too: the Slack Home tab, every
Slack form (criteria, settings, Ask, Zotero key), unfurls with and without scores, a settings
form's refusals and Discord's forms; Slack markup (mentions, `<url|linked data>`) is data.

Every command family is wrapped now, so `NOT_YET` is empty; a family that came back to it
would have to show untranslated words, so the list only ever shrinks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, time
from typing import Any

import pytest

from adapters.discord import CriteriaModal
from adapters.discord_forms import SettingsModal, refusal_text
from adapters.slack_home import home_view
from adapters.slack_modals import (
    ViewAbout,
    ask_modal,
    criteria_modal,
    settings_modal,
    zotero_key_view,
)
from adapters.slack_unfurl import unfurls
from bot.config.channels import ChannelSettings
from bot.config.settings_form import FormErrors, form_change, form_values
from bot.conversation import commands
from bot.conversation.criteria_topics import context, topics
from bot.conversation.home import Home, HomeChannel, HomeLike
from bot.conversation.unfurl import SPENT, LinkView, LinkViews
from bot.i18n import PSEUDO, _, day, using
from bot.models import DigestEntry, Follow, Paper, Score, Thresholds
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


# -- the Slack and Discord surfaces: the Home tab, forms, unfurls ------------------------------

_SLACK_MARKUP = re.compile(r"<[#@!][^>]*>|<[^|>]*\|[^>]*>")  # mentions, `<url|linked data>`
SURFACE_PAPER = Paper(
    "2505.00326", "Sparse Experts at Scale", "We route tokens.", ("Jane Doe", "Wei Zhang")
)
SURFACE_SCORE = Score("2505.00326", 8, 7, "Routes tokens sparsely, as the criteria ask.")
SURFACE_DATA = [
    SURFACE_PAPER.title,
    SURFACE_PAPER.abstract,
    *SURFACE_PAPER.authors,
    SURFACE_SCORE.comment,
    "Sparse models",
    "Jane Doe",
    "cs.LG",
    "user:123 collection ABCD",
]


def view_texts(view: Any) -> list[str]:
    """Every text a Block Kit view (or part of one) shows: titles, labels, placeholders,
    buttons, option texts, mrkdwn; ids, values and metadata are not shown."""
    if isinstance(view, dict):
        found = [view["text"]] if isinstance(view.get("text"), str) else []
        for key, value in view.items():
            if key not in ("text", "initial_value", "value", "private_metadata", "url"):
                found += view_texts(value)
        return found
    if isinstance(view, list):
        return [t for item in view for t in view_texts(item)]
    return []


def left_in_view(view: Any) -> list[str]:
    """The words of a view outside every ⟦…⟧ that are not data (a date as Babel writes it is)."""
    with using(PSEUDO):
        data = [*SURFACE_DATA, day(date(2025, 5, 2))]
    return [
        word
        for text in view_texts(view)
        for word in untranslated(_SLACK_MARKUP.sub(" ", text), data)
    ]


def _surface_home(liked: bool) -> Home:
    settings = ChannelSettings(("cs.LG",), Thresholds(8, 7), True, time(8, 30), "Europe/Berlin")
    channel = HomeChannel(
        "T0:C0TEAM",
        True,
        3,
        tuple(["Sparse models"] * 14),
        settings,
        (Follow("author", "Jane Doe"),) * 12,
        date(2025, 5, 2),
        (DigestEntry(SURFACE_PAPER, SURFACE_SCORE),),
        1,
    )
    unsubscribed = HomeChannel("T0:C0NONE", False, 1, (), settings, (), None, (), 0, built=False)
    likes = (HomeLike("T0:C0TEAM", SURFACE_PAPER, "2025-05-02T08:00:00"),) if liked else ()
    return Home("U0ALICE", (channel, unsubscribed), 3, likes)


@pytest.mark.parametrize("liked", [True, False])
def test_the_home_tab_shows_translated_words_only(liked: bool) -> None:
    with using(PSEUDO):
        view = home_view(_surface_home(liked), lambda key: key)
        empty = home_view(Home("U0BOB", (), 0, ()), lambda key: key)
    assert left_in_view(view) == []
    assert left_in_view(empty) == []


def test_the_slack_forms_show_translated_words_only() -> None:
    values = form_values(ChannelSettings(("cs.LG",), Thresholds(8, 7), True, time(8, 30), "UTC"))
    with using(PSEUDO):
        forms = [
            criteria_modal("T0:C0TEAM", "Sparse models\n" + "x" * 4_000, 3),
            criteria_modal("T0:C0TEAM", "Sparse models", 1),
            settings_modal("<#C0TEAM>", "T0:C0TEAM", values),
            ask_modal(ViewAbout("T0:C0TEAM", "2505.00326", "1.2")),
            zotero_key_view("user:123 collection ABCD", "C0TEAM"),
        ]
    for form in forms:
        assert left_in_view(form) == [], form["callback_id"]


def test_unfurls_show_translated_words_only() -> None:
    views = LinkViews(
        (
            LinkView(SURFACE_PAPER.id, SURFACE_PAPER, SURFACE_SCORE),
            LinkView("2505.00327", replace(SURFACE_PAPER, id="2505.00327")),
            LinkView("2501.99999", None),
        ),
        2,
        "",
    )
    urls = {f"https://arxiv.org/abs/{v.paper_id}": v.paper_id for v in views.views}
    with using(PSEUDO):
        shown = unfurls(urls, replace(views, note=_(SPENT)))
    assert left_in_view(list(shown.values())) == []


async def _no_submit(*_: Any) -> None:
    return None


async def test_form_refusals_and_discords_forms_show_translated_words_only() -> None:
    current = ChannelSettings(("cs.LG",), Thresholds(8, 7), True, time(8, 30), "UTC")
    with using(PSEUDO):
        with pytest.raises(FormErrors) as refused:
            form_change({"thresholds": "9 eleven", "categories": " "}, current)
        text = refusal_text(refused.value.errors)
        modal = SettingsModal({}, _no_submit, _no_submit)
        criteria = CriteriaModal()
    assert untranslated(text) == []
    shown = [modal.title, criteria.title, *_labels(modal.to_components())]
    shown += _labels(criteria.to_components())
    assert len(shown) == 2 + 2 * 5 + 1  # titles, five labels and placeholders, one label
    # a label clipped to Discord's 45 characters loses its closing mark, not a word
    closed = [t + "⟧" if t.endswith("…") and t.startswith("⟦") else t for t in shown]
    assert [w for t in closed for w in untranslated(t)] == []


def _labels(component: Any) -> list[str]:
    """The labels and placeholders of a Discord modal's components."""
    if isinstance(component, dict):
        found = [str(component[k]) for k in ("label", "placeholder") if component.get(k)]
        return found + [t for v in component.values() for t in _labels(v)]
    if isinstance(component, list):
        return [t for item in component for t in _labels(item)]
    return []
