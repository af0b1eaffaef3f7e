"""The ranking off the event loop: the same result as `rank`, computed in a worker process that
leaves when idle, so the bot process never loads NumPy, SciPy or scikit-learn, and the worker
loads nothing of the bot's but the ranking."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.models import Paper
from scoring import ranking
from scoring.ranking import (
    LIKE,
    SELECTED,
    Example,
    learned_scores,
    learned_scores_off_loop,
    paper_text,
    rank,
    rank_off_loop,
)
from scoring.worker import WORKER, WorkerDied

REPO = Path(__file__).resolve().parents[1]
CRITERIA = "1. Model compression: pruning, quantization, sparsity.\n2. Mixture-of-experts.\n"
HEAVY = ("numpy", "scipy", "sklearn")


def toy(pid: str, title: str) -> Paper:
    return Paper(pid, title, f"We study {title.lower()} in depth.", ("A",))


PAPERS = [
    toy("1", "Pruning large networks"),
    toy("2", "Protein folding with graph networks"),
    toy("3", "Sparse mixture-of-experts routing"),
    toy("4", "Reinforcement learning for robot grasping"),
]
EXAMPLES = [
    Example(toy("9", "Protein structure generation with graph networks"), LIKE),
    Example(toy("8", "Protein docking with graph networks"), SELECTED),
]

# A fresh interpreter awaits the worker and reports the ranking and what it imported itself.
WORKER_RUN = """
import asyncio, json, os, sys
from tests.test_ranking_worker import CORE, CRITERIA, EXAMPLES, HEAVY, PAPERS
from scoring import ranking, worker

def children():
    tasks = f"/proc/{os.getpid()}/task"
    return [c for t in os.listdir(tasks) for c in open(f"{tasks}/{t}/children").read().split()]

async def main():
    worker.IDLE_SECONDS = 0.3
    ranked, again, taste = await asyncio.gather(  # at once, they take turns in one worker
        ranking.rank_off_loop(PAPERS, CRITERIA, EXAMPLES, CORE),
        ranking.rank_off_loop(PAPERS, CRITERIA),
        ranking.learned_scores_off_loop([ranking.paper_text(p) for p in PAPERS], EXAMPLES),
    )
    workers = len(children())
    for _ in range(100):  # the idle worker leaves
        await asyncio.sleep(0.1)
        if not children():
            break
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
    print(json.dumps({"top": ranked.top(4), "liked": ranked.liked, "loaded": loaded,
                      "plain": again.top(4), "workers": workers, "taste": taste,
                      "left": len(children())}))

if __name__ == "__main__":
    asyncio.run(main())
"""
CORE = frozenset({"3"})


def test_the_worker_ranks_like_rank_and_the_caller_loads_no_numerics() -> None:
    run = subprocess.run(
        [sys.executable, "-c", WORKER_RUN], cwd=REPO, check=True, capture_output=True, text=True
    )
    reported = json.loads(run.stdout)
    expected = rank(PAPERS, CRITERIA, EXAMPLES, CORE)
    plain = rank(PAPERS, CRITERIA).top(4)
    taste = learned_scores([paper_text(p) for p in PAPERS], EXAMPLES)
    assert reported.pop("taste") == pytest.approx(list(taste))
    assert reported == {
        "top": expected.top(4),
        "liked": 1,
        "loaded": [],
        "plain": plain,
        "workers": 1,
        "left": 0,
    }


async def test_an_empty_day_needs_no_worker() -> None:
    assert await rank_off_loop([], CRITERIA) == ranking.Ranking(())
    assert await learned_scores_off_loop([], EXAMPLES) == []


def command_of(pid: int) -> list[str]:
    """A process's command line (Linux /proc)."""
    return Path(f"/proc/{pid}/cmdline").read_text().rstrip("\0").split("\0")


def children_of(pid: int) -> list[str]:
    """The pids of a process's children (Linux /proc)."""
    tasks = Path(f"/proc/{pid}/task")
    return [c for t in tasks.iterdir() for c in (t / "children").read_text().split()]


