"""The daily post: when each channel's digest is due, building it, posting it once.

    runner.py     the daily runner: one tick decides what is due for every channel
    schedule.py   the schedule arithmetic, pure: which days a channel needs, what a due day needs
    build.py      building a channel's due digest through the digest service
    post.py       posting a built digest through the channel's platform
    delivery.py   a digest's thread posted card by card, each message recorded, under a lease
    pacing.py     how fast a platform takes posts: per channel and per workspace, pure
    pacer.py      where pacing is kept (a process's memory, or the store replicas share)
    weekly.py     the weekly post of a channel
    scheduler.py  the apscheduler jobs that tick the runner
    status.py     what `arxiv-bot status` shows
    health.py     `GET /healthz` for supervisors

May import: the core modules directly in `bot/` (with `bot.work` and `bot.platform`, the
contract every chat adapter implements), `bot.store`, `bot.arxiv`, `bot.config`, `bot.digest` and
`scoring`. Must not import `bot.conversation`, `adapters` or any platform SDK.
"""
