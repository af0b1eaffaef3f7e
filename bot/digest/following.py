"""Following authors and keywords: reading what a person typed, and which papers match.

A channel follows authors and keywords; a paper by a followed author, or whose title or
abstract holds a followed keyword, always goes to the LLM and always shows in the digest's
"Followed" part. This module owns what "by a followed author" and "holds a keyword" mean:

- **authors** match across spellings: accents, letters such as `ø` and `ß` (`bot.safety`), TeX
  (`Jörg`, `J\\"org`, `Jorg`), case, and
  initials (`J. Doe` follows `Jane Doe` and `Jane A. Doe`; `Jane Doe` does not follow
  `John Doe`). Surnames must be equal; given names are compared in order, as far as both have
  them, a single letter matching any name it starts. `Doe, Jane` is read as `Jane Doe`; a
  surname alone follows everyone of that surname.
- **keywords** are words and quoted phrases: `diffusion model` matches a title or abstract
  holding both words anywhere, `"diffusion model"` only the phrase; case, accents, punctuation
  (`mixture-of-experts` = `mixture of experts`) and simple plurals (`models`, `policies`,
  `boxes`) do not matter, and words match whole (`graph` does not match `paragraph`).

Everything here is pure and deterministic. Matching a day (1,000 papers × 100 follows) costs
tens of milliseconds, so `match_off_loop` runs it in a worker thread. This module must not do
I/O, know about channels or the store, or render for a platform.
"""

from __future__ import annotations

import asyncio
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from bot.arxiv.texclean import tex_to_unicode
from bot.errors import BotError
from bot.i18n import N_, _, number
from bot.i18n import day as day_text
from bot.models import Follow, FollowedEntry, Paper, Score
from bot.safety import spell_undecomposed

AUTHOR = "author"
KEYWORD = "keyword"
KIND_WORDS = {AUTHOR: N_("author"), KEYWORD: N_("keyword")}
"""A follow's kind as a reply names it (translated where it is shown)."""
KINDS = (AUTHOR, KEYWORD)
MAX_FOLLOWS = 100
"""Follows per channel: enough for a team's authors and topics, few enough to stay readable."""
MAX_TEXT = 100
"""Characters of one followed name or keyword."""
MAX_TERMS = 8
"""Words and phrases of one keyword follow."""

_WORD = re.compile(r"[^\W_]+")
_NAME_PART = re.compile(r"[^\W\d_]+")
_TERM = re.compile(r"[\"“”„«»]([^\"“”„«»]*)[\"“”„«»]?|(\S+)")


