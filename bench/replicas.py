"""Benchmark: three `arxiv-bot run` replicas on one PostgreSQL, tried as an operator's worst day.

Each trial starts the fake arXiv (serving today's announcement day), the fake OpenAI, the fake
Slack (pacing posts as Slack does) and a scratch PostgreSQL database, subscribes channels in it,
and starts real `arxiv-bot run` processes on it, each in its own UTS namespace with its own host
name (`unshare --uts`, so no replica judges another's pids: a dead one is taken over when its
lease expires, as across machines). The channels post at once (their post time has passed), and:

  a) budget   4 channels with distinct criteria, ARXIV_BOT_DAILY_BUDGET=0.10, three replicas:
              dollars in the ledger (goal <= 0.105)
  b) stop     SIGSTOP of the delivering replica mid-thread until another took it over, then
              SIGCONT: duplicate and lost cards (goal 0 and 0); lease 6 s
  c) skew     two replicas whose clocks run 200 s ahead (libfaketime) join while the delivery is
              held mid-thread (Slack answers held 12 s each, 48 s in all): duplicates (goal 0)
              and the lease never taken over; lease 120 s
  d) kill     SIGKILL of the delivering replica mid-thread (lease 120 s): seconds from the kill
              to the finished thread (goal <= 180), duplicates and lost (goal 0 and 0)
  e) orphans  two SIGKILLs of `run` while its ranking worker is up: processes of the killed
              bot still running 10 s later (the ranking worker; goal 0)

Duplicates and lost cards are counted from what the fake Slack received: per channel, parents
beyond one, and each digest slot's messages (found by their metadata) against the digest stored.

    python -m bench.replicas [--url postgresql://postgres@127.0.0.1:55432/postgres] [--only b,d]

Needs root (unshare) and libfaketime (`apt-get install -y faketime`) for c). It prints one line
per trial and a summary line; a measurement, never a CI gate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench.channels import criteria_versions
from bench.pg import scratch_database
from bot.__main__ import open_core
from bot.config.settings import Settings
from bot.daily.pacing import SLACK_CHANNEL, SLACK_WORKSPACE
from bot.daily.post import DAILY_START
from bot.daily.schedule import latest_rebuild
from bot.store import PostgresURL, parse_database
from tests.conftest import NO_ENV_FILE, bot_env, child_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI, LabelAnswerer, load_labels
from tests.fakes.slack_server import Bucket, FakeSlack
from tests.fakes.synth import load_eval_day, rss_feed

REPO = Path(__file__).resolve().parents[1]
EVAL_DAY = "2025-05-02"
LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
TOKEN = "xoxb-bench-replicas"
SECRET = "bench-replicas-signing-secret"


def small_day() -> list[dict[str, Any]]:
    """The evaluation day's reference picks (12 cards) and 30 other papers."""
    papers = load_eval_day(EVAL_DAY)
    picks = load_labels(EVAL_DAY)
    return [p for p in papers if p["id"] in picks] + [p for p in papers if p["id"] not in picks][
        :30
    ]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Replica:
    """One `arxiv-bot run` process and its log file."""

    name: str
    proc: asyncio.subprocess.Process
    log: Path
    health: int

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Tally:
    """What one channel's Slack shows against its stored digest."""

    parents: int
    cards: int
    duplicates: int
    lost: int


