"""Following an author in `arxiv-bot console`, as a user does, against the fake arXiv and OpenAI
servers on the replayed day 2025-05-02 with the default share (30% goes to the LLM): the
followed author's paper, which neither the reference picked nor the ranking sent, shows in
today's "Followed" part; without a key, `digest` shows it in the local ranking's."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from bot.models import Paper
from bot.store import Store
from tests.cli import run_cli
from tests.conftest import bot_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI, load_labels

DAY = date(2025, 5, 2)
SHARE = {"ARXIV_BOT_LLM_SHARE": "0.3", "ARXIV_BOT_ADAPTIVE_SHARE": "false"}


async def left_out(db: Path, channel: str, day_feed: list[dict[str, Any]]) -> Paper:
    """A paper the channel's decided day did not send to the LLM, that the reference did not
    pick, and whose authors wrote nothing else that day."""
    authors = Counter(a for d in day_feed for a in d["authors"])
    async with Store.open(str(db)) as store:
        rows = await store.rankings.ranking(channel, DAY)
        papers = await store.papers.get([r.paper_id for r in rows])
    return next(
        papers[r.paper_id]
        for r in rows
        if not r.sent
        and r.paper_id not in load_labels(DAY.isoformat())
        and all(authors[a] == 1 for a in papers[r.paper_id].authors)
    )


def followed_part(out: str) -> str:
    assert "## Followed" in out, out[-3000:]
    return out.split("## Followed")[1].split("---")[0]


async def test_today_shows_a_followed_authors_paper_the_ranking_left_out(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path, day_feed: list[dict[str, Any]]
) -> None:
    db = tmp_path / "bot.sqlite3"
    env = bot_env(arxiv, llm, db, **SHARE)
    scout = await run_cli(env, tmp_path, "console", "--channel", "scout", stdin="today\n")
    assert scout.code == 0, scout.err
    assert "## Followed" not in scout.out
    paper = await left_out(db, "scout", day_feed)
    name = paper.authors[0]
    asked_before = [pid for batch in llm.asked_ids for pid in batch]
    assert paper.id not in asked_before

    team = await run_cli(
        env, tmp_path, "console", "--channel", "team", stdin=f"follow author {name}\ntoday\n"
    )

    assert team.code == 0, team.err
    assert f"This channel now follows author {name}" in team.out
    part = followed_part(team.out)
    assert f"(arXiv:{paper.id}): follows author {name} · relevance" in part
    asked = [pid for batch in llm.asked_ids for pid in batch]
    assert asked.count(paper.id) == 1  # sent to the LLM for the follow, once
    assert len(asked) == len(asked_before) + 1  # the rest of the day was already scored
    assert "Traceback" not in team.err


async def test_without_a_key_the_local_ranking_shows_followed_papers(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path, day_feed: list[dict[str, Any]]
) -> None:
    db = tmp_path / "bot.sqlite3"
    env = bot_env(arxiv, llm, db, **SHARE)
    env.pop("OPENAI_API_KEY")
    last = day_feed[-1]
    name = last["authors"][0]
    follow = await run_cli(env, tmp_path, "console", stdin=f"follow author {name}\n")
    assert follow.code == 0, follow.err
    assert f"now follows author {name}" in follow.out

    result = await run_cli(env, tmp_path, "digest")

    assert result.code == 0, result.err
    assert "ranked locally, not scored by an LLM" in result.out
    assert f"(arXiv:{last['id']}): follows author {name} · not scored" in followed_part(result.out)
    assert llm.calls == 0