# -- folding text --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=65_536)
def fold(text: str) -> str:
    """Text compared without case or accents: `Jörg` and `JORG` fold to `jorg`."""
    decomposed = unicodedata.normalize("NFKD", spell_undecomposed(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def singular(word: str) -> str:
    """A word without a simple English plural ending: `models` → `model`, `policies` →
    `policy`, `boxes` → `box`; `loss`, `gas` and short words stay as they are."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    return word[:-1]


def words(text: str) -> list[str]:
    """The folded, singular words of a text, in order."""
    return [singular(w) for w in _WORD.findall(fold(text))]


# -- authors -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Name:
    """A person's name as compared: folded given names (or initials) and surname."""

    given: tuple[str, ...]
    surname: str

    def matches(self, other: Name) -> bool:
        """Same surname, and given names compatible as far as both have them (a follow of a
        surname alone matches every given name)."""
        if self.surname != other.surname:
            return False
        if not self.given:
            return True
        if not other.given:
            return False
        return all(_same_given(a, b) for a, b in zip(self.given, other.given, strict=False))

    def overlaps(self, other: Name) -> bool:
        """Whether some author's name matches both (`A. Sogaard` and `Søgaard`, `J. Doe` and
        `Jane Doe`; not `Jane Doe` and `John Doe`)."""
        return self.surname == other.surname and all(
            _same_given(a, b) for a, b in zip(self.given, other.given, strict=False)
        )

    def covers(self, other: Name) -> bool:
        """Whether every author `other` matches, this matches too (`Søgaard` covers
        `A. Sogaard`, `A. Sogaard` covers `Anders Søgaard`, not the other way round)."""
        return (
            self.surname == other.surname
            and len(self.given) <= len(other.given)
            and all(_covers_given(a, b) for a, b in zip(self.given, other.given, strict=False))
        )


def _covers_given(wide: str, narrow: str) -> bool:
    return narrow.startswith(wide) if len(wide) == 1 else wide == narrow


def _same_given(a: str, b: str) -> bool:
    if len(a) == 1 or len(b) == 1:
        return a[0] == b[0]
    return a == b


@functools.lru_cache(maxsize=65_536)
def parse_name(text: str) -> Name | None:
    """A name as written on arXiv or typed by a person (`Jane Doe`, `J.-P. Dupont`, `Doe, Jane`,
    `J\\"org M\\"uller`); None when it holds no letters."""
    clean = tex_to_unicode(text) if "\\" in text or "{" in text else text
    surname_part, comma, given_part = clean.partition(",")
    if comma and given_part.strip():
        clean = f"{given_part} {surname_part}"
    parts = _NAME_PART.findall(fold(clean))
    if not parts:
        return None
    return Name(tuple(parts[:-1]), parts[-1])


# -- keywords ------------------------------------------------------------------------------------


def keyword_terms(text: str) -> tuple[tuple[str, ...], ...]:
    """A keyword follow's terms: each quoted phrase and each unquoted word, as folded singular
    words (empty terms dropped)."""
    terms: list[tuple[str, ...]] = []
    for m in _TERM.finditer(text):
        phrase, word = m.group(1), m.group(2)
        term = tuple(words(phrase if phrase is not None else word))
        if term and term not in terms:
            terms.append(term)
    return tuple(terms)


# -- what a person typed -------------------------------------------------------------------------


def parse_follow(kind: str, arg: str) -> Follow:
    """A follow from `follow author …` / `follow keyword …`, checked; BotError says what is
    wrong with it."""
    text = " ".join(arg.split())
    if not text:
        what = _("give a name to follow") if kind == AUTHOR else _("give a keyword to follow")
        raise BotError(f"{what}, e.g. `/arxiv follow {kind} {_EXAMPLE[kind]}`")
    if len(text) > MAX_TEXT:
        too_long = (
            _("that name is {length} characters long; a followed author has at most {limit}")
            if kind == AUTHOR
            else _(
                "that keyword is {length} characters long; a followed keyword has at most {limit}"
            )
        )
        raise BotError(too_long.format(length=number(len(text)), limit=number(MAX_TEXT)))
    if kind == AUTHOR:
        if "\\" in text or "{" in text:
            text = " ".join(tex_to_unicode(text).split())
        if parse_name(text) is None:
            raise BotError(
                _("{text} has no letters to match an author's name against").format(text=repr(text))
            )
        return Follow(AUTHOR, text)
    terms = keyword_terms(text)
    if not terms:
        raise BotError(
            _("{text} has no words to match titles and abstracts against").format(text=repr(text))
        )
    if len(terms) > MAX_TERMS:
        raise BotError(
            _(
                "that keyword has {count} words and phrases; at most {limit} (quote a phrase: "
                '`"graph neural network"`)'
            ).format(count=len(terms), limit=MAX_TERMS)
        )
    return Follow(KEYWORD, text)


_EXAMPLE = {AUTHOR: "Jane Doe", KEYWORD: '"diffusion model"'}


def follow_key(follow: Follow) -> str:
    """What makes two follows the same: `J\\"org Doe` and `Jörg Doe`, `"Diffusion Models"` and
    `"diffusion model"` are one follow."""
    if follow.kind == AUTHOR:
        name = parse_name(follow.text)
        assert name is not None
        return f"author:{' '.join(name.given)}|{name.surname}"
    return "keyword:" + "|".join(" ".join(t) for t in keyword_terms(follow.text))


def same_author(new: Follow, follows: Sequence[Follow]) -> tuple[Follow | None, Follow | None]:
    """For a new author follow, the channel's author follow that already matches every paper
    it would (first), else one that matches some of the same authors under another spelling or
    with other initials (second); (None, None) when the name is new to the channel."""
    name = parse_name(new.text) if new.kind == AUTHOR else None
    if name is None:
        return None, None
    overlapping: Follow | None = None
    for f in follows:
        other = parse_name(f.text) if f.kind == AUTHOR else None
        if other is None:
            continue
        if other.covers(name):
            return f, None
        if overlapping is None and other.overlaps(name):
            overlapping = f
    return None, overlapping


def describe(follow: Follow) -> str:
    """A follow in words, as a reason a paper is shown: `follows author Jane Doe`,
    `follows keyword “diffusion model”`."""
    if follow.kind == AUTHOR:
        return f"follows author {follow.text}"
    return f"follows keyword “{follow.text.strip(chr(34) + '“”')}”"


_REASON = re.compile(r"^follows (author|keyword) (.+)$", re.DOTALL)


def reason_text(reason: str) -> str:
    """A stored reason (`describe`'s English words, the form digests keep) in the active
    locale: `folgt Autor Jane Doe`; the name or keyword stays as typed."""
    found = _REASON.match(reason)
    if found is None:
        return reason
    if found[1] == "author":
        return _("follows author {name}").format(name=found[2])
    return _("follows keyword {keyword}").format(keyword=found[2])


# -- matching ------------------------------------------------------------------------------------


class Matcher:
    """The follows of a channel, prepared once to match many papers."""

    def __init__(self, follows: Sequence[Follow]) -> None:
        self._authors: dict[str, list[tuple[Name, Follow]]] = {}
        self._keywords: list[tuple[tuple[tuple[str, ...], ...], Follow]] = []
        for f in follows:
            if f.kind == AUTHOR:
                name = parse_name(f.text)
                if name is not None:
                    self._authors.setdefault(name.surname, []).append((name, f))
            elif f.kind == KEYWORD:
                terms = keyword_terms(f.text)
                if terms:
                    self._keywords.append((terms, f))

    def __bool__(self) -> bool:
        return bool(self._authors or self._keywords)

    def reasons(self, paper: Paper) -> tuple[str, ...]:
        """Why the paper is followed (one reason per follow it matches, authors first), or
        nothing."""
        found: list[str] = []
        if self._authors:
            seen: set[int] = set()
            for author in paper.authors:
                name = parse_name(author)
                if name is None:
                    continue
                for wanted, follow in self._authors.get(name.surname, ()):
                    if id(follow) in seen or not wanted.matches(name):
                        continue
                    seen.add(id(follow))
                    spelled = " ".join(author.split())
                    reason = describe(follow)
                    found.append(reason if spelled == follow.text else f"{reason} ({spelled})")
        if self._keywords:
            text = words(f"{paper.title} . {paper.abstract}")
            at: dict[str, list[int]] = {}
            for n, w in enumerate(text):
                at.setdefault(w, []).append(n)
            for terms, follow in self._keywords:
                if all(_holds(text, at, term) for term in terms):
                    found.append(describe(follow))
        return tuple(found)


def _holds(text: Sequence[str], at: Mapping[str, list[int]], term: tuple[str, ...]) -> bool:
    """Whether the words `term` occur in a row in `text` (`at`: each word's positions)."""
    n = len(term)
    return any(tuple(text[i : i + n]) == term for i in at.get(term[0], ()))


def match(papers: Iterable[Paper], follows: Sequence[Follow]) -> dict[str, tuple[str, ...]]:
    """The followed papers among `papers`, by id, with why each is followed."""
    matcher = Matcher(follows)
    if not matcher:
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for paper in papers:
        reasons = matcher.reasons(paper)
        if reasons:
            out[paper.id] = reasons
    return out


async def match_off_loop(
    papers: Sequence[Paper], follows: Sequence[Follow]
) -> dict[str, tuple[str, ...]]:
    """`match` in a worker thread, so a large day never holds up the event loop; nothing to do
    without follows."""
    if not follows or not papers:
        return {}
    return await asyncio.to_thread(match, list(papers), list(follows))


BROAD_SHARE = 0.25
"""A keyword matching more than this share of a day's papers is broad: each match goes to the
LLM every day, so it is warned about when followed."""


def reach_note(matched: int, day_size: int, latest: date | None = None) -> str:
    """What a new keyword follow would have matched on the latest stored day (`latest`; None:
    today), with a cost warning when that is more than a quarter."""
    note = (
        _("It matches {matched} of today's {papers} papers.")
        if latest is None
        else _("It matches {matched} of the {papers} papers of {day}.")
    ).format(matched=number(matched), papers=number(day_size), day=latest and day_text(latest))
    if day_size and matched > BROAD_SHARE * day_size:
        note += " " + _(
            "That is more than a quarter of the day: every paper it matches goes to the LLM "
            "whatever the channel's share, so it adds about {matched} papers a day to what "
            "the channel pays for; a quoted phrase or more words match fewer."
        ).format(matched=number(matched))
    return note


def followed_entries(
    papers: Iterable[Paper], matched: Mapping[str, tuple[str, ...]], scores: Mapping[str, Score]
) -> tuple[FollowedEntry, ...]:
    """The followed papers of a day with their reasons and scores: scored ones first in the
    digest's order (best total, then relevance, novelty), then the rest; ties by arXiv id."""
    entries = [FollowedEntry(p, matched[p.id], scores.get(p.id)) for p in papers if p.id in matched]
    return tuple(sorted(entries, key=_followed_order))


def _followed_order(entry: FollowedEntry) -> tuple[int, int, int, int, str]:
    s = entry.score
    if s is None:
        return (1, 0, 0, 0, entry.paper.id)
    return (0, -s.total, -s.relevance, -s.novelty, entry.paper.id)
