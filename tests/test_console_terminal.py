"""The console at a terminal: the prompt shows at once and says today's papers are loading,
what is typed is answered while the feed is still being fetched in the background, and Ctrl-D
quits without waiting for that fetch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.cli import Terminal
from tests.conftest import bot_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI

STALL = 60.0  # seconds arXiv takes to answer the background fetch: longer than any step here


async def test_the_prompt_shows_before_setup_and_commands_do_not_wait_for_the_feed(
    arxiv: FakeArxiv, llm: FakeOpenAI, day_feed: list[dict[str, Any]], tmp_path: Path
) -> None:
    arxiv.stall_next("rss", 1, STALL)
    env = bot_env(arxiv, llm, tmp_path / "bot.sqlite3")
    async with Terminal(env, tmp_path, "console") as term:
        hint = await term.read_until("(loading today's papers in the background")
        prompt = await term.read_until("\n> ")
        assert term.screen.index("arxiv-bot console: type `help`") < term.screen.index("> ")
        await arxiv_asked(arxiv, term)  # the background fetch has started, and hangs
        term.type("settings")
        answered = await term.read_until("Settings of this channel")
        assert answered < STALL / 2  # answered while the fetch still hangs
        assert len(arxiv.requests_of("rss")) == 1
        code, err = await term.close()
    assert code == 0
    assert "Traceback" not in err
    assert hint <= prompt
    assert term.screen.count("> ") >= 2  # a prompt again after the answer
    assert llm.requests == []


async def arxiv_asked(arxiv: FakeArxiv, term: Terminal) -> None:
    """Wait until the console's background fetch reached arXiv."""
    import asyncio

    for _ in range(300):
        if arxiv.requests_of("rss"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the console never fetched the feed; the screen:\n{term.screen}")
