"""Papers' full texts per version, the kept answers of `/arxiv ask`, and which answers each
thread has seen about each paper (so a follow-up sees the earlier turns).

A text and an answer are kept once under their keys: the first stored wins, so processes
working together keep one. Saving an answer records its cost in the usage ledger in the same
transaction ("ask").

It must not import the rest of the bot beyond the store, nor decide what a key is.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from bot.models import Usage
from bot.store.backend import Backend
from bot.store.stats import insert_usage


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class PaperTexts:
    """Full texts and `ask` answers: read, keep once."""

    def __init__(self, backend: Backend) -> None:
        self._b = backend

    async def text(self, paper_id: str, version: int) -> tuple[str, list[list[str]]] | None:
        """A paper version's kept text: its source and [number, title, text] sections."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT source, sections FROM paper_texts WHERE paper_id = ? AND version = ?",
                (paper_id, version),
            )
        return (str(row[0]), json.loads(row[1])) if row else None

    async def save_text(
        self, paper_id: str, version: int, source: str, sections: list[list[str]]
    ) -> None:
        """Keep a paper version's text unless one is kept already."""
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO paper_texts (paper_id, version, source, sections, fetched_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (paper_id, version) DO NOTHING",
                (paper_id, version, source, json.dumps(sections), _now()),
            )

    async def answer(self, key: str) -> str | None:
        """The answer kept under `key`, if any."""
        async with self._b.read() as db:
            row = await db.fetchone("SELECT answer FROM ask_answers WHERE key = ?", (key,))
        return str(row[0]) if row else None

    async def save_answer(
        self,
        key: str,
        paper_id: str,
        question: str,
        answer: str,
        usage: Usage,
        model: str,
        criteria_id: int | None,
        day: date | None,
    ) -> None:
        """Keep an answer (unless one is kept) and record what it cost."""
        now = _now()
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO ask_answers (key, paper_id, question, answer, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                (key, paper_id, question, answer, now),
            )
            await insert_usage(db, now, day, "ask", model, criteria_id, usage)

    async def record_turn(self, channel_id: str, thread: str, paper_id: str, key: str) -> None:
        """A thread saw the answer kept under `key` about `paper_id`."""
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO ask_turns (channel_id, thread, paper_id, answer_key, asked_at) "
                "VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (channel_id, thread, paper_id, answer_key) DO NOTHING",
                (channel_id, thread, paper_id, key, _now()),
            )

    async def turns(
        self, channel_id: str, thread: str, paper_id: str, limit: int = 4
    ) -> list[tuple[str, str]]:
        """The thread's latest questions and answers about the paper, oldest first."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT a.question, a.answer FROM ask_turns t "
                "JOIN ask_answers a ON a.key = t.answer_key "
                "WHERE t.channel_id = ? AND t.thread = ? AND t.paper_id = ? "
                "ORDER BY t.asked_at DESC, a.created_at DESC LIMIT ?",
                (channel_id, thread, paper_id, limit),
            )
        return [(str(r[0]), str(r[1])) for r in reversed(rows)]
