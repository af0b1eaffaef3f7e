"""The local ranking's memory: each day's ranking under a ranking key (ids and scores packed
in one row), the ranking a channel's digest was built from, and what a channel's ranking
learns from (reactions since its last reset, how much it learned, its measured recall).

The first ranking stored under a key stands, so a day once ranked stays as it was; old
rankings may be pruned (digests keep the papers they sent). A learning reset deletes nothing:
it moves the cut after which reactions count.

This module must not rank (`scoring.ranking`) nor write likes, imports or posted messages; it
reads them (`bot.store.likes`, `bot.store.digests`) for what the ranking learns from.
"""

from __future__ import annotations

import json
from datetime import date

from bot.store.backend import Backend, Connection
from bot.store.digests import read_frame
from bot.store.query import paper_of, timestamp
from bot.store.records import LearningState, RankedDay, RankingRow, RankingSet, Reaction


class Rankings:
    """Local rankings and what they learn from (`Store.rankings`)."""

    def __init__(self, backend: Backend) -> None:
        self._b = backend

    async def save_ranking_set(self, day: date, key: str, ranking: RankingSet) -> RankingSet:
        """Keep a day's ranking under a ranking key, compactly (one row: ids and scores as packed
        arrays). The first ranking stored under a key wins, so a day once ranked stays as it
        was; returns the stored one."""
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO ranking_sets (day, key, model_version, ids, scores, liked, "
                "verdicts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    day.isoformat(),
                    key,
                    ranking.model_version,
                    json.dumps(ranking.ids, separators=(",", ":")),
                    json.dumps([round(x, 5) for x in ranking.scores], separators=(",", ":")),
                    ranking.liked,
                    ranking.verdicts,
                    timestamp(),
                ),
            )
            stored = await _ranking_set(db, day, key)
        assert stored is not None
        return stored

    async def ranking_set(self, day: date, key: str) -> RankingSet | None:
        """A day's stored ranking under a ranking key, best first."""
        async with self._b.read() as db:
            return await _ranking_set(db, day, key)

    async def ranking(self, channel_id: str, day: date) -> list[RankingRow]:
        """The ranking a channel's digest of a day was built from, best first (empty when that
        digest was never built or its ranking was pruned)."""
        async with self._b.read() as db:
            frame = await read_frame(db, channel_id, day)
            if frame is None or frame.ranking_key is None:
                return []
            ranked = await _ranking_set(db, day, frame.ranking_key)
        if ranked is None:
            return []
        sent = set(frame.sent_ids or ())
        return [
            RankingRow(pid, day, ranked.model_version, score, n, pid in sent)
            for n, (pid, score) in enumerate(zip(ranked.ids, ranked.scores, strict=True), 1)
        ]

    async def ranked_day(self, channel_id: str, paper_id: str) -> RankedDay | None:
        """The newest ranking of a channel's digests that placed this paper, with that day's
        totals."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT d.day, d.sent_ids, r.model_version, r.ids, r.scores FROM digests d "
                "JOIN ranking_sets r ON r.day = d.day AND r.key = d.ranking_key "
                "WHERE d.channel_id = ? AND r.ids LIKE ? ORDER BY d.day DESC",
                (channel_id, f"%{paper_id}%"),  # a prefilter: the match is decided below
            )
        for row in rows:
            ids: list[str] = json.loads(row[3])
            if paper_id not in ids:
                continue
            index = ids.index(paper_id)
            sent = json.loads(row[1]) if row[1] else []
            score = float(json.loads(row[4])[index])
            day = date.fromisoformat(row[0])
            ranking_row = RankingRow(paper_id, day, str(row[2]), score, index + 1, paper_id in sent)
            return RankedDay(ranking_row, len(ids), len(sent))
        return None

    async def ranked_days(self, channel_id: str, before: date, limit: int = 30) -> list[date]:
        """Days before `before` whose digest in this channel has a stored ranking, newest
        first."""
        async with self._b.read() as db:
            rows = await db.fetchall(
                "SELECT d.day FROM digests d JOIN ranking_sets r "
                "ON r.day = d.day AND r.key = d.ranking_key "
                "WHERE d.channel_id = ? AND d.day < ? ORDER BY d.day DESC LIMIT ?",
                (channel_id, before.isoformat(), limit),
            )
        return [date.fromisoformat(r[0]) for r in rows]

    async def prune(self, before: date) -> int:
        """Forget the full rankings of days before `before` (what `explain` says of a paper that
        was never sent to the LLM); digests keep the papers they sent. Returns rows removed."""
        async with self._b.write() as db:
            return await db.execute("DELETE FROM ranking_sets WHERE day < ?", (before.isoformat(),))

    async def reactions(self, channel_id: str, limit: int = 2000) -> list[Reaction]:
        """What the channel liked, disliked, imported (as a like), or was shown and ignored
        since its last learning reset, newest first: one entry per paper (a like by anyone
        wins over a dislike)."""
        async with self._b.read() as db:
            rows = await db.fetchall(_REACTIONS, (channel_id,) * 4 + (limit,))
        return [
            Reaction(paper_of(r), value, value > 0 and bool(r["only_imported"]))
            for r in rows
            for value in (int(r["reaction"]),)
        ]

    async def learning_state(self, channel_id: str) -> LearningState:
        """What the channel's ranking learned from and its last measured recall."""
        async with self._b.read() as db:
            row = await db.fetchone(
                "SELECT learned_from, recall, measured_day, reset_at, verdicts FROM learning "
                "WHERE channel_id = ?",
                (channel_id,),
            )
        if row is None:
            return LearningState()
        day = date.fromisoformat(row[2]) if row[2] else None
        return LearningState(int(row[0]), row[1], day, row[3], int(row[4]))

    async def save_learning(
        self,
        channel_id: str,
        learned_from: int,
        verdicts: int,
        recall: float | None = None,
        measured_day: date | None = None,
    ) -> None:
        """Record how many liked papers and earlier LLM verdicts the latest ranking learned
        from and, when measured, the recall of a held-out day's liked papers."""
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO learning (channel_id, learned_from, verdicts, recall, "
                "measured_day, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(channel_id) "
                "DO UPDATE SET learned_from = excluded.learned_from, "
                "verdicts = excluded.verdicts, "
                "recall = COALESCE(excluded.recall, learning.recall), "
                "measured_day = COALESCE(excluded.measured_day, learning.measured_day), "
                "updated_at = excluded.updated_at",
                (
                    channel_id,
                    learned_from,
                    verdicts,
                    recall,
                    measured_day.isoformat() if measured_day else None,
                    timestamp(),
                ),
            )

    async def reset_learning(self, channel_id: str) -> None:
        """Forget what the channel's ranking learned: reactions so far are kept (nothing is
        deleted) but no longer learned from."""
        now = timestamp()
        async with self._b.write() as db:
            await db.execute(
                "INSERT INTO learning (channel_id, reset_at, reset_like, reset_posted, "
                "reset_import, learned_from, recall, measured_day, updated_at) VALUES (?, ?, "
                "(SELECT COALESCE(MAX(rowid), 0) FROM likes), "
                "(SELECT COALESCE(MAX(rowid), 0) FROM posted), "
                "(SELECT COALESCE(MAX(id), 0) FROM imports), 0, NULL, NULL, ?) "
                "ON CONFLICT(channel_id) DO UPDATE SET reset_at = excluded.reset_at, "
                "reset_like = excluded.reset_like, reset_posted = excluded.reset_posted, "
                "reset_import = excluded.reset_import, "
                "learned_from = 0, recall = NULL, measured_day = NULL, "
                "updated_at = excluded.updated_at",
                (channel_id, now, now),
            )


