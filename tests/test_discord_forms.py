"""Discord's settings form through discord.py against the fake Discord: `/arxiv settings
action:edit` opens a modal with the channel's settings; a submission with a bad field is
refused privately, naming the field, and changes nothing; a good one changes what was changed."""

from __future__ import annotations

from typing import Any

from adapters.discord import DiscordAdapter
from bot.models import Thresholds
from tests.fakes.discord_server import FakeDiscord
from tests.test_discord import CHANNEL, _text_inputs, adapter_log, bot, discord_settings, fake  # noqa: F401  (fixtures)

# the Discord adapter on the fake Discord, as tests/test_discord.py builds it


def _submission(modal: dict[str, Any], typed: dict[str, str]) -> dict[str, Any]:
    """The modal submit interaction's data: each input with `typed` over what it showed."""

    def filled(text_input: dict[str, Any]) -> dict[str, Any]:
        name = text_input["custom_id"].removeprefix("arxiv_setting_")
        return {**text_input, "value": typed.get(name, text_input.get("value", ""))}

    rows = []
    for row in modal["data"]["components"]:
        (text_input,) = _text_inputs(row)
        rows.append(
            {"type": 18, "component": filled(text_input)}
            if "component" in row
            else {"type": 1, "components": [filled(text_input)]}
        )
    return {"custom_id": modal["data"]["custom_id"], "components": rows}


async def _open_form(fake: FakeDiscord) -> dict[str, Any]:
    token = await fake.slash_command("settings", [{"name": "action", "type": 3, "value": "edit"}])
    await fake.wait_for(lambda: any(c["token"] == token for c in fake.callbacks))
    (modal,) = [c for c in fake.callbacks if c["token"] == token]
    return modal


async def _answer(fake: FakeDiscord, token: str) -> str:
    await fake.wait_for(lambda: any(f["token"] == token for f in fake.followups))
    return str(next(f for f in fake.followups if f["token"] == token)["content"])


async def test_the_settings_form_refuses_a_bad_field_privately_then_changes_the_settings(
    core: Any, fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    modal = await _open_form(fake)
    assert modal["type"] == 9  # a modal
    shown = {i["custom_id"]: i.get("value") for i in _text_inputs(modal["data"]["components"])}
    assert len(shown) == 5  # Discord's most
    assert shown["arxiv_setting_thresholds"] == "8 7"
    assert shown["arxiv_setting_weekly"] == "off"

    bad = await fake.interaction(5, _submission(modal, {"thresholds": "9 eleven"}))
    said = await _answer(fake, bad)
    assert said.startswith("The settings are unchanged")
    assert "Thresholds: relevance, then novelty (1–10): give two whole numbers" in said
    settings = await core.conversation.channel_settings(CHANNEL, "discord")
    assert settings.thresholds == Thresholds(8, 7)

    again = await _open_form(fake)  # a submitted form is closed: the person opens it again
    good = await fake.interaction(
        5, _submission(again, {"thresholds": "9 6", "weekly": "on friday 16:00"})
    )
    assert (await _answer(fake, good)).startswith("Settings updated")
    settings = await core.conversation.channel_settings(CHANNEL, "discord")
    assert settings.thresholds == Thresholds(9, 6)
    assert settings.weekly_day == 4
