"""A bot process for kill tests: one daily tick at the moment in $ARXIV_BOT_TEST_NOW, posting to
the chat server at $ARXIV_BOT_TEST_CHAT_URL. Run as `python -m tests.fakes.daily_process`."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime

import aiohttp

from bot.__main__ import open_core, settings_resolver
from bot.config.settings import Settings
from bot.daily.delivery import Delivery
from bot.daily.runner import DailyRunner
from tests.fakes.chat_server import HttpChat


async def main() -> None:
    settings = Settings.from_env(os.environ)
    now = datetime.fromisoformat(os.environ["ARXIV_BOT_TEST_NOW"])
    async with open_core(settings) as core, aiohttp.ClientSession() as http:
        chat = HttpChat(os.environ["ARXIV_BOT_TEST_CHAT_URL"], http)
        delivery = Delivery(core.store, {chat.platform: chat})
        runner = DailyRunner(
            core.store, core.service, delivery, settings_resolver(settings), clock=lambda: now
        )
        await runner.tick()


if __name__ == "__main__":
    asyncio.run(main())
