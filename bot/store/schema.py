"""The database schema: numbered migrations, one script per dialect for each number.

`SQLITE_MIGRATIONS[n]` and `POSTGRES_MIGRATIONS[n]` make the same change, so a database of
either kind at version n has the same tables, columns and meaning. SQLite keeps the number
applied in `PRAGMA user_version`; PostgreSQL in the table `schema_migrations`. Append, never
edit: a released script has run on someone's database.

PostgreSQL spellings of SQLite's: `INTEGER PRIMARY KEY` is an identity column; REAL is DOUBLE
PRECISION; tables whose insertion order the store reads (announcements, posted, likes) carry an
identity column named `rowid`, so one query reads both. Dates and times stay ISO-8601 TEXT, as
in SQLite, so comparisons and the store's values are the same on both.

Full-text search is each engine's own, in a table named `papers_fts` on both, filled by
triggers on `papers` and back-filled by the migration that adds it: on SQLite an FTS5 table
(rowid = the paper's rowid), on PostgreSQL each paper's weighted `tsvector` under a GIN index
(stored, so ranking a match reads it instead of parsing the abstract again). Being derived from
`papers`, it is not in `TABLES` (a copy of `papers` fills it again). Both read the JSON list of
authors as names (`Jörg`, not `J\\u00f6rg`); that is why SQLite's FTS5 table keeps its own copy
of the text instead of reading `papers` as external content (its `rebuild` would read the JSON
as it is stored).

This module must not run anything: `bot.store.backend` applies the scripts.
"""

from __future__ import annotations

import unicodedata

_M001_INITIAL = """
        CREATE TABLE papers (
            id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            title TEXT NOT NULL,
            abstract TEXT NOT NULL,
            authors TEXT NOT NULL,            -- JSON list
            categories TEXT NOT NULL,         -- JSON list, primary first when known
            primary_category TEXT,
            comment TEXT,
            enriched INTEGER NOT NULL DEFAULT 0,
            first_seen TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE feed_days (
            day TEXT NOT NULL,
            categories TEXT NOT NULL,         -- the feed's category set, e.g. cs.LG+cs.AI
            items INTEGER NOT NULL,
            fetched_at TEXT NOT NULL,
            PRIMARY KEY (day, categories)
        );
        CREATE TABLE announcements (
            day TEXT NOT NULL,
            paper_id TEXT NOT NULL REFERENCES papers(id),
            announce_type TEXT NOT NULL,
            categories TEXT NOT NULL,
            PRIMARY KEY (day, paper_id, categories)
        );
        CREATE INDEX announcements_paper ON announcements(paper_id, day);
        CREATE TABLE criteria (
            id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL UNIQUE,
            text TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE channels (
            id TEXT PRIMARY KEY,
            platform TEXT NOT NULL,
            settings TEXT NOT NULL DEFAULT '{}',   -- JSON overrides of the defaults
            subscribed INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        );
        CREATE TABLE channel_criteria (
            channel_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            criteria_id INTEGER NOT NULL REFERENCES criteria(id),
            changed_by TEXT NOT NULL,
            changed_at TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (channel_id, version)
        );
        CREATE TABLE scores (
            paper_id TEXT NOT NULL REFERENCES papers(id),
            criteria_id INTEGER NOT NULL REFERENCES criteria(id),
            model TEXT NOT NULL,
            prompt_version TEXT NOT NULL,
            relevance INTEGER NOT NULL,
            novelty INTEGER NOT NULL,
            comment TEXT NOT NULL,
            scored_at TEXT NOT NULL,
            PRIMARY KEY (paper_id, criteria_id, model, prompt_version)
        );
        CREATE TABLE digests (
            channel_id TEXT NOT NULL,
            day TEXT NOT NULL,
            state TEXT NOT NULL,                 -- scored, posting, posted
            body TEXT NOT NULL,                  -- JSON of the rendered selection
            updated_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, day)
        );
        CREATE TABLE posted_messages (
            channel_id TEXT NOT NULL,
            day TEXT NOT NULL,
            slot TEXT NOT NULL,                  -- 'parent' or a paper id
            message_id TEXT NOT NULL,
            posted_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, day, slot)
        );
        CREATE INDEX posted_messages_by_id ON posted_messages(message_id);
        CREATE TABLE likes (
            channel_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            paper_id TEXT NOT NULL,
            value INTEGER NOT NULL,              -- 1 like, -1 explicit dislike
            updated_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, user_id, paper_id)
        );
        CREATE TABLE llm_usage (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            day TEXT,                            -- the announcement day the call served
            purpose TEXT NOT NULL,               -- score, explain, ...
            model TEXT NOT NULL,
            criteria_id INTEGER,
            calls INTEGER NOT NULL,
            prompt_tokens INTEGER NOT NULL,
            cached_tokens INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            prompt_cost_usd REAL NOT NULL,
            completion_cost_usd REAL NOT NULL,
            priced INTEGER NOT NULL DEFAULT 1
        );
        CREATE INDEX llm_usage_day ON llm_usage(day, model, criteria_id, purpose);
"""

