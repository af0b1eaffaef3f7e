"""`arxiv-bot digest` as a user runs it, with the LLM down, refusing the key, or answering in
the wrong shape: one clear line (after a line for each stage finished) and a non-zero exit when
nothing could be scored, a digest with a note when only some replies were broken; never a
traceback, never the key."""

from __future__ import annotations

import re
import socket
from datetime import date
from pathlib import Path

from tests.cli import run_cli
from tests.conftest import TEST_KEY, bot_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import ContentParts, FakeOpenAI, UsageAs, WrongShape
from tests.fakes.synth import load_eval_day, rss_feed

DAY = "2025-05-02"
# off a terminal, each stage finished before the error is one line of its own
STAGE_LINE = re.compile(r"^arxiv-bot: [a-zA-Z ]+: (?:[\d/]+ papers in )?[\d.]+ s$")


def serve_papers(arxiv: FakeArxiv, n: int) -> None:
    papers = load_eval_day(DAY)[:n]
    arxiv.set_feed(rss_feed(papers, date.fromisoformat(DAY)))
    arxiv.add_papers(papers)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_digest_with_llm_down_exits_nonzero_naming_openai_base_url(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path
) -> None:
    serve_papers(arxiv, 40)
    dead = f"http://127.0.0.1:{closed_port()}/v1"
    env = bot_env(
        arxiv, llm, tmp_path / "db.sqlite3", OPENAI_BASE_URL=dead, ARXIV_BOT_LLM_GIVE_UP="1"
    )
    result = await run_cli(env, tmp_path, "digest")
    assert result.code == 1
    assert result.out == ""
    *stages, error = result.err.strip().splitlines()
    assert error.startswith(
        f"arxiv-bot: error: the LLM endpoint {dead} could not be reached (connection refused"
    ), result.err
    assert "OPENAI_BASE_URL" in error
    assert all(STAGE_LINE.match(line) for line in stages), result.err
    assert "No paper met the thresholds" not in result.err
    assert TEST_KEY not in result.err
    # the scorer gives up after ARXIV_BOT_LLM_GIVE_UP (1 s here) of connection errors
    assert result.seconds < 15


async def test_digest_with_a_refused_key_exits_nonzero_naming_openai_api_key(
    arxiv: FakeArxiv, tmp_path: Path
) -> None:
    serve_papers(arxiv, 40)
    async with FakeOpenAI(valid_key="sk-another-key", model="gpt-4o") as fake:
        endpoint = fake.base_url
        result = await run_cli(bot_env(arxiv, fake, tmp_path / "db.sqlite3"), tmp_path, "digest")
    assert result.code == 1
    *stages, error = result.err.strip().splitlines()
    assert all(STAGE_LINE.match(line) for line in stages), result.err
    assert error.startswith(f"arxiv-bot: error: the LLM endpoint {endpoint}")
    assert "refused the API key (HTTP 401)" in error
    assert "OPENAI_API_KEY" in error
    assert TEST_KEY not in result.err
    assert TEST_KEY[-4:] not in result.err
    assert 1 <= fake.unauthorized <= 8  # the requests already in flight, no retries


async def test_digest_with_malformed_replies_exits_0_and_notes_the_unscored_papers(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path
) -> None:
    serve_papers(arxiv, 5)
    shapes = [{"choices": [{"message": None}]}, {"choices": "zzz"}, {"choices": [{}]}]
    llm.enqueue(*(WrongShape(shape) for shape in shapes * 4))  # more than three rounds ask
    result = await run_cli(bot_env(arxiv, llm, tmp_path / "db.sqlite3"), tmp_path, "digest")
    assert result.code == 0, result.err
    assert "5 of 5 papers could not be scored; they will be retried" in result.out
    assert "Traceback" not in result.err
    assert "5 considered, 0 scored" in result.err


async def test_digest_reads_content_parts_and_string_usage_and_retries_a_broken_reply(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path
) -> None:
    serve_papers(arxiv, 30)
    llm.enqueue(WrongShape({"choices": [{"message": None}]}), ContentParts(), UsageAs("100"))
    result = await run_cli(bot_env(arxiv, llm, tmp_path / "db.sqlite3"), tmp_path, "digest")
    assert result.code == 0, result.err
    assert "could not be scored" not in result.out
    assert "30 considered, 30 scored" in result.err
    assert "Traceback" not in result.err
