"""arxiv-bot: the platform-free core of the bot, in a few parts.

    models.py, errors.py, safety.py, secret.py   the shared vocabulary, errors, inert text, secrets
    ratelimit.py, progress.py, preload.py        rate limits, progress display, imports before the
    loop platform.py   what the daily post needs from a chat platform (adapters implement it)
    store/        all storage (SQLite or PostgreSQL)
    work.py       every unit of work: done once across callers and processes
    arxiv/        the arXiv side: feed, API, ingest, categories, links, TeX
    config/       the operator's settings and each channel's own
    digest/       a channel's digest of a day: deciding, building, reading back
    daily/        the daily and weekly posts, their schedule and delivery
    conversation/ the command grammar and one module per command family
    __main__.py   the composition root: the `arxiv-bot` command

Each part imports only parts above it in this list (and `scoring/`, from `digest/` down), and
`tests/test_architecture.py` holds it; nothing here imports `adapters` or a platform SDK.
"""

__version__ = "0.1.0"