_M002_CONVERSATION = """
        CREATE TABLE explanations (
            paper_id TEXT NOT NULL REFERENCES papers(id),
            criteria_id INTEGER NOT NULL REFERENCES criteria(id),
            model TEXT NOT NULL,
            prompt_version TEXT NOT NULL,
            text TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (paper_id, criteria_id, model, prompt_version)
        );
        CREATE TABLE channel_events (
            id INTEGER PRIMARY KEY,
            channel_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            action TEXT NOT NULL,
            detail TEXT NOT NULL,
            at TEXT NOT NULL
        );
        CREATE INDEX channel_events_by_channel ON channel_events(channel_id, id);
        CREATE INDEX likes_by_channel ON likes(channel_id, updated_at);
"""

_M003_DELIVERY = """
        CREATE TABLE posted (
            channel_id TEXT NOT NULL,
            message_id TEXT NOT NULL,
            day TEXT NOT NULL,
            slot TEXT NOT NULL,                  -- 'parent', 'notice' or a paper id
            daily INTEGER NOT NULL,              -- 1: the scheduled daily post; 0: an answer
            posted_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, message_id)
        );
        INSERT INTO posted (channel_id, message_id, day, slot, daily, posted_at)
            SELECT channel_id, message_id, day, slot, 0, posted_at FROM posted_messages;
        DROP TABLE posted_messages;
        CREATE UNIQUE INDEX posted_daily_slot ON posted(channel_id, day, slot) WHERE daily = 1;
        ALTER TABLE digests ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE digests ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
"""

_M004_RANKING = """
        CREATE TABLE rankings (
            channel_id TEXT NOT NULL,
            day TEXT NOT NULL,
            paper_id TEXT NOT NULL,
            model_version TEXT NOT NULL,         -- the local ranking method, e.g. tfidf-1
            score REAL NOT NULL,                 -- in (0, 1], higher ranks first
            rank INTEGER NOT NULL,               -- 1 is the best of the day's candidates
            sent INTEGER NOT NULL,               -- 1: among the top sent to the LLM
            PRIMARY KEY (channel_id, day, paper_id)
        );
        CREATE TABLE learning (
            channel_id TEXT PRIMARY KEY,
            reset_at TEXT,                       -- reactions before a reset are not learned from
            reset_like INTEGER NOT NULL DEFAULT 0,    -- highest likes rowid at the reset
            reset_posted INTEGER NOT NULL DEFAULT 0,  -- highest posted rowid at the reset
            learned_from INTEGER NOT NULL DEFAULT 0,  -- liked papers of the latest ranking
            verdicts INTEGER NOT NULL DEFAULT 0,      -- earlier LLM verdicts it learned from
            recall REAL,                         -- liked papers a held-out ranking sent on
            measured_day TEXT,
            updated_at TEXT NOT NULL
        );
"""

_M005_WORK = """
        CREATE TABLE work (
            key TEXT PRIMARY KEY,                -- a unit of work, e.g. score:3:gpt-4o:2
            owner TEXT NOT NULL,                 -- the process holding it (host:pid:nonce)
            taken_at REAL NOT NULL,              -- unix seconds
            expires_at REAL NOT NULL             -- taken over by anyone after this
        );
        CREATE TABLE feed_fetches (
            categories TEXT PRIMARY KEY,
            fetched_at TEXT NOT NULL,            -- the latest completed fetch of this feed
            day TEXT,                            -- its announcement day; NULL: no announcement
            new INTEGER NOT NULL DEFAULT 0,
            cross_lists INTEGER NOT NULL DEFAULT 0,
            replaced INTEGER NOT NULL DEFAULT 0
        );
        INSERT INTO feed_fetches (categories, fetched_at, day, new)
            SELECT categories, MAX(fetched_at), day, items FROM feed_days GROUP BY categories;
        CREATE TABLE ranking_sets (
            day TEXT NOT NULL,
            key TEXT NOT NULL,                   -- the ranking key (criteria, model, learning)
            model_version TEXT NOT NULL,
            ids TEXT NOT NULL,                   -- JSON array of paper ids, best first
            scores TEXT NOT NULL,                -- JSON array of scores, same order
            liked INTEGER NOT NULL DEFAULT 0,    -- liked papers it learned from
            verdicts INTEGER NOT NULL DEFAULT 0, -- earlier LLM verdicts it learned from
            created_at TEXT NOT NULL,
            PRIMARY KEY (day, key)
        );
        INSERT INTO ranking_sets (day, key, model_version, ids, scores, created_at)
            SELECT day, 'channel:' || channel_id, MAX(model_version), json_group_array(paper_id),
                   json_group_array(round(score, 5)), datetime('now')
            FROM (SELECT * FROM rankings ORDER BY channel_id, day, rank)
            GROUP BY channel_id, day;
        ALTER TABLE digests ADD COLUMN criteria_id INTEGER;
        ALTER TABLE digests ADD COLUMN ranking_key TEXT;
        ALTER TABLE digests ADD COLUMN sent_ids TEXT;    -- JSON: the papers sent to the LLM
        UPDATE digests SET ranking_key = 'channel:' || channel_id,
            sent_ids = (SELECT json_group_array(paper_id) FROM
                (SELECT paper_id FROM rankings r WHERE r.channel_id = digests.channel_id
                 AND r.day = digests.day AND r.sent = 1 ORDER BY r.rank))
            WHERE EXISTS (SELECT 1 FROM rankings r WHERE r.channel_id = digests.channel_id
                          AND r.day = digests.day);
        DROP TABLE rankings;
        CREATE INDEX posted_parent ON posted(channel_id, day) WHERE slot = 'parent';
"""

