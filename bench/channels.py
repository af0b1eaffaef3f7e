"""Benchmark: the daily post for many channels, from the tick to the last card.

N subscribed Slack channels, spread over W workspaces (each its own token), read one feed; their
criteria come in K distinct versions. The daily runner fetches at the feed's rebuild (building
every channel's digest), then posts at the channels' post time through the real Slack adapter
against the fake Slack Web API, which paces chat.postMessage as Slack does (per channel and per
workspace, answering 429 with Retry-After beyond either). The LLM answers at once
(zero latency), so the figures are the bot's own: time from each tick to its last card, LLM
requests against those of K distinct criteria alone, Slack calls, and the database's size.

    python -m bench.channels [--channels 10,100] [--workspaces 1] [--criteria 1,100] [--papers 1000]

It prints figures and never gates CI. The last line compares the biggest run against the goal
(1,000 channels in 100 workspaces with 100 criteria posted within 10 minutes of the tick).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import SlackAdapter, web_client
from bench.digest_1000 import papers_for
from bot.__main__ import open_core, settings_resolver
from bot.config.settings import Settings
from bot.daily.delivery import Delivery, ceiling
from bot.daily.pacing import SLACK_CHANNEL, SLACK_WORKSPACE
from bot.daily.runner import DailyRunner
from tests.conftest import bot_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI, LabelAnswerer, load_labels
from tests.fakes.slack_server import Bucket, FakeSlack
from tests.fakes.synth import eval_days, rss_feed

DAY = date(2025, 5, 2)
FETCH_AT = datetime(2025, 5, 2, 4, 31, tzinfo=UTC)  # just after the feed's rebuild
POST_AT = datetime(2025, 5, 2, 8, 0, tzinfo=UTC)  # the channels' post time


def criteria_versions(base: str, k: int) -> list[str]:
    """`k` distinct criteria texts (each a new scoring key)."""
    return [
        base if i == 0 else f"{base.rstrip()}\n- Variant {i}: robustness of {i}-step methods\n"
        for i in range(k)
    ]


class Teams:
    """Channel keys `TEAM:CHANNEL`, each team with its own token (the adapter's `Workspaces`)."""

    def __init__(self, clients: dict[str, AsyncWebClient]) -> None:
        self._clients = clients

    def channel_key(self, workspace: str | None, channel: str) -> str:
        return f"{workspace}:{channel}"

    async def client_for(self, channel_key: str) -> tuple[AsyncWebClient, str, str | None]:
        team, channel = channel_key.split(":")
        return self._clients[team], channel, team

    async def refused(self, workspace: str | None, code: str) -> None:
        return None


async def one_run(
    channels: int, k: int, papers: list[dict[str, Any]], share: float, workspaces: int = 1
) -> dict[str, Any]:
    labels: dict[str, dict[str, Any]] = {}
    for day in eval_days():
        labels.update(load_labels(day))
    async with (
        FakeArxiv() as arxiv,
        FakeOpenAI(LabelAnswerer(labels), model="gpt-4o") as llm,
        FakeSlack() as slack,
    ):
        arxiv.set_feed(rss_feed(papers, DAY))
        arxiv.add_papers(papers)
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "bench.sqlite3"
            env = bot_env(
                arxiv,
                llm,
                db,
                ARXIV_BOT_LLM_SHARE=str(share),
                ARXIV_BOT_ENRICH="false",
                # a steady day: the criteria's warm-up (whole first days) is measured by
                # bench.replay; here every channel sends its share
                ARXIV_BOT_ADAPTIVE_SHARE="false",
                ARXIV_BOT_BATCH="off",
            )
            settings = Settings.from_env(env)
            clock = [FETCH_AT]
            teams = [f"T{w:04d}" for w in range(workspaces)]
            clients = {
                t: web_client(slack.add_workspace(t).bot_token, slack.api_url) for t in teams
            }
            slack.pace(
                Bucket(SLACK_CHANNEL.interval, SLACK_CHANNEL.burst),
                Bucket(SLACK_WORKSPACE.interval, SLACK_WORKSPACE.burst),
            )
            async with open_core(settings) as core:
                texts = criteria_versions(core.criteria_text, k)
                for n in range(channels):
                    cid = f"{teams[n % workspaces]}:C{n:05d}"
                    await core.store.channels.get(cid, "slack")
                    await core.store.channels.set_subscribed(cid, True)
                    await core.service.use_criteria(cid, texts[n % k], "bench")
                adapter = SlackAdapter(
                    core.conversation,
                    clients[teams[0]],
                    signing_secret="bench",
                    workspaces=Teams(clients),
                )
                delivery = Delivery(
                    core.store, {"slack": adapter}, ceiling(settings.posts_per_second)
                )
                runner = DailyRunner(
                    core.store,
                    core.service,
                    delivery,
                    settings_resolver(settings),
                    clock=lambda: clock[0],
                    parallel=settings.channel_concurrency,
                )
                start = time.perf_counter()
                await runner.tick()  # fetch, rank, score, build every channel
                built = time.perf_counter() - start
                clock[0] = POST_AT
                start = time.perf_counter()
                await runner.tick()  # post every channel
                posted = time.perf_counter() - start
            size = _size(Path(tmp))
    return {
        "channels": channels,
        "criteria": k,
        "build_s": built,
        "post_s": posted,
        "llm_requests": llm.calls,
        "slack_calls": len(slack.calls),
        "limited": len(slack.limited),
        "messages": len(slack.messages),
        "db_mb": size / 1e6,
    }


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.glob("bench.sqlite3*"))


async def run(args: argparse.Namespace) -> None:
    papers = papers_for(args.papers)
    print(
        f"{args.papers} papers, {args.share:.0%} sent to the LLM, zero LLM latency, "
        f"{args.workspaces} workspaces, Slack pacing per channel and per workspace"
    )
    print(
        "channels criteria  build s   post s  total s  LLM req  floor req  Slack calls  "
        "429s   DB MB"
    )
    floors: dict[int, int] = {}
    last: dict[str, Any] | None = None
    for k in args.criteria:
        if k not in floors:  # the LLM requests of K distinct criteria, one channel each
            w = min(args.workspaces, k)
            floors[k] = (await one_run(k, k, papers, args.share, w))["llm_requests"]
        for n in args.channels:
            if n < k:
                continue
            r = await one_run(n, k, papers, args.share, min(args.workspaces, n))
            total = r["build_s"] + r["post_s"]
            print(
                f"{n:8d} {k:8d} {r['build_s']:8.1f} {r['post_s']:8.1f} {total:8.1f} "
                f"{r['llm_requests']:8d} {floors[k]:10d} {r['slack_calls']:12d} "
                f"{r['limited']:5d} {r['db_mb']:7.1f}"
            )
            last = r
    if last is not None:
        total = last["build_s"] + last["post_s"]
        print(
            f"channels: {last['channels']} channels in {min(args.workspaces, last['channels'])} "
            f"workspaces, {last['criteria']} criteria: tick to last card {total:.0f} s "
            f"(goal 600), LLM requests {last['llm_requests']} (floor {floors[last['criteria']]})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--channels", default="10,100", help="comma-separated channel counts")
    parser.add_argument("--criteria", default="1,100", help="comma-separated distinct criteria")
    parser.add_argument("--workspaces", type=int, default=1, help="Slack workspaces")
    parser.add_argument("--papers", type=int, default=1000)
    parser.add_argument("--share", type=float, default=0.3)
    args = parser.parse_args()
    args.channels = [int(x) for x in args.channels.split(",")]
    args.criteria = [int(x) for x in args.criteria.split(",")]
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
