"""Benchmark: whether reading an arXiv API answer holds the interpreter lock longer as the
answer grows, which would make smaller API pages a fix for the event loop's stalls.

The answers are the fake arXiv's (tests/fakes/synth.api_feed) for the first N papers of
2025-05-08, read as `bot.arxiv.api` reads them in its worker thread: the `arxiv` client's
parser (lxml since arxiv 4.0), then `papers_from_results` (author names and comments cleaned of
TeX). Meanwhile a second thread, standing for the event loop, asks to wake every millisecond
and notes how late it wakes. Each late wake-up is split by the kernel's account of that thread
(`/proc/thread-self/schedstat`, Linux): the part it was ready but waiting for a CPU (other
processes' doing) and the rest, which is what it waited for the interpreter lock. The
interpreter switches threads every `bot.preload.SWITCH_INTERVAL`, as the bot does. Printed per
page size: the read's median CPU time and wall time, and the ticker's worst wait per read,
whole and less its wait for a CPU. A measurement, not a test: it never gates CI.

    python -m bench.api_answer [--sizes 10,25,50,100,200] [--reads 15]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import threading
import time
from pathlib import Path

from arxiv import _feed

from bot.arxiv.api import papers_from_results
from bot.preload import SWITCH_INTERVAL
from tests.fakes.synth import api_feed, load_eval_day

DAY = "2025-05-08"
TICK = 0.001
SCHEDSTAT = Path("/proc/thread-self/schedstat")


def cpu_wait_ns() -> int:
    """This thread's nanoseconds ready but waiting for a CPU so far (0 where not known)."""
    try:
        return int(SCHEDSTAT.read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def ticker(stop: threading.Event, lates: list[tuple[float, float]]) -> None:
    """Wake every `TICK` until stopped; each wake's lateness and wait for a CPU (ms)."""
    while not stop.is_set():
        waited, before = cpu_wait_ns(), time.perf_counter()
        time.sleep(TICK)
        late = time.perf_counter() - before - TICK
        lates.append((late * 1000, (cpu_wait_ns() - waited) / 1e6))


def read(body: bytes) -> int:
    """What `bot.arxiv.api.papers_found` does with an answer once it has arrived."""
    return len(papers_from_results(_feed.parse(body).results))


def measure(body: bytes, reads: int) -> tuple[float, float, float, float]:
    """Median CPU ms and wall ms of one read, and the ticker's median worst wait per read,
    whole and less its wait for a CPU (ms)."""
    cpu: list[float] = []
    wall: list[float] = []
    worst: list[float] = []
    lock: list[float] = []
    for _ in range(reads):
        stop, lates = threading.Event(), list[tuple[float, float]]()
        thread = threading.Thread(target=ticker, args=(stop, lates))
        thread.start()
        time.sleep(0.005)
        started, used = time.perf_counter(), time.thread_time()
        read(body)
        cpu.append((time.thread_time() - used) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
        stop.set()
        thread.join()
        worst.append(max(late for late, _ in lates))
        lock.append(max(late - waited for late, waited in lates))
    median = statistics.median
    return median(cpu), median(wall), median(worst), median(lock)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10,25,50,100,200", help="entries per answer")
    parser.add_argument("--reads", type=int, default=15, help="reads per page size")
    args = parser.parse_args()
    papers = load_eval_day(DAY)
    gc.freeze()  # as bot.preload leaves the bot: its imports out of the collector's passes
    sys.setswitchinterval(SWITCH_INTERVAL)
    print(f"switch interval {SWITCH_INTERVAL * 1000:g} ms; medians of {args.reads} reads")
    print("entries   bytes   read CPU   read wall   ticker's worst wait   less its CPU wait")
    for size in (int(s) for s in args.sizes.split(",")):
        body = api_feed(papers[:size], total_results=size, query="bench")
        assert read(body) == size
        cpu, wall, worst, lock = measure(body, args.reads)
        print(
            f"{size:7d} {len(body):7d} {cpu:7.1f} ms {wall:8.1f} ms {worst:14.1f} ms "
            f"{lock:17.1f} ms"
        )


if __name__ == "__main__":
    main()