_M006_EVENTS = """
        CREATE TABLE events (
            id TEXT PRIMARY KEY,                 -- a platform event id, e.g. Slack's event_id
            seen_at REAL NOT NULL                -- unix seconds; forgotten after a while
        );
        CREATE INDEX events_seen ON events(seen_at);
"""

_M007_INSTALLATIONS = """
        CREATE TABLE IF NOT EXISTS installations (
            platform TEXT NOT NULL,
            workspace TEXT NOT NULL,             -- Slack: team id, or enterprise id (org-wide)
            enterprise_id TEXT,
            team_id TEXT,
            sealed TEXT NOT NULL,                -- the installation, tokens included, encrypted
            installed_at TEXT NOT NULL,
            PRIMARY KEY (platform, workspace)
        );
        CREATE TABLE IF NOT EXISTS oauth_states (
            state TEXT PRIMARY KEY,              -- handed out by the install page, used once
            expires_at REAL NOT NULL             -- unix seconds
        );
        CREATE TABLE IF NOT EXISTS paused_workspaces (
            platform TEXT NOT NULL,
            workspace TEXT NOT NULL,
            reason TEXT NOT NULL,                -- uninstalled, token_revoked, ...
            paused_at TEXT NOT NULL,
            PRIMARY KEY (platform, workspace)
        );
        CREATE TABLE IF NOT EXISTS home_workspaces (
            platform TEXT PRIMARY KEY,           -- the workspace whose channel ids carry none
            workspace TEXT NOT NULL,
            seen_at TEXT NOT NULL
        );
"""

_M008_FOLLOWS_VENUE = """
        CREATE TABLE follows (
            id INTEGER PRIMARY KEY,
            channel_id TEXT NOT NULL,
            kind TEXT NOT NULL,                  -- author or keyword
            text TEXT NOT NULL,                  -- as the person typed it (cleaned)
            key TEXT NOT NULL,                   -- what makes two follows the same
            added_by TEXT NOT NULL,
            added_at TEXT NOT NULL,
            removed_by TEXT,                     -- kept after `unfollow`: the history
            removed_at TEXT
        );
        CREATE UNIQUE INDEX follows_active ON follows(channel_id, key) WHERE removed_at IS NULL;
        CREATE INDEX follows_by_channel ON follows(channel_id, id);
        ALTER TABLE papers ADD COLUMN journal_ref TEXT;
"""

_M009_SEARCH_WEEKLY = """
        CREATE VIRTUAL TABLE IF NOT EXISTS papers_fts USING fts5(
            title, abstract, authors,            -- rowid: the paper's rowid in papers
            tokenize='porter unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER IF NOT EXISTS papers_fts_insert AFTER INSERT ON papers BEGIN
            INSERT INTO papers_fts (rowid, title, abstract, authors)
                VALUES (new.rowid, new.title, new.abstract,
                        (SELECT group_concat(value, ', ') FROM json_each(new.authors)));
        END;
        CREATE TRIGGER IF NOT EXISTS papers_fts_delete AFTER DELETE ON papers BEGIN
            DELETE FROM papers_fts WHERE rowid = old.rowid;
        END;
        CREATE TRIGGER IF NOT EXISTS papers_fts_update AFTER UPDATE OF title, abstract, authors
            ON papers BEGIN
            DELETE FROM papers_fts WHERE rowid = old.rowid;
            INSERT INTO papers_fts (rowid, title, abstract, authors)
                VALUES (new.rowid, new.title, new.abstract,
                        (SELECT group_concat(value, ', ') FROM json_each(new.authors)));
        END;
        DELETE FROM papers_fts;
        INSERT INTO papers_fts (rowid, title, abstract, authors)
            SELECT p.rowid, p.title, p.abstract,
                   (SELECT group_concat(value, ', ') FROM json_each(p.authors))
            FROM papers p;
        CREATE TABLE IF NOT EXISTS weekly_posts (
            channel_id TEXT NOT NULL,
            week TEXT NOT NULL,                  -- ISO week looked back on, e.g. 2026-W48
            state TEXT NOT NULL,                 -- posting, posted, quiet (nothing) or missed
            body TEXT NOT NULL,                  -- JSON: the frozen post (a digest of picks)
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, week)
        );
        CREATE TABLE IF NOT EXISTS weekly_messages (
            channel_id TEXT NOT NULL,
            week TEXT NOT NULL,
            slot TEXT NOT NULL,                  -- 'parent' or a paper id
            message_id TEXT NOT NULL,
            posted_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, week, slot)
        );
"""

