"""The long commands import their libraries before the event loop starts, so a request served
during the day never waits for an import; the quick commands import nothing extra."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bot.preload import modules_for
from tests.conftest import bot_env, child_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI

REPO = Path(__file__).resolve().parents[1]
# packages that take tens of milliseconds (or, for the OpenAI client, hundreds) to import
HEAVY = {
    "aiohttp",
    "aiosqlite",
    "anyio",
    "arxiv",
    "charset_normalizer",
    "httpcore2",
    "httpx2",
    "openai",
    "pydantic",
    "pydantic_core",
    "requests",
    "urllib3",
}

DAY_IN_A_CHILD = """
import asyncio, json, sys
from bot.__main__ import CONSOLE_CHANNEL, digest_options, open_core, preload_command
from bot.config.settings import Settings

settings = Settings.from_env(json.loads(sys.argv[1]))
preload_command(settings, "digest")
before = set(sys.modules)


async def day():
    async with open_core(settings) as core:
        await core.service.use_criteria(CONSOLE_CHANNEL, core.criteria_text, changed_by="test")
        outcome = await core.service.today(CONSOLE_CHANNEL, digest_options(settings))
    return len(outcome.digest.entries)


shown = asyncio.run(day())
new = sorted({m.split(".")[0] for m in set(sys.modules) - before})
print(json.dumps({"shown": shown, "new": new, "switch": sys.getswitchinterval()}))
"""


def test_today_imports_everything_first_and_status_nothing() -> None:
    day = modules_for("digest", llm=True, driver="sqlite", day_given=False)
    assert {"openai", "aiosqlite", "bot.digest.service", "bot.arxiv.api"} <= set(day)
    assert "asyncpg" in modules_for("run", llm=False, driver="postgresql", day_given=False)
    assert "openai" not in modules_for("run", llm=False, driver="sqlite", day_given=False)
    assert "bot.daily.runner" in modules_for("run", llm=True, driver="sqlite", day_given=False)
    assert modules_for("digest", llm=True, driver="sqlite", day_given=True) == ()
    assert modules_for("status", llm=True, driver="sqlite", day_given=False) == ()
    assert modules_for("console", llm=True, driver="sqlite", day_given=False) == ()


async def test_a_whole_day_imports_no_heavy_library_on_the_loop(
    arxiv: FakeArxiv, llm: FakeOpenAI, day_feed: list[dict[str, Any]], tmp_path: Path
) -> None:
    env = bot_env(arxiv, llm, tmp_path / "bot.sqlite3")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        DAY_IN_A_CHILD,
        json.dumps(env),
        env=child_env({}),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]
    figures = json.loads(out.decode().strip().splitlines()[-1])
    assert figures["shown"] > 0
    assert HEAVY.isdisjoint(figures["new"]), sorted(HEAVY & set(figures["new"]))
    # a thread reading an arXiv answer gives the loop the interpreter lock back within 1 ms,
    # not Python's 5 ms at every socket call of a loop step
    assert figures["switch"] <= 0.001


def test_status_with_a_key_set_imports_no_llm_client(tmp_path: Path) -> None:
    env = child_env({"OPENAI_API_KEY": "sk-test", "ARXIV_BOT_DB": str(tmp_path / "bot.sqlite3")})
    code = (
        "import sys; from bot.__main__ import main; rc = main(['--env-file', '/nonexistent', "
        "'status']); print(sorted(m for m in ('openai', 'aiohttp', 'arxiv') if m in sys.modules))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert "the bot has not run here" in run.stdout
    assert run.stdout.strip().splitlines()[-1] == "[]"
