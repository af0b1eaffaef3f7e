"""Work done once: concurrent callers share a unit, processes share it through leases in the
store, a dead holder's work is taken over, several processes opening a new database migrate it
once, and a day once decided stays decided. The store and lease tests run on SQLite and on
PostgreSQL (the `database` fixture); the digest processes run on both too."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.daily.delivery import Ceiling
from bot.digest.options import DigestOptions, LLMBudget
from bot.store import MIGRATIONS, Store
from bot.work import Work
from tests.cli import run_cli
from tests.conftest import bot_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import BatchPlan, FakeOpenAI, load_labels
from tests.fakes.synth import load_eval_day, rss_feed

REPO = Path(__file__).resolve().parents[1]
DAY_A = date(2025, 5, 2)
DAY_B = date(2025, 5, 5)


async def test_twenty_concurrent_callers_share_one_run_of_a_unit(database: str) -> None:
    async with Store.open(database) as store:
        work = Work(store)
        runs = 0

        async def make() -> int:
            nonlocal runs
            runs += 1
            await asyncio.sleep(0.05)
            return 42

        async def nothing() -> None:
            return None

        results = await asyncio.gather(*(work.once("unit", nothing, make) for _ in range(20)))
        assert results == [42] * 20
        assert runs == 1
        assert await store.work.leases() == []  # given back when done


async def test_stop_ends_the_work_a_cancelled_caller_left_running(database: str) -> None:
    """A caller that gives up (Ctrl-D in the console) leaves the shared work running for others;
    stopping the process's work cancels it and gives its lease back before the store closes."""
    started = asyncio.Event()

    async def hang() -> str:
        started.set()
        await asyncio.sleep(3600)
        return "never"

    async def nothing() -> None:
        return None

    async with Store.open(database) as store:
        work = Work(store)
        caller = asyncio.create_task(work.once("ingest:cs.LG", nothing, hang))
        await started.wait()
        caller.cancel()
        await asyncio.gather(caller, return_exceptions=True)
        assert await work.held("ingest:cs.LG")  # still running for anyone who joins
        await work.stop()
        assert not await work.held("ingest:cs.LG")
        assert await work.leases() == []


async def test_a_lease_is_held_by_one_process_and_taken_over_after_it_expires(
    database: str,
) -> None:
    db = database
    key = "deliver:C1:2025-05-02"
    async with Store.open(db) as first, Store.open(db) as second:
        here = Work(second, owner="this-host:2:bb", ttl=60)
        # a holder elsewhere that stopped renewing (paused, or gone): its lease runs out
        assert await first.work.take_lease(key, "other-host:1:aa", 0.5)
        async with here.attempt(key) as theirs:
            assert not theirs  # held by a live process elsewhere
        (lease,) = await here.leases()
        assert lease.owner == "other-host:1:aa"
        await asyncio.sleep(0.6)
        async with here.attempt(key) as theirs:
            assert theirs
            (lease,) = await here.leases()
            assert lease.owner == "this-host:2:bb"


# A replica whose clock runs 200 s ahead of everyone's tries to take a unit of work.
AHEAD_RUN = """
import asyncio, sys, time
real = time.time
time.time = lambda: real() + 200  # this replica's clock runs 200 s ahead
from bot.store import Store
from bot.work import Work

async def main(db):
    async with Store.open(db) as store:
        work = Work(store, owner="ahead-host:2:bb", ttl=120)
        async with work.attempt("deliver:C1:2025-05-02") as taken:
            print("took" if taken else "waited")

asyncio.run(main(sys.argv[1]))
"""


async def _ahead_replica(db: str) -> str:
    replica = await asyncio.create_subprocess_exec(
        sys.executable, "-c", AHEAD_RUN, db, cwd=REPO, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await replica.communicate()
    assert replica.returncode == 0
    return out.decode().strip()


async def test_a_replica_whose_clock_runs_ahead_cannot_take_over_a_live_lease(
    database: str,
) -> None:
    async with Store.open(database) as store:
        holder = Work(store, owner="other-host:1:aa", ttl=120)
        async with holder.attempt("deliver:C1:2025-05-02") as mine:
            assert mine
            assert await _ahead_replica(database) == "waited"  # 200 s ahead, lease 120 s
            (lease,) = await holder.leases()
            assert lease.owner == "other-host:1:aa"
        assert await _ahead_replica(database) == "took"  # given back: free for anyone


async def test_a_holder_that_died_on_this_host_is_taken_over_at_once(database: str) -> None:
    dead = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import os; print(os.getpid())", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await dead.communicate()
    pid = int(out)
    async with Store.open(database) as store:
        mine = Work(store)
        host = mine.owner.split(":")[0]
        await store.work.take_lease("score:1:m:2", f"{host}:{pid}:cc", 3600)
        async with mine.attempt("score:1:m:2") as taken:
            assert taken


async def test_an_exclusive_unit_waits_for_the_other_process_to_finish(database: str) -> None:
    db = database
    order: list[str] = []
    async with Store.open(db) as first, Store.open(db) as second:
        a = Work(first, owner="host-a:1:aa", poll=0.01)
        b = Work(second, owner="host-b:2:bb", poll=0.01)

        async def hold(work: Work, name: str) -> None:
            async with work.exclusive("score:1:gpt-4o:2"):
                order.append(f"{name} in")
                await asyncio.sleep(0.1)
                order.append(f"{name} out")

        await asyncio.gather(hold(a, "a"), hold(b, "b"))
    assert order in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])


