"""Looking back from chat: `/arxiv search <words>`, `/arxiv day <YYYY-MM-DD>` and
`/arxiv similar <paper>`, for one channel, from what the store already holds.

- `search` asks the database's own full-text index (`bot.store.papers`): every word, and every
  quoted phrase as written, must be in the title, abstract or authors (`Søgaard` and
  `sogaard` alike); best matches first, at most MAX_RESULTS, each with this
  channel's score where it has one. What the user typed is reduced to plain words first, so
  quotes, `NEAR`, `*`, `-` and the like are never query syntax.
- `day` shows a stored day's digest again: the channel's digest as it was decided (the frozen
  body the daily post and `today` read), or, for a day this channel never built, what is
  already scored under its criteria. Never an LLM request or an arXiv request.
- `similar` ranks the papers of the last SIMILAR_DAYS stored days by closeness to one paper, in
  the local ranking's text model (`scoring.ranking.similarities`), computed in the ranking
  worker so the event loop never waits for scikit-learn, once for every caller and process
  (`bot.digest.similar`): the answer is kept, and each channel shows it with its own scores;
  only papers at CLOSE or more are listed, and an answer without any says nothing is close.

Answers are light-markdown text, defused, one clipped line per paper (at most MAX_RESULTS), so
they fit a Discord message or a few Slack sections; a day is a `Digest` the adapters render.
This module must not spend (LLM or arXiv), import a platform SDK, or render platform markup.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from bot.arxiv.categories import categories_key
from bot.digest.notes import NEVER_BUILT, note
from bot.digest.options import DigestOptions
from bot.digest.selection import digest_from_json
from bot.digest.service import DigestService
from bot.digest.similar import Similarities, SimilarPapers
from bot.errors import BotError
from bot.i18n import _, ngettext, number
from bot.models import Digest, Paper, Score
from bot.safety import clip, defuse, excerpt, whole_number
from bot.store import Store
from bot.store.papers import query_terms, shown_terms
from scoring import ranking

MAX_RESULTS = 10
SIMILAR_DAYS = 7
CLOSE = 0.12
"""The similarity from which a paper counts as close: over a stored day of about 200 papers,
a paper's tenth-closest neighbour is at about 0.08 and its closest at about 0.13 (median), so
what lies under this shares only a few common words (the figures are in docs/lookback.md)."""
STORED_DAYS_SHOWN = 10
TITLE_CHARS = 110
AUTHORS_CHARS = 50
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
_VERSION = re.compile(r"v\d{1,3}$", re.IGNORECASE)


def result_line(n: int, paper: Paper, score: Score | None, extra: str = "") -> str:
    """One paper in a list of results: number, title, first authors, link, this channel's
    score (or that it has none), clipped to about 250 characters whatever the paper holds."""
    title = defuse(excerpt(paper.title, TITLE_CHARS))
    authors = ", ".join(paper.authors[:3]) + (" " + _("et al.") if len(paper.authors) > 3 else "")
    scored = (
        _("relevance {relevance}, novelty {novelty} here").format(
            relevance=score.relevance, novelty=score.novelty
        )
        if score is not None
        else _("not scored here")
    )
    tail = f" — {extra}" if extra else ""
    who = defuse(excerpt(authors, AUTHORS_CHARS)) or _("unknown authors")
    return f"{n}. *{title}* — {who} — {paper.abs_url} — {scored}{tail}"


def parse_day(text: str) -> date:
    """`YYYY-MM-DD` as a date, or a BotError saying how to write one."""
    word = text.strip()
    if _DAY.match(word):
        try:
            return date.fromisoformat(word)
        except ValueError:
            pass
    raise BotError(
        _("{word} is not a day: say `/arxiv day 2025-05-02` (YYYY-MM-DD)").format(
            word=repr(clip(word, 30))
        )
    )


def _last_days(count: int) -> str:
    """'the last stored day' or 'the last N stored days'."""
    return ngettext("the last stored day", "the last {count} stored days", count).format(
        count=number(count)
    )


def stored_days_text(days: Sequence[date]) -> str:
    """The stored days, newest first, as the end of a sentence."""
    if not days:
        return _("No day is stored yet: `/arxiv today` fetches the latest announcement.")
    shown = ", ".join(d.isoformat() for d in days[:STORED_DAYS_SHOWN])  # as `day` takes them
    if len(days) > STORED_DAYS_SHOWN:
        return _("Stored days, newest first: {days} (and earlier ones).").format(days=shown)
    return _("Stored days, newest first: {days}.").format(days=shown)


class Lookups:
    """Search, past days and similar papers for the conversation (see module docstring)."""

    def __init__(
        self,
        store: Store,
        service: DigestService,
        similarities: Similarities = ranking.similarities_off_loop,
    ) -> None:
        self._store = store
        self._service = service
        self._similar = SimilarPapers(store, service.work, similarities, MAX_RESULTS)

    async def search(self, channel_id: str, text: str) -> str:
        """The stored papers with every word and quoted phrase of `text`, best first, as a reply."""
        words = query_terms(text)
        if not words and re.search(r"\w", text):
            raise BotError(
                _(
                    "nothing to search for: those words are in nearly every paper; add a "
                    "distinctive one, e.g. `/arxiv search sparse attention`"
                )
            )
        if not words:
            raise BotError(
                _("nothing to search for: give some words, e.g. `/arxiv search sparse attention`")
            )
        papers = await self._store.papers.search(words, MAX_RESULTS + 1)
        shown = defuse(clip(shown_terms(words), 200))
        if not papers:
            return _(
                "No stored paper has all of: {words}. The store holds the days the bot "
                "fetched; try fewer or other words."
            ).format(words=shown)
        more = len(papers) > MAX_RESULTS
        papers = papers[:MAX_RESULTS]
        scores = await self._store.scores.channel_scores(channel_id, [p.id for p in papers])
        lines = [result_line(n, p, scores.get(p.id)) for n, p in enumerate(papers, 1)]
        head = _("Stored papers with “{words}”, best match first:").format(words=shown)
        tail = "\n" + _(
            "More papers match: the first {count} are shown; add words to narrow."
        ).format(count=number(MAX_RESULTS))
        return f"{head}\n" + "\n".join(lines) + (tail if more else "")

    async def day(self, channel_id: str, options: DigestOptions, text: str) -> Digest:
        """A stored day's digest for this channel, from the store only."""
        day = parse_day(text)
        stored = await self._store.digests.get(channel_id, day)
        if stored is not None and isinstance(stored[1], dict):
            return digest_from_json(stored[1])
        built = await self._service.stored(channel_id, day, options)
        if built is None:
            days = await self._store.papers.feed_days(categories_key(options.categories), 30)
            raise BotError(_("{day} is not stored.").format(day=day) + " " + stored_days_text(days))
        return replace(built, notes=(*built.notes, note(NEVER_BUILT, day=day.isoformat())))

    async def similar(self, channel_id: str, options: DigestOptions, ref: str) -> str:
        """The papers of the last stored days closest to one paper, as a reply; `ref` is an
        arXiv id (links already reduced to ids) or a card number of the latest digest."""
        target = await self._paper(channel_id, options, ref)
        key = categories_key(options.categories)
        days = await self._store.papers.feed_days(key, SIMILAR_DAYS)
        if not days:
            raise BotError(stored_days_text(days))
        answer = await self._similar.closest(target, key, days)
        found = await self._store.papers.get(list(answer.ids))
        pairs = zip(answer.ids, answer.values, strict=True)
        ranked = [(v, found[i]) for i, v in pairs if i in found]
        close = [(v, p) for v, p in ranked if v >= CLOSE]
        span = f"{days[-1]} – {days[0]}" if len(days) > 1 else f"{days[0]}"
        title = defuse(excerpt(target.title, TITLE_CHARS))
        if not close:
            nearest = (
                _(
                    "the nearest, at similarity {value}, shares only a few words (papers from "
                    "{close} up are listed)."
                ).format(value=number(ranked[0][0], 2), close=number(CLOSE, 2))
                if ranked
                else _("none shares a word with it.")
            )
            return _(
                "Nothing among the {count} papers of {days} ({span}) is close to *{title}* "
                "(arXiv:{id}): {nearest}"
            ).format(
                count=number(answer.compared),
                days=_last_days(len(days)),
                span=span,
                title=title,
                id=target.id,
                nearest=nearest,
            )
        scores = await self._store.scores.channel_scores(channel_id, [p.id for _, p in close])
        lines = [
            result_line(n, p, scores.get(p.id), _("similarity {value}").format(value=number(v, 2)))
            for n, (v, p) in enumerate(close, 1)
        ]
        head = _("Closest to *{title}* (arXiv:{id}) among the {count} papers of {days} ({span}):")
        return (
            head.format(
                title=title,
                id=target.id,
                count=number(answer.compared),
                days=_last_days(len(days)),
                span=span,
            )
            + "\n"
            + "\n".join(lines)
        )

    async def _paper(self, channel_id: str, options: DigestOptions, ref: str) -> Paper:
        """The stored paper an arXiv id or a card number of the latest digest names."""
        card = whole_number(ref)
        if card is not None:
            latest = await self._store.papers.latest_feed_day(categories_key(options.categories))
            stored = await self._store.digests.get(channel_id, latest) if latest else None
            entries = digest_from_json(stored[1]).entries if stored else ()
            if not 1 <= card <= len(entries):
                count = len(entries)
                raise BotError(
                    ngettext(
                        "there is no card {card} in the latest digest ({count} paper)",
                        "there is no card {card} in the latest digest ({count} papers)",
                        count,
                    ).format(card=card, count=number(count))
                )
            return entries[card - 1].paper
        paper_id = _VERSION.sub("", ref.strip().removeprefix("arXiv:").removeprefix("arxiv:"))
        found = (await self._store.papers.get([paper_id])).get(paper_id) if paper_id else None
        if found is None:
            raise BotError(
                _(
                    "arXiv:{id} is not among the stored papers (the days the bot fetched); "
                    "`/arxiv search <words>` finds stored papers"
                ).format(id=defuse(clip(paper_id, 40)))
            )
        return found
