"""Asking and scoring from a Discord message, on the real discord.py client against the fake
Discord, arXiv and OpenAI: the "Score for this channel" and "Ask about this paper" context
menus, a reply to a card and a mention in a digest's thread."""

from __future__ import annotations

import json
from typing import Any

from adapters.discord import DiscordAdapter
from adapters.discord_papers import ASK_MENU, NO_PAPER, SCORE_MENU, mention_text, question_of
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.discord_server import BOT_ID, CHANNEL_ID, FakeDiscord
from tests.fakes.openai_server import FakeOpenAI
from tests.test_ask import BODY_SENTENCE, HTML
from tests.test_discord import _text_inputs, adapter_log, bot, discord_settings, fake, todays_digest  # noqa: F401  (fixtures)

# the adapter on the fake Discord, as tests/test_discord.py builds it


def test_a_mention_reads_as_ask_and_loses_its_mentions() -> None:
    assert question_of(f"<@{BOT_ID}>  3 which datasets?") == "3 which datasets?"
    assert question_of(f"<@!{BOT_ID}> ask 2505.01234 how?") == "ask 2505.01234 how?"
    assert mention_text("3 which datasets?") == "ask 3 which datasets?"
    assert mention_text("ask 3") == "ask 3"
    assert mention_text("") == "help"


def answers_to(fake: FakeDiscord, token: str) -> list[dict[str, Any]]:
    return [f for f in fake.followups if f["token"] == token]


async def posted_digest(core: Any, fake: FakeDiscord) -> tuple[int, list[dict[str, Any]]]:
    """Run `/arxiv today`; the digest's thread and its cards, once all are posted."""
    await fake.slash_command("today")
    await fake.wait_for(lambda: len(fake.channels) == 2, seconds=20)
    thread_id = next(i for i in fake.channels if i != CHANNEL_ID)
    count = len((await todays_digest(core)).entries)
    await fake.wait_for(lambda: len(fake.bot_messages(thread_id)) == count, seconds=20)
    return thread_id, fake.bot_messages(thread_id)


async def test_score_for_this_channel_scores_a_linked_paper_once_and_answers_privately(
    fake: FakeDiscord, bot: DiscordAdapter, llm: FakeOpenAI, day_feed: list[dict[str, Any]]
) -> None:
    paper = day_feed[0]
    text = f"worth a look? https://arxiv.org/pdf/{paper['id']}v1"
    message = await fake.user_message(CHANNEL_ID, text, mentions_bot=False)
    token = await fake.message_command(SCORE_MENU, message)
    await fake.wait_for(lambda: bool(answers_to(fake, token)), seconds=20)
    (answer,) = answers_to(fake, token)
    assert answer["flags"] & 64  # for the one who asked
    assert f"(arXiv:{paper['id']})" in answer["content"]
    assert "for this channel (criteria version 1)" in answer["content"]
    assert "Relevance **" in answer["content"]
    assert llm.calls == 1
    assert not fake.bot_messages(CHANNEL_ID)  # nothing was said about the message in public

    again = await fake.message_command(SCORE_MENU, message)
    await fake.wait_for(lambda: bool(answers_to(fake, again)))
    assert answers_to(fake, again)[0]["content"] == answer["content"]
    assert llm.calls == 1  # scored once

    plain = await fake.user_message(CHANNEL_ID, "no links here", mentions_bot=False)
    none = await fake.message_command(SCORE_MENU, plain)
    await fake.wait_for(lambda: bool(answers_to(fake, none)))
    assert answers_to(fake, none)[0]["content"] == NO_PAPER


async def test_ask_about_this_paper_opens_a_form_whose_question_is_answered(
    core: Any, fake: FakeDiscord, bot: DiscordAdapter, llm: FakeOpenAI, arxiv: FakeArxiv
) -> None:
    thread_id, cards = await posted_digest(core, fake)
    paper_id = cards[0]["embeds"][0]["url"].rsplit("/", 1)[-1]
    version = (await core.store.papers.get([paper_id]))[paper_id].version
    arxiv.set_document("html", f"{paper_id}v{version}", HTML.encode())
    token = await fake.message_command(ASK_MENU, cards[0], channel_id=thread_id)
    await fake.wait_for(lambda: any(c["token"] == token for c in fake.callbacks))
    (modal,) = [c for c in fake.callbacks if c["token"] == token]
    assert modal["type"] == 9
    (field,) = _text_inputs(modal["data"]["components"])
    submitted = {**field, "value": "Which corpus do they train on?"}
    components = [
        {"type": 18, "component": submitted}
        if "component" in row
        else {"type": 1, "components": [submitted]}
        for row in modal["data"]["components"]
    ]
    submit = await fake.interaction(
        5, {"custom_id": modal["data"]["custom_id"], "components": components}, channel_id=thread_id
    )
    await fake.wait_for(lambda: bool(answers_to(fake, submit)), seconds=20)
    answer = answers_to(fake, submit)[0]
    assert (
        f"(arXiv:{paper_id}v{version}) — Answer, from the paper's HTML full text"
        in (answer["content"])
    )
    assert BODY_SENTENCE in json.dumps(llm.requests[-1]["messages"])


async def test_a_reply_to_a_card_and_a_mention_in_the_thread_are_answered_in_the_thread(
    core: Any, fake: FakeDiscord, bot: DiscordAdapter, llm: FakeOpenAI
) -> None:
    thread_id, cards = await posted_digest(core, fake)
    first = cards[0]["embeds"][0]["url"].rsplit("/", 1)[-1]
    asked = await fake.user_message(
        thread_id, f"<@{BOT_ID}> which datasets do they use?", reply_to=cards[0]
    )
    await fake.wait_for(lambda: len(fake.bot_messages(thread_id)) == len(cards) + 1, seconds=20)
    reply = fake.bot_messages(thread_id)[-1]
    assert str(reply["message_reference"]["message_id"]) == asked["id"]  # a reply to it
    assert f"(arXiv:{first}v" in reply["content"]
    assert "— Answer" in reply["content"]
    assert reply["allowed_mentions"]["parse"] == []

    second = cards[1]["embeds"][0]["url"].rsplit("/", 1)[-1]
    await fake.user_message(thread_id, f"<@{BOT_ID}> 2")
    await fake.wait_for(lambda: len(fake.bot_messages(thread_id)) == len(cards) + 2, seconds=20)
    summary = fake.bot_messages(thread_id)[-1]
    assert f"(arXiv:{second}v" in summary["content"]
    assert "— Summary" in summary["content"]

    await fake.user_message(
        thread_id, "a message that does not mention the bot", mentions_bot=False
    )
    await fake.user_message(thread_id, f"<@{BOT_ID}> ask 2501.99999 what is it?")
    await fake.wait_for(lambda: len(fake.bot_messages(thread_id)) == len(cards) + 3, seconds=20)
    assert "arXiv has no paper arXiv:2501.99999" in fake.bot_messages(thread_id)[-1]["content"]


async def test_ask_about_a_message_without_a_paper_says_so_privately(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    plain = await fake.user_message(CHANNEL_ID, "lunch?", mentions_bot=False)
    token = await fake.message_command(ASK_MENU, plain)
    await fake.wait_for(lambda: any(c["token"] == token for c in fake.callbacks))
    (answer,) = [c for c in fake.callbacks if c["token"] == token]
    assert answer["type"] == 4  # a message, not a form
    assert answer["data"]["content"] == NO_PAPER
    assert answer["data"]["flags"] & 64