@dataclass
class Rig:
    """The fakes, the scratch database and the replicas of one trial."""

    arxiv: FakeArxiv
    llm: FakeOpenAI
    slack: FakeSlack
    dsn: str
    folder: Path
    channels: list[str]
    env: dict[str, str]
    day: date
    replicas: list[Replica] = field(default_factory=list)

    async def start(self, name: str, *, ahead: int = 0) -> Replica:
        """A replica on its own host name; `ahead` seconds: its clock runs that far ahead."""
        health = free_port()
        env = child_env(
            {
                **self.env,
                "ARXIV_BOT_HEALTH_PORT": str(health),
                "ARXIV_BOT_HTTP_PORT": str(free_port()),
            }
        )
        if ahead:
            env |= {"LD_PRELOAD": str(LIBFAKETIME), "FAKETIME": f"+{ahead}s"}
        log = self.folder / f"{name}.log"
        command = f"hostname {name} && exec {sys.executable} -m bot {NO_ENV_FILE} run"
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                "unshare",
                "--uts",
                "sh",
                "-c",
                command,
                env=env,
                cwd=REPO,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=out,
            )
        replica = Replica(name, proc, log, health)
        self.replicas.append(replica)
        return replica

    async def healthy(self, replica: Replica, within: float = 60) -> None:
        import aiohttp

        url = f"http://127.0.0.1:{replica.health}/healthz"
        async with aiohttp.ClientSession() as http, asyncio.timeout(within):
            while True:
                if replica.proc.returncode is not None:
                    raise SystemExit(f"{replica.name} exited:\n{replica.text()[-3000:]}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(url) as resp:
                        if resp.status == 200:
                            return
                await asyncio.sleep(0.2)

    async def query(self, sql: str, *args: object) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.dsn)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def lease(self, channel: str) -> tuple[str, int] | None:
        """The owner and epoch of `channel`'s delivery lease today."""
        rows = await self.query(
            "SELECT owner, epoch FROM work WHERE key = $1", f"deliver:{channel}:{self.day}"
        )
        return (str(rows[0]["owner"]), int(rows[0]["epoch"])) if rows else None

    async def holder(self, channel: str) -> tuple[Replica, int] | None:
        """The replica delivering `channel`, and its lease's epoch."""
        lease = await self.lease(channel)
        if lease is None:
            return None
        pid = int(lease[0].split(":")[1])
        for replica in self.replicas:
            if replica.proc.pid == pid:
                return replica, lease[1]
        return None

    async def states(self) -> dict[str, str]:
        rows = await self.query(
            "SELECT channel_id, state FROM digests WHERE day = $1", str(self.day)
        )
        return {str(r["channel_id"]): str(r["state"]) for r in rows}

    async def wait(self, ready: Callable[[], Any], within: float, every: float = 0.2) -> float:
        """Seconds until `ready()` (sync or async) is true; raises TimeoutError after `within`."""
        started = time.monotonic()
        async with asyncio.timeout(within):
            while True:
                value = ready()
                if asyncio.iscoroutine(value):
                    value = await value
                if value:
                    return time.monotonic() - started
                await asyncio.sleep(every)

    async def all_posted(self) -> bool:
        states = await self.states()
        return all(states.get(c) == "posted" for c in self.channels)

    def cards(self, channel: str) -> int:
        return sum(1 for m in self.slack.channel_messages(channel) if m.thread_ts)

    async def tally(self, channel: str) -> Tally:
        """Parents, cards, duplicates and lost cards of `channel`'s thread today."""
        rows = await self.query(
            "SELECT body FROM digests WHERE channel_id = $1 AND day = $2", channel, str(self.day)
        )
        expected = set(digest_slots(json.loads(rows[0]["body"]))) if rows else set()
        slots = Counter(slot_of(m.metadata, self.day) for m in self.slack.channel_messages(channel))
        slots.pop(None, None)
        parents = slots.pop("parent", 0)
        duplicates = max(parents - 1, 0) + sum(n - 1 for n in slots.values() if n > 1)
        lost = len(expected - set(slots))
        return Tally(parents, sum(slots.values()), duplicates, lost)

    def dump(self, channel: str) -> None:
        """The replicas' logs and the channel's messages, on stderr, for a trial that failed."""
        for replica in self.replicas:
            print(
                f"--- {replica.name} (pid {replica.proc.pid})\n{replica.text()[-6000:]}",
                file=sys.stderr,
            )
        for m in self.slack.channel_messages(channel):
            print(
                f"message {m.ts} thread {m.thread_ts} slot {slot_of(m.metadata, self.day)}",
                file=sys.stderr,
            )

    async def stop(self) -> None:
        for replica in self.replicas:
            with contextlib.suppress(ProcessLookupError):
                replica.proc.send_signal(signal.SIGCONT)
                replica.proc.send_signal(signal.SIGTERM)
        for replica in self.replicas:
            try:
                await asyncio.wait_for(replica.proc.wait(), 40)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    replica.proc.kill()
                await replica.proc.wait()


def slot_of(meta: dict[str, Any] | None, day: date) -> str | None:
    """The digest slot a Slack message's metadata names (as `adapters.slack_blocks` writes it)."""
    payload = (meta or {}).get("event_payload") or {}
    return str(payload.get("slot")) if payload.get("day") == day.isoformat() else None


