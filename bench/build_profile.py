"""Benchmark: where the daily post's build goes, for many channels with many distinct criteria.

Runs `bench.channels.one_run` (N Slack channels, K distinct criteria, the zero-latency fake
LLM) and profiles only its first tick, the build: the feed fetched, each ranking key ranked,
the sent papers scored and every channel's digest built. The rankings run in the ranking
worker process, which the parent's profile sees only as waiting, so the calls handed to the
worker are also timed from the parent's side (submission to answer, and the share of it the
worker spent computing).

    python -m bench.build_profile [--channels 200] [--criteria 20] [--workspaces 20] [--top 25]
                                  [--no-profile] [--floor]

The second tick (the post) is skipped: `bench.channels` measures it. Printed: the build's
seconds (`--no-profile`: without the profiler's overhead) and the CPU seconds of the bot's
process (the machine's other work moves the wall time, less its CPU time), the LLM requests
(`--floor`: beside those of the K criteria alone, one channel each, which they must equal),
the worker's calls by function, and the profile's top functions by own and by cumulative time
(the parent process; `--save FILE` keeps the stats for `pstats`). It prints figures and never gates
CI; this module must not change what the build does, only watch it.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import bench.channels
from bench.digest_1000 import papers_for
from bot.daily.runner import DailyRunner
from scoring.worker import WORKER


class Calls:
    """The worker's calls by function: how many, and their seconds from submission to answer."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the calls so far."""
        self.count: dict[str, int] = defaultdict(int)
        self.seconds: dict[str, float] = defaultdict(float)
        self.longest: dict[str, float] = defaultdict(float)
        self.busy: list[float] = []  # each call, the worker's thread from taking it to answering

    def watch(self) -> None:
        """Time every call handed to the worker from now on."""
        submit = WORKER.submit
        run = WORKER._run

        def timed_submit(fn: Callable[..., Any], *args: object) -> Future[Any]:
            start = time.perf_counter()
            future = submit(fn, *args)
            name = getattr(fn, "__name__", repr(fn))

            def done(_: Future[Any]) -> None:
                seconds = time.perf_counter() - start
                self.count[name] += 1
                self.seconds[name] += seconds
                self.longest[name] = max(self.longest[name], seconds)

            future.add_done_callback(done)
            return future

        def timed_run(process: Any, future: Future[Any], fn: Any, args: Any) -> Any:
            start = time.perf_counter()
            try:
                return run(process, future, fn, args)
            finally:
                self.busy.append(time.perf_counter() - start)

        WORKER.submit = timed_submit  # type: ignore[method-assign]
        WORKER._run = timed_run  # type: ignore[method-assign]

    def report(self, build_s: float) -> str:
        first, rest = (self.busy[0], self.busy[1:]) if self.busy else (0.0, [])
        lines = [
            f"worker calls (parent's view): the worker busy {sum(self.busy):.1f} s of the "
            f"build's {build_s:.1f} s, {first:.2f} s for the first call (starting the worker), "
            f"{sum(rest) / max(1, len(rest)):.3f} s for each later one",
            "  function                         calls   total s    mean s  longest s",
        ]
        for name in sorted(self.count, key=lambda n: -self.seconds[n]):
            n = self.count[name]
            lines.append(
                f"  {name:32s} {n:5d} {self.seconds[name]:9.1f} "
                f"{self.seconds[name] / n:9.3f} {self.longest[name]:10.3f}"
            )
        return "\n".join(lines)


class ProfiledRunner(DailyRunner):
    """The daily runner, its first tick (the build) profiled and timed."""

    profile = cProfile.Profile()
    build_s = 0.0
    build_cpu_s = 0.0
    ticks = 0

    profiling = True

    async def tick(self) -> None:
        ProfiledRunner.ticks += 1
        if ProfiledRunner.ticks > 1:
            return  # the post is bench.channels' to measure
        start, cpu = time.perf_counter(), time.process_time()
        if self.profiling:
            self.profile.enable()
        try:
            await super().tick()
        finally:
            self.profile.disable()
            ProfiledRunner.build_s = time.perf_counter() - start
            ProfiledRunner.build_cpu_s = time.process_time() - cpu


def top(profile: cProfile.Profile, sort: str, n: int) -> str:
    out = io.StringIO()
    pstats.Stats(profile, stream=out).strip_dirs().sort_stats(sort).print_stats(n)
    text = out.getvalue()
    return text[text.find("   ncalls") :].rstrip()


async def run(args: argparse.Namespace) -> None:
    papers = papers_for(args.papers)
    calls = Calls()
    calls.watch()
    setattr(bench.channels, "DailyRunner", ProfiledRunner)  # noqa: B010 (bench.channels does not export it)
    ProfiledRunner.profiling = args.profile
    floor = None
    if args.floor:  # the LLM requests of the distinct criteria alone, one channel each
        floor = await bench.channels.one_run(
            args.criteria, args.criteria, papers, args.share, min(args.workspaces, args.criteria)
        )
        ProfiledRunner.ticks = 0
        ProfiledRunner.profile = cProfile.Profile()
        calls.reset()  # the measured run's calls only
    result = await bench.channels.one_run(
        args.channels, args.criteria, papers, args.share, min(args.workspaces, args.channels)
    )
    print(
        f"{args.channels} channels, {args.criteria} criteria, {args.papers} papers: "
        f"build {ProfiledRunner.build_s:.1f} s"
        f"{' under the profiler' if args.profile else ''} "
        f"(the bot's process {ProfiledRunner.build_cpu_s:.1f} s of CPU), LLM requests "
        f"{result['llm_requests']}"
        + (f" (floor {floor['llm_requests']})" if floor is not None else "")
    )
    print(calls.report(ProfiledRunner.build_s))
    if not args.profile:
        return
    if args.save:
        ProfiledRunner.profile.dump_stats(args.save)
    print(f"\nby own time (top {args.top}):")
    print(top(ProfiledRunner.profile, "tottime", args.top))
    print(f"\nby cumulative time (top {args.top}):")
    print(top(ProfiledRunner.profile, "cumulative", args.top))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--channels", type=int, default=200)
    parser.add_argument("--criteria", type=int, default=20)
    parser.add_argument("--workspaces", type=int, default=20)
    parser.add_argument("--papers", type=int, default=1000)
    parser.add_argument("--share", type=float, default=0.3)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--no-profile", dest="profile", action="store_false", help="time the build only"
    )
    parser.add_argument("--save", help="also write the profile's stats to this file")
    parser.add_argument(
        "--floor", action="store_true", help="also count the LLM requests of the criteria alone"
    )
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