async def test_the_worker_loads_only_the_ranking_and_leaves_no_helper_process() -> None:
    await rank_off_loop(PAPERS, CRITERIA, EXAMPLES)
    loaded = await asyncio.wrap_future(WORKER.submit(eval, "sorted(__import__('sys').modules)"))
    ours = {m for m in loaded if m.split(".")[0] in ("bot", "scoring", "adapters", "tests")}
    assert ours == {"bot", "bot.models", "scoring", "scoring.ranking"}
    assert {"openai", "aiosqlite", "asyncpg", "aiohttp"} & set(loaded) == set()
    assert {"sklearn", "numpy", "scipy"} <= set(loaded)
    assert WORKER.pid is not None
    assert command_of(WORKER.pid)[-2:] == ["scoring.worker", str(os.getpid())]
    assert children_of(WORKER.pid) == []


async def test_what_outlives_a_call_is_kept_out_of_the_next_calls_collections() -> None:
    await rank_off_loop(PAPERS, CRITERIA, EXAMPLES)
    ask = "(__import__('gc').get_freeze_count(), len(__import__('gc').get_objects()))"
    frozen, walked = await asyncio.wrap_future(WORKER.submit(eval, ask))
    assert frozen > 10_000  # scikit-learn's imports, and the day the ranking keeps
    assert walked < 1_000  # what a collection in the next call walks besides its own objects


async def test_an_error_in_the_worker_is_raised_to_the_caller_and_the_worker_stays() -> None:
    pid = await asyncio.wrap_future(WORKER.submit(os.getpid))
    with pytest.raises(ValueError, match="invalid literal"):
        await asyncio.wrap_future(WORKER.submit(int, "seven"))
    assert await asyncio.wrap_future(WORKER.submit(os.getpid)) == pid


async def test_a_killed_worker_fails_its_call_and_the_next_call_starts_a_new_one() -> None:
    pid = await asyncio.wrap_future(WORKER.submit(os.getpid))
    sleeping = WORKER.submit(time.sleep, 30)
    await asyncio.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(WorkerDied):
        await asyncio.wait_for(asyncio.wrap_future(sleeping), 10)
    assert await asyncio.wrap_future(WORKER.submit(os.getpid)) not in (pid, None)


# A program handing the worker a function of its own `__main__`, which the worker cannot import.
MAIN_RUN = """
import json, os
from scoring.worker import WORKER

def here():
    return 1

pid = WORKER.submit(os.getpid).result()
try:
    WORKER.submit(here).result()
except AttributeError as error:
    failed = str(error)
print(json.dumps({"failed": failed, "same": WORKER.submit(os.getpid).result() == pid}))
"""


def test_a_function_the_worker_cannot_import_fails_its_call_and_the_worker_stays() -> None:
    run = subprocess.run(
        [sys.executable, "-c", MAIN_RUN], cwd=REPO, check=True, capture_output=True, text=True
    )
    reported = json.loads(run.stdout)
    assert "Can't get attribute 'here'" in reported["failed"]
    assert reported["same"] is True


# A bot process that has started its ranking worker, reports the worker's pid and whether a
# resource tracker runs, and then waits to be killed.
ORPHAN_RUN = """
import json, os, sys, time
from scoring.worker import WORKER

worker = WORKER.submit(os.getpid).result()
tracker = "multiprocessing.resource_tracker" in sys.modules
print(json.dumps({"worker": worker, "tracker": tracker}), flush=True)
time.sleep(600)
"""


def running(pid: int) -> bool:
    """Whether `pid` still runs (a zombie waiting for a reaper has left)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc here: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_killed_bot_leaves_no_ranking_worker_behind() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", ORPHAN_RUN], cwd=REPO, stdout=subprocess.PIPE, text=True
    ) as bot:
        try:
            assert bot.stdout is not None
            pids = json.loads(bot.stdout.readline())
            left = [pids["worker"]]
            assert running(pids["worker"])
            assert pids["tracker"] is False
        finally:
            bot.send_signal(signal.SIGKILL)
            bot.wait()
    deadline = time.monotonic() + 5
    while any(running(pid) for pid in left) and time.monotonic() < deadline:
        time.sleep(0.1)
    orphans = [pid for pid in left if running(pid)]
    for pid in orphans:  # a failing run must not leave them to the machine either
        os.kill(pid, signal.SIGKILL)
    assert orphans == []