def digest_slots(body: Any) -> list[str]:
    """The paper ids a stored digest shows, one card each."""
    return [str(p["id"]) for p in body.get("papers", [])]


@asynccontextmanager
async def rig(
    server: PostgresURL,
    papers: list[dict[str, Any]],
    *,
    channels: int = 1,
    criteria: int = 1,
    **extra: str,
) -> AsyncIterator[Rig]:
    """The fakes and a scratch database with `channels` subscribed Slack channels, their
    criteria in `criteria` distinct versions; replicas are started by the trial."""
    labels: dict[str, dict[str, Any]] = dict(load_labels(EVAL_DAY))
    rebuild = latest_rebuild(datetime.now(UTC))
    day = rebuild.date()
    async with AsyncExitStack() as stack:
        arxiv = await stack.enter_async_context(FakeArxiv())
        llm = await stack.enter_async_context(FakeOpenAI(LabelAnswerer(labels), model="gpt-4o"))
        slack = await stack.enter_async_context(FakeSlack())
        dsn = await stack.enter_async_context(scratch_database(server))
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-replicas-")))
        arxiv.set_feed(rss_feed(papers, day))
        arxiv.add_papers(papers)
        slack.pace(
            Bucket(SLACK_CHANNEL.interval, SLACK_CHANNEL.burst),
            Bucket(SLACK_WORKSPACE.interval, SLACK_WORKSPACE.burst),
        )
        env = bot_env(
            arxiv,
            llm,
            Path(),
            ARXIV_BOT_DB=dsn,
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SECRET,
            ARXIV_BOT_SLACK_API_URL=slack.api_url,
            # the feed's rebuild moment: every channel's post of today is due at start
            ARXIV_BOT_TIMEZONE="America/New_York",
            ARXIV_BOT_POST_TIME="00:30",
            ARXIV_BOT_CATCH_UP_HOURS="100",
            ARXIV_BOT_BATCH="off",
            ARXIV_BOT_ENRICH="false",
            **extra,
        )
        names = [f"C0BENCH{n:02d}" for n in range(channels)]
        async with open_core(Settings.from_env(env)) as core:
            texts = criteria_versions(core.criteria_text, criteria)
            for n, name in enumerate(names):
                await core.store.channels.get(name, "slack")
                await core.store.channels.set_subscribed(name, True)
                await core.service.use_criteria(name, texts[n % criteria], "bench")
                # subscribed before today's feed: today's post is due at once, not tomorrow's
                since = (rebuild - timedelta(hours=1)).isoformat()
                await core.store.channels.record_event(name, "arxiv-bot", DAILY_START, since)
        one = Rig(arxiv, llm, slack, dsn, folder, names, env, day)
        try:
            yield one
        except BaseException:
            for replica in one.replicas:  # what the replicas said, for whoever reads the failure
                print(f"--- {replica.name}\n{replica.text()[-4000:]}", file=sys.stderr)
            raise
        finally:
            await one.stop()


def mid_thread(r: Rig, channel: str, cards: int) -> Callable[[], bool]:
    return lambda: r.cards(channel) >= cards


# -- the trials -----------------------------------------------------------------------------


async def trial_budget(server: PostgresURL) -> dict[str, Any]:
    papers = load_eval_day(EVAL_DAY)
    async with rig(
        server,
        papers,
        channels=4,
        criteria=4,
        ARXIV_BOT_DAILY_BUDGET="0.10",
        ARXIV_BOT_LLM_SHARE="0.3",
    ) as r:
        for n in range(3):
            await r.start(f"replica-{n + 1}")
        took = await r.wait(r.all_posted, 300, every=0.5)
        ledger = await r.query(
            "SELECT COALESCE(SUM(prompt_cost_usd + completion_cost_usd), 0) AS usd, "
            "COALESCE(SUM(calls), 0) AS calls FROM llm_usage"
        )
        account = await r.query("SELECT spent_usd, reserved_usd FROM budget_days")
        tallies = [await r.tally(c) for c in r.channels]
        waited = sum(t.text().count("budget") for t in r.replicas)
    spent = float(ledger[0]["usd"])
    return {
        "line": (
            f"a) budget   4 channels, 4 criteria, 3 replicas, budget $0.10: spent ${spent:.4f} "
            f"(ledger, {int(ledger[0]['calls'])} LLM calls; account spent "
            f"${float(account[0]['spent_usd']) if account else 0:.4f}, held "
            f"${float(account[0]['reserved_usd']) if account else 0:.4f}); "
            f"{sum(t.cards for t in tallies)} cards in 4 threads, "
            f"{sum(t.duplicates for t in tallies)} duplicates; posted in {took:.0f} s; "
            f"budget lines in logs {waited}"
        ),
        "ok": spent <= 0.105,
    }


