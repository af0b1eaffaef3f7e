"""End to end: `arxiv-bot digest` as a user runs it, against the fake arXiv and OpenAI servers.

The day 2025-05-02 is replayed: the feed is synthesised from the day's real candidates and the
fake LLM answers as the reference pipeline (GPT-4o) did that day.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp

from tests import cli
from tests.conftest import NO_ENV_FILE, TEST_KEY, bot_env, child_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.discord_server import GUILD_ID, FakeDiscord
from tests.fakes.openai_server import FakeOpenAI, load_labels
from tests.fakes.slack_server import FakeSlack, command_form, signed_headers
from tests.fakes.synth import load_eval_day, rss_feed

DAY = "2025-05-02"


async def run_cli(
    env: dict[str, str], *args: str, stdin: str | None = None, cwd: Path | None = None
) -> tuple[int, str, str]:
    """Run `python -m bot ...` in a child process while the fakes keep serving: with `env` as
    its whole configuration, in `cwd` (a scratch directory by default), reading no `.env`."""
    with tempfile.TemporaryDirectory(prefix="arxiv-bot-cli-") as scratch:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            NO_ENV_FILE,
            *args,
            env=child_env(env),
            cwd=cwd or scratch,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        data = stdin.encode() if stdin is not None else None
        out, err = await asyncio.wait_for(proc.communicate(data), timeout=120)
    return proc.returncode or 0, out.decode(), err.decode()


def serve_day(arxiv: FakeArxiv, day: str = DAY) -> list[dict[str, object]]:
    papers = load_eval_day(day)
    arxiv.set_feed(rss_feed(papers, date.fromisoformat(day)))
    arxiv.add_papers(papers)
    return papers


async def test_replaying_a_real_day_lists_the_reference_picks(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path
) -> None:
    papers = serve_day(arxiv)
    env = bot_env(arxiv, llm, tmp_path / "bot.sqlite3")

    code, out, err = await run_cli(env, "digest", "--format", "json")

    assert code == 0, err
    digest = json.loads(out)
    reference = load_labels(DAY)
    picks = [(p["id"], p["relevance"], p["novelty"], p["comment"]) for p in digest["papers"]]
    assert {p[0] for p in picks} == set(reference)
    for pid, rel, nov, comment in picks:
        assert (rel, nov, comment) == (
            reference[pid]["relevance"],
            reference[pid]["novelty"],
            reference[pid]["comment"],
        )
    # same ranking as the reference: totals never increase down the list
    assert [r + n for _, r, n, _ in picks] == [v["score"] for v in reference.values()]
    assert digest["day"] == DAY
    assert digest["model"] == "gpt-4o"
    assert digest["counts"]["announced"] == len(papers)
    assert digest["counts"]["considered"] == len(papers)
    assert digest["counts"]["scored"] == len(papers)
    assert digest["counts"]["selected"] == 12
    assert digest["usage"]["prompt_tokens"] == llm.total_prompt_tokens
    assert digest["usage"]["cached_tokens"] == llm.total_cached_tokens > 0
    assert digest["usage"]["calls"] == llm.calls
    # every paper was asked exactly once
    asked = [pid for batch in llm.asked_ids for pid in batch]
    assert sorted(asked) == sorted(str(p["id"]) for p in papers)
    # enrichment from the API filled the fields the feed lacks
    first = digest["papers"][0]
    assert first["primary_category"] is not None
    assert TEST_KEY not in out + err


async def test_a_second_run_spends_no_tokens(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path
) -> None:
    serve_day(arxiv)
    env = bot_env(arxiv, llm, tmp_path / "bot.sqlite3")
    code, first, _ = await run_cli(env, "digest", "--format", "json")
    assert code == 0
    calls = llm.calls

    code, second, err = await run_cli(env, "digest", "--format", "json")

    assert code == 0, err
    assert llm.calls == calls
    assert json.loads(second)["run_usage"]["calls"] == 0
    assert json.loads(second)["papers"] == json.loads(first)["papers"]
    assert "this run: 0 LLM calls, 0 tokens" in err


async def test_markdown_digest_to_a_file(arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path) -> None:
    serve_day(arxiv)
    env = bot_env(arxiv, llm, tmp_path / "bot.sqlite3")
    target = tmp_path / "digest.md"

    code, out, err = await run_cli(env, "digest", "--output", str(target))

    assert code == 0, err
    assert out == ""
    md = target.read_text(encoding="utf-8")
    assert md.startswith(f"# Personalized Daily ArXiv Papers {DAY}\n")
    assert md.count("**ArXiv ID:**") == 12
    assert "Total relevant papers: 12" in md
    # TeX in author names became unicode, as in the reference report's J\"org and S{\o}gaard
    assert "Jörg Bornschein" in md
    assert "Anders Søgaard" in md
    assert f"→ {target}" in err


async def test_weekend_feed_is_a_normal_no_announcement(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path
) -> None:
    from tests.fakes.synth import empty_rss_feed

    arxiv.set_feed(empty_rss_feed(date(2025, 5, 3)))
    code, out, err = await run_cli(bot_env(arxiv, llm, tmp_path / "db.sqlite3"), "digest")
    assert code == 0
    assert out == ""
    assert "no arXiv announcement today" in err
    assert llm.calls == 0


async def test_without_a_key_digest_shows_the_day_ranked_locally_and_says_so(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path, day_feed: list[dict[str, Any]]
) -> None:
    env = bot_env(arxiv, llm, tmp_path / "db.sqlite3")
    env.pop("OPENAI_API_KEY")
    code, out, err = await run_cli(env, "digest")
    assert code == 0, err
    assert "ranked locally, not scored by an LLM: set OPENAI_API_KEY to score" in out
    assert out.count("arxiv.org/abs/") >= 10
    assert "OPENAI_API_KEY is not set" in err
    assert "scoring with the LLM" not in err  # no progress line for a stage that never ran
    assert "Traceback" not in err
    assert llm.calls == 0
    code, out, _ = await run_cli(env, "digest", "--format", "json")
    assert code == 0
    assert json.loads(out)["scored"] is False


async def test_a_stored_day_is_shown_again_without_a_key(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path, day_feed: list[dict[str, Any]]
) -> None:
    env = bot_env(arxiv, llm, tmp_path / "db.sqlite3")
    code, scored, err = await run_cli(env, "digest")
    assert code == 0, err
    env.pop("OPENAI_API_KEY")
    code, again, err = await run_cli(env, "digest", "--day", "2025-05-02")
    assert code == 0, err
    assert again == scored


async def test_the_long_running_bot_without_a_key_is_one_clear_line(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path
) -> None:
    env = bot_env(arxiv, llm, tmp_path / "db.sqlite3")
    env.pop("OPENAI_API_KEY")
    code, _out, err = await run_cli(env, "run")
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "arxiv-bot: error: OPENAI_API_KEY is not set: put it in .env or the environment to "
        "score papers (for a local server that needs no key, any value works)"
    )


async def test_unreachable_arxiv_is_one_clear_line(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path
) -> None:
    env = bot_env(
        arxiv,
        llm,
        tmp_path / "db.sqlite3",
        ARXIV_BOT_RSS_URL="http://127.0.0.1:9/rss/",
        ARXIV_BOT_ARXIV_ATTEMPTS="1",
    )
    code, _, err = await run_cli(env, "digest")
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("arxiv-bot: error: arXiv is unavailable")


async def test_bad_criteria_file_is_one_clear_line(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path
) -> None:
    empty = tmp_path / "criteria.md"
    empty.write_text("  \n")
    env = bot_env(arxiv, llm, tmp_path / "db.sqlite3", ARXIV_BOT_CRITERIA_FILE=str(empty))
    code, _, err = await run_cli(env, "digest")
    assert code == 1
    assert err.strip() == (
        f"arxiv-bot: error: criteria file {empty}: the criteria are empty: "
        "describe what your team wants to read"
    )


async def test_invalid_settings_list_every_problem(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path
) -> None:
    env = bot_env(
        arxiv,
        llm,
        tmp_path / "db.sqlite3",
        ARXIV_BOT_MIN_NOVELTY="0",
        ARXIV_BOT_CATEGORIES="cs.LG;cs.AI",
    )
    code, _, err = await run_cli(env, "digest")
    assert code == 2
    assert "2 problems" in err
    assert "ARXIV_BOT_MIN_NOVELTY" in err
    assert "ARXIV_BOT_CATEGORIES" in err


async def test_run_without_a_chat_token_says_what_to_set(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path
) -> None:
    code, _, err = await run_cli(bot_env(arxiv, llm, tmp_path / "db.sqlite3"), "run")
    assert code == 2
    assert "SLACK_BOT_TOKEN" in err
    assert "DISCORD_BOT_TOKEN" in err
    assert "Traceback" not in err


async def test_status_shows_next_post_and_last_outcome(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path
) -> None:
    env = bot_env(arxiv, llm, tmp_path / "db.sqlite3", ARXIV_BOT_TIMEZONE="Asia/Tokyo")
    code, out, _ = await run_cli(env, "status")
    assert (code, out.strip()) == (
        0,
        f"No database at {tmp_path / 'db.sqlite3'} yet: the bot has not run here.",
    )
    serve_day(arxiv)
    code, _, _ = await run_cli(env, "console", "--channel", "team", stdin="subscribe\ntoday\n")
    assert code == 0
    code, out, _ = await run_cli(env, "status")
    assert code == 0
    assert "console:team  next post" in out
    assert "08:00 Asia/Tokyo" in out
    assert "last: 2025-05-02 scored" in out


async def test_a_run_killed_mid_scoring_loses_nothing_already_paid_for(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path
) -> None:
    papers = serve_day(arxiv)
    env = bot_env(
        arxiv, llm, tmp_path / "bot.sqlite3", ARXIV_BOT_CONCURRENCY="1", ARXIV_BOT_ENRICH="false"
    )
    llm.latency = 0.2
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        NO_ENV_FILE,
        "digest",
        env=child_env(env),
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    # requests go one at a time: once the third arrives, two replies are stored
    while len(llm.asked_ids) < 3:  # noqa: ASYNC110 - polling a fake server's record
        await asyncio.sleep(0.02)
    proc.kill()
    await proc.wait()
    paid_for = {pid for batch in llm.asked_ids[:2] for pid in batch}
    before = len(llm.asked_ids)
    llm.latency = 0.0

    code, out, err = await run_cli(env, "digest", "--format", "json")

    assert code == 0, err
    asked_again = {pid for batch in llm.asked_ids[before:] for pid in batch}
    assert asked_again.isdisjoint(paid_for)
    assert paid_for | asked_again == {str(p["id"]) for p in papers}
    assert json.loads(out)["counts"]["scored"] == len(papers)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_run_serves_slack_and_stops_cleanly_on_sigterm(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path
) -> None:
    serve_day(arxiv)
    http_port, health_port = free_port(), free_port()
    async with FakeSlack() as slack:
        env = bot_env(
            arxiv,
            llm,
            tmp_path / "db.sqlite3",
            SLACK_BOT_TOKEN="xoxb-run-test-token",
            SLACK_SIGNING_SECRET="run-test-signing-secret",
            ARXIV_BOT_HTTP_PORT=str(http_port),
            ARXIV_BOT_SLACK_API_URL=slack.api_url,
            ARXIV_BOT_HEALTH_PORT=str(health_port),
            ARXIV_BOT_ADMINS="everyone",  # the fake Slack's users manage nothing
        )
        proc = await start_run(env, tmp_path)
        try:
            async with aiohttp.ClientSession() as http:
                await wait_healthy(http, f"http://127.0.0.1:{health_port}/healthz", proc)
                await wait_listening(http_port, proc)  # Slack connects beside the schedule
                body = command_form("subscribe", response_url=slack.response_url("sub"))
                headers = {
                    **signed_headers("run-test-signing-secret", body),
                    "Content-Type": "application/x-www-form-urlencoded",
                }
                url = f"http://127.0.0.1:{http_port}/slack/events"
                async with http.post(url, data=body, headers=headers) as resp:
                    assert resp.status == 200
            await slack.wait_until(lambda: bool(slack.responses), within=20)
            assert "Subscribed" in json.dumps(slack.responses[0][1])
        finally:
            log = await stop_run(proc)
    assert proc.returncode == 0, log[-2000:]
    assert "slack adapter connected" in log
    assert "stopped" in log
    assert "Traceback" not in log
    assert "xoxb-run-test-token" not in log
    assert "run-test-signing-secret" not in log


async def start_run(env: dict[str, str], cwd: Path, *flags: str) -> asyncio.subprocess.Process:
    """`arxiv-bot [flags] run` in a child process in `cwd`, configured by `env` alone, its log
    on a pipe."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        NO_ENV_FILE,
        *flags,
        "run",
        env=child_env(env),
        cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def read_until(
    proc: asyncio.subprocess.Process, text: str, times: int = 1, within: float = 30
) -> str:
    """The log of a `start_run` process up to the `times`-th line containing `text`."""
    assert proc.stderr is not None
    seen = ""
    async with asyncio.timeout(within):
        while seen.count(text) < times:
            line = await proc.stderr.readline()
            assert line, f"the bot exited before logging {text!r}: {seen[-2000:]}"
            seen += line.decode()
    return seen


