"""A channel's digest of a day: deciding it, building it and reading it back.

    service.py    the digest service: feeds, builds and the reads commands ask of a day
    building.py   a build of a channel-day: load once, decide, score what is sent, save once
    stored.py     a channel-day in the store: its context and record loaded, its digest saved
    deciding.py   which papers of a day go to the LLM (the shared ranking and its share)
    sending.py    scoring what a decided day sends and the store lacks, once per criteria
    taste.py      a channel's reactions as ranking examples, and its taste over a day
    assembly.py   assembling a day's digest from what was loaded: selection, order, counts (pure)
    selection.py  a digest's parts as renderings read them, and its JSON form (pure)
    notes.py      what a digest says about itself, kept as kinds and figures, worded when shown
    options.py    what a digest depends on besides its criteria
    following.py  followed authors and keywords, and the papers they match
    similar.py    the closest papers to one paper, a unit of work kept in the store
    search.py     looking back: `search`, `day` and `similar` over the stored days

A new unit of work on a day's papers goes here, through `bot.work`.

May import: the core modules directly in `bot/` (with `bot.work`), `bot.store`, `bot.arxiv`,
`bot.config` and `scoring`. Must not import `bot.daily`, `bot.conversation`, `adapters` or any
platform SDK, and must not render for people.
"""
