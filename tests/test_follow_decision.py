"""Followed papers in the bot's decisions, on the replayed day 2025-05-02 with the default share
(30%) through the console: a followed paper the ranking leaves out is sent to the LLM once and
shown under "Followed"; channels keep sharing one ranking whatever they follow; a day already
decided is not re-scored, but shows what is followed now; follow commands say what they did."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from bot.__main__ import open_core
from bot.conversation.follow_commands import FollowCommands
from bot.digest.following import AUTHOR, match, parse_follow, reach_note
from bot.digest.options import DigestOptions, LLMBudget
from bot.models import Paper
from scoring import share
from tests.fakes.openai_server import FakeOpenAI, load_labels
from tests.test_conversation import DAY, session

DAY_DATE = date.fromisoformat(DAY)


@pytest.fixture
async def core(make_settings: Any, day_feed: list[dict[str, Any]]) -> AsyncIterator[Any]:
    async with open_core(
        make_settings(
            ARXIV_BOT_ADMINS="", ARXIV_BOT_LLM_SHARE="0.3", ARXIV_BOT_ADAPTIVE_SHARE="false"
        )
    ) as c:
        yield c


async def ranked_out(core: Any, channel: str, day_feed: list[dict[str, Any]]) -> list[Paper]:
    """Papers of the decided day the ranking did not send, whose first author wrote no other
    paper of the day and that the reference did not pick, best-ranked first."""
    rows = await core.store.rankings.ranking(channel, DAY_DATE)
    papers = await core.store.papers.get([r.paper_id for r in rows])
    authors = Counter(a for d in day_feed for a in d["authors"])
    picks = load_labels(DAY)
    return [
        papers[r.paper_id]
        for r in rows
        if not r.sent
        and r.paper_id not in picks
        and all(authors[a] == 1 for a in papers[r.paper_id].authors)
    ]


def asked(llm: FakeOpenAI) -> Counter[str]:
    return Counter(pid for batch in llm.asked_ids for pid in batch)


async def test_a_followed_paper_the_ranking_left_out_is_scored_once_and_shown(
    core: Any, llm: FakeOpenAI, day_feed: list[dict[str, Any]]
) -> None:
    await session(core, "team-a").say("today")
    x = (await ranked_out(core, "team-a", day_feed))[0]
    assert asked(llm)[x.id] == 0
    b = session(core, "team-b")
    said = await b.say(f"follow author {x.authors[0]}")
    assert f"This channel now follows author {x.authors[0]} (1 of 100 follows)" in said

    out = await b.say("today")

    assert asked(llm)[x.id] == 1  # sent to the LLM because it is followed
    assert "63 sent to the LLM (143 ranked out locally)" in out
    followed = out.split("## Followed")[1].split("---")[0]
    assert x.title.split()[0] in followed
    assert f"follows author {x.authors[0]} · relevance" in followed
    # team-a, team-b and a new team-c share one ranking; only team-b's decision adds the paper
    await session(core, "team-c").say("today")
    frames = {
        c: await core.store.digests.frame(c, DAY_DATE) for c in ("team-a", "team-b", "team-c")
    }
    assert len({f.ranking_key for f in frames.values()}) == 1
    assert frames["team-b"].sent_ids == (*frames["team-a"].sent_ids, x.id)
    assert frames["team-c"].sent_ids == frames["team-a"].sent_ids
    assert "## Followed" not in await session(core, "team-c").say("today repost")
    assert max(asked(llm).values()) == 1  # nothing was scored twice


async def test_a_decided_day_shows_a_new_follow_without_scoring_it(
    core: Any, llm: FakeOpenAI, day_feed: list[dict[str, Any]]
) -> None:
    a = session(core, "team-a")
    await a.say("today")
    y = (await ranked_out(core, "team-a", day_feed))[1]
    sent = (await core.store.digests.frame("team-a", DAY_DATE)).sent_ids
    calls = llm.calls
    await a.say(f"follow author {y.authors[0]}")

    out = await a.say("today")

    assert llm.calls == calls
    assert (await core.store.digests.frame("team-a", DAY_DATE)).sent_ids == sent
    followed = out.split("## Followed")[1].split("---")[0]
    assert f"follows author {y.authors[0]} · not scored" in followed


async def test_without_a_key_the_local_ranking_shows_followed_papers(
    core: Any, day_feed: list[dict[str, Any]]
) -> None:
    await session(core, "team-a").say("today")
    z = (await ranked_out(core, "team-a", day_feed))[-1]
    await session(core, "team-b").say(f"follow author {z.authors[0]}")
    options = DigestOptions(budget=LLMBudget(share=0.3, min_papers=60, adaptive=False))
    view = await core.service.ranked_locally("team-b", DAY_DATE, options)
    assert [f.paper.id for f in view.followed] == [z.id]
    assert view.followed[0].reasons == (f"follows author {z.authors[0]}",)


async def test_follow_commands_list_refuse_and_remove_with_an_audit_trail(core: Any) -> None:
    s = session(core, "team-a", "alice")
    assert "follows no author or keyword yet" in await s.say("following")
    await s.say('follow keyword "diffusion model"')
    await s.say("follow author J. Doe")
    again = await s.say("follow author j doe")
    assert "follows author J. Doe already (added by alice on 20" in again
    listed = await s.say("following")
    assert '1. keyword "diffusion model" (added by alice, 20' in listed
    assert "2. author J. Doe (added by alice, 20" in listed
    bad = await s.say("unfollow 7")
    assert "there is no follow '7'; give a number from 1 to 2:" in bad
    assert "2. author J. Doe" in bad
    assert "give a number from 1 to 2" in await s.say("unfollow two")
    session_b = session(core, "team-a", "bob")
    assert 'no longer follows keyword "diffusion model"' in await session_b.say("unfollow 1")
    history = (await s.say("following history")).splitlines()
    assert history[0] == "Follows of this channel (newest first):"
    assert history[1].startswith("author J. Doe — added 20")
    assert history[1].endswith("by alice")
    assert history[2].startswith('keyword "diffusion model" — added 20')
    assert ", removed 20" in history[2]
    assert history[2].endswith("by bob")
    event = await core.store.channels.last_event("team-a", ["unfollow keyword"])
    assert (event.user_id, event.detail) == ("bob", '"diffusion model"')
    assert "at most 100" in await s.say("follow author " + "x" * 101)
    no_kind = await s.say("follow Jane Doe")
    assert "`follow` needs one of:\n/arxiv follow author <name>" in no_kind
    assert "/arxiv follow keyword" in no_kind


async def test_a_channel_at_its_follow_limit_is_told_how_to_make_room(core: Any) -> None:
    commands = FollowCommands(core.store, limit=2)
    for name in ("A B", "C D"):
        await commands.run("follow author", "team-a", "alice", name)
    with pytest.raises(Exception, match=r"follows 2 authors and keywords, the most it may; "):
        await commands.run("follow author", "team-a", "alice", "E F")


async def test_only_admins_change_what_a_channel_follows(
    make_settings: Any, day_feed: list[dict[str, Any]]
) -> None:
    async with open_core(make_settings(ARXIV_BOT_ADMINS="boss")) as c:
        refused = await session(c, "team-a", "mallory").say("follow author Jane Doe")
        assert "only the people and roles this bot's ARXIV_BOT_ADMINS lists may change" in refused
        assert await c.store.follows.active("team-a") == []
        assert "follows no author" in await session(c, "team-a", "mallory").say("following")
        await session(c, "team-a", "boss").say("follow author Jane Doe")
        assert [f.text for f in await c.store.follows.active("team-a")] == ["Jane Doe"]


def test_matching_the_replayed_day_finds_each_followed_first_author(
    day_feed: list[dict[str, Any]],
) -> None:
    papers = [Paper(d["id"], d["title"], d["abstract"], tuple(d["authors"])) for d in day_feed]
    first = papers[0].authors[0]
    found = match(papers, [parse_follow(AUTHOR, first)])
    assert papers[0].id in found


def test_a_later_day_judges_yesterdays_cut_without_the_followed_papers() -> None:
    ranked = ("a", "b", "c", "d", "e")
    assert share.share_part(ranked, ("a", "b", "e")) == ("a", "b")  # e was sent for a follow
    assert share.share_part(ranked, ("a", "b", "c")) == ("a", "b", "c")
    assert share.share_part(ranked, ()) == ()
    decision = share.ShareDecision(0.3, 0.3, "base", followed=2)
    assert decision.describe() == "30% of the day sent to the LLM, and 2 followed papers beyond it"


async def test_follow_keyword_says_how_much_of_the_latest_day_it_matches_and_warns_when_broad(
    core: Any,
) -> None:
    s = session(core, "team-a", "alice")
    before = await s.say("follow keyword transformer")
    assert "now follows keyword transformer" in before
    assert "It matches" not in before  # no day stored yet: nothing to count
    await s.say("today")
    papers = await core.service.day_papers(DAY_DATE, DigestOptions())
    assert len(papers) == 206

    def matching(text: str) -> int:
        return len(match(papers, [parse_follow("keyword", text)]))

    narrow = await s.say('follow keyword "diffusion model"')
    phrase = matching('"diffusion model"')
    assert f"It matches {phrase} of the 206 papers of May 2, 2025." in narrow
    assert "more than a quarter" not in narrow
    broad = await s.say("follow keyword learning")
    count = matching("learning")
    assert count > 206 / 4
    assert (
        f"It matches {count} of the 206 papers of May 2, 2025. That is more than a quarter" in broad
    )
    assert f"so it adds about {count} papers a day to what the channel pays for" in broad
    assert "It matches" not in await s.say("follow author J. Doe")


def test_the_reach_of_a_keyword_in_words() -> None:
    assert reach_note(3, 206) == "It matches 3 of today's 206 papers."
    assert "more than a quarter" not in reach_note(51, 206)
    assert "more than a quarter" in reach_note(52, 206)
    assert reach_note(0, 0) == "It matches 0 of today's 0 papers."


async def test_a_broad_follow_leaves_the_picks_first_and_shows_its_best_papers_on_the_first_page(
    core: Any,
) -> None:
    s = session(core, "team-a", "alice")
    await s.say("today")
    await s.say("follow keyword learning")
    out = await s.say("today")

    first_card = out.index(" 1. ")
    followed = out.index("## Followed")
    assert first_card < followed  # the picks come first
    lines = out[followed:].split("---")[0].splitlines()[1:]
    shown = [line for line in lines if line.startswith("  - ")]
    assert len(shown) == 5  # capped on the first page
    more = re.search(r"… and (\d+) more followed papers", out)
    assert more is not None
    assert int(more[1]) > 0
    scores = [re.search(r"relevance (\d+), novelty (\d+)", line) for line in shown]
    totals = [int(m[1]) + int(m[2]) for m in scores if m is not None]
    assert len(totals) == 5
    assert totals == sorted(totals, reverse=True)  # best-scored first


@pytest.mark.parametrize(
    ("first", "second", "answer"),
    [
        ("Søgaard", "A. Sogaard", "This channel follows author Søgaard already"),
        ("Anders Søgaard", "Anders Sogaard", "This channel follows author Anders Søgaard already"),
        ("A. Sogaard", "Søgaard", "as author A. Sogaard, which this channel follows already"),
    ],
)
async def test_following_an_author_already_followed_under_another_spelling_says_so(
    core: Any, first: str, second: str, answer: str
) -> None:
    s = session(core, "team-a", "alice")
    await s.say(f"follow author {first}")
    out = await s.say(f"follow author {second}")
    assert answer in out
    listed = await s.say("following")
    added = "now follows" in out
    assert listed.count("author ") == (2 if added else 1)