def test_processes_opening_a_new_database_together_migrate_it_once(database: str) -> None:
    db = database  # a new SQLite file, or a new PostgreSQL database with no table yet
    script = (
        "import asyncio, sys\n"
        "from bot.store import Store\n"
        "async def main():\n"
        "    async with Store.open(sys.argv[1]) as s:\n"
        "        print(await s.schema_version())\n"
        "asyncio.run(main())\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(db)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, [err for _, err in outs]
    assert {out.strip() for out, _ in outs} == {str(len(MIGRATIONS))}


def _digest_env(arxiv: FakeArxiv, llm: FakeOpenAI, db: Path | str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), **bot_env(arxiv, llm, Path(), ARXIV_BOT_DB=str(db))}


async def _digest(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str, str]:
    result = await run_cli(env, cwd, "digest", *args)
    return result.code, result.out, result.err


async def test_four_digest_processes_on_a_fresh_database_agree_and_pay_once(
    arxiv: FakeArxiv, llm: FakeOpenAI, day_feed: list[dict[str, Any]], tmp_path: Path
) -> None:
    alone = await _digest(_digest_env(arxiv, llm, tmp_path / "alone.sqlite3"), tmp_path)
    assert alone[0] == 0, alone[2]
    one_run = llm.calls
    assert one_run > 0

    env = _digest_env(arxiv, llm, tmp_path / "shared.sqlite3")
    runs = await asyncio.gather(*(_digest(env, tmp_path) for _ in range(4)))
    assert [code for code, _, _ in runs] == [0, 0, 0, 0], [err for _, _, err in runs]
    assert llm.calls - one_run == one_run  # the four together: the requests of one run
    assert len({out for _, out, _ in runs}) == 1  # one digest for all four
    # the same papers as alone (only the fake's prompt cache, warm now, changes a cost row)
    assert _papers(runs[0][1]) == _papers(alone[1]) != []
    assert "Traceback" not in "".join(err for _, _, err in runs)


def _papers(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if "arxiv.org/abs/" in line]


async def test_an_earlier_day_rebuilt_after_a_later_one_spends_nothing_and_keeps_its_papers(
    arxiv: FakeArxiv, llm: FakeOpenAI, day_feed: list[dict[str, Any]], tmp_path: Path
) -> None:
    env = _digest_env(arxiv, llm, tmp_path / "bot.sqlite3")
    env["ARXIV_BOT_LLM_SHARE"] = "0.3"
    env["ARXIV_BOT_ADAPTIVE_SHARE"] = "false"  # the fixed share these counts assume
    code, first_a, err = await _digest(env, tmp_path)
    assert code == 0, err
    papers_b = load_eval_day(DAY_B.isoformat())
    arxiv.set_feed(rss_feed(papers_b, DAY_B))
    arxiv.add_papers(papers_b)
    code, _, err = await _digest(env, tmp_path)  # day B: scored, its verdicts teach the ranking
    assert code == 0, err
    calls = llm.calls

    code, again_a, err = await _digest(env, tmp_path, "--day", DAY_A.isoformat())
    assert code == 0, err
    assert llm.calls == calls  # no LLM request
    assert again_a == first_a  # A's first papers, counts and costs


async def test_channels_with_the_same_criteria_and_no_reactions_share_one_ranking(
    core: Any, llm: FakeOpenAI
) -> None:
    options = DigestOptions(budget=LLMBudget(share=0.3, min_papers=60, adaptive=False))
    await core.service.ingest(options.categories)
    for channel in ("team-a", "team-b", "team-c"):
        await core.service.use_criteria(channel, core.criteria_text, "test")
    built = await asyncio.gather(
        *(core.service.build(c, DAY_A, options) for c in ("team-a", "team-b", "team-c"))
    )
    assert len({tuple(e.paper.id for e in d.entries) for d in built}) == 1
    asked = [pid for batch in llm.asked_ids for pid in batch]
    assert len(asked) == len(set(asked)) == 62  # one scoring of the shared top 30%
    frames = [await core.store.digests.frame(c, DAY_A) for c in ("team-a", "team-b", "team-c")]
    assert len({f.ranking_key for f in frames}) == 1
    assert len({f.sent_ids for f in frames}) == 1


async def test_old_rankings_are_pruned_and_the_days_digest_stays_as_decided(
    core: Any, llm: FakeOpenAI
) -> None:
    options = DigestOptions(budget=LLMBudget(share=0.3, min_papers=60))
    await core.service.ingest(options.categories)
    await core.service.use_criteria("team-a", core.criteria_text, "test")
    first = await core.service.build("team-a", DAY_A, options)
    assert len(await core.store.rankings.ranking("team-a", DAY_A)) == 206
    assert await core.store.rankings.prune(date(2025, 5, 3)) == 1
    assert await core.store.rankings.ranking("team-a", DAY_A) == []
    calls = llm.calls
    again = await core.service.build("team-a", DAY_A, options)
    assert llm.calls == calls
    assert again.entries == first.entries
    assert again.counts == first.counts  # still "62 sent to the LLM", from the digest's frame