_M010_SIMILAR = """
        CREATE TABLE IF NOT EXISTS similar_answers (
            key TEXT PRIMARY KEY,                -- paper, category set, days compared with
            paper_id TEXT NOT NULL,
            categories TEXT NOT NULL,
            newest_day TEXT NOT NULL,            -- the newest day compared with: pruned by it
            ids TEXT NOT NULL,                   -- JSON list: the closest papers, best first
            similarities TEXT NOT NULL,          -- JSON list, the same order
            compared INTEGER NOT NULL,           -- how many papers were compared
            created_at TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS similar_answers_paper
            ON similar_answers(paper_id, categories, newest_day);
        CREATE INDEX IF NOT EXISTS similar_answers_newest ON similar_answers(newest_day);
"""

_M011_PAPER_ROOM = """
        CREATE TABLE paper_texts (
            paper_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            source TEXT NOT NULL,
            sections TEXT NOT NULL,
            fetched_at TEXT NOT NULL,
            PRIMARY KEY (paper_id, version)
        );
        CREATE TABLE ask_answers (
            key TEXT PRIMARY KEY,
            paper_id TEXT NOT NULL,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE ask_turns (
            channel_id TEXT NOT NULL,
            thread TEXT NOT NULL,
            paper_id TEXT NOT NULL,
            answer_key TEXT NOT NULL,
            asked_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, thread, paper_id, answer_key)
        );
"""

_M012_BUDGET = """
        CREATE TABLE budget_days (
            day TEXT PRIMARY KEY,             -- a UTC date
            spent_usd REAL NOT NULL,          -- settled: what the day's requests really cost
            reserved_usd REAL NOT NULL DEFAULT 0  -- held for requests in flight
        );
        CREATE TABLE budget_holds (
            id INTEGER PRIMARY KEY,
            day TEXT NOT NULL REFERENCES budget_days(day),
            usd REAL NOT NULL,
            held_at TEXT NOT NULL
        );
"""

_M013_IMPORTS = """
        CREATE TABLE imports (
            id INTEGER PRIMARY KEY,
            channel_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            source TEXT NOT NULL,            -- 'ids', 'bibtex' or 'zotero'
            papers INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            undone_at TEXT
        );
        CREATE INDEX imports_channel ON imports (channel_id, id);
        CREATE TABLE imported (
            channel_id TEXT NOT NULL,
            paper_id TEXT NOT NULL,
            import_id INTEGER NOT NULL REFERENCES imports (id),
            imported_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, paper_id)
        );
        ALTER TABLE learning ADD COLUMN reset_import INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE zotero_keys (
            channel_id TEXT PRIMARY KEY,
            library TEXT NOT NULL,
            sealed TEXT NOT NULL,            -- encrypted with ARXIV_BOT_TOKEN_KEY
            updated_at TEXT NOT NULL
        );
"""

_M014_FENCES = """
        ALTER TABLE work ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0;  -- grows with every take-over
        CREATE TABLE post_intents (
            key TEXT NOT NULL,                   -- the unit of work posting, e.g. deliver:C1:…
            slot TEXT NOT NULL,                  -- 'parent', a paper id, a notice
            owner TEXT NOT NULL,                 -- the lease holder that is about to post it
            epoch BIGINT NOT NULL,               -- its lease's fencing epoch
            PRIMARY KEY (key, slot)
        );
        CREATE TABLE rate_counts (
            scope TEXT NOT NULL,                 -- a limit, e.g. costly:user, install:client
            key TEXT NOT NULL,                   -- whom it counts: a user, a channel, a client
            window_no BIGINT NOT NULL,           -- floor(database time / the limit's seconds)
            hits INTEGER NOT NULL,
            expires_at DOUBLE PRECISION NOT NULL,  -- unix seconds: useless after this
            PRIMARY KEY (scope, key, window_no)
        );
        ALTER TABLE oauth_states ADD COLUMN client TEXT NOT NULL DEFAULT '';  -- who asked for it
"""

# Migration 15: the search index folds the letters Unicode does not take apart (`Søgaard` is
# found as `sogaard`, `Łukasz` as `lukasz`, `Straße` as `strasse`), as follows compare names;
# on PostgreSQL, which has no accent folding of its own, Latin accents too (`Jörg` as `jorg`).
# The letters are written out here, not imported: a migration's text never changes.
_M015_LETTERS = (
    ("ø", "o"), ("Ø", "o"), ("ł", "l"), ("Ł", "l"), ("đ", "d"), ("Đ", "d"), ("ð", "d"),
    ("Ð", "d"), ("þ", "th"), ("Þ", "th"), ("ı", "i"), ("ß", "ss"), ("ẞ", "ss"), ("æ", "ae"),
    ("Æ", "ae"), ("œ", "oe"), ("Œ", "oe"),
)  # fmt: skip


def _spelled(expr: str) -> str:
    """`expr` with each letter of `_M015_LETTERS` replaced, in SQL both engines run."""
    for letter, spelled in _M015_LETTERS:
        expr = f"replace({expr}, '{letter}', '{spelled}')"
    return expr


def _latin_accents() -> tuple[str, str]:
    """Latin letters with accents (U+00C0–U+024F) and their letters without, for `translate`."""
    plain, accented = [], []
    for code in range(0xC0, 0x250):
        letter = chr(code)
        base = "".join(
            c for c in unicodedata.normalize("NFKD", letter) if not unicodedata.combining(c)
        )
        if len(base) == 1 and base.isascii() and base.isalpha() and base != letter:
            accented.append(letter)
            plain.append(base)
    return "".join(accented), "".join(plain)


