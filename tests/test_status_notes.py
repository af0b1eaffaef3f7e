"""What `arxiv-bot status` adds after the channels, on SQLite and PostgreSQL alike: the paused
Slack workspaces with how many of their channels go without a post, and each subscribed
channel's weekly post with the last week it reached the channel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.__main__ import settings_resolver
from bot.daily.status import status_notes
from bot.daily.weekly import POSTED, QUIET
from bot.store import Store
from tests.cli import run_cli
from tests.conftest import NO_ENV_FILE


async def test_status_names_paused_workspaces_and_each_weekly_post(
    database: str, make_settings: Any
) -> None:
    settings_of = settings_resolver(make_settings())
    async with Store.open(database) as store:
        assert await status_notes(store, settings_of) == []
        for channel in ("T0AAAA:C1", "T0AAAA:C2", "T0BBBB:C1", "T0BBBB:C2"):
            await store.channels.get(channel, "slack")
        for channel in ("T0AAAA:C1", "T0BBBB:C1", "T0BBBB:C2"):
            await store.channels.set_subscribed(channel, True)
        await store.channels.set_channel_overrides(
            "T0BBBB:C1", {"weekly_day": 0, "weekly_time": "09:30"}
        )
        await store.channels.set_channel_overrides(
            "T0BBBB:C2", {"weekly_day": 4, "weekly_time": "16:00"}
        )
        for week, state in (("2026-W47", POSTED), ("2026-W48", POSTED), ("2026-W49", QUIET)):
            await store.weekly.freeze("T0BBBB:C1", week, state, {})
        await store.installations.remove("slack", "T0AAAA", "uninstalled")
        notes = await status_notes(store, settings_of)
    assert notes == [
        "paused: slack workspace T0AAAA (uninstalled): 2 channels, 1 subscribed, get no post "
        "until it is installed again",
        "slack:T0BBBB:C1  weekly post Monday 09:30 UTC  last posted: 2026-W48",
        "slack:T0BBBB:C2  weekly post Friday 16:00 UTC  last posted: none yet",
    ]


async def test_the_status_command_prints_them(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    async with Store.open(str(db)) as store:
        await store.channels.get("T0AAAA:C1", "slack")
        await store.channels.set_subscribed("T0AAAA:C1", True)
        await store.installations.remove("slack", "T0AAAA", "uninstalled")
    result = await run_cli({"ARXIV_BOT_DB": str(db)}, tmp_path, NO_ENV_FILE, "status")
    assert result.code == 0, result.err
    assert "paused: slack workspace T0AAAA (uninstalled): 1 channel, 1 subscribed" in result.out
