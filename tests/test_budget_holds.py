"""Budget holds of processes that die: a real child process reserves and is killed (SIGKILL);
its hold is taken back once it expires on the database's clock (not before), or at once when
the process is known dead on this host; a request still in flight keeps its hold by renewing;
a settle that comes after its hold was taken back still counts; two processes reserving at
once never pass the cap. On SQLite and PostgreSQL.

Run as a module (`python -m tests.test_budget_holds …`) it is the child process itself.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import sys
import time
from typing import Any

import pytest

from bot.__main__ import open_core
from bot.store import DailyAccount, Store
from bot.work import Work, process_name
from tests.conftest import REPO, child_env
from tests.fakes.openai_server import FakeOpenAI
from tests.test_conversation import session

CAP = 0.10
ELSEWHERE = "replica-b.internal:4242:0a1b2c"  # an owner on another host: never judged dead
HERE = "here"  # the child names itself as a bot process does (host, pid, nonce)


async def _spawn(database: str, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.test_budget_holds",
        database,
        *args,
        cwd=REPO,
        env=child_env({}),
        stdout=asyncio.subprocess.PIPE,
    )


async def _killed_holding(database: str, owner: str, usd: float, ttl: float) -> float:
    """A child process holds `usd` for a request in flight and is killed; when it held it
    (monotonic seconds, just after)."""
    child = await _spawn(database, "hold", owner, str(usd), str(ttl))
    assert child.stdout is not None
    line = await asyncio.wait_for(child.stdout.readline(), 60)
    held_at = time.monotonic()
    assert line.strip().isdigit(), line
    child.send_signal(signal.SIGKILL)
    assert await child.wait() == -signal.SIGKILL
    return held_at


async def test_a_killed_replicas_hold_is_taken_back_once_it_expires_not_before(
    database: str,
) -> None:
    # A replica on another host is killed while its request holds $0.08 of the $0.10 day.
    # Until the hold expires the others have no room (a digest then says its papers wait for
    # the budget); after it, they spend the money the dead replica never spent.
    ttl = 3.0
    held_at = await _killed_holding(database, ELSEWHERE, 0.08, ttl)
    async with Store.open(database) as store:
        account = DailyAccount(store.budget, CAP, ttl=ttl, gone=Work(store).gone)
        assert await account.reserve(0.05) is None
        assert await account.held_usd() == pytest.approx(0.08)
        hold = None
        while hold is None and time.monotonic() - held_at < ttl + 10:
            hold = await account.reserve(0.05)
            if hold is None:
                assert time.monotonic() - held_at < ttl + 3  # room soon after the expiry
                await asyncio.sleep(0.1)
        waited = time.monotonic() - held_at
        assert hold is not None
        assert waited >= ttl - 0.5  # the hold was alive until it expired
        spent, held = await store.budget.state(account.day())
        await account.settle(hold, 0.03)
        assert (spent, held) == pytest.approx((0.0, 0.05))  # the dead request spent nothing
        assert await store.budget.state(account.day()) == pytest.approx((0.03, 0.0))


async def test_a_killed_process_of_this_host_is_taken_back_at_once(database: str) -> None:
    # `arxiv-bot run` crashed here and was restarted: its holds are freed as soon as a
    # request finds no room, not after the expiry (ten minutes here).
    await _killed_holding(database, HERE, 0.08, 600.0)
    async with Store.open(database) as store:
        account = DailyAccount(store.budget, CAP, ttl=600.0, gone=Work(store).gone)
        hold = await account.reserve(0.05)
        assert hold is not None
        assert await account.held_usd() == pytest.approx(0.05)
        await account.release(hold)


async def test_today_after_a_replica_died_holding_the_whole_budget_scores_the_day(
    make_settings: Any, day_feed: list[dict[str, Any]], llm: FakeOpenAI, database: str
) -> None:
    # A replica on another host dies holding all of the day's $0.10. `today` in this one waits
    # for that hold, which expires after the lease time (2 s here); then the day is scored with
    # the money the dead replica never spent: the digest shows cards, and only the papers the
    # $0.10 really ran out for wait for tomorrow's budget (without the take-back, all would).
    settings = make_settings(
        ARXIV_BOT_ADMINS="",
        ARXIV_BOT_DAILY_BUDGET="0.10",
        ARXIV_BOT_LEASE_SECONDS="2",
        ARXIV_BOT_DB=database,
    )
    async with Store.open(database):
        pass  # migrated before the child uses it
    await _killed_holding(database, ELSEWHERE, CAP, 2.0)
    async with open_core(settings) as core:
        account = core.service.account
        assert account is not None
        assert await account.held_usd() == pytest.approx(CAP)
        digest = await session(core).say("today")
        spent, held = await core.store.budget.state(account.day())

    waiting = re.search(r"(\d+) of (\d+) papers wait for tomorrow's budget", digest)
    assert waiting is not None, digest  # a whole day costs more than $0.10
    assert int(waiting[1]) < int(waiting[2])
    assert "relevance 9" in digest or "relevance 10" in digest  # scored cards
    assert "Traceback" not in digest
    assert 0.02 < spent <= CAP  # the room the dead replica held is used here
    assert held == pytest.approx(0.0, abs=1e-12)


async def test_a_request_in_flight_past_the_expiry_keeps_its_hold_by_renewing(
    database: str,
) -> None:
    # A slow request (a batch polled for minutes) lives in a process that is alive: its hold is
    # renewed every third of the expiry, so another replica stays refused, and the reply's
    # cost is settled when it ends.
    ttl = 1.5
    async with Store.open(database) as one, Store.open(database) as two:
        slow = DailyAccount(one.budget, CAP, owner=ELSEWHERE, ttl=ttl)
        other = DailyAccount(two.budget, CAP, ttl=ttl)
        hold = await slow.reserve(0.08)
        assert hold is not None
        for _ in range(8):  # 4 s: well past the expiry
            await asyncio.sleep(0.5)
            assert await other.reserve(0.05) is None
        await slow.settle(hold, 0.06)
        assert await two.budget.state(other.day()) == pytest.approx((0.06, 0.0))
        assert await other.reserve(0.05) is None  # 0.06 spent + 0.05 > 0.10
        assert await other.reserve(0.04) is not None


async def test_a_settle_after_its_hold_was_taken_back_still_counts(database: str) -> None:
    # A replica paused (a VM pause, swap) past its hold's expiry wakes up with its reply: the
    # hold was taken back, but what the reply cost is still spent, once.
    async with Store.open(database) as one, Store.open(database) as two:
        paused = DailyAccount(one.budget, CAP)
        day = paused.day()
        hold = await one.budget.reserve(day, CAP, 0.08, owner=ELSEWHERE, ttl=0.5)
        assert hold is not None
        await asyncio.sleep(0.8)
        other = DailyAccount(two.budget, CAP)
        mine = await other.reserve(0.05)  # the expired hold is taken back for this one
        assert mine is not None
        await paused.settle(hold, 0.04)
        await paused.settle(hold, 0.04)  # counted once, however often it is said
        assert await one.budget.state(day) == pytest.approx((0.04, 0.05))
        await other.settle(mine, 0.05)
        assert await one.budget.state(day) == pytest.approx((0.09, 0.0))


async def test_two_processes_reserving_at_once_never_pass_the_cap(database: str) -> None:
    # Two replicas score at once: whatever their requests' worst cases, the day's holds and
    # spending together stay within the cap, and every granted request is counted.
    async with Store.open(database):
        pass  # migrated once, before the two children race to use it
    children = [await _spawn(database, "burst", str(seed)) for seed in (1, 2)]
    outputs = await asyncio.wait_for(asyncio.gather(*(c.communicate() for c in children)), 120)
    assert [c.returncode for c in children] == [0, 0]
    granted = [float(out.split()[0]) for out, _ in outputs]
    refused = [int(out.split()[1]) for out, _ in outputs]
    async with Store.open(database) as store:
        spent, held = await store.budget.state(DailyAccount(store.budget, CAP).day())
    assert all(n > 0 for n in refused)  # both met the cap
    assert held == pytest.approx(0.0, abs=1e-12)
    assert spent == pytest.approx(sum(granted))
    assert spent <= CAP + 1e-9
    assert spent > CAP - 0.01  # the budget was used, not left idle


async def _hold(database: str, owner: str, usd: str, ttl: str) -> None:
    """Hold `usd` for a request in flight, say the hold's id, and wait to be killed."""
    async with Store.open(database) as store:
        name = process_name() if owner == HERE else owner
        account = DailyAccount(store.budget, CAP, owner=name, ttl=float(ttl))
        hold = await account.reserve(float(usd))
        print(hold, flush=True)
        await asyncio.sleep(3600)


async def _burst(database: str, seed: str) -> None:
    """Reserve 40 random worst cases at once, settle each at its worst case; print the dollars
    granted and how many were refused."""
    rng = random.Random(int(seed))
    amounts = [rng.uniform(0.001, 0.006) for _ in range(40)]
    async with Store.open(database) as store:
        account = DailyAccount(store.budget, CAP)

        async def request(usd: float) -> float:
            hold = await account.reserve(usd)
            if hold is None:
                return -1.0
            await asyncio.sleep(rng.uniform(0, 0.05))
            await account.settle(hold, usd)
            return usd

        got = await asyncio.gather(*(request(usd) for usd in amounts))
    print(sum(g for g in got if g >= 0), sum(1 for g in got if g < 0), flush=True)


async def _main(args: list[str]) -> None:
    database, mode, *rest = args
    if mode == "hold":
        await _hold(database, *rest)
    else:
        await _burst(database, *rest)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(_main(sys.argv[1:]))
