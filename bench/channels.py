"""Benchmark: the daily post for many channels, from the tick to the last card.

N subscribed Slack channels, spread over W workspaces (each its own token), read one feed; their
criteria come in K distinct versions. The daily runner fetches at the feed's rebuild (building
every channel's digest), then posts at the channels' post time through the real Slack adapter
against the fake Slack Web API, which paces chat.postMessage as Slack does (per channel and per
workspace, answering 429 with Retry-After beyond either). The LLM answers at once
(zero latency), so the figures are the bot's own: time from each tick to its last card, LLM
requests against those of K distinct criteria alone, Slack calls, and the database's size.

    python -m bench.channels [--channels 10,100] [--workspaces 1] [--criteria 1,100] [--papers 1000]
        [--replicas 1] [--url postgresql://...] [--one-tick]

With `--replicas N`, N bots (each its own store connection, lease owner, Slack clients and
pacer, as separate processes have) tick together on one database (a scratch PostgreSQL
database on `--url`'s server, else one SQLite file), sharing the pacing of each workspace
through the store as the bot does. With `--one-tick` the feed is first fetched at the post
time, so one tick builds and posts, each channel as soon as its digest is built. Posts are
paced by the bot's own pacer (kept in the store); the table also gives the 429s of the fake
Slack and the most messages it took into one channel and one workspace within a second.

It prints figures and never gates CI. The last line compares the biggest run against the goal
(1,000 channels in 100 workspaces with 100 criteria posted within 10 minutes of the tick).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import SlackAdapter, bot_pacer, web_client
from bench.digest_1000 import papers_for
from bench.pg import scratch_database
from bot.__main__ import open_core, settings_resolver
from bot.config.settings import Settings
from bot.daily.delivery import Delivery, ceiling
from bot.daily.pacing import SLACK_CHANNEL, SLACK_WORKSPACE
from bot.daily.runner import DailyRunner
from bot.preload import SWITCH_INTERVAL
from bot.store import PostgresURL, parse_database
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


@dataclass(frozen=True)
class Shape:
    """How one run is set up: the store, how many replicas, and whether the feed is fetched
    ahead of the post time (two ticks) or at it (one tick that builds and posts in step)."""

    url: str = ""  # a postgresql:// server to make a scratch database on; SQLite without
    replicas: int = 1
    one_tick: bool = False


@asynccontextmanager
async def database(url: str) -> AsyncIterator[tuple[str, Path]]:
    """The run's database (a scratch PostgreSQL database, else a SQLite file) and a folder."""
    with tempfile.TemporaryDirectory() as tmp:
        if not url:
            yield str(Path(tmp) / "bench.sqlite3"), Path(tmp)
            return
        server = parse_database(url)
        if not isinstance(server, PostgresURL):
            raise SystemExit("--url must be a postgresql:// URL")
        async with scratch_database(server) as dsn:
            yield dsn, Path(tmp)


async def one_run(
    channels: int,
    k: int,
    papers: list[dict[str, Any]],
    share: float,
    workspaces: int = 1,
    shape: Shape = Shape(),
) -> dict[str, Any]:
    labels: dict[str, dict[str, Any]] = {}
    for day in eval_days():
        labels.update(load_labels(day))
    async with (
        FakeArxiv() as arxiv,
        FakeOpenAI(LabelAnswerer(labels), model="gpt-4o") as llm,
        FakeSlack() as slack,
        database(shape.url) as (db, tmp),
        AsyncExitStack() as stack,
    ):
        arxiv.set_feed(rss_feed(papers, DAY))
        arxiv.add_papers(papers)
        env = bot_env(
            arxiv,
            llm,
            Path(db),
            ARXIV_BOT_DB=db,
            ARXIV_BOT_LLM_SHARE=str(share),
            ARXIV_BOT_ENRICH="false",
            # a steady day: the criteria's warm-up (whole first days) is measured by
            # bench.replay; here every channel sends its share
            ARXIV_BOT_ADAPTIVE_SHARE="false",
            ARXIV_BOT_BATCH="off",
        )
        settings = Settings.from_env(env)
        clock = [POST_AT if shape.one_tick else FETCH_AT]
        teams = [f"T{w:04d}" for w in range(workspaces)]
        tokens = {t: slack.add_workspace(t).bot_token for t in teams}
        slack.pace(
            Bucket(SLACK_CHANNEL.interval, SLACK_CHANNEL.burst),
            Bucket(SLACK_WORKSPACE.interval, SLACK_WORKSPACE.burst),
        )
        runners = []
        for replica in range(shape.replicas):
            # each replica its own store connection, lease owner, Slack clients and pacer
            # (the bot's: kept in the store the replicas share)
            core = await stack.enter_async_context(open_core(settings))
            clients = {t: web_client(tokens[t], slack.api_url) for t in teams}
            if replica == 0:
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
                pacer=bot_pacer(core.store, settings.posts_per_second),
            )
            delivery = Delivery(core.store, {"slack": adapter}, ceiling(settings.posts_per_second))
            runners.append(
                DailyRunner(
                    core.store,
                    core.service,
                    delivery,
                    settings_resolver(settings),
                    clock=lambda: clock[0],
                    parallel=settings.channel_concurrency,
                )
            )

        async def tick() -> float:
            start = time.perf_counter()
            await asyncio.gather(*(runner.tick() for runner in runners))
            return time.perf_counter() - start

        built = 0.0 if shape.one_tick else await tick()  # fetch, rank, score, build
        clock[0] = POST_AT
        posted = await tick()  # post every channel (one tick: build and post in step)
        size = _size(tmp) if not shape.url else 0
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
        "busiest": busiest(slack),
    }


