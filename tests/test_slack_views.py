"""The Home tab and the modals on Slack: the real AsyncApp and AsyncWebClient against FakeSlack
in HTTP mode (signed requests), the core on the fake arXiv and OpenAI servers. Opening the Home
tab publishes that person's page, valid by slack_sdk's view models; `criteria edit` and
`settings edit` open forms whose submission changes the channel as the commands do, and whose
refusals stay in the form; a card's Ask button opens a question form answered in the thread."""

from __future__ import annotations

import asyncio
import json
from datetime import date, time
from typing import Any

from adapters.slack import SlackAdapter
from adapters.slack_home import MAX_VIEW_BLOCKS, home_view
from adapters.slack_modals import criteria_parts
from bot.config.channels import ChannelSettings
from bot.conversation.dispatch import Caller
from bot.conversation.home import Home, HomeChannel
from bot.models import Follow, Thresholds
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.block_kit import view_problems
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack_server import (
    FakeSlack,
    ShownView,
    action_form,
    button_action,
    home_opened_event,
    reaction_event,
    view_submission,
)
from tests.test_ask import BODY_SENTENCE, HTML
from tests.test_slack import (  # noqa: F401  (fixtures)
    CHANNEL,
    DAY,
    adapter,
    command,
    core,
    event,
    fake_time,
    post_today,
    send,
    slack,
)

# the Slack adapter on the fake Slack, as tests/test_slack.py builds it


async def interact(adapter: SlackAdapter, payload: dict[str, Any]) -> tuple[int, str]:
    """Send an interaction as Slack does (signed form); the status and the body of the ack."""
    response = await send(adapter, action_form(payload))
    return response.status, (await response.text())


def all_text(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


async def opened(slack: FakeSlack, count: int = 1) -> ShownView:
    await slack.wait_until(lambda: len(slack.views_of("views.open")) >= count)
    return slack.views_of("views.open")[-1]


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}


# -- the Home tab --


