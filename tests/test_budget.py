"""The daily LLM budget as one account: channels with distinct criteria building at once, two
store connections reserving at once (SQLite and PostgreSQL), `explain … fresh` and `ask` after
the cap, a failed request giving its hold back, a batch held whole; and the warm-up's bounded
cost — all through the real openai client against the fake endpoint."""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import re
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openai import AsyncOpenAI

from bot.__main__ import open_core, status_command
from bot.models import Paper, Score, Usage
from bot.store import DailyAccount, Store
from scoring.batch import BatchScorer
from scoring.pricing import PriceTable
from tests.conftest import TEST_KEY
from tests.fakes.openai_server import BatchPlan, FakeOpenAI, ServerError
from tests.test_conversation import session

CRITERIA = (
    "Model compression, sparsity and mixture-of-experts.",
    "Reinforcement learning from human feedback and reward models.",
    "Graph neural networks for molecules and materials.",
    "Theory of in-context learning in transformers.",
)


def today() -> date:
    return datetime.now(UTC).date()


def fake_cost(llm: FakeOpenAI) -> float:
    """What the fake endpoint billed, from its own token counts (the ledger is not trusted)."""
    usage = PriceTable().usage(
        "gpt-4o", llm.total_prompt_tokens, llm.total_cached_tokens, llm.total_completion_tokens
    )
    return usage.cost_usd


@pytest.fixture
async def budgeted(make_settings: Any, day_feed: list[dict[str, Any]]) -> AsyncIterator[Any]:
    """The bot's core on 2025-05-02 with a daily budget of $0.10; anyone may change criteria."""
    settings = make_settings(ARXIV_BOT_ADMINS="", ARXIV_BOT_DAILY_BUDGET="0.10")
    async with open_core(settings) as core:
        yield core


async def test_four_channels_with_distinct_criteria_spend_at_most_the_daily_budget(
    make_settings: Any, day_feed: list[dict[str, Any]], llm: FakeOpenAI, database: str
) -> None:
    settings = make_settings(
        ARXIV_BOT_ADMINS="", ARXIV_BOT_DAILY_BUDGET="0.10", ARXIV_BOT_DB=database
    )
    async with open_core(settings) as budgeted:
        channels = [session(budgeted, channel=f"team-{n}") for n in range(len(CRITERIA))]
        for s, text in zip(channels, CRITERIA, strict=True):
            await s.say(f"criteria set {text}")

        digests = await asyncio.gather(*(s.say("today") for s in channels))
        ledger = await budgeted.store.stats.usage()
        spent, held = await budgeted.store.budget.state(today())

    assert llm.calls > 0
    assert fake_cost(llm) <= 0.105
    assert 0.05 < ledger.cost_usd <= 0.10  # the budget is used, not left idle
    assert held == pytest.approx(0.0, abs=1e-12)
    assert spent == pytest.approx(ledger.cost_usd)
    waiting = [d for d in digests if "wait for tomorrow's budget" in d]
    assert waiting, digests  # a whole day per channel costs far more than $0.10
    assert all("The daily LLM budget of $0.10 was reached" in d for d in waiting)


async def test_concurrent_reservations_from_two_connections_never_pass_the_cap(
    database: str,
) -> None:
    cap = 0.05
    rng = random.Random(7)
    amounts = [rng.uniform(0.001, 0.006) for _ in range(60)]
    async with Store.open(database) as one, Store.open(database) as two:
        accounts = [DailyAccount(one.budget, cap), DailyAccount(two.budget, cap)]

        async def request(n: int, usd: float) -> int | None:
            account = accounts[n % 2]
            hold = await account.reserve(usd)
            if hold is not None:
                await asyncio.sleep(0)
                await account.settle(hold, usd * 0.5)  # replies cost less than their worst case
            return hold

        holds = await asyncio.gather(*(request(n, usd) for n, usd in enumerate(amounts)))
        granted = [usd for hold, usd in zip(holds, amounts, strict=True) if hold is not None]
        refused = len(amounts) - len(granted)
        spent, held = await one.budget.state(accounts[0].day())

    assert refused > 0
    assert held == pytest.approx(0.0, abs=1e-12)
    assert spent == pytest.approx(sum(granted) * 0.5)
    assert spent <= cap


