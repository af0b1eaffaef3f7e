"""Wording a daily user reads, in the console against the fakes: counts of one are singular
("1 like", "1 topic", "the last stored day")."""

from __future__ import annotations

from typing import Any

from bot.conversation.reactions import reaction_verb
from tests.test_conversation import session


async def test_one_like_one_stored_day_and_one_topic_are_singular(core: Any) -> None:
    s = session(core)
    await s.say("today")
    await s.say(":react 1 👍")
    stats = await s.say("stats")
    assert "1 like;" in stats
    assert "1 likes" not in stats
    similar = await s.say("similar 2")
    assert "the last stored day (" in similar
    await s.say("criteria set Sparse mixture-of-experts models.")
    history = await s.say("criteria history")
    assert "rewritten: 1 topic\n" in history


def test_a_thumbs_down_is_logged_as_a_dislike_not_a_like() -> None:
    assert reaction_verb("👎", True) == "disliked"
    assert reaction_verb("👎", False) == "undisliked"
    assert reaction_verb("👍", True) == "liked"


async def test_a_time_zone_in_small_letters_gets_a_did_you_mean(core: Any) -> None:
    s = session(core)
    reply = await s.say("settings time 09:00 europe/berlin")
    assert "unknown time zone 'europe/berlin'; did you mean Europe/Berlin?" in reply
    assert "did you mean America/New_York?" in await s.say("settings time 09:00 america/new_york")
    assert "use an IANA name" in await s.say("settings time 09:00 Mars/Olympus")
    assert "09:00 Europe/Berlin" in await s.say("settings time 09:00 Europe/Berlin")


async def test_extra_words_after_a_command_that_takes_none_are_what_the_reply_blames(
    core: Any,
) -> None:
    s = session(core)
    reply = await s.say("today extra words")
    assert reply.startswith("`today` takes no 'extra words'")
    assert "unknown command" not in reply
    assert "takes nothing after it, not 'please'" in await s.say("help please")