def busiest(slack: FakeSlack) -> tuple[int, int]:
    """The most messages the fake Slack took into one channel, and into one workspace, within
    any one second."""

    def peak(stamps: list[float]) -> int:
        stamps.sort()
        most, first = 0, 0
        for last, at in enumerate(stamps):
            while at - stamps[first] >= 1.0:
                first += 1
            most = max(most, last - first + 1)
        return most

    by_channel: dict[str, list[float]] = {}
    by_workspace: dict[str, list[float]] = {}
    for call in slack.calls:
        if call.method == "chat.postMessage" and call.status == 200:
            by_channel.setdefault(f"{call.token}:{call.args.get('channel')}", []).append(call.at)
            by_workspace.setdefault(call.token, []).append(call.at)
    return (
        max((peak(v) for v in by_channel.values()), default=0),
        max((peak(v) for v in by_workspace.values()), default=0),
    )


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.glob("bench.sqlite3*"))


async def run(args: argparse.Namespace) -> None:
    sys.setswitchinterval(SWITCH_INTERVAL)  # as `arxiv-bot run` has it (`bot.preload`)
    papers = papers_for(args.papers)
    shape = Shape(url=args.url, replicas=args.replicas, one_tick=args.one_tick)
    print(
        f"{args.papers} papers, {args.share:.0%} sent to the LLM, zero LLM latency, "
        f"{args.workspaces} workspaces, Slack pacing per channel and per workspace, "
        f"{args.replicas} replica(s) on {'PostgreSQL' if args.url else 'SQLite'}, "
        + ("feed fetched at the post time (one tick)" if args.one_tick else "built ahead")
    )
    print(
        "channels criteria  build s   post s  total s  LLM req  floor req  Slack calls  "
        "429s  max/s channel  max/s workspace   DB MB"
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
            r = await one_run(n, k, papers, args.share, min(args.workspaces, n), shape)
            total = r["build_s"] + r["post_s"]
            channel, workspace = r["busiest"]
            print(
                f"{n:8d} {k:8d} {r['build_s']:8.1f} {r['post_s']:8.1f} {total:8.1f} "
                f"{r['llm_requests']:8d} {floors[k]:10d} {r['slack_calls']:12d} "
                f"{r['limited']:5d} {channel:14d} {workspace:16d} {r['db_mb']:7.1f}",
                flush=True,
            )
            last = r
    if last is not None:
        total = last["build_s"] + last["post_s"]
        print(
            f"Slack's limits: a channel {SLACK_CHANNEL.burst} at once then one a second, a "
            f"workspace {SLACK_WORKSPACE.burst} at once then {1 / SLACK_WORKSPACE.interval:.0f} "
            "a second; a 429 is a post the fake Slack found over either"
        )
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
    parser.add_argument("--replicas", type=int, default=1, help="bot processes on one store")
    parser.add_argument(
        "--url", default="", help="a postgresql:// server for a scratch database (else SQLite)"
    )
    parser.add_argument(
        "--one-tick",
        action="store_true",
        help="fetch the feed at the post time: one tick builds and posts in step",
    )
    args = parser.parse_args()
    args.channels = [int(x) for x in args.channels.split(",")]
    args.criteria = [int(x) for x in args.criteria.split(",")]
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
