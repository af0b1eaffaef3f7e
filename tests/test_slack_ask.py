"""`ask` on Slack: mentioning the bot in a digest's thread with a card's arXiv id is answered
in that thread from the paper's full text, once; an id arXiv does not have gets a reply there."""

from __future__ import annotations

import json
from typing import Any

from adapters.slack import SlackAdapter, mention_command
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack_server import FakeSlack, mention_event
from tests.test_ask import BODY_SENTENCE, HTML
from tests.test_slack import CHANNEL, adapter, core, event, fake_time, post_today, slack  # noqa: F401  (fixtures)

# the Slack adapter on the fake Slack, as tests/test_slack.py builds it


def test_a_mention_becomes_an_ask() -> None:
    assert mention_command("<@U0BOT> 3 which datasets?") == "ask 3 which datasets?"
    assert mention_command("<@U0BOT|arxiv-bot>  ask 2505.01234 how?") == "ask 2505.01234 how?"
    assert mention_command("<@U0BOT>") == "help"


async def test_a_mention_in_the_digest_thread_is_answered_there_from_the_full_text(
    adapter: SlackAdapter, slack: FakeSlack, core: Any, arxiv: FakeArxiv, llm: FakeOpenAI
) -> None:
    parent_ts, _ = await post_today(adapter, slack)
    paper_id = slack.channel_messages(CHANNEL)[1].blocks[-1]["elements"][0]["value"]
    paper = (await core.store.papers.get([paper_id]))[paper_id]
    arxiv.set_document("html", f"{paper_id}v{paper.version}", HTML.encode())
    posted = len(slack.channel_messages(CHANNEL))
    calls = llm.calls
    ask = mention_event(f"{paper_id} which corpus do they train on?", parent_ts)
    assert await event(adapter, ask) == 200
    await slack.wait_until(lambda: len(slack.channel_messages(CHANNEL)) == posted + 1, within=10)
    answer = slack.channel_messages(CHANNEL)[-1]
    assert answer.thread_ts == parent_ts
    assert f"(arXiv:{paper_id}v{paper.version})" in answer.text
    assert BODY_SENTENCE in json.dumps(llm.requests[-1]["messages"])
    assert llm.calls == calls + 1

    again = mention_event(f"{paper_id} Which corpus do they train on", parent_ts, event_id="Ev2")
    assert await event(adapter, again) == 200
    await slack.wait_until(lambda: len(slack.channel_messages(CHANNEL)) == posted + 2, within=10)
    assert slack.channel_messages(CHANNEL)[-1].text == answer.text
    assert llm.calls == calls + 1

    unknown = mention_event("2501.99999 what is it?", parent_ts, event_id="Ev3")
    assert await event(adapter, unknown) == 200
    await slack.wait_until(lambda: len(slack.channel_messages(CHANNEL)) == posted + 3, within=10)
    reply = slack.channel_messages(CHANNEL)[-1]
    assert reply.thread_ts == parent_ts
    assert "arXiv has no paper arXiv:2501.99999v1" in reply.text
    assert llm.calls == calls + 1
