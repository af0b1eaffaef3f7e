"""Replicas on one PostgreSQL database: the daily post delivered by several `arxiv-bot`
processes at once, one of them SIGKILLed mid-post, every card still posted exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any

from bot.__main__ import open_core
from bot.config.settings import Settings
from bot.conversation.dispatch import Caller, Reply
from tests.conftest import TEST_KEY
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.chat_server import ChatServer
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.synth import rss_feed
from tests.test_daily import DAY, REPO, SELECTED, small_day, utc

CHANNELS = ("C1", "C2", "C3")


def replica_env(arxiv: FakeArxiv, llm: FakeOpenAI, db: str) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": TEST_KEY,
        "OPENAI_BASE_URL": llm.base_url,
        "ARXIV_BOT_MODEL": "gpt-4o",
        "ARXIV_BOT_DB": db,
        "ARXIV_BOT_RSS_URL": arxiv.rss_url,
        "ARXIV_BOT_API_URL": arxiv.api_url,
        "ARXIV_BOT_ARXIV_DELAY": "0",
        "ARXIV_BOT_ARXIV_ATTEMPTS": "1",
        "ARXIV_BOT_LLM_ROUND_PAUSE": "0",
        "ARXIV_BOT_TIMEZONE": "Europe/Berlin",  # 08:00 there is 06:00 UTC
    }


async def subscribe(env: dict[str, str]) -> None:
    replies: list[Reply] = []

    async def respond(reply: Reply) -> None:
        replies.append(reply)

    async with open_core(Settings.from_env(env)) as core:
        for channel in CHANNELS:
            await core.conversation.handle(Caller("fake", channel, "alice"), "subscribe", respond)
    assert all("Subscribed" in r.text for r in replies), replies


async def test_three_replicas_one_killed_mid_post_deliver_every_card_once(
    arxiv: FakeArxiv, llm: FakeOpenAI, postgres: str
) -> None:
    day = small_day()
    arxiv.set_feed(rss_feed(day, DAY))
    arxiv.add_papers(day)
    env = replica_env(arxiv, llm, postgres)
    await subscribe(env)
    async with ChatServer() as server:

        async def replica(hour: int = 6, minute: int = 1) -> asyncio.subprocess.Process:
            process_env = {
                "PATH": os.environ.get("PATH", ""),
                **env,
                "ARXIV_BOT_TEST_NOW": utc(DAY, hour, minute).isoformat(),
                "ARXIV_BOT_TEST_CHAT_URL": server.url,
            }
            return await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.fakes.daily_process", env=process_env, cwd=REPO
            )

        early = [await replica(4, 0) for _ in range(3)]  # the three fetch and score the day
        codes = await asyncio.wait_for(asyncio.gather(*(p.wait() for p in early)), timeout=120)
        assert codes == [0, 0, 0]
        assert server.messages == []  # nothing is due before 08:00 Berlin
        first = await replica()  # at the post time: starts posting
        server.kill(first.pid, after=3)
        for _ in range(600):
            if server.messages:
                break
            await asyncio.sleep(0.05)
        assert server.messages, "the first replica posted nothing"
        others = [await replica(), await replica()]  # join while the first is posting
        codes = await asyncio.wait_for(
            asyncio.gather(*(p.wait() for p in (first, *others))), timeout=120
        )
        assert codes[0] == -signal.SIGKILL
        assert codes[1:] == [0, 0]
        last = await replica()  # the next tick finishes whatever is left
        assert await asyncio.wait_for(last.wait(), timeout=60) == 0
    for channel in CHANNELS:
        assert len(server.of(channel, "parent")) == 1, channel
        cards: list[Any] = sorted(m.paper_id or "" for m in server.of(channel, "card"))
        assert cards == SELECTED, channel
    asked = [pid for batch in llm.asked_ids for pid in batch]
    assert len(asked) == len(set(asked)) > 0  # one replica scored the day, no paper twice
