"""A channel's digest of a day: deciding it, building it and reading it back.

    service.py    the digest service: load a day, decide it, score what it sends, save it once
    deciding.py   which papers of a day go to the LLM (the shared ranking and its share)
    history.py    the channel's earlier decided days, as the share's calibration reads them
    stored.py     loading a day: its context, and what its digest shows, from the store alone
    assembly.py   assembling a day's digest from what was loaded: selection, order, counts (pure)
    selection.py  a digest's parts as renderings read them, and its JSON form (pure)
    options.py    what a digest depends on besides its criteria
    following.py  followed authors and keywords, and the papers they match
    similar.py    the closest papers to one paper, a unit of work kept in the store
    search.py     looking back: `search`, `day` and `similar` over the stored days

A new unit of work on a day's papers goes here, through `bot.work`.

May import: the core modules directly in `bot/` (with `bot.work`), `bot.store`, `bot.arxiv`,
`bot.config` and `scoring`. Must not import `bot.daily`, `bot.conversation`, `adapters` or any
platform SDK, and must not render for people.
"""
