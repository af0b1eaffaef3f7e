"""Benchmark: the memory of `arxiv-bot digest`'s whole process tree on a 240-paper day, and its
event loop's longest stall.

The fake arXiv server serves 2025-05-08 of the evaluation days (240 papers) and answers the
API enrichment; the fake OpenAI server answers from the day's reference picks. Before the
measured day the same command digests an earlier day (2025-05-06, unmeasured), so the measured
day's ranking learns from the LLM's verdicts as a bot in use does.

The measured run is the console script itself (`arxiv-bot digest`, this checkout's code first
on the path), in a scratch directory with a settings file that does not exist. Every few
milliseconds the bench walks the command's process tree in /proc (the bot and its ranking
worker, `python -m scoring.worker`) and reads each process's proportional set size
(PSS: shared pages split between the processes sharing them, so the sum is what the tree
costs) and RSS from `smaps_rollup`. PSS depends on what else runs: pages the bot shares with
other Python processes of the same environment on the machine count only in part, so compare
runs made back to back. The loop's stalls come from a monitor in the bot's own
loop (a `sitecustomize` on the bench's path wraps `asyncio.run` in that one process: a task
that asks to wake every 10 ms and notes how late it wakes), each with the stage the bot's
progress lines place it in; the enrichment from the arXiv API runs beside the ranking and the
scoring, so a stall that overlaps the half second after one of its requests (the fake's own
record, on the same clock) is marked as met while reading an API answer.

Each stall is split by the kernel's own account of the loop's thread (Linux's
`/proc/thread-self/schedstat`): the loop's CPU, the time it was ready but waiting for a CPU
(other processes' work, the ranking worker's included, on a busy machine), and the rest, which
is the bot's own doing (waiting for the interpreter lock, a blocking call). The longest
wait of the bot's other threads for a CPU is given beside it: one that held the interpreter
lock meanwhile kept the loop waiting that long too. So the longest stall less the loop's wait
for a CPU is at most what the bot did to its loop, and less the other thread's wait as well, at
least. A measurement, not a test: it never gates CI.

    python -m bench.memory [--interval 0.005] [--latency 0.5] [--arxiv-delay 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DAY, EARLIER = date(2025, 5, 8), date(2025, 5, 6)
GOAL_MB = 150
STALL_MS = 50.0
STALLS_ENV = "ARXIV_BENCH_STALLS"
API_ANSWER_WINDOW = 0.5  # seconds after an API request in which the bot reads its answer

# Loaded by the interpreter at start (it is first on PYTHONPATH). Only the process that finds
# the variable watches its loop; it removes the variable, so the ranking worker it spawns
# imports nothing more than it would.
SITECUSTOMIZE = f'''
import os

_OUT = os.environ.pop("{STALLS_ENV}", None)
if _OUT:
    import asyncio
    import json
    import threading
    import time

    def _waits():
        """Each of this process's threads' nanoseconds ready but waiting for a CPU
        (schedstat's second field); None where the kernel does not say."""
        waits = {{}}
        try:
            tasks = os.listdir("/proc/self/task")
        except OSError:
            return None
        for tid in tasks:
            try:
                with open("/proc/self/task/" + tid + "/schedstat") as stat:
                    waits[int(tid)] = int(stat.read().split()[1])
            except (OSError, IndexError, ValueError):
                continue
        return waits

    def _waited(before, after):
        """ms the loop's thread, and at most one of the others, waited for a CPU."""
        if not before or not after:
            return None, None
        me = threading.get_native_id()
        if me not in before or me not in after:
            return None, None
        others = [ns - before.get(tid, 0) for tid, ns in after.items() if tid != me]
        return (after[me] - before[me]) / 1e6, max(others, default=0) / 1e6

    _run = asyncio.run

    def _watched_run(main, **kwargs):
        async def watched():
            stalls = []

            async def watch():
                loop = asyncio.get_running_loop()
                waits = _waits()
                while True:
                    before, cpu = loop.time(), time.thread_time()
                    await asyncio.sleep(0.01)
                    late = loop.time() - before - 0.01
                    now = _waits()
                    if late > 0.02:
                        used = (time.thread_time() - cpu) * 1000
                        mine, others = _waited(waits, now)
                        stalls.append((time.time(), late * 1000, used, mine, others))
                    waits = now

            task = asyncio.ensure_future(watch())
            try:
                return await main
            finally:
                task.cancel()
                with open(_OUT, "w") as out:
                    json.dump(stalls, out)

        return _run(watched(), **kwargs)

    asyncio.run = _watched_run
'''


@dataclass(frozen=True)
class Stall:
    """One late wake-up of the loop's monitor: when it ended (epoch seconds), how late (ms),
    the loop's CPU meanwhile, and how long the loop's thread and, at most, one of the bot's
    other threads were ready but waiting for a CPU (ms; None where the kernel does not say)."""

    at: float
    ms: float
    cpu: float
    cpu_wait: float | None
    others_wait: float | None

    @property
    def own(self) -> float:
        """The stall less the loop's wait for a CPU: at most what the bot did to its loop."""
        return max(0.0, self.ms - (self.cpu_wait or 0.0))

    @property
    def own_least(self) -> float:
        """Less also the other thread's wait for a CPU (it may have held the interpreter lock
        meanwhile; both waits may overlap too): at least what the bot did to its loop."""
        return max(0.0, self.own - (self.others_wait or 0.0))

    def split(self) -> str:
        if self.cpu_wait is None or self.others_wait is None:
            return f"{self.cpu:.0f} ms of the loop's CPU"
        return (
            f"{self.cpu:.0f} ms of the loop's CPU, {self.cpu_wait:.0f} ms waiting for a CPU; "
            f"another thread of the bot's up to {self.others_wait:.0f} ms"
        )


# --- the process tree, from /proc -----------------------------------------------------------


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants (Linux /proc)."""
    children: list[str] = []
    try:  # each thread's own children: the worker is started from a thread of the bot's
        for task in Path(f"/proc/{pid}/task").iterdir():
            children += (task / "children").read_text().split()
    except OSError:
        return [pid]
    return [pid, *(p for c in children for p in tree(int(c)))]


def memory_kb(pid: int) -> tuple[int, int]:
    """A process's PSS and RSS in kB now (zeros once it is gone)."""
    pss = rss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
            elif line.startswith("Rss:"):
                rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss


def role(pid: int, root: int) -> str:
    """What a process of the tree is, from its command line."""
    if pid == root:
        return "bot"
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        cmdline = ""
    if not cmdline:
        return "(gone)"
    if "resource_tracker" in cmdline:
        return "resource tracker"
    if "scoring.worker" in cmdline or "spawn_main" in cmdline or "forkserver" in cmdline:
        return "ranking worker"
    return cmdline[:40]


@dataclass
class Sampler:
    """Samples a process tree's memory from a thread until stopped."""

    root: int
    interval: float
    samples: int = 0
    peak_pss: int = 0  # kB, the tree summed at one moment
    peak_rss: int = 0
    at_peak: dict[str, int] = field(default_factory=dict)  # role -> PSS kB at the tree's peak
    own_peak: dict[str, tuple[int, int]] = field(default_factory=dict)  # role -> peak PSS, RSS
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.is_set():
            now: dict[str, tuple[int, int]] = {}
            for pid in tree(self.root):
                pss, rss = memory_kb(pid)
                name = role(pid, self.root)
                old = now.get(name, (0, 0))
                now[name] = (old[0] + pss, old[1] + rss)
            self.samples += 1
            total_pss = sum(p for p, _ in now.values())
            self.peak_rss = max(self.peak_rss, sum(r for _, r in now.values()))
            if total_pss > self.peak_pss:
                self.peak_pss, self.at_peak = total_pss, {k: p for k, (p, _) in now.items()}
            for name, (pss, rss) in now.items():
                old = self.own_peak.get(name, (0, 0))
                self.own_peak[name] = (max(old[0], pss), max(old[1], rss))
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()


# --- the command ----------------------------------------------------------------------------


def console_script() -> str:
    """The `arxiv-bot` console script of this interpreter's environment."""
    beside = Path(sys.executable).parent / "arxiv-bot"
    found = str(beside) if beside.exists() else shutil.which("arxiv-bot")
    if found is None:
        raise SystemExit("no `arxiv-bot` command: install the project (make install)")
    return found


async def digest(
    env: dict[str, str], tmp: Path, interval: float | None
) -> tuple[dict[str, Any], Sampler | None, list[Stall], list[Any]]:
    """Run `arxiv-bot digest --format json` once: its digest, the sampler, the loop's stalls
    and the stage lines it printed (arrival time, line)."""
    stalls_file, out = tmp / "stalls.json", tmp / "digest.json"
    stalls_file.unlink(missing_ok=True)
    full = {
        **env,
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": f"{tmp / 'site'}{os.pathsep}{REPO}",
        STALLS_ENV: str(stalls_file),
    }
    command = [console_script(), "--env-file", str(tmp / "no.env"), "digest", "--format", "json"]
    proc = await asyncio.create_subprocess_exec(
        *command, "--output", str(out), env=full, cwd=tmp, stderr=asyncio.subprocess.PIPE
    )
    sampler = Sampler(proc.pid, interval) if interval is not None else None
    thread = threading.Thread(target=sampler.run, daemon=True) if sampler else None
    if thread is not None:
        thread.start()
    lines: list[tuple[float, str]] = []
    assert proc.stderr is not None
    async for raw in proc.stderr:
        lines.append((time.time(), raw.decode(errors="replace").rstrip()))
    await proc.wait()
    if sampler is not None and thread is not None:
        sampler.stop()
        thread.join()
    if proc.returncode:
        raise SystemExit("arxiv-bot digest failed:\n" + "\n".join(line for _, line in lines))
    stalls = [Stall(*s) for s in json.loads(stalls_file.read_text(encoding="utf-8"))]
    return json.loads(out.read_text(encoding="utf-8")), sampler, stalls, lines


def reading_answer(moment: float, ms: float, answers: list[float]) -> bool:
    """Whether a stall that ended at `moment` overlaps the reading of an API answer."""
    return any(a <= moment and moment - ms / 1000 <= a + API_ANSWER_WINDOW for a in answers)


def stage_at(moment: float, lines: list[tuple[float, str]]) -> str:
    """The stage a moment falls in, from the stage lines (`arxiv-bot: STAGE: … N.N s`, written
    as the stage ends)."""
    for arrived, line in lines:
        head, _, tail = line.removeprefix("arxiv-bot: ").rpartition(": ")
        try:
            seconds = float(tail.split()[-2])
        except (IndexError, ValueError):
            continue
        if arrived - seconds - 0.05 <= moment <= arrived + 0.05:
            return head
    return "between stages"


async def run(args: argparse.Namespace) -> None:
    from tests.conftest import bot_env
    from tests.fakes.arxiv_server import FakeArxiv
    from tests.fakes.openai_server import FakeOpenAI, LabelAnswerer, load_labels
    from tests.fakes.synth import load_eval_day, rss_feed

    labels = {**load_labels(EARLIER.isoformat()), **load_labels(DAY.isoformat())}
    async with (
        FakeArxiv(clock=time.time) as arxiv,  # the clock the bot's stalls are stamped with
        FakeOpenAI(LabelAnswerer(labels), model="gpt-4o") as llm,
    ):
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            (tmp / "site").mkdir()
            (tmp / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
            db = tmp / "bot.sqlite3"
            earlier = load_eval_day(EARLIER.isoformat())
            arxiv.set_feed(rss_feed(earlier, EARLIER))
            arxiv.add_papers(earlier)
            await digest(bot_env(arxiv, llm, db, ARXIV_BOT_LLM_SHARE="0.5"), tmp, None)
            papers = load_eval_day(DAY.isoformat())
            arxiv.set_feed(rss_feed(papers, DAY))
            arxiv.add_papers(papers)
            llm.latency = args.latency
            env = bot_env(
                arxiv,
                llm,
                db,
                ARXIV_BOT_LLM_SHARE="0.5",
                ARXIV_BOT_ARXIV_DELAY=str(args.arxiv_delay),
            )
            started, since = time.perf_counter(), time.time()
            result, sampler, stalls, lines = await digest(env, tmp, args.interval)
            wall = time.perf_counter() - started
            answers = [r.at for r in arxiv.requests_of("api") if r.at >= since]
    assert sampler is not None
    report(result, sampler, stalls, lines, wall, answers)


def report(
    result: dict[str, Any],
    sampler: Sampler,
    stalls: list[Stall],
    lines: list[tuple[float, str]],
    wall: float,
    answers: list[float],
) -> None:
    counts = result["counts"]
    print(
        f"day {result['day']}: {counts['announced']} announced, {counts['scored']} scored, "
        f"{counts['selected']} selected; the command took {wall:.1f} s, "
        f"{sampler.samples} samples of its process tree"
    )
    print("per process          peak PSS   peak RSS   PSS at the tree's peak")
    for name, (pss, rss) in sorted(sampler.own_peak.items(), key=lambda kv: -kv[1][0]):
        print(
            f"  {name:18s} {pss / 1024:6.0f} MB  {rss / 1024:6.0f} MB   "
            f"{sampler.at_peak.get(name, 0) / 1024:6.0f} MB"
        )
    print(
        f"  tree's peak RSS, summed: {sampler.peak_rss / 1024:.0f} MB (shared pages counted twice)"
    )
    worst = sorted(stalls, key=lambda s: -s.ms)
    over = [s for s in worst if s.ms > STALL_MS]

    def during(stall: Stall) -> str:
        reading = reading_answer(stall.at, stall.ms, answers)
        answer = " (reading an arXiv API answer)" if reading else ""
        return f"'{stage_at(stall.at, lines)}'{answer}"

    if worst:
        print(
            f"loop: longest stall {worst[0].ms:.0f} ms ({worst[0].split()}) during "
            f"{during(worst[0])} (goal < {STALL_MS:.0f} ms; {len(over)} over it)"
        )
        for stall in worst[1:5]:
            print(f"  then {stall.ms:.0f} ms ({stall.split()}) during {during(stall)}")
        reading = [s.ms for s in worst if reading_answer(s.at, s.ms, answers)]
        over_reading = sum(ms > STALL_MS for ms in reading)
        print(
            f"  while reading the {len(answers)} arXiv API answers: longest "
            f"{max(reading, default=0):.0f} ms, {over_reading} over the goal"
        )
        if all(s.cpu_wait is not None for s in worst):
            most, least = max(worst, key=lambda s: s.own), max(worst, key=lambda s: s.own_least)
            print(
                f"  less the loop's wait for a CPU: longest {most.own:.0f} ms during "
                f"{during(most)}, {sum(s.own > STALL_MS for s in worst)} over the goal"
            )
            print(
                f"  less the other threads' wait too: longest {least.own_least:.0f} ms during "
                f"{during(least)}, {sum(s.own_least > STALL_MS for s in worst)} over the goal"
            )
    else:
        print(f"loop: no stall over 20 ms (goal < {STALL_MS:.0f} ms)")
    print(
        f"memory: process tree of arxiv-bot digest on a 240-paper day peaks at "
        f"{sampler.peak_pss / 1024:.0f} MB (goal {GOAL_MB})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--interval", type=float, default=0.005, help="seconds between samples")
    parser.add_argument("--latency", type=float, default=0.5, help="the fake LLM's seconds")
    parser.add_argument("--arxiv-delay", type=float, default=3.0, help="seconds between API calls")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