# Positional parameters: the channel four times, then the limit. Imported papers count as
# likes, as of their import (a learning reset after it forgets them too); `only_imported` marks
# those nobody liked as well (a dislike does not undo an import).
_REACTIONS = """
    WITH cut AS (
        SELECT COALESCE(MAX(reset_at), '') AS at, COALESCE(MAX(reset_like), 0) AS lk,
               COALESCE(MAX(reset_posted), 0) AS po, COALESCE(MAX(reset_import), 0) AS im
        FROM learning WHERE channel_id = ?
    ),
    liked AS (
        SELECT r.paper_id, MAX(r.value) AS value, MAX(r.at) AS at,
               MIN(r.only_imported) AS only_imported FROM (
            SELECT l.paper_id, l.value, l.updated_at AS at,
                   CASE WHEN l.value > 0 THEN 0 ELSE 1 END AS only_imported FROM likes l, cut
            WHERE l.channel_id = ? AND (l.rowid > cut.lk OR l.updated_at > cut.at)
            UNION ALL
            SELECT i.paper_id, 1 AS value, i.imported_at AS at, 1 AS only_imported
            FROM imported i, cut
            WHERE i.channel_id = ? AND (i.import_id > cut.im OR i.imported_at > cut.at)
        ) r
        GROUP BY r.paper_id
    ),
    shown AS (
        SELECT p.slot AS paper_id, 0 AS value, MAX(p.posted_at) AS at, 0 AS only_imported
        FROM posted p, cut
        WHERE p.channel_id = ? AND p.slot != 'parent' AND p.slot NOT LIKE 'notice%'
          AND (p.rowid > cut.po OR p.posted_at > cut.at)
          AND p.slot NOT IN (SELECT paper_id FROM liked)
        GROUP BY p.slot
    ),
    everything AS (SELECT * FROM liked UNION ALL SELECT * FROM shown)
    SELECT pa.*, e.value AS reaction, e.only_imported
    FROM everything e JOIN papers pa ON pa.id = e.paper_id
    ORDER BY e.at DESC, e.paper_id LIMIT ?
"""


async def _ranking_set(db: Connection, day: date, key: str) -> RankingSet | None:
    row = await db.fetchone(
        "SELECT model_version, ids, scores, liked, verdicts FROM ranking_sets "
        "WHERE day = ? AND key = ?",
        (day.isoformat(), key),
    )
    if row is None:
        return None
    return RankingSet(
        str(row[0]),
        tuple(json.loads(row[1])),
        tuple(float(x) for x in json.loads(row[2])),
        int(row[3]),
        int(row[4]),
    )