async def test_holds_across_connections_are_counted_before_they_settle(database: str) -> None:
    async with Store.open(database) as one, Store.open(database) as two:
        first, second = DailyAccount(one.budget, 0.10), DailyAccount(two.budget, 0.10)
        hold = await first.reserve(0.07)
        assert hold is not None
        assert await second.reserve(0.04) is None  # 0.07 held elsewhere + 0.04 > 0.10
        await first.settle(hold, 0.02)
        await first.settle(hold, 0.02)  # settled once, however often it is said
        assert await second.reserve(0.04) is not None
        spent, held = await one.budget.state(first.day())
        assert (spent, held) == pytest.approx((0.02, 0.04))


async def test_spending_recorded_before_the_account_existed_counts(tmp_path: Path) -> None:
    async with Store.open(tmp_path / "bot.sqlite3") as store:
        await store.stats.record_usage("explain", "gpt-4o", Usage(1, 10, 0, 10, 0.06, 0.03))
        account = DailyAccount(store.budget, 0.10)
        assert await account.reserve(0.02) is None
        assert await account.reserve(0.01) is not None


async def test_explain_fresh_after_the_cap_is_refused_and_sends_nothing(
    budgeted: Any, llm: FakeOpenAI
) -> None:
    s = session(budgeted)
    await s.say("today")
    paper_id = (await s.say("explain 1")).split("(arXiv:")[1].split(")")[0]
    account = budgeted.service.account
    spent, held = await budgeted.store.budget.state(account.day())
    other = await account.reserve(0.10 - spent - held)  # the rest, held by another replica
    assert other is not None
    calls = llm.calls

    out = await s.say(f"explain {paper_id} fresh")

    assert "today's LLM budget of $0.10 is spent; nothing was sent to the LLM" in out
    assert "Traceback" not in out
    assert llm.calls == calls
    await account.release(other)
    assert "relevance" in (await s.say(f"explain {paper_id} fresh")).lower()
    assert llm.calls == calls + 1


async def test_a_failed_request_gives_its_hold_back(budgeted: Any, llm: FakeOpenAI) -> None:
    s = session(budgeted)
    await s.say("today")
    paper_id = (await s.say("explain 1")).split("(arXiv:")[1].split(")")[0]
    day = budgeted.service.account.day()
    before = await budgeted.store.budget.state(day)
    llm.enqueue(*[ServerError(500, retry_after=0.01)] * 3)  # beyond the client's 2 retries

    out = await s.say(f"explain {paper_id} fresh")

    assert "the LLM could not explain this right now" in out
    assert await budgeted.store.budget.state(day) == before


async def test_fresh_criteria_send_at_most_the_warmup_share_of_the_day(
    make_settings: Any, day_feed: list[dict[str, Any]], llm: FakeOpenAI
) -> None:
    settings = make_settings(ARXIV_BOT_ADMINS="", ARXIV_BOT_LLM_SHARE="0.3")
    async with open_core(settings) as core:
        out = await session(core).say("today")
    asked = {pid for batch in llm.asked_ids for pid in batch}
    assert 0.5 * len(day_feed) < len(asked) <= 0.6 * len(day_feed) + 1
    assert "warm-up" in out


async def test_criteria_set_by_a_non_admin_under_a_budget_says_what_the_first_day_costs(
    make_settings: Any, day_feed: list[dict[str, Any]]
) -> None:
    settings = make_settings(
        ARXIV_BOT_ADMINS="", ARXIV_BOT_DAILY_BUDGET="5", ARXIV_BOT_LLM_SHARE="0.3"
    )
    async with open_core(settings) as core:
        s = session(core, user="bob")
        await s.say("today")  # a stored day to estimate from
        out = await s.say(f"criteria set {CRITERIA[1]}")
        tight = await session(core, channel="team-b", user="bob").say(
            "settings llm-share 30% $0.01"
        )
        assert "$0.01" in tight, tight
        capped = await session(core, channel="team-b", user="bob").say(
            f"criteria set {CRITERIA[2]}"
        )

    assert "Criteria updated to version 2" in out
    note = re.search(
        r"the first day sends about (\d+) of a (\d+)-paper day \(May 2, 2025\) to the LLM "
        r"\(60%, warm-up\): about \$(\d+\.\d+); it counts under the bot's daily budget of "
        r"\$5\.00\.",
        out,
    )
    assert note is not None, out
    sent, day, dollars = int(note[1]), int(note[2]), float(note[3])
    assert day == len(day_feed)
    assert sent == math.ceil(0.6 * day)
    assert 0.01 < dollars < 5  # gpt-4o on 124 papers (about 124 tokens each)
    assert "this channel's cap is $0.01 a day" in capped
    assert "about $0.01;" in capped


