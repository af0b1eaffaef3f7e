"""Benchmark: a day of 1,000 papers through the bot's digest, end to end, with learning active.

The fake arXiv server serves a 1,000-item feed built from the evaluation days and answers the
API enrichment (with arXiv's real 3 s spacing); the fake OpenAI server answers every request
after 2 s; the bot may keep 8 requests in flight. Before the measured day the bot digests an
earlier day of other papers (quickly: no latency, no spacing) and the team likes a few of its
picks, so the measured day's ranking learns from the LLM's verdicts and from likes.

The bot runs in a child process, as `arxiv-bot digest` would, so its memory is its own. Printed:
the stage timeline, the bot process's peak RSS (and, sampled, its ranking worker's and both
together), the longest event-loop stall (a task that asks to wake every 10 ms), and the day's
wall time against the floor max(LLM requests / concurrency x latency, arXiv API calls x spacing)
beside the issue's goals. A measurement, not a test: it never gates CI.

    python -m bench.digest_1000 [--papers 1000] [--latency 2.0] [--concurrency 8] [--cold]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.config.settings import Settings

REPO = Path(__file__).resolve().parents[1]
DAY = date(2025, 5, 2)
EARLIER = 400  # papers of the earlier day the ranking learns from
LIKES = 12  # the team's likes among the earlier day's picks
STALL_MS = 50.0  # the goal for the longest event-loop stall
CHILD = "from bench.digest_1000 import child; child()"


def papers_for(n: int, skip: int = 0) -> list[dict[str, Any]]:
    """`n` distinct real papers, taken day by day from the evaluation set after the first
    `skip`."""
    from tests.fakes.synth import eval_days, load_eval_day

    seen: dict[str, dict[str, Any]] = {}
    for day in eval_days():
        for paper in load_eval_day(day):
            seen.setdefault(paper["id"], paper)
            if len(seen) == n + skip:
                return list(seen.values())[skip:]
    raise SystemExit(f"the evaluation set has only {len(seen)} distinct papers")


# --- the bot's side: runs in the child process ----------------------------------------------


class LoopLag:
    """Asks to wake every `interval` seconds and keeps the worst lateness and its stage.

    Each stall over the goal is kept with the CPU time the loop's own thread spent meanwhile:
    close to the stall, code on the loop held it; far below, the loop waited for the GIL (other
    threads) or for a core (a busy machine)."""

    def __init__(self, stage: list[str], interval: float = 0.01) -> None:
        self.interval = interval
        self.worst = 0.0
        self.worst_stage = ""
        self.over = 0
        self.stalls: list[tuple[int, int, str]] = []  # (stall ms, loop CPU ms, stage)
        self._stage = stage

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before, cpu = loop.time(), time.thread_time()
            await asyncio.sleep(self.interval)
            late = loop.time() - before - self.interval
            if late * 1000 > STALL_MS:
                self.over += 1
                used = round((time.thread_time() - cpu) * 1000)
                self.stalls.append((round(late * 1000), used, self._stage[0]))
            if late > self.worst:
                self.worst, self.worst_stage = late, self._stage[0]


def child() -> None:
    """Entry point of the bot process: digest today for the console channel, write figures."""
    config = json.loads(sys.argv[1])
    from bot.__main__ import preload_command
    from bot.config.settings import Settings

    # as `arxiv-bot digest` does: settings are read and libraries imported before the loop runs
    settings = Settings.from_env(config["env"])
    preload_command(settings, "digest")
    result = asyncio.run(_bot_day(settings))
    result["peak_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["numerics_loaded"] = sorted(m for m in ("numpy", "scipy", "sklearn") if m in sys.modules)
    Path(config["out"]).write_text(json.dumps(result), encoding="utf-8")


async def _bot_day(settings: Settings) -> dict[str, Any]:
    """What `arxiv-bot digest --format json` does, with a progress hook and a loop monitor."""
    from adapters.markdown import render_json
    from bot.__main__ import CONSOLE_CHANNEL, digest_options, open_core

    start = time.perf_counter()
    stages: dict[str, list[float]] = {}
    current = ["starting"]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter() - start
        stages.setdefault(stage, [now, now])[1] = now
        current[0] = stage

    lag = LoopLag(current)
    monitor = asyncio.create_task(lag.run())
    async with open_core(settings) as core:
        service = core.service
        await service.use_criteria(CONSOLE_CHANNEL, core.criteria_text, changed_by="criteria file")
        outcome = await service.today(CONSOLE_CHANNEL, digest_options(settings), progress)
    monitor.cancel()
    assert outcome.digest is not None, "the fake feed announced nothing"
    return {
        "seconds": time.perf_counter() - start,
        "stages": stages,
        "stall_ms": lag.worst * 1000,
        "stall_stage": lag.worst_stage,
        "stalls_over": lag.over,
        "stalls": sorted(lag.stalls, reverse=True)[:5],
        "digest": json.loads(render_json(outcome.digest)),
    }


# --- the bench's side: fakes, the earlier day, the measured day -----------------------------


def tree_rss_kb(pid: int) -> tuple[int, int]:
    """Resident memory now of a process and of all its descendants (Linux /proc; zeros
    elsewhere)."""
    try:
        own = _rss_kb(pid)
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0, 0
    return own, sum(sum(tree_rss_kb(int(c))) for c in children)


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def bot_day(env: dict[str, str], tmp: Path) -> dict[str, Any]:
    """Run the bot process for one day; its figures, the wall time and the sampled peak."""
    out = tmp / "result.json"
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        json.dumps({"env": env, "out": str(out)}),
        env={"PATH": os.environ.get("PATH", "")},
        cwd=REPO,
        stderr=asyncio.subprocess.PIPE,
    )
    tree_peak = worker_peak = 0
    waiting = asyncio.create_task(proc.communicate())
    while not waiting.done():
        own, descendants = tree_rss_kb(proc.pid)
        tree_peak = max(tree_peak, own + descendants)
        worker_peak = max(worker_peak, descendants)
        await asyncio.wait([waiting], timeout=0.05)
    _, err = waiting.result()
    if proc.returncode:
        raise SystemExit(f"the bot failed:\n{err.decode()}")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["wall"] = time.perf_counter() - start
    result["tree_peak_kb"] = tree_peak
    result["worker_peak_kb"] = worker_peak
    return result


async def like_picks(db: Path, digest: dict[str, Any], n: int) -> int:
    """The team likes `n` of the digest's picks (as reactions in Slack would record them)."""
    from bot.__main__ import CONSOLE_CHANNEL
    from bot.store import Store

    picks = [p["id"] for p in digest["papers"]][:n]
    async with Store.open(db) as store:
        for pid in picks:
            await store.likes.set_like(CONSOLE_CHANNEL, "U-bench", pid, 1)
    return len(picks)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from tests.conftest import bot_env
    from tests.fakes.arxiv_server import FakeArxiv
    from tests.fakes.openai_server import FakeOpenAI, LabelAnswerer, load_labels
    from tests.fakes.synth import eval_days, rss_feed

    papers = papers_for(args.papers)
    labels: dict[str, dict[str, Any]] = {}
    for day in eval_days():
        labels.update(load_labels(day))
    async with (
        FakeArxiv() as arxiv,
        FakeOpenAI(LabelAnswerer(labels), model="gpt-4o", latency=0.0) as llm,
    ):
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp, liked = Path(tmp_name), 0
            db = tmp / "bench.sqlite3"
            common = {"ARXIV_BOT_CONCURRENCY": str(args.concurrency), "ARXIV_BOT_LLM_TIMEOUT": "60"}
            common["ARXIV_BOT_LLM_SHARE"] = str(args.share)
            if not args.cold:
                earlier = papers_for(EARLIER, skip=args.papers)
                arxiv.set_feed(rss_feed(earlier, DAY - timedelta(days=1)))
                arxiv.add_papers(earlier)
                first = await bot_day(bot_env(arxiv, llm, db, **common), tmp)
                liked = await like_picks(db, first["digest"], LIKES)
            arxiv.set_feed(rss_feed(papers, DAY))
            arxiv.add_papers(papers)
            llm.latency = args.latency
            calls, api = llm.calls, len(arxiv.requests_of("api"))
            env = bot_env(arxiv, llm, db, ARXIV_BOT_ARXIV_DELAY=str(args.arxiv_delay), **common)
            result = await bot_day(env, tmp)
        result["llm_calls"] = llm.calls - calls
        result["api_calls"] = len(arxiv.requests_of("api")) - api
    result["liked"] = liked
    return result


