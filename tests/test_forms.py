"""The forms and the home page in the platform-free core: a submitted criteria or settings form
goes through the guards its command has (admins only, the edit limits, given back for refused
input) and returns what it refuses instead of replying it; a home page shows only the channels
of the asker's workspace (on the asker's platform) that the bot posts to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from bot.__main__ import open_core
from bot.conversation.dispatch import CRITERIA_FIELD, Caller, Reply
from bot.models import Thresholds
from bot.store import Store

CHANNEL = "C0FORMS"


@pytest.fixture
async def guarded(make_settings: Any) -> AsyncIterator[Any]:
    settings = make_settings(ARXIV_BOT_ADMINS="U0BOSS", ARXIV_BOT_EDIT_LIMIT_USER="2/min")
    async with open_core(settings) as c:
        yield c


def boss() -> Caller:
    return Caller("slack", CHANNEL, "U0BOSS")


class Said:
    def __init__(self) -> None:
        self.replies: list[Reply] = []

    async def __call__(self, reply: Reply) -> None:
        self.replies.append(reply)


async def test_only_admins_may_submit_the_forms_and_the_refusal_is_returned(guarded: Any) -> None:
    said = Said()
    alice = Caller("slack", CHANNEL, "U0ALICE")
    refused = await guarded.conversation.submit_criteria(alice, "Protein design.", said)
    assert list(refused) == [CRITERIA_FIELD]
    assert "this bot's ARXIV_BOT_ADMINS lists may change" in refused[CRITERIA_FIELD]
    refused = await guarded.conversation.submit_settings(alice, {"thresholds": "9 6"}, said)
    assert list(refused) == [""]  # no field's: the form shows it on its first
    assert said.replies == []  # nothing was said in the channel
    settings = await guarded.conversation.channel_settings(CHANNEL, "slack")
    assert settings.thresholds == Thresholds(8, 7)


async def test_refused_input_does_not_count_against_the_edit_limit(guarded: Any) -> None:
    said = Said()
    for _ in range(3):  # over the limit of 2 if refusals counted
        refused = await guarded.conversation.submit_settings(boss(), {"time": "25:99"}, said)
        assert set(refused) == {"time"}
    assert await guarded.conversation.submit_criteria(boss(), "Protein design.", said) == {}
    assert said.replies[-1].text.startswith("Criteria updated to version 2 by U0BOSS")
    assert said.replies[-1].ephemeral is False
    assert await guarded.conversation.submit_settings(boss(), {"thresholds": "9 6"}, said) == {}
    third = await guarded.conversation.submit_settings(boss(), {"thresholds": "9 5"}, said)
    assert "Slow down a little" in third[""]


async def test_the_home_page_holds_the_channels_of_the_askers_workspace_only(core: Any) -> None:
    store = core.store
    for channel in ("T1:C1", "T1:C2", "T2:C9"):
        await store.channels.get(channel, "slack")
        await store.channels.set_subscribed(channel, True)
    await store.channels.get("T1:CQUIET", "slack")  # the bot never posted there
    await store.channels.get("T1:CDISCORD", "discord")
    await store.channels.set_subscribed("T1:CDISCORD", True)
    home = await core.conversation.home("slack", "U0ALICE", lambda key: key.startswith("T1:"))
    assert [c.channel_id for c in home.channels] == ["T1:C1", "T1:C2"]
    assert home.more_channels == 0
    assert home.likes == ()


async def test_the_channels_posted_to_are_the_subscribed_and_those_shown_a_digest(
    database: str,
) -> None:
    async with Store.open(database) as store:
        for channel, platform in (("C1", "slack"), ("C2", "slack"), ("C3", "slack"), ("D1", "x")):
            await store.channels.get(channel, platform)
        await store.channels.set_subscribed("C1", True)
        await store.digests.record_posted("C2", date(2025, 5, 2), "parent", "1700000000.1")
        await store.digests.record_posted("D1", date(2025, 5, 2), "parent", "42")
        rows = await store.channels.posted_to("slack")
    assert [(r.id, r.subscribed) for r in rows] == [("C1", True), ("C2", False)]
