"""Benchmark: how quickly the quick commands start, against a bare interpreter.

A stored day is made first (the fake arXiv and OpenAI servers serve 2025-05-02 and
`arxiv-bot digest` scores it), then four commands run in turn, round after round, each as its
own process with a clean environment: `python -c pass` (the floor), `arxiv-bot --help`,
`arxiv-bot status` and `arxiv-bot digest --day 2025-05-02` (the stored day shown again, from the
store alone). Printed: each command's median wall time, and the ratios the goals name, taken
round by round (so a machine that slows down mid-run moves both sides of a ratio) and then the
median. A measurement, not a test: it never gates CI.

    python -m bench.startup [--rounds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DAY = "2025-05-02"
NO_ENV_FILE = "--env-file=/nonexistent/arxiv-bot-bench/.env"
GOALS = {"help": 8.0, "status": 8.0, "day": 2.0}  # help/status against pass, day against help


def bot_command() -> list[str]:
    """The `arxiv-bot` console script beside this interpreter, or `python -m bot`."""
    script = Path(sys.executable).with_name("arxiv-bot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


async def store_a_day(db: Path) -> dict[str, str]:
    """Score DAY into `db` against the fakes; the environment the timed commands then use."""
    sys.path.insert(0, str(REPO))
    from tests.conftest import bot_env
    from tests.fakes.arxiv_server import FakeArxiv
    from tests.fakes.openai_server import FakeOpenAI
    from tests.fakes.synth import load_eval_day, rss_feed

    papers = load_eval_day(DAY)
    async with FakeArxiv() as arxiv, FakeOpenAI.from_labels(DAY, model="gpt-4o") as llm:
        arxiv.set_feed(rss_feed(papers, date.fromisoformat(DAY)))
        arxiv.add_papers(papers)
        env = bot_env(arxiv, llm, db)
        proc = await asyncio.create_subprocess_exec(
            *bot_command(),
            NO_ENV_FILE,
            "digest",
            env=clean(env),
            cwd=db.parent,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await proc.communicate()
        if proc.returncode:
            raise SystemExit(f"could not store {DAY}: {err.decode().strip()}")
    return env


def clean(env: dict[str, str]) -> dict[str, str]:
    """Exactly `env`, with PATH: nothing of the caller's configuration."""
    return {"PATH": os.environ.get("PATH", ""), **env}


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="runs of each command")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="arxiv-bot-startup-"))
    try:
        env = clean(asyncio.run(store_a_day(tmp / "bot.sqlite3")))
        bot = [*bot_command(), NO_ENV_FILE]
        commands = {
            "pass": [sys.executable, "-c", "pass"],
            "help": [*bot, "--help"],
            "status": [*bot, "status"],
            "day": [*bot, "digest", "--day", DAY],
        }
        for argv in commands.values():  # warm the file cache and the bytecode
            timed(argv, env, tmp)
        runs: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, argv in commands.items():
                runs[name].append(timed(argv, env, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for name, argv in commands.items():
        shown = " ".join(Path(argv[0]).name if n == 0 else a for n, a in enumerate(argv))
        print(f"{shown.replace(NO_ENV_FILE + ' ', ''):<40} {statistics.median(runs[name]):.3f} s")
    pairs = {"help": "pass", "status": "pass", "day": "help"}
    ratios = {
        name: statistics.median(a / b for a, b in zip(runs[name], runs[base], strict=True))
        for name, base in pairs.items()
    }
    for name, base in pairs.items():
        met = "met" if ratios[name] <= GOALS[name] else "missed"
        print(f"{name} / {base}: {ratios[name]:.2f}x (goal <= {GOALS[name]:g}x, {met})")
    print(
        f"start-up: --help {ratios['help']:.1f}x and status {ratios['status']:.1f}x of "
        f"python -c pass; digest --day {ratios['day']:.1f}x of --help"
    )


if __name__ == "__main__":
    main()
