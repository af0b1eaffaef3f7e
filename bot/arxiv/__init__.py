"""The arXiv side: what arXiv announces and what its papers say.

    feed.py        the daily RSS/Atom announcement feed, parsed into papers (off the loop)
    api.py         the arXiv API (the `arxiv` client): enrichment, lookups by id
    ingest.py      fetching a category set's feed and storing its papers and announcements
    categories.py  category names and the key of a category set
    links.py       links to a paper (abs, pdf, code, venue) read from its text
    texclean.py    TeX markup in titles and abstracts made readable
    fetch.py       a paper's full text fetched politely (arXiv's HTML, else its PDF)
    paper_text.py  full text as sections (HTML, PDF) and the sections that answer a question
    bibliography.py  arXiv ids read from pasted ids and links, BibTeX and Zotero items
    zotero.py      a Zotero library or collection read through Zotero's Web API (`pyzotero`)

A new source of papers or text goes here, next to `feed.py` and `api.py`.

May import: the core modules directly in `bot/` and `bot.store`. Must not import `bot.config`,
`bot.digest`, `bot.daily`, `bot.conversation`, `scoring` or any platform SDK.
"""
