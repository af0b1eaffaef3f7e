"""Benchmark: `/arxiv today` on Slack under 50 concurrent commands, on loopback.

The Slack adapter runs in HTTP mode against the fake Slack Web API, with the core on the fake
arXiv and OpenAI servers. One warm-up command fetches and scores the day, so every later digest
comes from the store. Then 50 signed `/arxiv today` requests from 50 channels arrive at once.
Prints the ack latency percentiles (HTTP response to Slack; target p99 < 300 ms) and how long
until each cached digest is in Slack: its parent message (target < 1 s) and its whole thread
(cards are paced at one per second per channel, as Slack asks). A measurement, not a test: it
never gates CI.

    python -m bench.slack_ack [--commands 50]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import aiohttp

from adapters.slack import SlackAdapter
from bot.__main__ import open_core
from bot.settings import Settings
from tests.conftest import bot_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack_server import FakeSlack, command_form, signed_headers
from tests.fakes.synth import load_eval_day, rss_feed

DAY = "2025-05-02"
SECRET = "bench-signing-secret"
ACK_TARGET_MS = 300.0
DIGEST_TARGET_S = 1.0


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


async def command(http: aiohttp.ClientSession, url: str, channel: str, slack: FakeSlack) -> float:
    """Send one signed `/arxiv today`; returns when it was sent (monotonic)."""
    body = command_form("today", channel=channel, response_url=slack.response_url(channel))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        **signed_headers(SECRET, body),
    }
    sent = time.monotonic()
    async with http.post(url, data=body, headers=headers) as response:
        await response.read()
        if response.status != 200:
            raise SystemExit(f"/arxiv today got HTTP {response.status}")
    return sent


def posted_at(slack: FakeSlack, channel: str) -> list[float]:
    return [
        c.at
        for c in slack.calls_of("chat.postMessage")
        if c.args.get("channel") == channel and c.status == 200
    ]


async def run(args: argparse.Namespace) -> int:
    papers = load_eval_day(DAY)
    async with (
        FakeArxiv() as arxiv,
        FakeOpenAI.from_labels(DAY, model="gpt-4o") as llm,
        FakeSlack() as slack,
    ):
        arxiv.set_feed(rss_feed(papers, date.fromisoformat(DAY)))
        arxiv.add_papers(papers)
        with tempfile.TemporaryDirectory() as tmp:
            env = bot_env(arxiv, llm, Path(tmp) / "bench.sqlite3")
            env |= {
                "SLACK_BOT_TOKEN": "xoxb-bench",
                "SLACK_SIGNING_SECRET": SECRET,
                "ARXIV_BOT_HTTP_PORT": "0",
                "ARXIV_BOT_SLACK_API_URL": slack.api_url,
                # one user sends every command: this measures acks, not the rate limits
                "ARXIV_BOT_LIMIT_USER": "off",
                "ARXIV_BOT_LIMIT_CHANNEL": "off",
            }
            settings = Settings.from_env(env)
            async with open_core(settings) as core:
                adapter = SlackAdapter.from_settings(settings, core.conversation, host="127.0.0.1")
                await adapter.start()
                try:
                    return await measure(adapter, slack, args.commands)
                finally:
                    await adapter.close()


async def measure(adapter: SlackAdapter, slack: FakeSlack, n: int) -> int:
    url = f"http://127.0.0.1:{adapter.port}/slack/events"
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        await command(http, url, "CWARMUP", slack)  # fetch and score the day once
        await slack.wait_until(lambda: bool(posted_at(slack, "CWARMUP")), within=120)
        selected = int(slack.channel_messages("CWARMUP")[0].text.split(": ")[1].split()[0])
        await slack.wait_until(lambda: len(posted_at(slack, "CWARMUP")) == selected + 1, within=60)
        channels = [f"CBENCH{i:03d}" for i in range(n)]

        async def timed(channel: str) -> tuple[float, float]:
            sent = await command(http, url, channel, slack)
            return sent, time.monotonic() - sent

        results = await asyncio.gather(*(timed(c) for c in channels))
    cards = len(posted_at(slack, "CWARMUP"))
    await slack.wait_until(
        lambda: all(len(posted_at(slack, c)) == cards for c in channels), within=60 + cards * 2
    )
    acks = [latency * 1000 for _, latency in results]
    sent_at = {c: sent for c, (sent, _) in zip(channels, results, strict=True)}
    parents = [posted_at(slack, c)[0] - sent_at[c] for c in channels]
    threads = [posted_at(slack, c)[-1] - sent_at[c] for c in channels]
    print(f"slack /arxiv today: {n} concurrent commands, {cards - 1} cards per digest")
    for name, values, unit in (("ack", acks, "ms"), ("digest parent", parents, "s")):
        print(
            f"  {name:<14} p50 {percentile(values, 50):8.3f} {unit}  "
            f"p90 {percentile(values, 90):8.3f} {unit}  p99 {percentile(values, 99):8.3f} {unit}  "
            f"max {max(values):8.3f} {unit}"
        )
    print(f"  whole thread   max {max(threads):8.3f} s (paced, one post per second per channel)")
    print(f"  mean ack {statistics.fmean(acks):.1f} ms")
    ok_ack = percentile(acks, 99) < ACK_TARGET_MS
    ok_digest = max(parents) < DIGEST_TARGET_S
    print(
        f"  targets: ack p99 < {ACK_TARGET_MS:.0f} ms {'OK' if ok_ack else 'MISSED'}; "
        f"cached digest < {DIGEST_TARGET_S:.0f} s {'OK' if ok_digest else 'MISSED'}"
    )
    return 0 if ok_ack and ok_digest else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commands", type=int, default=50)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
