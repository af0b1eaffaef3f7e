"""Numbers typed in odd ways (superscripts, other scripts' digits, thousands of digits) through
the console adapter against the fake servers: every one gets a reply, none ends the console."""

from __future__ import annotations

import io
from typing import Any

import pytest

from adapters.console import ConsoleAdapter
from bot.config.channels import SettingError, llm_share_change, threshold_change, time_change
from bot.conversation import commands
from bot.safety import whole_number

HUGE = "9" * 5_000
ODD_NUMBERS = ("³", "²", "٣", "１", "-1", "+2", "1_0", "1.0", " 0x1", HUGE)


async def say(core: Any, line: str) -> str:
    out = io.StringIO()
    adapter = ConsoleAdapter(core.conversation, channel_id="team-a", user_id="alice", out=out)
    await adapter.line(line)
    return out.getvalue()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("7", 7), (" 12 ", 12), ("000003", 3), ("123456", 123456)],
)
def test_whole_number_reads_plain_ascii_digits(text: str, expected: int) -> None:
    assert whole_number(text) == expected


@pytest.mark.parametrize("text", [*ODD_NUMBERS, "", "1234567", "1 2"])
def test_whole_number_refuses_everything_else(text: str) -> None:
    assert whole_number(text) is None


@pytest.mark.parametrize("odd", ODD_NUMBERS)
async def test_explain_with_an_odd_number_says_it_is_not_a_card_number(core: Any, odd: str) -> None:
    out = await say(core, f"explain {odd}")
    assert "neither an arXiv id" in out
    assert len(out) < 300


@pytest.mark.parametrize("odd", ODD_NUMBERS)
async def test_criteria_remove_with_an_odd_number_asks_for_a_topic_number(
    core: Any, odd: str
) -> None:
    out = await say(core, f"criteria remove {odd}")
    assert "give a topic number from 1 to" in out


@pytest.mark.parametrize("odd", ODD_NUMBERS)
async def test_settings_threshold_with_an_odd_number_asks_for_1_to_10(core: Any, odd: str) -> None:
    out = await say(core, f"settings threshold relevance {odd}")
    assert "a threshold is a whole number from 1 to 10" in out
    assert len(out) < 300


@pytest.mark.parametrize("odd", ODD_NUMBERS)
async def test_console_react_with_an_odd_card_number_shows_the_console_usage(
    core: Any, odd: str
) -> None:
    out = await say(core, f":react {odd} 👍")
    assert ":react N EMOJI" in out


@pytest.mark.parametrize(
    "line",
    [
        "settings time ٠٨:٣٠",
        "settings time 0８:30",
        "settings llm-share ٣٠%",
        f"settings llm-share {HUGE}%",
        f"settings llm-share ${HUGE}",
        f"criteria revert {HUGE}",
        "criteria revert ³",
        f"likes {HUGE}",
        f"explain arXiv:{HUGE}",
        f"{HUGE}",
        "criteria remove 0",
        "explain 0",
    ],
)
async def test_other_odd_numbers_get_a_one_line_reply(core: Any, line: str) -> None:
    out = await say(core, line)
    assert out.strip()
    assert "Traceback" not in out
    assert len(out) < 400
    # the settings stay what they were
    assert "Settings updated" not in out


def test_settings_parsers_refuse_other_scripts_digits_with_a_setting_error() -> None:
    for change in (
        lambda: threshold_change("novelty ٣"),
        lambda: time_change("٠٨:٣٠", "UTC"),
        lambda: llm_share_change("٣٠%"),
        lambda: llm_share_change("$" + HUGE),
    ):
        with pytest.raises(SettingError):
            change()


ODD_ARGUMENTS = (
    "³",
    HUGE,
    "\x00\x07",
    "\u202e\u2066",
    "[x](https://evil.example)",
    "```",
    "-1",
    "@everyone",
    "<!channel>",
    "x" * 5_000,
    "1e999",
    "nan",
    "0",
    "$",
    "%",
    ":",
    "99:99 Mars/Base",
    "../../etc/passwd",
)


@pytest.mark.parametrize("name", [s.name for s in commands.COMMANDS])
async def test_no_command_input_ends_the_console_with_a_traceback(
    core: Any, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    for odd in ODD_ARGUMENTS:
        out = await say(core, f"{name} {odd}")
        assert out.strip(), f"no reply to {name} {odd[:20]!r}"
        assert "went wrong" not in out, f"{name} {odd[:20]!r} failed: {caplog.text[-2000:]}"
    assert "Traceback" not in caplog.text