def _sqlite_fts_row(row: str) -> str:
    authors = f"(SELECT group_concat(value, ', ') FROM json_each({row}.authors))"
    return f"{_spelled(f'{row}.title')}, {_spelled(f'{row}.abstract')}, {_spelled(authors)}"


_M015_SEARCH_LETTERS = f"""
        DROP TRIGGER IF EXISTS papers_fts_insert;
        DROP TRIGGER IF EXISTS papers_fts_update;
        CREATE TRIGGER papers_fts_insert AFTER INSERT ON papers BEGIN
            INSERT INTO papers_fts (rowid, title, abstract, authors)
                VALUES (new.rowid, {_sqlite_fts_row("new")});
        END;
        CREATE TRIGGER papers_fts_update AFTER UPDATE OF title, abstract, authors
            ON papers BEGIN
            DELETE FROM papers_fts WHERE rowid = old.rowid;
            INSERT INTO papers_fts (rowid, title, abstract, authors)
                VALUES (new.rowid, {_sqlite_fts_row("new")});
        END;
        DELETE FROM papers_fts;
        INSERT INTO papers_fts (rowid, title, abstract, authors)
            SELECT p.rowid, {_sqlite_fts_row("p")} FROM papers p;
"""

_M016_COPY = """
        CREATE TABLE store_copy (
            id INTEGER PRIMARY KEY CHECK (id = 1),  -- one row: this database is a copy
            source TEXT NOT NULL,                    -- what it was copied from (no password)
            started_at TEXT NOT NULL,
            completed_at TEXT                        -- NULL: the copy did not finish
        );
"""

_M017_TLDR = """
        ALTER TABLE scores ADD COLUMN tldr TEXT NOT NULL DEFAULT '';
"""

_M018_PACING = """
        CREATE TABLE pacing (
            key TEXT PRIMARY KEY,                -- channel:T1:C1, workspace:T1, bot
            tat DOUBLE PRECISION,                -- database unix seconds: the key's next slot
            holds BIGINT NOT NULL DEFAULT 0      -- grows with every 429 that held the key
        );
"""

_M019_HOLD_EXPIRY = """
        ALTER TABLE budget_holds ADD COLUMN owner TEXT NOT NULL DEFAULT '';  -- the process asking
        -- database unix seconds: taken back after this unless renewed; NULL: taken back (usd 0).
        -- Holds made before this column existed have no owner to renew them: taken back at once.
        ALTER TABLE budget_holds ADD COLUMN expires_at DOUBLE PRECISION DEFAULT 0;
        CREATE INDEX budget_holds_day ON budget_holds (day, expires_at);
"""

SQLITE_MIGRATIONS: tuple[str, ...] = (
    _M001_INITIAL,
    _M002_CONVERSATION,
    _M003_DELIVERY,
    _M004_RANKING,
    _M005_WORK,
    _M006_EVENTS,
    _M007_INSTALLATIONS,
    _M008_FOLLOWS_VENUE,
    _M009_SEARCH_WEEKLY,
    _M010_SIMILAR,
    _M011_PAPER_ROOM,
    _M012_BUDGET,
    _M013_IMPORTS,
    _M014_FENCES,
    _M015_SEARCH_LETTERS,
    _M016_COPY,
    _M017_TLDR,
    _M018_PACING,
    _M019_HOLD_EXPIRY,
)
"""SQLite's scripts, each applied in one transaction; `user_version` is the number applied."""


# -- PostgreSQL -----------------------------------------------------------------------------------