async def test_opening_the_home_tab_publishes_that_persons_page(
    adapter: SlackAdapter, slack: FakeSlack, core: Any
) -> None:
    _parent_ts, cards = await post_today(adapter, slack)
    await core.conversation.handle(_caller(), "follow author Jane Doe", _ignore)
    assert await event(adapter, reaction_event("reaction_added", "+1", cards[0])) == 200
    liked = slack.channel_messages(CHANNEL)[1].blocks[0]["text"]["text"]
    await _until(lambda: _likes(core))

    assert await event(adapter, home_opened_event("U0ALICE")) == 200
    await slack.wait_until(lambda: bool(slack.views_of("views.publish")))
    (published,) = slack.views_of("views.publish")
    assert published.user_id == "U0ALICE"
    view = published.view
    assert view["type"] == "home"
    assert view_problems(view) == []
    assert len(view["blocks"]) <= MAX_VIEW_BLOCKS
    text = all_text(view)
    assert f"<#{CHANNEL}>" in text
    assert "subscribed" in text
    assert "*Criteria v1*" in text
    assert "relevance ≥ 8, novelty ≥ 7" in text
    assert "Following: author Jane Doe" in text
    assert "*Top papers of May 2, 2025* (12 selected)" in text  # the day as the locale writes it
    first_title = liked.split("|", 1)[1].split(">", 1)[0]
    likes_part = json.dumps(view["blocks"][-1], ensure_ascii=False)
    assert first_title in likes_part  # under "Your likes"
    buttons = [
        e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons == ["arxiv_home_criteria", "arxiv_home_settings"]

    messages_tab = home_opened_event("U0ALICE", event_id="EvMsgs", tab="messages")
    assert await event(adapter, messages_tab) == 200
    assert await event(adapter, home_opened_event("U0BOB", event_id="EvHome2")) == 200
    await slack.wait_until(lambda: len(slack.views_of("views.publish")) == 2)
    bob = slack.views_of("views.publish")[1]
    assert bob.user_id == "U0BOB"
    assert "Nothing liked yet" in all_text(bob.view)  # Alice's like is hers only
    assert [v.user_id for v in slack.views_of("views.publish")] == ["U0ALICE", "U0BOB"]


async def _ignore(_: Any) -> None:
    return None


async def _likes(core: Any) -> bool:
    return bool(await core.store.likes.recent(CHANNEL, "U0ALICE", 5))


async def _until(check: Any) -> None:
    for _ in range(300):
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never happened")


def test_a_home_page_with_many_channels_stays_within_100_blocks_and_counts_the_rest() -> None:
    settings = ChannelSettings(("cs.LG",), Thresholds(8, 7), False, time(8, 30), "UTC")
    channels = tuple(
        HomeChannel(
            f"C{n:04d}",
            True,
            3,
            tuple(f"topic {t} " + "x" * 150 for t in range(30)),
            settings,
            (Follow("author", "Jane Doe"),),
            date(2025, 5, 2),
            (),
            0,
        )
        for n in range(12)
    )
    view = home_view(Home("U0ALICE", channels, 40, ()), lambda key: key)
    assert view_problems(view) == []
    assert len(view["blocks"]) <= MAX_VIEW_BLOCKS
    shown = sum(1 for b in view["blocks"] if b["type"] == "divider")
    assert f"…and {12 - shown + 40} more channels" in all_text(view)


# -- the criteria form --


def test_criteria_longer_than_one_input_are_split_at_line_ends_and_joined_back() -> None:
    text = "\n".join(f"- topic {n}: " + "w" * 90 for n in range(100))  # 10,000 characters
    parts = criteria_parts(text)
    assert len(parts) == 4
    assert all(len(p) <= 3_000 for p in parts)
    assert all(p.startswith("- topic") for p in parts)  # whole lines
    assert "\n".join(parts) == text
    one_line = "x" * 7_000  # a line no input holds is cut where it must be
    assert [len(p) for p in criteria_parts(one_line)] == [3_000, 3_000, 1_000]


async def test_criteria_edit_opens_a_form_whose_submission_becomes_the_criteria(
    adapter: SlackAdapter, slack: FakeSlack, core: Any
) -> None:
    before, version = await core.conversation.criteria_form(_caller())
    assert await command(adapter, slack, "criteria edit") == 200
    shown = await opened(slack)
    assert shown.trigger_id == "1.2.3"
    fields = inputs(shown.view)
    # the default criteria are longer than one Slack input holds: split, plus a spare part
    assert len(fields) == len(criteria_parts(before)) + 1 >= 3
    typed = "\n".join(f.get("initial_value", "") for f in fields.values()).rstrip("\n")
    assert typed == before.rstrip("\n")

    new = "Sparse mixture-of-experts routing.\nPost-training quantization of LLMs."
    parts = dict.fromkeys(fields, "")
    parts["criteria_0"] = new
    status, body = await interact(adapter, view_submission(shown, parts))
    assert (status, body) == (200, "")  # the form closes
    current, now = await core.conversation.criteria_form(_caller())
    assert current == new + "\n"
    assert now == version + 1
    audit = await core.store.channels.last_event(CHANNEL, ["criteria set"])
    assert audit is not None
    assert audit.user_id == "U0ALICE"
    await slack.wait_until(lambda: bool(slack.channel_messages(CHANNEL)))
    (said,) = slack.channel_messages(CHANNEL)
    assert f"Criteria updated to version {version + 1} by U0ALICE" in said.text
    assert "criteria preview" in said.text


async def test_a_too_long_criteria_submission_is_refused_in_the_form(
    adapter: SlackAdapter, slack: FakeSlack, core: Any
) -> None:
    before = await core.conversation.criteria_form(_caller())
    assert await command(adapter, slack, "criteria edit") == 200
    shown = await opened(slack)
    parts = dict.fromkeys(inputs(shown.view), "y" * 3000)
    parts |= {f"criteria_{n}": "z" * 3_000 for n in range(len(parts), 8)}
    shown = ShownView(
        shown.method,
        {**shown.view, "blocks": shown.view["blocks"] + _spare_inputs(len(inputs(shown.view)))},
        view_id=shown.view_id,
    )
    status, body = await interact(adapter, view_submission(shown, parts))
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == ["criteria_0"]
    assert "the limit is 20,000" in answer["errors"]["criteria_0"]
    assert await core.conversation.criteria_form(_caller()) == before
    assert slack.channel_messages(CHANNEL) == []
    assert slack.ephemeral() == []


def _spare_inputs(start: int) -> list[dict[str, Any]]:
    """More criteria inputs than the form showed (someone pasting 24,000 characters)."""
    return [
        {
            "type": "input",
            "block_id": f"criteria_{n}",
            "label": {"type": "plain_text", "text": "more"},
            "optional": True,
            "element": {"type": "plain_text_input", "action_id": "value", "multiline": True},
        }
        for n in range(start, 8)
    ]


def _caller() -> Caller:
    return Caller("slack", CHANNEL, "U0ALICE")


# -- the settings form --


async def test_the_settings_form_shows_refusals_by_field_then_changes_what_was_changed(
    adapter: SlackAdapter, slack: FakeSlack, core: Any
) -> None:
    assert await command(adapter, slack, "settings edit") == 200
    shown = await opened(slack)
    fields = inputs(shown.view)
    assert fields["setting_thresholds"]["initial_value"] == "8 7"
    assert fields["setting_learning"]["initial_option"]["value"] == "on"

    bad = {"setting_time": "09:15 Europe/Berln", "setting_thresholds": "9 eleven"}
    status, body = await interact(adapter, view_submission(shown, bad))
    answer = json.loads(body)
    assert status == 200
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"setting_time", "setting_thresholds"}
    assert "unknown time zone 'Europe/Berln'" in answer["errors"]["setting_time"]
    settings = await core.conversation.channel_settings(CHANNEL, "slack")
    assert settings.thresholds == Thresholds(8, 7)  # nothing changed

    good = {
        "setting_time": "09:15 Europe/Berlin",
        "setting_thresholds": "9 6",
        "setting_learning": "off",
    }
    status, body = await interact(adapter, view_submission(shown, good))
    assert (status, body) == (200, "")
    settings = await core.conversation.channel_settings(CHANNEL, "slack")
    assert settings.thresholds == Thresholds(9, 6)
    assert (settings.post_time, settings.timezone) == (time(9, 15), "Europe/Berlin")
    assert settings.learning is False
    assert settings.categories == ("cs.LG", "cs.AI")  # left as it was
    await slack.wait_until(lambda: bool(slack.channel_messages(CHANNEL)))
    assert slack.channel_messages(CHANNEL)[0].text.startswith("Settings updated")