async def test_the_bot_wide_ceiling_spaces_posts_from_many_channels() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    ceiling = Ceiling(4.0, clock=lambda: now[0], sleep=sleep)
    await asyncio.gather(*(ceiling.wait() for _ in range(5)))
    assert slept == [0.25, 0.5, 0.75, 1.0]  # the first goes at once, then 4 a second


async def test_a_command_does_not_wait_for_the_days_batch_of_its_criteria(
    core: Any, llm: FakeOpenAI
) -> None:
    llm.batch_plan = BatchPlan(polls=100_000)  # a batch that would run for hours
    options = DigestOptions(budget=LLMBudget(share=0.3, min_papers=60))
    await core.service.ingest(options.categories)
    for channel in ("team-a", "team-b"):
        await core.service.use_criteria(channel, core.criteria_text, "test")
    far = datetime.now(UTC) + timedelta(hours=6)
    daily = asyncio.create_task(core.service.build("team-a", DAY_A, options, batch_until=far))
    for _ in range(500):
        if llm.batch_calls:
            break
        await asyncio.sleep(0.02)
    asked_now = await asyncio.wait_for(core.service.build("team-b", DAY_A, options), 30)
    assert asked_now is not None
    assert asked_now.counts.unscored == 0
    assert (await daily) is not None
    asked = [pid for batch in llm.asked_ids for pid in batch]
    # the cancelled batch answered none: each paper sent was asked once, synchronously
    assert len(asked) == len(set(asked)) == asked_now.counts.sent


async def test_a_fresh_installs_first_digest_shows_the_reference_picks(
    arxiv: FakeArxiv, llm: FakeOpenAI, day_feed: list[dict[str, Any]], tmp_path: Path
) -> None:
    env = _digest_env(arxiv, llm, tmp_path / "fresh.sqlite3")
    del env["ARXIV_BOT_LLM_SHARE"]  # the product's defaults: warm-up on an empty database
    code, out, err = await _digest(env, tmp_path)
    assert code == 0, err
    picks = load_labels(DAY_A.isoformat())
    shown = [pid for pid in picks if f"arxiv.org/abs/{pid}" in out]
    assert len(shown) >= 0.9 * len(picks)  # the warm-up's 60% holds 11 of the 12


async def test_four_digest_processes_on_a_fresh_postgresql_database_agree_and_pay_once(
    arxiv: FakeArxiv,
    llm: FakeOpenAI,
    day_feed: list[dict[str, Any]],
    tmp_path: Path,
    postgres: str,
) -> None:
    alone = await _digest(_digest_env(arxiv, llm, tmp_path / "alone.sqlite3"), tmp_path)
    assert alone[0] == 0, alone[2]
    one_run = llm.calls
    assert one_run > 0

    env = _digest_env(arxiv, llm, postgres)
    runs = await asyncio.gather(*(_digest(env, tmp_path) for _ in range(4)))
    assert [code for code, _, _ in runs] == [0, 0, 0, 0], [err for _, _, err in runs]
    assert llm.calls - one_run == one_run  # the four together: the requests of one run
    assert len({out for _, out, _ in runs}) == 1  # one digest for all four
    assert _papers(runs[0][1]) == _papers(alone[1]) != []
    assert "Traceback" not in "".join(err for _, _, err in runs)


async def test_a_digest_on_postgresql_is_the_digest_on_sqlite_with_the_same_requests(
    arxiv: FakeArxiv,
    llm: FakeOpenAI,
    day_feed: list[dict[str, Any]],
    tmp_path: Path,
    postgres: str,
) -> None:
    code, on_sqlite, err = await _digest(
        _digest_env(arxiv, llm, tmp_path / "bot.sqlite3"), tmp_path
    )
    assert code == 0, err
    async with FakeOpenAI.from_labels("2025-05-02", model="gpt-4o") as cold:  # a cold cache too
        code, on_postgres, err = await _digest(_digest_env(arxiv, cold, postgres), tmp_path)
        assert code == 0, err
        assert on_postgres == on_sqlite != ""
        assert _requests(cold) == _requests(llm)
        code, again, err = await _digest(_digest_env(arxiv, cold, postgres), tmp_path)
        assert (code, again) == (0, on_postgres)
        assert len(cold.requests) == len(llm.requests)  # the second run spent nothing
    async with Store.open(postgres) as store:
        assert await store.schema_version() == len(MIGRATIONS)
        assert await store.papers.latest_feed_day("cs.LG+cs.AI") == DAY_A


def _requests(llm: FakeOpenAI) -> list[str]:
    """The LLM requests sent, in a stable order (batches run concurrently)."""
    return sorted(json.dumps(body, sort_keys=True) for body in llm.requests)
