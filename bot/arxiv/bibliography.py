"""What a team pastes or uploads to `import`, read as arXiv ids: ids and links, BibTeX, and the
items of a Zotero library.

- **ids and links**: `2505.00326`, `arXiv:2505.00326v2`, `math/0501001`,
  `https://arxiv.org/abs/2505.00326`, `arxiv.org/pdf/2505.00326v1.pdf`, `<https://…|label>` as
  chat platforms send links; separated by spaces, commas, semicolons or lines.
- **BibTeX** (`bibtexparser`): an entry's arXiv id comes from `eprint` (when it looks like
  one, or `archiveprefix` says arXiv), `arxiv`/`arxivid`, an arXiv link in `url`, `howpublished`
  or `note`, a DOI `10.48550/arXiv.X`, or `arXiv:X` in `journal`; an entry with none is
  returned with its title, for the caller to match by title through the arXiv API.
- **Zotero** items (the Web API's JSON): the same fields under Zotero's names (`url`, `DOI`,
  `extra`'s `arXiv: X`, `archiveID`, `publicationTitle`).

Pure functions of text and dicts: no I/O. `titles_match` says whether an arXiv title is the
one an entry names. This module must not fetch, store or decide what is imported.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.arxiv.feed import parse_arxiv_id

_BARE_ID = r"(?:\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Za-z-]+)?/\d{7})(?:v\d+)?"
_LINK = re.compile(
    r"(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/(" + _BARE_ID + r")",
    re.IGNORECASE,
)
_PREFIXED = re.compile(r"(?:arxiv[:\s]\s*|arxiv\.)(" + _BARE_ID + r")", re.IGNORECASE)
_DOI = re.compile(r"10\.48550/arxiv\.(" + _BARE_ID + r")", re.IGNORECASE)
_TOKEN = re.compile(r"[\s,;]+")
_ENTRY_START = re.compile(r"^\s*@\s*[A-Za-z]+\s*[{(]", re.MULTILINE)
_NOT_ENTRIES = frozenset({"comment", "preamble", "string"})
_WORDS = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Entry:
    """One reference read from BibTeX or Zotero: a label to name it by (its key or title),
    its title, and its arXiv id when it has one."""

    label: str
    title: str
    arxiv_id: str | None


@dataclass(frozen=True, slots=True)
class PastedIds:
    """What pasted text held: arXiv ids in order (unversioned, once each), and the words that
    are not one."""

    ids: tuple[str, ...]
    unread: tuple[str, ...]


def arxiv_id_in(text: str) -> str | None:
    """The arXiv id (unversioned) a field names: a bare id, `arXiv:X`, an arXiv link or an
    arXiv DOI; None when it names none."""
    text = text.strip().strip("{}").strip()
    parsed = parse_arxiv_id(text.removeprefix("arXiv:").removeprefix("arxiv:"))
    if parsed is not None:
        return parsed[0]
    for pattern in (_LINK, _DOI, _PREFIXED):
        m = pattern.search(text)
        if m is not None and (found := parse_arxiv_id(m.group(1))) is not None:
            return found[0]
    return None


def pasted_ids(text: str) -> PastedIds:
    """Ids and links pasted as text, in order, each once; the other words are `unread`."""
    ids: dict[str, None] = {}
    unread: list[str] = []
    for word in _TOKEN.split(text):
        token = word.strip("<>()[]\"'").split("|", 1)[0]
        if not token:
            continue
        found = arxiv_id_in(token)
        if found is None:
            unread.append(word)
        else:
            ids[found] = None
    return PastedIds(tuple(ids), tuple(unread))


def looks_like_bibtex(text: str) -> bool:
    """Whether text reads as BibTeX (an `@type{` at the start of a line)."""
    return _ENTRY_START.search(text) is not None


def count_bibtex_entries(text: str) -> int:
    """About how many entries a BibTeX text holds, cheaply, before it is parsed (for the cap)."""
    return sum(
        1
        for m in _ENTRY_START.finditer(text)
        if m.group(0).strip().lstrip("@").rstrip("{(").strip().lower() not in _NOT_ENTRIES
    )


def bibtex_entries(text: str) -> list[Entry]:
    """The entries of a BibTeX text (CPU work: call it off the event loop). Entries the parser
    could not read are left out; `@string` macros are expanded."""
    import bibtexparser  # only imports read BibTeX: keep it off every start

    library = bibtexparser.parse_string(text)  # type: ignore[attr-defined]
    return [
        _bib_entry(e.key, {f.key.lower(): str(f.value) for f in e.fields}) for e in library.entries
    ]


def _bib_entry(key: str, fields: Mapping[str, str]) -> Entry:
    title = _clean_title(fields.get("title", ""))
    return Entry(key or title, title, _bib_arxiv_id(fields))


def _bib_arxiv_id(fields: Mapping[str, str]) -> str | None:
    eprint = fields.get("eprint", "")
    prefix = fields.get("archiveprefix", fields.get("eprinttype", "")).strip("{} ").lower()
    if eprint and (prefix in ("", "arxiv") or arxiv_id_in(eprint)):
        found = arxiv_id_in(eprint)
        if found:
            return found
    for name in ("arxiv", "arxivid", "url", "doi", "howpublished", "note", "journal"):
        value = fields.get(name)
        if value and (found := _field_id(name, value)):
            return found
    return None


def _field_id(name: str, value: str) -> str | None:
    if name in ("arxiv", "arxivid"):
        return arxiv_id_in(value)
    # a bare number in a note or journal is not an id: only links, DOIs and `arXiv:` count
    for pattern in (_LINK, _DOI, _PREFIXED):
        m = pattern.search(value)
        if m is not None and (found := parse_arxiv_id(m.group(1))) is not None:
            return found[0]
    return None


def zotero_entries(items: Iterable[Mapping[str, Any]]) -> list[Entry]:
    """The references among a Zotero library's items (the Web API's JSON): attachments and
    notes are left out."""
    entries = []
    for item in items:
        data = item.get("data", item)
        if not isinstance(data, Mapping) or data.get("itemType") in ("attachment", "note"):
            continue
        title = _clean_title(str(data.get("title") or ""))
        label = title or str(data.get("key") or item.get("key") or "an untitled item")
        entries.append(Entry(label, title, _zotero_arxiv_id(data)))
    return entries


def _zotero_arxiv_id(data: Mapping[str, Any]) -> str | None:
    for name in ("archiveID", "url", "DOI", "extra", "publicationTitle", "repository", "number"):
        value = data.get(name)
        if not isinstance(value, str) or not value:
            continue
        if name == "number" and str(data.get("repository", "")).lower() != "arxiv":
            continue
        found = arxiv_id_in(value) if name in ("archiveID", "number") else _field_id(name, value)
        if found:
            return found
    return None


def _clean_title(title: str) -> str:
    """A BibTeX title without its braces and runs of whitespace."""
    return " ".join(title.replace("{", "").replace("}", "").split())


def title_words(title: str) -> tuple[str, ...]:
    """A title as lowercase words without accents or punctuation (for matching)."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return tuple(_WORDS.findall(folded))


def titles_match(wanted: str, found: str) -> bool:
    """Whether arXiv's title `found` is the title an entry names (the same words, in order)."""
    a, b = title_words(wanted), title_words(found)
    return bool(a) and a == b