_PG001_INITIAL = """
        CREATE TABLE papers (
            id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            title TEXT NOT NULL,
            abstract TEXT NOT NULL,
            authors TEXT NOT NULL,
            categories TEXT NOT NULL,
            primary_category TEXT,
            comment TEXT,
            enriched INTEGER NOT NULL DEFAULT 0,
            first_seen TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE feed_days (
            day TEXT NOT NULL,
            categories TEXT NOT NULL,
            items INTEGER NOT NULL,
            fetched_at TEXT NOT NULL,
            PRIMARY KEY (day, categories)
        );
        CREATE TABLE announcements (
            rowid BIGINT GENERATED BY DEFAULT AS IDENTITY UNIQUE,
            day TEXT NOT NULL,
            paper_id TEXT NOT NULL REFERENCES papers(id),
            announce_type TEXT NOT NULL,
            categories TEXT NOT NULL,
            PRIMARY KEY (day, paper_id, categories)
        );
        CREATE INDEX announcements_paper ON announcements(paper_id, day);
        CREATE TABLE criteria (
            id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            sha256 TEXT NOT NULL UNIQUE,
            text TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE channels (
            id TEXT PRIMARY KEY,
            platform TEXT NOT NULL,
            settings TEXT NOT NULL DEFAULT '{}',
            subscribed INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        );
        CREATE TABLE channel_criteria (
            channel_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            criteria_id INTEGER NOT NULL REFERENCES criteria(id),
            changed_by TEXT NOT NULL,
            changed_at TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (channel_id, version)
        );
        CREATE TABLE scores (
            paper_id TEXT NOT NULL REFERENCES papers(id),
            criteria_id INTEGER NOT NULL REFERENCES criteria(id),
            model TEXT NOT NULL,
            prompt_version TEXT NOT NULL,
            relevance INTEGER NOT NULL,
            novelty INTEGER NOT NULL,
            comment TEXT NOT NULL,
            scored_at TEXT NOT NULL,
            PRIMARY KEY (paper_id, criteria_id, model, prompt_version)
        );
        CREATE TABLE digests (
            channel_id TEXT NOT NULL,
            day TEXT NOT NULL,
            state TEXT NOT NULL,
            body TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, day)
        );
        CREATE TABLE posted_messages (
            channel_id TEXT NOT NULL,
            day TEXT NOT NULL,
            slot TEXT NOT NULL,
            message_id TEXT NOT NULL,
            posted_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, day, slot)
        );
        CREATE INDEX posted_messages_by_id ON posted_messages(message_id);
        CREATE TABLE likes (
            rowid BIGINT GENERATED BY DEFAULT AS IDENTITY UNIQUE,
            channel_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            paper_id TEXT NOT NULL,
            value INTEGER NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, user_id, paper_id)
        );
        CREATE TABLE llm_usage (
            id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            at TEXT NOT NULL,
            day TEXT,
            purpose TEXT NOT NULL,
            model TEXT NOT NULL,
            criteria_id INTEGER,
            calls INTEGER NOT NULL,
            prompt_tokens INTEGER NOT NULL,
            cached_tokens INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            prompt_cost_usd DOUBLE PRECISION NOT NULL,
            completion_cost_usd DOUBLE PRECISION NOT NULL,
            priced INTEGER NOT NULL DEFAULT 1
        );
        CREATE INDEX llm_usage_day ON llm_usage(day, model, criteria_id, purpose);
"""

_PG002_CONVERSATION = """
        CREATE TABLE explanations (
            paper_id TEXT NOT NULL REFERENCES papers(id),
            criteria_id INTEGER NOT NULL REFERENCES criteria(id),
            model TEXT NOT NULL,
            prompt_version TEXT NOT NULL,
            text TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (paper_id, criteria_id, model, prompt_version)
        );
        CREATE TABLE channel_events (
            id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            channel_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            action TEXT NOT NULL,
            detail TEXT NOT NULL,
            at TEXT NOT NULL
        );
        CREATE INDEX channel_events_by_channel ON channel_events(channel_id, id);
        CREATE INDEX likes_by_channel ON likes(channel_id, updated_at);
"""

_PG003_DELIVERY = """
        CREATE TABLE posted (
            rowid BIGINT GENERATED BY DEFAULT AS IDENTITY UNIQUE,
            channel_id TEXT NOT NULL,
            message_id TEXT NOT NULL,
            day TEXT NOT NULL,
            slot TEXT NOT NULL,
            daily INTEGER NOT NULL,
            posted_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, message_id)
        );
        INSERT INTO posted (channel_id, message_id, day, slot, daily, posted_at)
            SELECT channel_id, message_id, day, slot, 0, posted_at FROM posted_messages;
        DROP TABLE posted_messages;
        CREATE UNIQUE INDEX posted_daily_slot ON posted(channel_id, day, slot) WHERE daily = 1;
        ALTER TABLE digests ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE digests ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
"""

_PG004_RANKING = """
        CREATE TABLE rankings (
            channel_id TEXT NOT NULL,
            day TEXT NOT NULL,
            paper_id TEXT NOT NULL,
            model_version TEXT NOT NULL,
            score DOUBLE PRECISION NOT NULL,
            rank INTEGER NOT NULL,
            sent INTEGER NOT NULL,
            PRIMARY KEY (channel_id, day, paper_id)
        );
        CREATE TABLE learning (
            channel_id TEXT PRIMARY KEY,
            reset_at TEXT,
            reset_like BIGINT NOT NULL DEFAULT 0,
            reset_posted BIGINT NOT NULL DEFAULT 0,
            learned_from INTEGER NOT NULL DEFAULT 0,
            verdicts INTEGER NOT NULL DEFAULT 0,
            recall DOUBLE PRECISION,
            measured_day TEXT,
            updated_at TEXT NOT NULL
        );
"""

