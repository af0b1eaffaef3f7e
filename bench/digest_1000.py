"""Benchmark: a day of 1,000 papers through `arxiv-bot digest`, end to end.

The fake arXiv server serves a 1,000-item feed built from the evaluation days and answers the
API enrichment (with arXiv's real 3 s spacing); the fake OpenAI server answers every request
after 2 s; the bot may keep 8 requests in flight. The bot runs as a child process, so its peak
memory is measured alone. Prints papers/s, requests, tokens and peak RSS against the targets
(under 2 minutes, under 200 MB). It is a measurement, not a test: it never gates CI.

    python -m bench.digest_1000 [--papers 1000] [--latency 2.0] [--concurrency 8]
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
from datetime import date
from pathlib import Path
from typing import Any

from tests.conftest import bot_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI, LabelAnswerer, load_labels
from tests.fakes.synth import eval_days, load_eval_day, rss_feed

REPO = Path(__file__).resolve().parents[1]
DAY = date(2025, 5, 2)


def papers_for(n: int) -> list[dict[str, Any]]:
    """`n` distinct real papers, taken day by day from the evaluation set."""
    seen: dict[str, dict[str, Any]] = {}
    for day in eval_days():
        for paper in load_eval_day(day):
            seen.setdefault(paper["id"], paper)
            if len(seen) == n:
                return list(seen.values())
    raise SystemExit(f"the evaluation set has only {len(seen)} distinct papers")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    papers = papers_for(args.papers)
    labels: dict[str, dict[str, Any]] = {}
    for day in eval_days():
        labels.update(load_labels(day))
    answerer = LabelAnswerer(labels)
    async with (
        FakeArxiv() as arxiv,
        FakeOpenAI(answerer, model="gpt-4o", latency=args.latency) as llm,
    ):
        arxiv.set_feed(rss_feed(papers, DAY))
        arxiv.add_papers(papers)
        with tempfile.TemporaryDirectory() as tmp:
            env = bot_env(
                arxiv,
                llm,
                Path(tmp) / "bench.sqlite3",
                ARXIV_BOT_ARXIV_DELAY=str(args.arxiv_delay),
                ARXIV_BOT_CONCURRENCY=str(args.concurrency),
                ARXIV_BOT_LLM_TIMEOUT="60",
            )
            out = Path(tmp) / "digest.json"
            start = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "--env-file",
                str(Path(tmp) / "no.env"),  # only the environment given here
                "digest",
                "--format",
                "json",
                "--output",
                str(out),
                env={"PATH": os.environ.get("PATH", ""), **env},
                cwd=REPO,
                stderr=asyncio.subprocess.PIPE,
            )
            _, err = await proc.communicate()
            elapsed = time.perf_counter() - start
            if proc.returncode:
                raise SystemExit(f"digest failed:\n{err.decode()}")
            digest = json.loads(out.read_text())
        api_calls = len(arxiv.requests_of("api"))
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "elapsed": elapsed,
        "peak_mb": peak_mb,
        "digest": digest,
        "llm_calls": llm.calls,
        "api_calls": api_calls,
    }


def report(args: argparse.Namespace, r: dict[str, Any]) -> None:
    d, usage = r["digest"], r["digest"]["usage"]
    print(f"papers                 {d['counts']['announced']}")
    print(f"scored / selected      {d['counts']['scored']} / {d['counts']['selected']}")
    print(f"wall time              {r['elapsed']:.1f} s   (target < 120 s)")
    print(f"throughput             {d['counts']['scored'] / r['elapsed']:.1f} papers/s")
    print(
        f"LLM requests           {r['llm_calls']}  ({args.concurrency} in flight, "
        f"{args.latency:g} s each)"
    )
    print(f"arXiv API calls        {r['api_calls']}  ({args.arxiv_delay:g} s apart)")
    print(
        f"tokens                 prompt {usage['prompt_tokens']}, cached "
        f"{usage['cached_tokens']}, completion {usage['completion_tokens']}"
    )
    print(f"cost at gpt-4o prices  ${usage['cost_usd']:.4f}")
    print(f"peak RSS (bot process) {r['peak_mb']:.0f} MB   (target < 200 MB)")
    ok = r["elapsed"] < 120 and r["peak_mb"] < 200
    print("result                 " + ("within targets" if ok else "OUTSIDE TARGETS"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--arxiv-delay", type=float, default=3.0)
    args = parser.parse_args()
    report(args, asyncio.run(run(args)))


if __name__ == "__main__":
    main()
