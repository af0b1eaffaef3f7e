"""Looking back from chat, as a user does in `arxiv-bot console` against the fake arXiv and
OpenAI servers: `search` finds a paper the digest showed, `day` shows a stored day again without
any LLM or arXiv request, `similar` lists the closest papers of the stored days, and hostile
input gets a clear answer."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests import cli
from tests.conftest import bot_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI

DAY = "2025-05-02"


def title_words(title: str) -> str:
    """Two distinctive words of a title (the two longest), as a user would type them."""
    words = sorted(re.findall(r"[A-Za-z]{5,}", title), key=lambda w: (-len(w), w))
    return " ".join(words[:2])


async def stored_day(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path
) -> tuple[dict[str, str], Any]:
    env = bot_env(arxiv, llm, tmp_path / "db.sqlite3")
    result = await cli.run_cli(env, tmp_path, "digest", "--format", "json")
    assert result.code == 0, result.err
    return env, json.loads(result.out)


async def test_search_day_and_similar_in_the_console_spend_nothing(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path, day_feed: list[dict[str, Any]]
) -> None:
    env, digest = await stored_day(arxiv, llm, tmp_path)
    shown = digest["papers"][0]
    calls, rss, api = llm.calls, len(arxiv.requests_of("rss")), len(arxiv.requests_of("api"))
    lines = [
        f"search {title_words(shown['title'])}",
        f"day {DAY}",
        "more all",
        "day 2025-05-03",
        "day 2025-13-45",
        "similar 1",
        "similar 2505.99999",
    ]
    result = await cli.run_cli(env, tmp_path, "console", stdin="\n".join(lines) + "\n")
    assert result.code == 0, result.err
    out = result.out
    # search lists the paper, with the channel's score
    found = out.split(f"arXiv digest for {DAY}")[0]
    assert "best match first" in found
    assert shown["id"] in found
    assert f"relevance {shown['relevance']}, novelty {shown['novelty']} here" in found
    # day: the stored digest again, every paper of it (the rest after `more all`)
    again = out.split(f"arXiv digest for {DAY}")[1]
    for paper in digest["papers"]:
        assert paper["id"] in again
    assert "2025-05-03 is not stored. Stored days, newest first: 2025-05-02." in out
    assert "'2025-13-45' is not a day: say `/arxiv day 2025-05-02` (YYYY-MM-DD)" in out
    # similar: the closest papers of the stored days to card 1, or that none is close (on one
    # stored day, this paper's nearest is under the threshold), naming the nearest's value
    assert (
        f"(arXiv:{shown['id']}) among the " in out
        or f"is close to *{shown['title']}* (arXiv:{shown['id']})" in out
    )
    assert "similarity 0." in out
    assert "arXiv:2505.99999 is not among the stored papers" in out
    # and none of it asked the LLM or arXiv anything
    assert llm.calls == calls
    assert (len(arxiv.requests_of("rss")), len(arxiv.requests_of("api"))) == (rss, api)
    assert "Traceback" not in result.err


async def test_hostile_search_input_gets_a_clear_answer(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path, day_feed: list[dict[str, Any]]
) -> None:
    env, digest = await stored_day(arxiv, llm, tmp_path)
    words = title_words(digest["papers"][0]["title"])
    lines = [
        f'search "{words}',
        f"search {words.replace(' ', ' NEAR ')}*",
        f"search -{words}",
        "search " + "x" * 10_000,
        "search \"'*-^:()!?.,;",
        "search ''",
    ]
    result = await cli.run_cli(env, tmp_path, "console", stdin="\n".join(lines) + "\n")
    assert result.code == 0, result.err
    answers = result.out
    # `-` is not syntax; an unclosed quote opens a phrase to the end of the line, and these words
    # stand in the title in another order, so that line finds nothing
    assert answers.count(digest["papers"][0]["id"]) >= 1
    assert f'No stored paper has all of: "{words.lower()}"' in answers
    assert "No stored paper has all of: " in answers  # `near` is a word, as is 10k of x
    assert answers.count("nothing to search for: give some words") == 2
    assert "went wrong" not in answers
    assert "Traceback" not in result.err
    assert max(len(line) for line in answers.splitlines()) < 500
