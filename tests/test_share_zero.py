"""A share of 0 ranks locally only: `ARXIV_BOT_LLM_SHARE=0` and `settings llm-share 0` are
accepted, no request reaches the LLM whatever `ARXIV_BOT_LLM_MIN_PAPERS` says, the digest says
it was ranked locally, `explain` says why a paper was not scored, and nothing is spent."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from adapters.markdown import render_markdown
from bot.__main__ import open_core
from bot.digest.selection import LOCAL_ONLY_NOTE, digest_from_json, digest_to_json
from scoring import ranking, share
from tests.cli import run_cli
from tests.conftest import bot_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI
from tests.test_conversation import session


def test_a_share_of_zero_sends_nothing_whatever_the_minimum() -> None:
    assert ranking.sent_count(206, 0.0, 60) == 0
    assert ranking.sent_count(206, 0.3, 60) == 62
    decided = share.decide_share(0.0, positives=0)  # no warm-up into spending
    assert (decided.share, decided.reason) == (0.0, share.LOCAL_ONLY)
    assert "ranked locally only" in decided.describe()


async def test_the_setting_zero_means_a_day_ranked_locally_with_no_llm_request(
    make_settings: Any, day_feed: list[dict[str, Any]], llm: FakeOpenAI
) -> None:
    settings = make_settings(ARXIV_BOT_ADMINS="", ARXIV_BOT_LLM_SHARE="0")
    assert (settings.llm_share, settings.llm_min_papers) == (0.0, 60)
    async with open_core(settings) as core:
        s = session(core)
        out = await s.say("today")
        assert "206 considered · 0 sent to the LLM (206 ranked out locally) · 0 scored" in out
        assert LOCAL_ONLY_NOTE in out
        assert "sent to the LLM: nothing: the share is 0" in await s.say("settings")
        ranked = await core.store.rankings.ranking("team-a", date(2025, 5, 2))
        first = ranked[0].paper_id
        why = await s.say(f"explain {first}")
        assert f"arXiv:{first} (2025-05-02) was not sent to the LLM: ranked 1 of 206" in why
        assert "none was: the channel ranks locally only (its LLM share is 0)" in why
        stats = await s.say("stats")
        assert "$0.00 · " in stats
    assert (llm.calls, llm.batch_calls, llm.requests) == (0, 0, [])


async def test_a_channel_can_turn_its_share_down_to_zero(
    make_settings: Any, day_feed: list[dict[str, Any]], llm: FakeOpenAI
) -> None:
    async with open_core(make_settings(ARXIV_BOT_ADMINS="", ARXIV_BOT_LLM_SHARE="0.3")) as core:
        s = session(core)
        assert "nothing: the share is 0" in await s.say("settings llm-share 0%")
        assert "nothing: the share is 0" in await s.say("settings llm-share 0")
        assert "0 sent to the LLM" in await s.say("today")
        assert "from 0% (rank locally only, no LLM) to 100%" in await s.say(
            "settings llm-share 120%"
        )
    assert llm.requests == []


async def test_digest_with_share_zero_prints_the_local_ranking_and_spends_nothing(
    arxiv: FakeArxiv, llm: FakeOpenAI, day_feed: list[dict[str, Any]], tmp_path: Path
) -> None:
    env = bot_env(arxiv, llm, tmp_path / "bot.sqlite3", ARXIV_BOT_LLM_SHARE="0")
    result = await run_cli(env, tmp_path, "digest")
    assert result.code == 0, result.err
    assert "(ranked locally only, not sent to an LLM: ARXIV_BOT_LLM_SHARE is 0)" in result.out
    assert "206 considered; the 15 below rank highest" in result.out
    assert "none scored: ARXIV_BOT_LLM_SHARE is 0" in result.err
    assert llm.requests == []


async def test_today_with_share_zero_lists_the_local_top_in_the_console(
    arxiv: FakeArxiv, llm: FakeOpenAI, day_feed: list[dict[str, Any]], tmp_path: Path
) -> None:
    env = bot_env(arxiv, llm, tmp_path / "bot.sqlite3", ARXIV_BOT_LLM_SHARE="0")
    result = await run_cli(env, tmp_path, "console", stdin="today\n")
    assert result.code == 0, result.err
    out = result.out
    assert "## Ranked locally (best by similarity to the criteria, not scored by an LLM)" in out
    assert "No paper met the thresholds today." not in out
    assert LOCAL_ONLY_NOTE in out
    lines = [line for line in out.splitlines() if "· local rank " in line]
    assert len(lines) == 15
    assert "· local rank 1 · similarity " in lines[0]
    assert "· local rank 15 · similarity " in lines[-1]
    assert "relevance" not in out.split("## Ranked locally")[1].split("---")[0]
    assert llm.requests == []


async def test_the_stored_day_keeps_its_local_top_in_markdown_and_json(
    make_settings: Any, day_feed: list[dict[str, Any]], llm: FakeOpenAI
) -> None:
    async with open_core(make_settings(ARXIV_BOT_ADMINS="", ARXIV_BOT_LLM_SHARE="0")) as core:
        await session(core).say("today")
        record = await core.store.digests.get("team-a", date(2025, 5, 2))
        ranked = await core.store.rankings.ranking("team-a", date(2025, 5, 2))
    assert record is not None
    assert isinstance(record[1], dict)
    digest = digest_from_json(record[1])
    assert [p.id for p, _ in digest.ranked_locally] == [r.paper_id for r in ranked[:15]]
    md = render_markdown(digest)
    assert "## Ranked locally\n\n*best by similarity to the criteria" in md
    assert f"(arXiv:{ranked[0].paper_id}): local rank 1 · similarity" in md
    assert "No paper met the thresholds today." not in md
    assert digest_from_json(digest_to_json(digest)) == digest
    assert llm.requests == []