async def stop_round(server: PostgresURL) -> tuple[int, float, Tally, int]:
    """One SIGSTOP round: the card it stopped at, the seconds to the take-over, the thread's
    tally and how often the resumed replica said it stopped."""
    async with rig(server, small_day(), ARXIV_BOT_LEASE_SECONDS="6") as r:
        channel = r.channels[0]
        for n in range(3):
            await r.start(f"replica-{n + 1}")
        await r.wait(mid_thread(r, channel, 3), 180)
        held = await r.holder(channel)
        assert held is not None, "no replica holds the delivery"
        stopped, epoch = held
        stopped.proc.send_signal(signal.SIGSTOP)
        at = r.cards(channel)

        async def taken_over() -> bool:
            lease = await r.lease(channel)
            return lease is not None and lease[1] > epoch

        took = await r.wait(taken_over, 60)
        stopped.proc.send_signal(signal.SIGCONT)
        await r.wait(r.all_posted, 120)
        await asyncio.sleep(5)  # the resumed replica's next record is refused, or it posts
        t = await r.tally(channel)
        said = stopped.text().count("took this delivery over")
        if t.duplicates:
            r.dump(channel)
    return at, took, t, said


async def trial_stop(server: PostgresURL, rounds: int) -> dict[str, Any]:
    results = [await stop_round(server) for _ in range(rounds)]
    dup = sum(t.duplicates for _, _, t, _ in results)
    lost = sum(t.lost for _, _, t, _ in results)
    return {
        "line": (
            f"b) stop     {rounds} rounds, SIGSTOP at card "
            f"{'/'.join(str(a) for a, _, _, _ in results)}, taken over after "
            f"{'/'.join(f'{s:.1f}' for _, s, _, _ in results)} s (lease 6 s), SIGCONT: "
            f"{dup} duplicates, {lost} lost in {sum(t.cards for _, _, t, _ in results)} cards; "
            f"the resumed replica said it stopped in {sum(1 for *_, n in results if n)} rounds"
        ),
        "ok": dup == 0 and lost == 0,
    }


HOLDS = 4  # trial c holds the delivery this many times mid-thread,
HOLD_SECONDS = 12.0  # each this long (the Slack client gives up on an answer after 30 s)


async def trial_skew(server: PostgresURL) -> dict[str, Any]:
    async with rig(server, small_day(), ARXIV_BOT_LEASE_SECONDS="120") as r:
        channel = r.channels[0]
        stall = r.slack.stall(after=3)  # the parent and two cards answered, the third held
        await r.start("replica-1")
        await r.wait(stall.reached.is_set, 180)
        ahead = [await r.start(f"replica-{n}", ahead=200) for n in (2, 3)]
        for replica in ahead:
            await r.healthy(replica)
        held = 0.0
        epochs: set[int] = set()
        for n in range(HOLDS):  # one Slack answer after another held: their ticks and watches
            if n:
                stall = r.slack.stall(after=0)
                await r.wait(stall.reached.is_set, 60)
            await asyncio.sleep(HOLD_SECONDS)
            held += HOLD_SECONDS
            lease = await r.lease(channel)  # the row goes once the thread is done
            epochs.add(lease[1] if lease else -1)
            stall.go.set()
        await r.wait(r.all_posted, 120)
        await asyncio.sleep(3)
        t = await r.tally(channel)
    return {
        "line": (
            f"c) skew     2 replicas 200 s ahead joined mid-thread (lease 120 s; the thread held "
            f"{held:.0f} s beside them, {HOLDS} Slack answers of {HOLD_SECONDS:.0f} s): "
            f"{t.cards} cards, {t.duplicates} duplicates, {t.lost} lost; lease epochs seen while "
            f"held {sorted(epochs)} (1: never taken over)"
        ),
        "ok": t.duplicates == 0 and t.lost == 0 and epochs == {1},
    }