def report(args: argparse.Namespace, r: dict[str, Any]) -> None:
    d, usage = r["digest"], r["digest"]["usage"]
    floor = max(r["llm_calls"] / args.concurrency * args.latency, r["api_calls"] * args.arxiv_delay)
    learned = "cold (nothing to learn from)" if args.cold else f"{r['liked']} likes + verdicts"
    print(f"papers                 {d['counts']['announced']}  (learning: {learned})")
    print(f"scored / selected      {d['counts']['scored']} / {d['counts']['selected']}")
    print("stage timeline         (seconds since the bot process opened its resources)")
    starts = sorted((first, stage) for stage, (first, _) in r["stages"].items())
    ends = [s for s, _ in starts[1:]] + [r["seconds"]]
    for (first, stage), end in zip(starts, ends, strict=True):
        print(f"  {first:7.2f} - {end:7.2f}  {stage}")
    print(f"  {r['seconds']:7.2f}            digest built")
    print(
        f"LLM requests           {r['llm_calls']}  ({args.concurrency} in flight, "
        f"{args.latency:g} s each)"
    )
    print(f"arXiv API calls        {r['api_calls']}  ({args.arxiv_delay:g} s apart)")
    print(
        f"tokens                 prompt {usage['prompt_tokens']}, cached "
        f"{usage['cached_tokens']}, completion {usage['completion_tokens']}"
    )
    print(f"wall time              {r['wall']:.1f} s for the whole command")
    print(f"floor                  {floor:.1f} s   ratio {r['wall'] / floor:.2f}  (goal <= 1.2)")
    print(
        f"peak RSS, bot process  {r['peak_kb'] / 1024:.0f} MB  (goal < 150 MB; NumPy/SciPy/"
        f"scikit-learn loaded: {', '.join(r['numerics_loaded']) or 'none'})"
    )
    print(
        f"peak RSS, its workers  {r['worker_peak_kb'] / 1024:.0f} MB; with the bot "
        f"{r['tree_peak_kb'] / 1024:.0f} MB  (sampled every 50 ms)"
    )
    print(
        f"longest loop stall     {r['stall_ms']:.0f} ms during '{r['stall_stage']}'  "
        f"(goal < {STALL_MS:.0f} ms; {r['stalls_over']} stalls over it)"
    )
    if r["stalls"]:
        print(
            "  longest (loop's own CPU meanwhile): "
            + ", ".join(f"{ms} ms ({cpu} ms CPU, {stage})" for ms, cpu, stage in r["stalls"])
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--papers", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--arxiv-delay", type=float, default=3.0)
    parser.add_argument(
        "--share", type=float, default=1.0, help="share of the day sent to the LLM (default all)"
    )
    parser.add_argument("--cold", action="store_true", help="no earlier day, no likes")
    args = parser.parse_args()
    report(args, asyncio.run(run(args)))


if __name__ == "__main__":
    main()
