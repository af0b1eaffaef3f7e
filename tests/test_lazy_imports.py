"""Start-up stays quick: importing the command line loads no network, LLM, scheduling or
numerical library; the commands that need them import them when they run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUN_TIME_ONLY = (
    "aiohttp",
    "apscheduler",
    "arxiv",
    "discord",
    "matplotlib",
    "numpy",
    "openai",
    "pydantic",
    "scipy",
    "sklearn",
    "slack_bolt",
    "slack_sdk",
)


def test_importing_the_cli_loads_no_run_time_library() -> None:
    code = (
        "import sys, bot.__main__; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, check=True, capture_output=True, text=True
    )
    loaded = set(run.stdout.split())
    assert loaded.isdisjoint(RUN_TIME_ONLY), sorted(loaded & set(RUN_TIME_ONLY))


def test_reading_settings_loads_no_run_time_library() -> None:
    """Every command reads the settings first (`status` and `digest --day` too): reading and
    checking them all needs none of the heavy libraries, a validation framework included."""
    code = (
        "import sys; from bot.config.settings import Settings; "
        "Settings.from_env({'OPENAI_API_KEY': 'sk-x', 'ARXIV_BOT_PRICES': "
        "'{\"m\": {\"input\": 1, \"output\": 2}}', 'ARXIV_BOT_DB': 'postgresql://u:p@h/db'}); "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, check=True, capture_output=True, text=True
    )
    loaded = set(run.stdout.split())
    assert loaded.isdisjoint(RUN_TIME_ONLY), sorted(loaded & set(RUN_TIME_ONLY))