async def test_the_home_tabs_buttons_open_the_forms_of_their_channel(
    adapter: SlackAdapter, slack: FakeSlack
) -> None:
    await post_today(adapter, slack)
    status, _ = await interact(adapter, button_action("arxiv_home_settings", CHANNEL))
    assert status == 200
    shown = await opened(slack)
    assert shown.view["callback_id"] == "arxiv_settings_form"
    assert shown.trigger_id == "2.3.4"
    assert json.loads(shown.view["private_metadata"])["c"] == CHANNEL
    status, _ = await interact(adapter, button_action("arxiv_home_criteria", CHANNEL))
    assert (await opened(slack, 2)).view["callback_id"] == "arxiv_criteria_form"


# -- the Ask button --


async def test_the_ask_button_opens_a_question_form_answered_in_the_thread(
    adapter: SlackAdapter, slack: FakeSlack, core: Any, arxiv: FakeArxiv, llm: FakeOpenAI
) -> None:
    parent_ts, cards = await post_today(adapter, slack)
    card = slack.channel_messages(CHANNEL)[1]
    ask = card.blocks[-1]["elements"][1]
    assert ask["text"]["text"] == "Ask"
    paper_id = ask["value"]
    paper = (await core.store.papers.get([paper_id]))[paper_id]
    arxiv.set_document("html", f"{paper_id}v{paper.version}", HTML.encode())

    click = button_action(
        "arxiv_ask", paper_id, channel=CHANNEL, message_ts=cards[0], thread_ts=parent_ts
    )
    status, _ = await interact(adapter, click)
    assert status == 200
    shown = await opened(slack)
    assert shown.view["callback_id"] == "arxiv_ask_form"
    assert f"arXiv:{paper_id}" in all_text(shown.view)

    posted = len(slack.channel_messages(CHANNEL))
    question = {"question": "which corpus do they train on?"}
    status, body = await interact(adapter, view_submission(shown, question))
    assert (status, body) == (200, "")
    await slack.wait_until(lambda: len(slack.channel_messages(CHANNEL)) == posted + 1, within=10)
    answer = slack.channel_messages(CHANNEL)[-1]
    assert answer.thread_ts == parent_ts
    head = answer.blocks[0]["elements"][0]["text"]
    assert head == "<@U0ALICE> asked “which corpus do they train on?”"
    assert f"(arXiv:{paper_id}v{paper.version})" in answer.text
    assert BODY_SENTENCE in json.dumps(llm.requests[-1]["messages"])


async def test_a_signed_submission_of_a_form_not_ours_changes_nothing(
    adapter: SlackAdapter, slack: FakeSlack, core: Any
) -> None:
    before = await core.conversation.criteria_form(_caller())
    forged = ShownView(
        "views.open",
        {
            "type": "modal",
            "callback_id": "arxiv_criteria_form",
            "title": {"type": "plain_text", "text": "Edit criteria"},
            "private_metadata": "not json",
            "blocks": [],
        },
        view_id="VX",
    )
    status, body = await interact(adapter, view_submission(forged, {}))
    assert (status, body) == (200, "")
    assert await core.conversation.criteria_form(_caller()) == before