async def trial_kill(server: PostgresURL) -> dict[str, Any]:
    async with rig(server, small_day(), ARXIV_BOT_LEASE_SECONDS="120") as r:
        channel = r.channels[0]
        for n in range(3):
            await r.start(f"replica-{n + 1}")
        await r.wait(mid_thread(r, channel, 3), 180)
        held = await r.holder(channel)
        assert held is not None, "no replica holds the delivery"
        killed, _ = held
        killed.proc.kill()
        at = r.cards(channel)
        started = time.monotonic()
        try:
            await r.wait(r.all_posted, 300, every=0.5)
            took: float | None = time.monotonic() - started
        except TimeoutError:
            took = None
        await asyncio.sleep(3)
        t = await r.tally(channel)
    shown = f"{took:.0f} s" if took is not None else "not within 300 s"
    return {
        "line": (
            f"d) kill     SIGKILL at card {at} (lease 120 s, owner on another host): thread "
            f"finished {shown} after the kill (goal 180), {t.cards} cards, "
            f"{t.duplicates} duplicates, {t.lost} lost"
        ),
        "ok": took is not None and took <= 180 and t.duplicates == 0 and t.lost == 0,
    }


def descendants(pid: int) -> set[int]:
    """Every live process below `pid`, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    out: set[int] = set()
    todo = [pid]
    while todo:
        here = todo.pop()
        for child, parent in parents.items():
            if parent == here and child not in out:
                out.add(child)
                todo.append(child)
    return out


def running(pid: int) -> bool:
    """Whether `pid` still runs (a zombie nobody reaped does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def command_line(pid: int) -> str:
    """The first 80 characters of a process's command line."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace")[:80]


async def trial_orphans(server: PostgresURL) -> dict[str, Any]:
    left: list[str] = []
    seen = 0
    for n in range(2):
        async with rig(server, load_eval_day(EVAL_DAY), ARXIV_BOT_LLM_SHARE="0.3") as r:
            replica = await r.start(f"replica-{n + 1}")
            pid = replica.proc.pid
            up = lambda pid=pid: len(descendants(pid)) >= 1  # noqa: E731 - the ranking worker
            await r.wait(up, 120)
            below = descendants(pid)
            seen += len(below)
            replica.proc.kill()
            await replica.proc.wait()
            await asyncio.sleep(10)
            for child in below:
                if running(child):
                    left.append(command_line(child))
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(child, signal.SIGKILL)  # the bench's own leftovers
    return {
        "line": (
            f"e) orphans  2 SIGKILLs of run with the ranking worker up ({seen} child processes "
            f"in all): {len(left)} left running 10 s later"
            + (f": {'; '.join(left)}" if left else "")
        ),
        "ok": not left,
    }


TRIALS: dict[str, Callable[..., Awaitable[dict[str, Any]]]] = {
    "a": trial_budget,
    "b": trial_stop,
    "c": trial_skew,
    "d": trial_kill,
    "e": trial_orphans,
}


async def run(args: argparse.Namespace) -> None:
    server = parse_database(args.url)
    if not isinstance(server, PostgresURL):
        raise SystemExit("--url must be a postgresql:// URL (or set ARXIV_BOT_TEST_PG)")
    started = time.monotonic()
    held = 0
    for name in args.only:
        trial = TRIALS[name]
        result = await (trial(server, args.rounds) if name == "b" else trial(server))
        held += bool(result["ok"])
        print(result["line"] + ("" if result["ok"] else "   <- FAILS ITS GOAL"), flush=True)
    print(
        f"replicas: {held} of {len(args.only)} trials hold their goal, "
        f"{time.monotonic() - started:.0f} s in all"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("ARXIV_BOT_TEST_PG", ""))
    parser.add_argument("--rounds", type=int, default=3, help="rounds of trial b")
    parser.add_argument("--only", default="a,b,c,d,e", help="comma-separated trials")
    args = parser.parse_args()
    args.only = [t.strip() for t in args.only.split(",") if t.strip()]
    if "c" in args.only and not LIBFAKETIME.exists():
        raise SystemExit(f"trial c needs libfaketime ({LIBFAKETIME}): apt-get install -y faketime")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