async def test_criteria_set_by_an_admin_or_without_a_budget_says_nothing_of_cost(
    make_settings: Any, day_feed: list[dict[str, Any]]
) -> None:
    budget = make_settings(ARXIV_BOT_ADMINS="alice", ARXIV_BOT_DAILY_BUDGET="0.10")
    async with open_core(budget) as core:
        s = session(core, user="alice")
        await s.say("today")
        assert "first day" not in await s.say(f"criteria set {CRITERIA[1]}")
    async with open_core(make_settings(ARXIV_BOT_ADMINS="")) as core:
        s = session(core, user="bob")
        assert "first day" not in await s.say(f"criteria set {CRITERIA[2]}")


async def test_ask_after_the_cap_is_refused_and_an_answer_is_settled_at_its_cost(
    budgeted: Any, llm: FakeOpenAI
) -> None:
    s = session(budgeted)
    await s.say("today")
    account = budgeted.service.account
    spent, held = await budgeted.store.budget.state(account.day())
    other = await account.reserve(0.10 - spent - held)
    assert other is not None
    calls = llm.calls

    refused = await s.say("ask 1 what do they find?")

    assert "today's LLM budget of $0.10 is spent" in refused
    assert llm.calls == calls
    await account.release(other)
    assert "Answer, " in await s.say("ask 1 what do they find?")
    asked = await budgeted.store.stats.usage(purpose="ask")
    after, held = await budgeted.store.budget.state(account.day())
    assert after == pytest.approx(spent + asked.cost_usd)
    assert held == pytest.approx(0.0, abs=1e-12)


async def _batch(llm: FakeOpenAI, account: DailyAccount) -> tuple[str, int, Usage]:
    papers = [
        Paper(f"2505.{n:05d}", f"Paper {n}", f"Abstract of paper {n}.", ("A. Author",))
        for n in range(30)
    ]
    paid = Usage()

    async def sink(scores: Sequence[Score], usage: Usage) -> None:
        nonlocal paid
        paid = paid + usage

    moment = [datetime.now(UTC)]

    async def nap(seconds: float) -> None:  # time passes only while the batch waits
        moment[0] += timedelta(seconds=seconds)

    async with AsyncOpenAI(api_key=TEST_KEY, base_url=llm.base_url, max_retries=0) as client:
        scorer = BatchScorer(
            client, "gpt-4o", PriceTable(), batch_size=10, clock=lambda: moment[0], sleep=nap
        )
        report = await scorer.score(
            papers,
            "compression",
            sink,
            until=moment[0] + timedelta(hours=1),
            account=account,
        )
    return report.status, len(report.unscored), paid


async def test_a_batch_holds_its_worst_case_and_settles_to_what_it_cost(tmp_path: Path) -> None:
    async with Store.open(tmp_path / "bot.sqlite3") as store:
        async with FakeOpenAI(model="gpt-4o", batch_plan=BatchPlan(polls=1)) as llm:
            status, left, _ = await _batch(llm, DailyAccount(store.budget, 0.001))
            assert (status, left, llm.batch_calls) == ("budget", 30, 0)  # nothing submitted
            status, left, paid = await _batch(llm, DailyAccount(store.budget, 1.0))
        spent, held = await store.budget.state(today())
    assert (status, left) == ("completed", 0)
    assert spent == pytest.approx(paid.cost_usd)
    assert held == pytest.approx(0.0, abs=1e-12)


async def test_status_shows_todays_budget_account(
    make_settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(ARXIV_BOT_DAILY_BUDGET="0.10")
    async with Store.open(settings.db) as store:
        account = DailyAccount(store.budget, 0.10)
        hold = await account.reserve(0.03)
        assert hold is not None
        await account.settle(hold, 0.02)
        assert await account.reserve(0.01) is not None  # still in flight

    assert await status_command(settings, argparse.Namespace()) == 0

    out = capsys.readouterr().out
    assert (
        f"LLM budget {today()} (UTC): $0.02 spent, $0.01 held for requests in flight, of $0.10"
        in out
    )
