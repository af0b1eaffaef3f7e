"""Replies that must agree with each other, as a user meets them in the console against the fake
arXiv and OpenAI servers: a stored day names the criteria version `today` posted it under, and a
card number means the card of the last digest shown in that channel, for `explain` and reactions
alike."""

from __future__ import annotations

import re
from typing import Any

from tests.fakes.openai_server import FakeOpenAI
from tests.test_conversation import session

DAY = "2025-05-02"


def criteria_version(reply: str) -> str:
    """The "criteria vN" a digest names."""
    found = re.findall(r"criteria v\d+", reply)
    assert found, reply
    return str(found[0])


async def test_day_names_the_criteria_version_today_showed_after_a_revert(
    core: Any, llm: FakeOpenAI
) -> None:
    s = session(core)
    assert criteria_version(await s.say("today")) == "criteria v1"
    await s.say("criteria set Sparse mixture-of-experts models and their routing.")
    assert criteria_version(await s.say("today")) == "criteria v2"
    await s.say("criteria revert 1")
    calls = llm.calls
    today = await s.say("today repost")
    assert criteria_version(today) == "criteria v3"
    assert llm.calls == calls  # the papers were scored under this text already
    assert criteria_version(await s.say(f"day {DAY}")) == "criteria v3"


async def test_explain_takes_a_card_number_from_the_digest_that_person_saw(core: Any) -> None:
    alice, bob = session(core, user="alice"), session(core, user="bob")
    seen = await alice.say("today")
    assert "12 selected" in seen
    await bob.say("settings threshold relevance 10")
    await bob.say("settings threshold novelty 10")
    narrow = await bob.say("today repost")
    assert "12 selected" not in narrow
    # alice's card 12 is a card of the digest she saw, not of the one bob asked for since
    assert "no card" not in await alice.say("explain 12")
    assert "there is no card 12 in the last digest shown to you" in await bob.say("explain 12")
    assert "there is no card 99 in the last digest shown to you (12 papers)" in await alice.say(
        "explain 99"
    )