_PG005_WORK = """
        CREATE TABLE work (
            key TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            taken_at DOUBLE PRECISION NOT NULL,
            expires_at DOUBLE PRECISION NOT NULL
        );
        CREATE TABLE feed_fetches (
            categories TEXT PRIMARY KEY,
            fetched_at TEXT NOT NULL,
            day TEXT,
            new INTEGER NOT NULL DEFAULT 0,
            cross_lists INTEGER NOT NULL DEFAULT 0,
            replaced INTEGER NOT NULL DEFAULT 0
        );
        INSERT INTO feed_fetches (categories, fetched_at, day, new)
            SELECT DISTINCT ON (categories) categories, fetched_at, day, items FROM feed_days
            ORDER BY categories, fetched_at DESC;
        CREATE TABLE ranking_sets (
            day TEXT NOT NULL,
            key TEXT NOT NULL,
            model_version TEXT NOT NULL,
            ids TEXT NOT NULL,
            scores TEXT NOT NULL,
            liked INTEGER NOT NULL DEFAULT 0,
            verdicts INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            PRIMARY KEY (day, key)
        );
        INSERT INTO ranking_sets (day, key, model_version, ids, scores, created_at)
            SELECT day, 'channel:' || channel_id, MAX(model_version),
                   json_agg(paper_id ORDER BY rank)::text,
                   json_agg(round(score::numeric, 5) ORDER BY rank)::text,
                   to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
            FROM rankings GROUP BY channel_id, day;
        ALTER TABLE digests ADD COLUMN criteria_id INTEGER;
        ALTER TABLE digests ADD COLUMN ranking_key TEXT;
        ALTER TABLE digests ADD COLUMN sent_ids TEXT;
        UPDATE digests SET ranking_key = 'channel:' || channel_id,
            sent_ids = COALESCE((SELECT json_agg(r.paper_id ORDER BY r.rank)::text FROM rankings r
                WHERE r.channel_id = digests.channel_id AND r.day = digests.day AND r.sent = 1),
                '[]')
            WHERE EXISTS (SELECT 1 FROM rankings r WHERE r.channel_id = digests.channel_id
                          AND r.day = digests.day);
        DROP TABLE rankings;
        CREATE INDEX posted_parent ON posted(channel_id, day) WHERE slot = 'parent';
"""

_PG006_EVENTS = """
        CREATE TABLE events (
            id TEXT PRIMARY KEY,
            seen_at DOUBLE PRECISION NOT NULL
        );
        CREATE INDEX events_seen ON events(seen_at);
"""

_PG007_INSTALLATIONS = """
        CREATE TABLE IF NOT EXISTS installations (
            platform TEXT NOT NULL,
            workspace TEXT NOT NULL,             -- Slack: team id, or enterprise id (org-wide)
            enterprise_id TEXT,
            team_id TEXT,
            sealed TEXT NOT NULL,                -- the installation, tokens included, encrypted
            installed_at TEXT NOT NULL,
            PRIMARY KEY (platform, workspace)
        );
        CREATE TABLE IF NOT EXISTS oauth_states (
            state TEXT PRIMARY KEY,              -- handed out by the install page, used once
            expires_at DOUBLE PRECISION NOT NULL           -- unix seconds
        );
        CREATE TABLE IF NOT EXISTS paused_workspaces (
            platform TEXT NOT NULL,
            workspace TEXT NOT NULL,
            reason TEXT NOT NULL,                -- uninstalled, token_revoked, ...
            paused_at TEXT NOT NULL,
            PRIMARY KEY (platform, workspace)
        );
        CREATE TABLE IF NOT EXISTS home_workspaces (
            platform TEXT PRIMARY KEY,           -- the workspace whose channel ids carry none
            workspace TEXT NOT NULL,
            seen_at TEXT NOT NULL
        );
"""

_PG008_FOLLOWS_VENUE = """
        CREATE TABLE follows (
            id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            channel_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            text TEXT NOT NULL,
            key TEXT NOT NULL,
            added_by TEXT NOT NULL,
            added_at TEXT NOT NULL,
            removed_by TEXT,
            removed_at TEXT
        );
        CREATE UNIQUE INDEX follows_active ON follows(channel_id, key) WHERE removed_at IS NULL;
        CREATE INDEX follows_by_channel ON follows(channel_id, id);
        ALTER TABLE papers ADD COLUMN IF NOT EXISTS journal_ref TEXT;
"""


def _pg_search_document(row: str) -> str:
    """The text-search document of a paper on PostgreSQL (`row` is `NEW` in the trigger, the
    table's name in the back-fill): title and authors weigh A, the abstract B."""
    return (
        f"setweight(to_tsvector('english', {row}.title), 'A') || "
        f"setweight(jsonb_to_tsvector('simple', {row}.authors::jsonb, '[\"string\"]'), 'A') || "
        f"setweight(to_tsvector('english', {row}.abstract), 'B')"
    )


_PG009_SEARCH_WEEKLY = f"""
        CREATE TABLE IF NOT EXISTS papers_fts (
            paper_id TEXT PRIMARY KEY REFERENCES papers(id) ON DELETE CASCADE,
            document TSVECTOR NOT NULL
        );
        CREATE INDEX IF NOT EXISTS papers_fts_document ON papers_fts USING GIN (document);
        CREATE OR REPLACE FUNCTION papers_fts_sync() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO papers_fts (paper_id, document)
                VALUES (NEW.id, {_pg_search_document("NEW")})
                ON CONFLICT (paper_id) DO UPDATE SET document = excluded.document;
            RETURN NEW;
        END $$;
        DROP TRIGGER IF EXISTS papers_fts_sync ON papers;
        CREATE TRIGGER papers_fts_sync AFTER INSERT OR UPDATE OF title, abstract, authors
            ON papers FOR EACH ROW EXECUTE FUNCTION papers_fts_sync();
        INSERT INTO papers_fts (paper_id, document)
            SELECT id, {_pg_search_document("papers")} FROM papers
            ON CONFLICT (paper_id) DO NOTHING;
        CREATE TABLE IF NOT EXISTS weekly_posts (
            channel_id TEXT NOT NULL,
            week TEXT NOT NULL,
            state TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, week)
        );
        CREATE TABLE IF NOT EXISTS weekly_messages (
            channel_id TEXT NOT NULL,
            week TEXT NOT NULL,
            slot TEXT NOT NULL,
            message_id TEXT NOT NULL,
            posted_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, week, slot)
        );
"""