async def stop_run(proc: asyncio.subprocess.Process) -> str:
    """SIGTERM, then the whole log once it exited."""
    proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return err.decode()


async def wait_listening(port: int, proc: asyncio.subprocess.Process) -> None:
    for _ in range(300):
        assert proc.returncode is None, "the bot exited"
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError(f"nothing listens on port {port}")


async def wait_healthy(
    http: aiohttp.ClientSession, url: str, proc: asyncio.subprocess.Process
) -> None:
    for _ in range(300):
        assert proc.returncode is None, "the bot exited"
        try:
            async with http.get(url) as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the bot never became healthy")


async def test_run_serves_discord_and_stops_cleanly_on_sigterm(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path
) -> None:
    token = "discord-run-token-never-shown"
    health_port = free_port()
    async with FakeDiscord(token) as discord:
        env = bot_env(
            arxiv,
            llm,
            tmp_path / "db.sqlite3",
            DISCORD_BOT_TOKEN=token,
            ARXIV_BOT_DISCORD_API_URL=discord.api_url,
            ARXIV_BOT_DISCORD_GATEWAY_URL=discord.gateway_url,
            ARXIV_BOT_DISCORD_GUILDS=str(GUILD_ID),
            ARXIV_BOT_HEALTH_PORT=str(health_port),
        )
        proc = await start_run(env, tmp_path)
        try:
            async with aiohttp.ClientSession() as http:
                await wait_healthy(http, f"http://127.0.0.1:{health_port}/healthz", proc)
            connected = await read_until(proc, "discord adapter connected")
        finally:
            log = await stop_run(proc)
    log = connected + log
    assert proc.returncode == 0, log[-2000:]
    assert "discord adapter connected" in log
    assert "stopped" in log
    assert "Traceback" not in log
    assert token not in log


async def test_the_console_works_without_a_key_and_says_what_needs_one(
    arxiv: FakeArxiv, llm: FakeOpenAI, tmp_path: Path, day_feed: list[dict[str, Any]]
) -> None:
    env = bot_env(arxiv, llm, tmp_path / "db.sqlite3")
    env.pop("OPENAI_API_KEY")
    lines = "criteria\ncriteria show 1\nsettings categories cs.FOO\nsettings\ntoday\n"
    result = await cli.run_cli(env, tmp_path, "console", stdin=lines)
    assert result.code == 0, result.err
    numbered = [line for line in result.out.splitlines() if re.match(r"\d+\. ", line)]
    assert 6 <= len(numbered) <= 12 + 3  # the topics, then the version shown in full
    assert "did you mean" in result.out
    assert "cs.LG" in result.out
    assert "OPENAI_API_KEY is not set" in result.out  # `today` needs the LLM, and says so
    assert "Traceback" not in result.err
    assert llm.calls == 0
