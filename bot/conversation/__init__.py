"""Everything a team can say to the bot, and what it answers, platform-neutral.

    commands.py   the `/arxiv` grammar and its help text, defined once
    dispatch.py   `Conversation`: parsing, guards and the one table of handlers
    context.py    what every command module shares: who asked, replies, the channel lookups
    *_commands.py one module per command family (digest, criteria, explain, follow, search,
                  settings, stats, import)
    criteria_preview.py, criteria_topics.py  what a criteria change would select; topics
    reactions.py, likes.py                   reactions as likes, and the likes listing
    shown.py      the last digest shown to each person, so a card number means their card
    home.py       what a person's home page shows (Slack's Home tab), gathered in one pass
    unfurl.py     arXiv links someone shared, with the channel's scores (scored once if never)
    limits.py     the rate limits every replica shares, counted in the store

A new command: its grammar line in `commands.py`, its handler in the family's `*_commands.py`
(copy `explain_commands.py`), and its row in `dispatch.py`'s table.

May import: the core modules directly in `bot/` (with `bot.work`), `bot.store`, `bot.arxiv`,
`bot.config`, `bot.digest` and `scoring`. Must not import `bot.daily`, `adapters` or any platform
SDK: adapters turn a platform's events into `Conversation.handle` and render its replies.
"""
