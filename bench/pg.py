"""Benchmark: the 1,000-paper day on PostgreSQL against SQLite.

Runs `arxiv-bot digest` on a 1,000-paper day twice, once on a fresh SQLite file and once on a
fresh PostgreSQL database, with the fake arXiv and OpenAI servers answering at once (no
latency, no API spacing), so the difference is the store's; then times the store alone through
the writes and reads of such a day (announcements, scores in batches of 12, the ranking, the
digest). Prints both times and the PostgreSQL/SQLite ratio. A measurement, never a CI gate.

    python -m bench.pg --url postgresql://user@127.0.0.1:5432/postgres [--papers 1000]

The URL names a server and a database to connect to; the benchmark creates a database of its
own there and drops it afterwards. Defaults to $ARXIV_BOT_TEST_PG.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from bench.digest_1000 import DAY, papers_for
from bot.models import AnnounceType, Paper, Score, ScoreKey, Usage
from bot.store import DigestFrame, PostgresURL, RankingSet, Store, parse_database
from tests.conftest import bot_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI, LabelAnswerer, load_labels
from tests.fakes.synth import eval_days, rss_feed

REPO = Path(__file__).resolve().parents[1]


@asynccontextmanager
async def scratch_database(server: PostgresURL) -> AsyncIterator[str]:
    """A new database on the server, dropped afterwards."""
    name = f"bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server.dsn())
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    try:
        yield server.with_database(name).dsn()
    finally:
        admin = await asyncpg.connect(server.dsn())
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await admin.close()


async def digest_seconds(arxiv: FakeArxiv, llm: FakeOpenAI, db: str) -> float:
    env = bot_env(arxiv, llm, Path(), ARXIV_BOT_DB=db, ARXIV_BOT_ARXIV_DELAY="0")
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "digest",
        env={"PATH": os.environ.get("PATH", ""), **env},
        cwd=REPO,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    if proc.returncode:
        raise SystemExit(f"digest failed:\n{err.decode()}")
    return time.perf_counter() - start


async def store_seconds(db: str, papers: list[Paper]) -> float:
    """The store's share of a day: what a digest writes and reads, without anything else
    (opening and migrating the new database not counted)."""
    async with Store.open(db) as store:
        start = time.perf_counter()
        await store.papers.save_announcements(
            DAY, "cs.LG+cs.AI", [(p, AnnounceType.NEW) for p in papers]
        )
        ids = [p.id for p in papers]
        await store.papers.unenriched(ids)
        await store.papers.save_enrichment(papers)
        crit = await store.channels.criteria("Sparse models and efficient training.\n")
        assert crit.id is not None
        key = ScoreKey(crit.id, "gpt-4o", "bench")
        ranked = RankingSet("tfidf-1", tuple(ids), tuple(1 - n / len(ids) for n in range(len(ids))))
        await store.rankings.save_ranking_set(DAY, "bench", ranked)
        for start_at in range(0, len(ids), 12):
            batch = ids[start_at : start_at + 12]
            await store.scores.save(
                [Score(i, 5, 5, "a verdict") for i in batch], key, Usage(1, 1000, 0, 100), DAY
            )
        await store.scores.get(ids, key)
        await store.papers.get(ids)
        await store.digests.save(
            "C1", DAY, "scored", {"papers": []}, DigestFrame(crit.id, "bench", ())
        )
        await store.stats.usage(day=DAY)
        return time.perf_counter() - start


async def run(args: argparse.Namespace) -> None:
    server = parse_database(args.url)
    if not isinstance(server, PostgresURL):
        raise SystemExit("--url must be a postgresql:// URL (or set ARXIV_BOT_TEST_PG)")
    raw = papers_for(args.papers)
    labels: dict[str, dict[str, object]] = {}
    for day in eval_days():
        labels.update(load_labels(day))
    results: dict[str, tuple[float, float]] = {}
    papers = [
        Paper(p["id"], p["title"], p["abstract"], tuple(p["authors"]), tuple(p["categories"]))
        for p in raw
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("sqlite", "postgresql"):
            async with (
                FakeArxiv() as arxiv,
                FakeOpenAI(LabelAnswerer(labels), model="gpt-4o") as llm,
            ):
                arxiv.set_feed(rss_feed(raw, DAY))
                arxiv.add_papers(raw)
                if kind == "sqlite":
                    digest = await digest_seconds(arxiv, llm, str(Path(tmp) / "bench.sqlite3"))
                    alone = await store_seconds(str(Path(tmp) / "store.sqlite3"), papers)
                else:
                    async with scratch_database(server) as db:
                        digest = await digest_seconds(arxiv, llm, db)
                    async with scratch_database(server) as db:
                        alone = await store_seconds(db, papers)
            results[kind] = (digest, alone)
    (sd, ss), (pd, ps) = results["sqlite"], results["postgresql"]
    print(f"papers                       {len(raw)}")
    print(f"digest, SQLite               {sd:6.2f} s")
    print(f"digest, PostgreSQL           {pd:6.2f} s   ratio PG/SQLite {pd / sd:.2f}")
    print(f"store alone, SQLite          {ss:6.2f} s")
    print(f"store alone, PostgreSQL      {ps:6.2f} s   ratio PG/SQLite {ps / ss:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("ARXIV_BOT_TEST_PG", ""))
    parser.add_argument("--papers", type=int, default=1000)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