_PG010_SIMILAR = _M010_SIMILAR  # the same script: TEXT and INTEGER columns mean the same on both

_PG011_PAPER_ROOM = _M011_PAPER_ROOM  # the same script on both engines

_PG012_BUDGET = """
        CREATE TABLE budget_days (
            day TEXT PRIMARY KEY,
            spent_usd DOUBLE PRECISION NOT NULL,
            reserved_usd DOUBLE PRECISION NOT NULL DEFAULT 0
        );
        CREATE TABLE budget_holds (
            id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            day TEXT NOT NULL REFERENCES budget_days(day),
            usd DOUBLE PRECISION NOT NULL,
            held_at TEXT NOT NULL
        );
"""

_PG013_IMPORTS = _M013_IMPORTS.replace(
    "id INTEGER PRIMARY KEY", "id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
)

_PG014_FENCES = _M014_FENCES  # BIGINT and TEXT mean the same on both


def _pg_folded(text: str) -> str:
    accented, plain = _latin_accents()
    return f"translate({_spelled(text)}, '{accented}', '{plain}')"


def _pg_folded_document(row: str) -> str:
    """`_pg_search_document` over folded text: the letters of `_M015_LETTERS` spelled out and
    Latin accents dropped (the authors folded as JSON text, which PostgreSQL writes unescaped)."""
    authors = _pg_folded(f"({row}.authors::jsonb)::text")
    return (
        f"setweight(to_tsvector('english', {_pg_folded(f'{row}.title')}), 'A') || "
        f"setweight(jsonb_to_tsvector('simple', ({authors})::jsonb, '[\"string\"]'), 'A') || "
        f"setweight(to_tsvector('english', {_pg_folded(f'{row}.abstract')}), 'B')"
    )


_PG015_SEARCH_LETTERS = f"""
        CREATE OR REPLACE FUNCTION papers_fts_sync() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO papers_fts (paper_id, document)
                VALUES (NEW.id, {_pg_folded_document("NEW")})
                ON CONFLICT (paper_id) DO UPDATE SET document = excluded.document;
            RETURN NEW;
        END $$;
        UPDATE papers_fts SET document = {_pg_folded_document("papers")}
            FROM papers WHERE papers.id = papers_fts.paper_id;
"""

_PG016_COPY = _M016_COPY  # the same script on both engines

_PG017_TLDR = _M017_TLDR  # the card's one-line TL;DR, written with the score's comment
_PG018_PACING = _M018_PACING  # the same SQL runs on both
_PG019_HOLD_EXPIRY = _M019_HOLD_EXPIRY  # the same SQL runs on both

POSTGRES_MIGRATIONS: tuple[str, ...] = (
    _PG001_INITIAL,
    _PG002_CONVERSATION,
    _PG003_DELIVERY,
    _PG004_RANKING,
    _PG005_WORK,
    _PG006_EVENTS,
    _PG007_INSTALLATIONS,
    _PG008_FOLLOWS_VENUE,
    _PG009_SEARCH_WEEKLY,
    _PG010_SIMILAR,
    _PG011_PAPER_ROOM,
    _PG012_BUDGET,
    _PG013_IMPORTS,
    _PG014_FENCES,
    _PG015_SEARCH_LETTERS,
    _PG016_COPY,
    _PG017_TLDR,
    _PG018_PACING,
    _PG019_HOLD_EXPIRY,
)
"""PostgreSQL's scripts, the same changes as SQLite's; `schema_migrations` lists those applied."""

MIGRATIONS = SQLITE_MIGRATIONS
"""The migrations (one per number; both dialects have as many)."""

TABLES: tuple[str, ...] = (
    "papers",
    "feed_days",
    "feed_fetches",
    "announcements",
    "criteria",
    "channels",
    "channel_criteria",
    "scores",
    "explanations",
    "digests",
    "posted",
    "likes",
    "llm_usage",
    "channel_events",
    "follows",
    "learning",
    "ranking_sets",
    "work",
    "post_intents",
    "rate_counts",
    "events",
    "installations",
    "oauth_states",
    "paused_workspaces",
    "home_workspaces",
    "weekly_posts",
    "weekly_messages",
    "similar_answers",
    "paper_texts",
    "ask_answers",
    "ask_turns",
    "budget_days",
    "budget_holds",
    "imports",
    "imported",
    "zotero_keys",
    "pacing",
)
"""Every table of the current schema, each after the tables it references (copy order)."""

ROWID_TABLES = frozenset({"announcements", "posted", "likes"})
"""Tables whose insertion order the store reads through `rowid`."""
