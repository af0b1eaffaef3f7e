"""`arxiv-bot digest --day` shows a stored day from the store alone when nothing is left to do,
and builds it as before when something is: the criteria changed, papers sent to the LLM are
still unscored, or the arXiv API's fields never arrived."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.conftest import NO_ENV_FILE, bot_env, child_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI
from tests.test_end_to_end import DAY, run_cli

# what a day's build loads to fetch, enrich and score: a day shown from the store loads none
CLIENTS = {"aiohttp", "arxiv", "openai", "requests", "httpx"}

SHOW_DAY = """
import json, sys
from bot.__main__ import main

code = main([sys.argv[1], "digest", "--day", sys.argv[2]])
sys.stdout.flush()
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[3])))
print(json.dumps({"code": code, "loaded": loaded}), file=sys.stderr)
"""


async def show_day(env: dict[str, str], cwd: Path) -> tuple[str, dict[str, Any]]:
    """`digest --day DAY` through the real command line in a child; its digest, and its exit
    code with the client libraries it loaded."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SHOW_DAY,
        NO_ENV_FILE,
        DAY,
        json.dumps(sorted(CLIENTS)),
        env=child_env(env),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return out.decode(), json.loads(err.decode().strip().splitlines()[-1])


async def test_a_decided_day_is_shown_from_the_store_alone(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path, day_feed: list[dict[str, Any]]
) -> None:
    env = bot_env(arxiv, llm, tmp_path / "db.sqlite3")
    code, scored, err = await run_cli(env, "digest")
    assert code == 0, err
    calls, requests = llm.calls, len(arxiv.requests_of("api")) + len(arxiv.requests_of("rss"))
    with tempfile.TemporaryDirectory() as scratch:
        shown, how = await show_day(env, Path(scratch))
    assert how == {"code": 0, "loaded": []}
    assert shown == scored  # the same digest, cards in the same order
    assert llm.calls == calls
    assert len(arxiv.requests_of("api")) + len(arxiv.requests_of("rss")) == requests
    code, as_json, _ = await run_cli(env, "digest", "--day", DAY, "--format", "json")
    assert code == 0
    assert json.loads(as_json)["day"] == DAY


async def test_changed_criteria_build_the_day_again(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path, day_feed: list[dict[str, Any]]
) -> None:
    env = bot_env(arxiv, llm, tmp_path / "db.sqlite3")
    code, _, err = await run_cli(env, "digest")
    assert code == 0, err
    calls = llm.calls
    criteria = tmp_path / "criteria.md"
    criteria.write_text("Papers on graph neural networks for molecules and proteins.\n")
    env["ARXIV_BOT_CRITERIA_FILE"] = str(criteria)
    with tempfile.TemporaryDirectory() as scratch:
        _, how = await show_day(env, Path(scratch))
    assert how["code"] == 0
    assert "openai" in how["loaded"]  # decided again under the new criteria, with the LLM
    assert llm.calls > calls


async def test_papers_left_unscored_are_scored_by_digest_day(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path, day_feed: list[dict[str, Any]]
) -> None:
    env = bot_env(arxiv, llm, tmp_path / "db.sqlite3", ARXIV_BOT_LLM_GIVE_UP="1")
    down = {**env, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}  # the LLM refuses connections
    code, _, err = await run_cli(down, "digest")
    assert code == 1, err
    assert "LLM" in err or "OPENAI_BASE_URL" in err
    code, out, err = await run_cli(env, "digest", "--day", DAY)
    assert code == 0, err
    assert llm.calls > 0  # what the outage left is scored now
    assert "this run: 0 LLM calls" not in err
    assert out.count("arxiv.org/abs/") >= 1


async def test_fields_the_arxiv_api_never_gave_are_asked_again(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path, day_feed: list[dict[str, Any]]
) -> None:
    env = bot_env(arxiv, llm, tmp_path / "db.sqlite3", ARXIV_BOT_ARXIV_ATTEMPTS="1")
    arxiv.fail_next("api", 50, 503)  # enrichment is best effort: the day is built without it
    code, _, err = await run_cli(env, "digest")
    assert code == 0, err
    arxiv.heal("api")
    asked = len(arxiv.requests_of("api"))
    code, _, err = await run_cli(env, "digest", "--day", DAY)
    assert code == 0, err
    assert len(arxiv.requests_of("api")) > asked
    with tempfile.TemporaryDirectory() as scratch:  # and once they are in, from the store alone
        _, how = await show_day(env, Path(scratch))
    assert how == {"code": 0, "loaded": []}
