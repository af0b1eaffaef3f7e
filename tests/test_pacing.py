"""Posting as fast as Slack allows and no faster: the pacing policy on literal numbers, then the
real Slack adapter against a fake Slack that paces every channel and workspace as Slack does,
from one process and from two replicas sharing the pacing through one database."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import Pacer, SlackAdapter, web_client
from bot.daily.delivery import Ceiling
from bot.daily.pacer import Pacing, StoredPacing
from bot.daily.pacing import (
    LATE,
    SLACK_CHANNEL,
    SLACK_WORKSPACE,
    Rate,
    after_post,
    allowed_at,
    claim,
    held,
    in_flight,
    keys,
    per_workspace,
    planned,
)
from bot.store import Store
from tests.fakes.slack_server import Bucket, FakeSlack, RateLimited

# -- the policy -------------------------------------------------------------------------------


def test_a_new_channel_posts_at_once_and_then_once_a_second() -> None:
    rate = Rate(1.0)
    assert allowed_at(None, 10.0, rate) == 10.0
    assert after_post(None, 10.0, rate) == 11.0
    assert allowed_at(11.0, 10.0, rate) == 11.0
    assert allowed_at(11.0, 12.5, rate) == 12.5  # idle time is not saved up beyond the burst
    assert after_post(11.0, 12.5, rate) == 13.5


def test_a_burst_of_three_then_the_steady_rate() -> None:
    rate, slots = Rate(1.0, burst=3), []
    states: dict[str, float | None] = {"c": None}
    for _ in range(5):
        slot, new = claim(states, {"c": rate}, 0.0)
        slots.append(slot)
        states = {"c": new["c"]}
    assert slots == [0.0, 0.0, 0.0, 1.0, 2.0]


def test_a_message_waits_for_the_slowest_of_its_channel_and_workspace() -> None:
    rates = {"channel": Rate(1.0), "workspace": Rate(0.1, burst=1)}
    slot, states = claim({"channel": 5.0, "workspace": 7.0}, rates, 4.0)
    assert slot == 7.0
    assert states == {"channel": 8.0, "workspace": 7.1}


def test_retry_after_holds_the_workspace_then_lets_its_burst_resume() -> None:
    rate = Rate(0.1, burst=11)  # tolerance 1 s
    state = held(None, 100.0, 30.0, rate)
    assert allowed_at(state, 100.0, rate) == 130.0
    assert allowed_at(state, 131.0, rate) == 131.0
    assert held(200.0, 100.0, 5.0, rate) == 200.0  # a hold never shortens a later slot


def test_posts_that_reach_slack_up_to_a_second_late_still_find_room() -> None:
    """An idle channel's bucket is full at Slack: a first burst sent late wastes refill, so a
    plan with the whole burst would have the next on-time post refused."""
    for limit in (SLACK_CHANNEL, SLACK_WORKSPACE):
        rate = planned(limit)
        slots, tat = [], None
        for _ in range(3 * limit.burst):
            slot, after = claim({"k": tat}, {"k": rate}, 0.0)
            slots.append(slot)
            tat = after["k"]
        first = slots[: rate.burst]
        arrivals = [LATE * 0.99 if s in first else s for s in slots]  # the first burst late
        bucket = Bucket(limit.interval, limit.burst)
        tokens, at = float(limit.burst), 0.0
        for arrival in sorted(arrivals):
            tokens = bucket.level(tokens, at, arrival)
            assert bucket.wait(tokens) == 0.0, (limit, arrival)
            tokens, at = tokens - 1.0, arrival
    assert planned(SLACK_CHANNEL).burst == 2
    assert planned(SLACK_WORKSPACE).burst == 10
    assert planned(Rate(1.0)).burst == 1  # always one message at once
    assert planned(Rate(0.05, burst=4)).burst == 2  # at most half of a burst kept spare


def test_keys_of_a_message_name_its_channel_workspace_and_the_cap() -> None:
    assert keys("T1", "C1") == ("channel:T1:C1", "workspace:T1")
    assert keys(None, "C1", cap=True) == ("channel:-:C1", "workspace:-", "bot")


def test_ten_channels_of_a_slack_workspace_post_together() -> None:
    assert per_workspace(SLACK_CHANNEL, SLACK_WORKSPACE) == 10
    assert per_workspace(Rate(1.0), Rate(0.0)) == 1_000_000


def test_channels_in_flight_follow_their_workspaces_within_the_bound() -> None:
    one_workspace = [None] * 50
    assert in_flight(one_workspace, 10, 256) == 10
    hundred = [f"T{n % 100}" for n in range(1000)]
    assert in_flight(hundred, 10, 256) == 256
    assert in_flight(hundred, 10, 5000) == 1000
    assert in_flight(["T1", "T1", "T2"], 10, 256) == 3
    assert in_flight([], 10, 256) == 1


# -- the adapter against Slack's limits -------------------------------------------------------

CHANNEL_RATE = Rate(0.2, burst=2)
WORKSPACE_RATE = Rate(0.05, burst=4)


class TwoWorkspaces:
    """Channel keys `TEAM:CHANNEL`, each team with its own client."""

    def __init__(self, clients: dict[str, AsyncWebClient]) -> None:
        self._clients = clients

    def channel_key(self, workspace: str | None, channel: str) -> str:
        return f"{workspace}:{channel}"

    async def client_for(self, channel_key: str) -> tuple[AsyncWebClient, str, str | None]:
        team, channel = channel_key.split(":")
        return self._clients[team], channel, team

    async def refused(self, workspace: str | None, code: str) -> None:
        return None


def paced_adapter(
    core: Any,
    slack: FakeSlack,
    pacing: Pacing | None = None,
    tokens: dict[str, str] | None = None,
    sleep: Any = asyncio.sleep,
) -> tuple[SlackAdapter, dict[str, str]]:
    """A Slack adapter posting into workspaces TA and TB of `slack` (their tokens made unless
    given), paced at CHANNEL_RATE and WORKSPACE_RATE in `pacing` (this process's by default)."""
    tokens = tokens or {team: slack.add_workspace(team).bot_token for team in ("TA", "TB")}
    clients = {team: web_client(token, slack.api_url) for team, token in tokens.items()}
    pacer = Pacer(
        CHANNEL_RATE.interval,
        sleep=sleep,
        burst=CHANNEL_RATE.burst,
        workspace=WORKSPACE_RATE,
        pacing=pacing,
    )
    adapter = SlackAdapter(
        core.conversation,
        clients["TA"],
        signing_secret="s",
        pacer=pacer,
        workspaces=TwoWorkspaces(clients),
    )
    slack.pace(
        Bucket(CHANNEL_RATE.interval, CHANNEL_RATE.burst),
        Bucket(WORKSPACE_RATE.interval, WORKSPACE_RATE.burst),
    )
    return adapter, tokens


async def test_slack_never_sees_a_channel_or_workspace_over_its_limit(core: Any) -> None:
    async with FakeSlack() as slack:
        adapter, _ = paced_adapter(core, slack)
        posts = [
            adapter.post_notice(f"{team}:C{c}", f"note {n}")
            for team in ("TA", "TB")
            for c in range(3)
            for n in range(4)
        ]
        await asyncio.gather(*posts)
        assert slack.limited == []
        assert len(slack.messages) == 24
        for c in range(3):  # each channel got its four notes, at Slack's pace
            times = [
                x.at for x in slack.calls_of("chat.postMessage") if x.args["channel"] == f"C{c}"
            ]
            assert len(times) == 8
        assert not slack.refused_blocks


async def test_a_429_in_one_workspace_does_not_slow_another(core: Any) -> None:
    async with FakeSlack() as slack:
        adapter, tokens = paced_adapter(core, slack)
        slack.enqueue(RateLimited(retry_after=1), method="chat.postMessage", token=tokens["TA"])
        await asyncio.gather(
            *[adapter.post_notice(f"TA:C{c}", "a") for c in range(4) for _ in range(3)],
            *[adapter.post_notice(f"TB:C{c}", "b") for c in range(4) for _ in range(2)],
        )
        calls = slack.calls_of("chat.postMessage")
        refused = next(c for c in calls if c.status == 429)
        a_later = [
            c.at - refused.at for c in calls if c.token == tokens["TA"] and c.at > refused.at
        ]
        b_done = max(c.at for c in calls if c.token == tokens["TB"])
        assert b_done < refused.at + 0.95  # workspace B posted its eight while A was held
        # those already on the wire land with the 429; nothing else reaches A for its second
        assert [t for t in a_later if 0.05 < t < 0.95] == []
        assert len([t for t in a_later if t >= 0.95]) >= 6
        assert sorted(m.text for m in slack.messages) == ["a"] * 12 + ["b"] * 8  # none lost
        assert slack.limited == []


@pytest.mark.parametrize("retry_after", [0])
async def test_a_429_is_retried_and_posts_once(core: Any, retry_after: int) -> None:
    async with FakeSlack() as slack:
        adapter, tokens = paced_adapter(core, slack)
        slack.enqueue(RateLimited(retry_after), method="chat.postMessage", token=tokens["TB"])
        await adapter.post_notice("TB:C1", "once")
        assert [c.status for c in slack.calls_of("chat.postMessage")] == [429, 200]
        assert [m.text for m in slack.messages] == ["once"]


# -- replicas sharing the pacing through the database -----------------------------------------


def notes(adapter: SlackAdapter, replica: str) -> list[Any]:
    """Four notes from one replica into each of three channels of both workspaces."""
    return [
        adapter.post_notice(f"{team}:C{c}", f"{replica} {n}")
        for team in ("TA", "TB")
        for c in range(3)
        for n in range(4)
    ]


async def test_two_replicas_sharing_the_database_stay_within_slacks_limits(
    core: Any, database: str
) -> None:
    async with (
        FakeSlack() as slack,
        Store.open(database) as one,
        Store.open(database) as two,
    ):
        a, tokens = paced_adapter(core, slack, StoredPacing(one))
        b, _ = paced_adapter(core, slack, StoredPacing(two), tokens)
        await asyncio.gather(*notes(a, "a"), *notes(b, "b"))
        assert slack.limited == []  # no channel over 1 per 0.2 s, no workspace over 1 per 0.05 s
        texts = sorted(m.text for m in slack.messages)
        assert texts == sorted(f"{r} {n}" for r in "ab" for n in range(4) for _ in range(6))


async def test_two_replicas_pacing_alone_go_over_slacks_limits(core: Any) -> None:
    async with FakeSlack() as slack:  # what the shared pacing prevents: each at the full rate
        a, tokens = paced_adapter(core, slack)
        b, _ = paced_adapter(core, slack, tokens=tokens)
        await asyncio.gather(*notes(a, "a"), *notes(b, "b"), return_exceptions=True)
        assert slack.limited != []


async def test_a_429_seen_by_one_replica_holds_that_workspace_in_the_other(
    core: Any, database: str
) -> None:
    slept: dict[str, list[float]] = {"a": [], "b": []}

    def sleeper(replica: str) -> Any:
        async def sleep(seconds: float) -> None:
            slept[replica].append(seconds)

        return sleep

    async with (
        FakeSlack() as slack,
        Store.open(database) as one,
        Store.open(database) as two,
    ):
        a, tokens = paced_adapter(core, slack, StoredPacing(one), sleep=sleeper("a"))
        b, _ = paced_adapter(core, slack, StoredPacing(two), tokens, sleep=sleeper("b"))
        slack.enqueue(RateLimited(retry_after=600), method="chat.postMessage", token=tokens["TA"])
        await a.post_notice("TA:C1", "held")
        assert [c.status for c in slack.calls_of("chat.postMessage")] == [429, 200]
        assert len(slept["a"]) == 1
        assert slept["a"][0] > 500  # A waited out Retry-After itself
        await b.post_notice("TB:C1", "free")
        assert slept["b"] == []  # the other workspace posts at once
        await b.post_notice("TA:C2", "after")
        assert len(slept["b"]) == 1
        assert slept["b"][0] > 500  # so does B, for the same workspace
        assert [m.text for m in slack.messages] == ["held", "free", "after"]


async def test_the_operator_cap_is_shared_by_every_replica(database: str) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with Store.open(database) as one, Store.open(database) as two:
        caps = [Ceiling(0.01, sleep=sleep, pacing=StoredPacing(s)) for s in (one, two)]
        for n in range(4):  # one post a 100 s for the bot, whichever replica posts
            await caps[n % 2].wait()
    assert len(slept) == 3
    assert [round(s / 100) for s in slept] == [1, 2, 3]  # 100 s, 200 s, 300 s after the first
