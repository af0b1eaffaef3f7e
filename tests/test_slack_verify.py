"""Slack HTTP mode refuses what Slack did not sign before anything parses it: the real AsyncApp
behind the adapter's aiohttp server, against FakeSlack, sent raw malformed requests."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from adapters.slack import SlackAdapter
from adapters.slack_verify import UNSIGNED, RefusalLog, is_slack_payload, is_unix_time
from bot.__main__ import open_core
from tests.fakes.slack_server import FakeSlack, command_form, signed_headers

SECRET = "verify-signing-secret-never-shown-77"
BOT_TOKEN = "xoxb-verify-token-never-shown-88"
FORM = "application/x-www-form-urlencoded"
NOW = str(int(time.time()))

# Seven kinds of junk an unsigned client can send, as (name, body, headers).
MALFORMED: list[tuple[str, bytes, dict[str, str]]] = [
    ("no Slack headers at all", b"text=help", {}),
    ("payload is not JSON", b"payload=%7Bnot-json", {"X-Slack-Request-Timestamp": NOW}),
    ("payload is a JSON list", b"payload=%5B%5D", {"X-Slack-Request-Timestamp": NOW}),
    (
        "body is not UTF-8",
        b"payload=\xff\xfe\xfa",
        {"X-Slack-Request-Timestamp": NOW, "X-Slack-Signature": "v0=00"},
    ),
    (
        "timestamp abc",
        b"text=help",
        {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"},
    ),
    (
        "timestamp 1e999",
        b"text=help",
        {"X-Slack-Request-Timestamp": "1e999", "X-Slack-Signature": "v0=00"},
    ),
    (
        "JSON body that is not JSON, forged signature",
        b'{"type": "event_callback", "event":',
        {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": NOW,
            "X-Slack-Signature": "v0=" + "ab" * 32,
        },
    ),
]


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def http_app(make_settings: Any, slack: FakeSlack) -> AsyncIterator[SlackAdapter]:
    settings = make_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        ARXIV_BOT_HTTP_PORT="0",
        ARXIV_BOT_SLACK_API_URL=slack.api_url,
        ARXIV_BOT_ADMINS="everyone",
    )
    async with open_core(settings) as core:
        adapter = SlackAdapter.from_settings(settings, core.conversation, host="127.0.0.1")
        await adapter.start()
        yield adapter
        await adapter.close()


async def post(adapter: SlackAdapter, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    headers = {"Content-Type": FORM, **headers}
    url = f"http://127.0.0.1:{adapter.port}/slack/events"
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        return r.status, await r.text()


def signed(body: str, content_type: str = FORM) -> dict[str, str]:
    return {"Content-Type": content_type, **signed_headers(SECRET, body)}


async def test_malformed_unsigned_requests_get_400_or_401_and_one_short_log_line(
    http_app: SlackAdapter, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    statuses = {name: await post(http_app, body, headers) for name, body, headers in MALFORMED}

    assert {name: status for name, (status, _) in statuses.items()} == {
        "no Slack headers at all": 401,  # unsigned, as docs/slack.md says
        "payload is not JSON": 401,
        "payload is a JSON list": 401,
        "body is not UTF-8": 400,
        "timestamp abc": 400,
        "timestamp 1e999": 400,
        "JSON body that is not JSON, forged signature": 401,
    }
    assert all(len(text) < 60 for _, text in statuses.values())
    assert "Traceback" not in caplog.text
    refusals = [r for r in caplog.records if r.name == "adapters.slack_verify"]
    assert len(refusals) == 1, "one line per source per minute"
    assert refusals[0].getMessage().startswith("Slack: refused a request from 127.0.0.1")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert slack.responses == []
    assert SECRET not in caplog.text


async def test_signed_but_malformed_bodies_get_400_not_500(
    http_app: SlackAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bodies = [
        ("payload=%7Bnot-json", FORM),
        ("payload=%5B%5D", FORM),
        ("payload=%22a+string%22", FORM),
        ("[1, 2]", "application/json"),
        ('{"type": "event_callback", "event": ', "application/json"),
    ]
    for body, content_type in bodies:
        status, _ = await post(http_app, body.encode(), signed(body, content_type))
        assert status == 400, body
    odd = '{"type": "block_actions", "actions": "zzz", "user": 7, "channel": "x"}'
    status, _ = await post(http_app, odd.encode(), signed(odd, "application/json"))
    assert status < 500
    assert "Traceback" not in caplog.text


async def test_a_signed_command_still_works_after_junk(
    http_app: SlackAdapter, slack: FakeSlack
) -> None:
    for _, junk, headers in MALFORMED:
        await post(http_app, junk, headers)
    body = command_form("help", response_url=slack.response_url("help"))
    status, _ = await post(http_app, body.encode(), signed(body))
    assert status == 200
    await slack.wait_until(lambda: bool(slack.responses))
    assert "/arxiv today" in json.dumps(slack.responses[0][1])


async def test_a_stale_or_forged_signature_is_401(http_app: SlackAdapter) -> None:
    body = command_form("subscribe")
    stale = {"Content-Type": FORM, **signed_headers(SECRET, body, timestamp=1_600_000_000)}
    assert (await post(http_app, body.encode(), stale))[0] == 401
    forged = {"Content-Type": FORM, **signed_headers("another-secret", body)}
    assert (await post(http_app, body.encode(), forged))[0] == 401
    missing = {"X-Slack-Request-Timestamp": NOW}
    assert (await post(http_app, body.encode(), missing))[0] == 401


def test_refusals_are_logged_once_per_source_per_minute(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    now = [0.0]
    refusals = RefusalLog(every=60, clock=lambda: now[0])
    for _ in range(100):
        refusals.refused("10.0.0.1", UNSIGNED)
    refusals.refused("10.0.0.2", UNSIGNED)
    now[0] = 61.0
    refusals.refused("10.0.0.1", UNSIGNED)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "Slack: refused a request from 10.0.0.1: no valid signature (HTTP 401)",
        "Slack: refused a request from 10.0.0.2: no valid signature (HTTP 401)",
        "Slack: refused a request from 10.0.0.1: no valid signature (HTTP 401) "
        "(and 99 more refused since the last report)",
    ]


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("1700000000", True),
        ("abc", False),
        ("1e999", False),
        ("", False),
        (" 1700000000", False),
        ("١٧٠٠٠٠٠٠٠٠", False),
        ("9" * 13, False),
        ("-1", False),
    ],
)
def test_only_whole_ascii_seconds_are_a_timestamp(value: str, ok: bool) -> None:
    assert is_unix_time(value) is ok


def test_a_payload_is_a_json_object_as_bolt_reads_it() -> None:
    assert is_slack_payload("command=%2Farxiv&text=help", "application/x-www-form-urlencoded")
    assert is_slack_payload("payload=%7B%22type%22%3A%22x%22%7D", None)
    assert is_slack_payload('{"type": "url_verification"}', "application/json; charset=utf-8")
    assert not is_slack_payload("payload=%5B%5D", None)
    assert not is_slack_payload("[]", "application/json")
    assert not is_slack_payload("{" * 100_000, "application/json")
