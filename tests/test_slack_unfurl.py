"""arXiv links on Slack: a `link_shared` event is answered with `chat.unfurl` showing the paper
and this channel's scores, scored once when it never was; its Explain and Ask buttons answer.
The real AsyncApp (HTTP mode, signed requests) against FakeSlack, the fake arXiv and OpenAI."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from adapters.slack import SlackAdapter
from adapters.slack_unfurl import UNFURL_ASK_ACTION, UNFURL_EXPLAIN_ACTION, linked_ids, unfurls
from bot.__main__ import open_core
from bot.conversation.dispatch import Caller
from bot.models import Paper
from bot.store import Store
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.block_kit import block_kit_problems
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack_server import FakeSlack, action_form, link_shared_event, unfurl_action
from tests.fakes.synth import load_eval_day
from tests.test_slack import CHANNEL, DAY, adapter, core, event, fake_time, post_today, send, slack  # noqa: F401  (fixtures)

# the Slack adapter on the fake Slack, as tests/test_slack.py builds it

LINK_TS = "1700000999.000100"


def test_abs_pdf_and_html_links_with_or_without_version_name_their_paper() -> None:
    urls = [
        "https://arxiv.org/abs/2505.01234v2",
        "https://arxiv.org/pdf/2505.01234",
        "http://arxiv.org/pdf/2505.01234v1.pdf",
        "https://arxiv.org/html/2505.01234v3",
        "https://www.arxiv.org/abs/hep-th/9901001",
        "https://arxiv.org/list/cs.LG/new",
        "https://example.org/abs/2505.01234",
    ]
    assert linked_ids(urls) == {
        urls[0]: "2505.01234",
        urls[1]: "2505.01234",
        urls[2]: "2505.01234",
        urls[3]: "2505.01234",
        urls[4]: "hep-th/9901001",
    }


async def wait_unfurls(slack: FakeSlack, count: int) -> None:
    await slack.wait_until(lambda: len(slack.unfurled) == count, within=10)


async def test_a_link_to_a_scored_paper_unfurls_with_its_scores_and_no_llm_request(
    adapter: SlackAdapter, slack: FakeSlack, core: Any, llm: FakeOpenAI
) -> None:
    await post_today(adapter, slack)
    card = slack.channel_messages(CHANNEL)[1]
    paper_id = card.blocks[-1]["elements"][0]["value"]
    paper = (await core.store.papers.get([paper_id]))[paper_id]
    calls = llm.calls
    url = f"https://arxiv.org/pdf/{paper_id}v{paper.version}"
    assert await event(adapter, link_shared_event([url], LINK_TS)) == 200
    await wait_unfurls(slack, 1)
    (shown,) = slack.unfurled
    assert (shown.channel, shown.ts, list(shown.unfurls)) == (CHANNEL, LINK_TS, [url])
    scores = card.blocks[0]["text"]["text"].split("\n")[-1]  # "Relevance *8* · Novelty *6* · …"
    relevance, novelty = (part.split("*")[1] for part in scores.split(" · ")[:2])
    text = shown.text()
    assert paper.title[:40] in text
    assert f"relevance *{relevance}* · novelty *{novelty}*" in text
    assert "criteria version 1" in text
    assert llm.calls == calls


async def test_a_link_to_a_paper_never_seen_is_looked_up_and_scored_once(
    adapter: SlackAdapter, slack: FakeSlack, core: Any, llm: FakeOpenAI, arxiv: FakeArxiv
) -> None:
    paper_id = load_eval_day(DAY)[0]["id"]
    assert await core.store.papers.get([paper_id]) == {}
    url = f"https://arxiv.org/abs/{paper_id}"
    assert await event(adapter, link_shared_event([url], LINK_TS)) == 200
    await wait_unfurls(slack, 1)
    assert llm.calls == 1
    assert len(arxiv.requests_of("api")) == 1
    first = slack.unfurled[0].text()
    assert "For this channel (criteria version 1): relevance *" in first

    again = link_shared_event([url + "v1"], "1700000999.000200", event_id="EvL2")
    assert await event(adapter, again) == 200
    await wait_unfurls(slack, 2)
    assert llm.calls == 1  # scored once, for every later link under these criteria
    assert len(arxiv.requests_of("api")) == 1  # and kept: no second lookup
    assert "relevance *" in slack.unfurled[1].text()


async def test_two_messages_linking_one_new_paper_at_once_pay_for_one_scoring(
    adapter: SlackAdapter, slack: FakeSlack, llm: FakeOpenAI, arxiv: FakeArxiv
) -> None:
    paper_id = load_eval_day(DAY)[3]["id"]
    links = [
        link_shared_event(
            [f"https://arxiv.org/abs/{paper_id}"], f"1700000999.00010{n}", event_id=f"E{n}"
        )
        for n in range(2)
    ]
    assert await asyncio.gather(*(event(adapter, e) for e in links)) == [200, 200]
    await wait_unfurls(slack, 2)
    assert llm.calls == 1
    assert len(arxiv.requests_of("api")) == 1
    assert all("relevance *" in u.text() for u in slack.unfurled)


async def test_a_link_to_an_id_arxiv_does_not_have_unfurls_a_short_note(
    adapter: SlackAdapter, slack: FakeSlack, llm: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    url = "https://arxiv.org/abs/2501.99999"
    assert await event(adapter, link_shared_event([url], LINK_TS)) == 200
    await wait_unfurls(slack, 1)
    assert json.loads(slack.unfurled[0].text()) == {
        url: {
            "blocks": [
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": "arXiv has no paper arXiv:2501.99999"}],
                }
            ]
        }
    }
    assert llm.calls == 0
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_the_unfurls_buttons_explain_privately_and_summarise_in_the_thread(
    adapter: SlackAdapter, slack: FakeSlack, llm: FakeOpenAI
) -> None:
    paper_id = load_eval_day(DAY)[1]["id"]
    url = f"https://arxiv.org/html/{paper_id}v1"
    assert await event(adapter, link_shared_event([url], LINK_TS)) == 200
    await wait_unfurls(slack, 1)
    buttons = slack.unfurled[0].unfurls[url]["blocks"][-1]["elements"]
    assert [b["action_id"] for b in buttons] == [UNFURL_EXPLAIN_ACTION, UNFURL_ASK_ACTION]

    click = unfurl_action(UNFURL_EXPLAIN_ACTION, paper_id, LINK_TS)
    assert (await send(adapter, action_form(click))).status == 200
    await slack.wait_until(lambda: bool(slack.ephemeral()), within=10)
    (explained,) = slack.ephemeral()
    assert explained.ephemeral_to == "U0ALICE"
    assert f"(arXiv:{paper_id}) — relevance" in explained.text

    click = unfurl_action(UNFURL_ASK_ACTION, paper_id, LINK_TS)
    assert (await send(adapter, action_form(click))).status == 200
    await slack.wait_until(lambda: bool(slack.channel_messages(CHANNEL)), within=10)
    (summary,) = slack.channel_messages(CHANNEL)
    assert summary.thread_ts == LINK_TS
    assert f"(arXiv:{paper_id}v1) — Summary" in summary.text


async def test_over_the_daily_budget_a_link_unfurls_without_scores_and_says_why(
    make_settings: Any, arxiv: FakeArxiv, llm: FakeOpenAI
) -> None:
    arxiv.add_papers(load_eval_day(DAY))
    paper_id = load_eval_day(DAY)[2]["id"]
    settings = make_settings(ARXIV_BOT_DAILY_BUDGET="0.000001")
    async with open_core(settings) as core:
        views = await core.conversation.link_views(Caller("slack", CHANNEL, "U0ALICE"), [paper_id])
    assert llm.calls == 0
    (view,) = views.views
    assert view.paper is not None
    assert view.score is None
    assert views.note == "Not scored for this channel: today's LLM budget is spent"
    url = f"https://arxiv.org/abs/{paper_id}"
    blocks = unfurls({url: paper_id}, views)[url]["blocks"]
    assert block_kit_problems(blocks) == []
    assert blocks[1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": views.note}],
    }
    assert [b["action_id"] for b in blocks[-1]["elements"]] == [UNFURL_ASK_ACTION]


async def test_over_the_rate_limit_a_link_unfurls_without_scores_and_says_when_to_retry(
    make_settings: Any, arxiv: FakeArxiv, llm: FakeOpenAI
) -> None:
    papers = load_eval_day(DAY)
    arxiv.add_papers(papers)
    caller = Caller("slack", CHANNEL, "U0ALICE")
    async with open_core(make_settings(ARXIV_BOT_LIMIT_USER="1/min")) as core:
        first = await core.conversation.link_views(caller, [papers[4]["id"]])
        second = await core.conversation.link_views(caller, [papers[5]["id"]])
        again = await core.conversation.link_views(caller, [papers[4]["id"]])
    assert first.views[0].score is not None
    assert first.note == ""
    assert second.views[0].score is None
    assert second.note.startswith("Not scored for this channel yet. Slow down a little")
    assert "try again in" in second.note
    assert again.views[0].score == first.views[0].score  # a stored score costs no limit
    assert llm.calls == 1


async def test_a_looked_up_paper_is_kept_once_and_found_by_search(database: str) -> None:
    paper = Paper(
        "2501.00001",
        "Quokka lemurs",
        "Vocalisations.",
        ("Jane Doe",),
        ("cs.LG",),
        "cs.LG",
        "Accepted at ICML 2025",
        2,
        "ICML 2025",
    )
    async with Store.open(database) as store:
        await store.papers.save_looked_up([paper])
        await store.papers.save_looked_up([Paper("2501.00001", "Other", "x", ())])
    async with Store.open(database) as store:
        assert (await store.papers.get([paper.id]))[paper.id] == paper
        assert [p.id for p in await store.papers.search([("quokka",)])] == [paper.id]
        assert await store.papers.unenriched([paper.id]) == []
