"""What the operator and each channel configured.

    settings.py  the bot's settings, read once from the environment and `.env`, all problems at once
    values.py    the generic readers of a variable's text (numbers in a range, booleans, lists,
    URLs)
    channels.py  a channel's own settings: the bot's defaults overlaid with what the channel changed
    settings_form.py  those settings as a form's fields, and a submitted form as one change

May import: the core modules directly in `bot/`, `bot.store` (its URL only),
`bot.arxiv.categories` and `scoring.pricing`. Must not import `bot.digest`, `bot.daily`,
`bot.conversation` or any platform SDK.
"""
