"""What a card says beyond the abstract: where the code is and where the paper appeared.

- **Code**: GitHub, GitLab and Hugging Face links found in the abstract or the arXiv comment
  (`https://github.com/org/repo`, also written without `https://` or inside TeX's `\\url{…}`),
  trailing punctuation dropped, each repository once, at most `MAX_CODE_LINKS`.
- **Venue**: the arXiv API's journal reference when the authors gave one, else what the comment
  says: "Accepted at ICML 2025", "To appear in Proc. ACM SIGMOD", "Published in TMLR", cut at
  the end of that statement.
- **arXiv links**: the papers a message links to (`arxiv.org/abs/…`, `/pdf/…`, `/html/…`, with
  or without a version or `.pdf`), each once, for unfurling shared links.

Pure functions of a `Paper`; every platform renders their result within its own limits. This
module must not do I/O or render markup.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from bot.models import Paper

MAX_CODE_LINKS: Final = 3
MAX_URL_CHARS: Final = 200  # a longer "repository link" is not one, and would not fit a card
VENUE_CHARS: Final = 160

_CODE: Final = re.compile(
    r"(?<![\w.@/])(?:https?://)?(?:www\.)?"
    r"(?P<host>github\.com|gitlab\.com|huggingface\.co)"
    r"(?P<path>/[A-Za-z0-9][\w.~%+-]*(?:/[\w.~%+#=-]+)*)",
    re.IGNORECASE,
)
_TRAILING: Final = ".,;:!?'\")]}"
_VENUE: Final = re.compile(
    r"\b(?P<said>(?:accepted|to appear|appearing|published|presented)"
    r"(?: as an? [\w -]{1,30}?)?(?: for publication)?(?: (?:at|in|to|by|for|on))?)"
    r"\s+(?P<venue>[^;\n]+)",
    re.IGNORECASE,
)
_SENTENCE_END: Final = re.compile(
    r"\.\s+(?=[A-Z][a-z]+\s|\d)|\.$|,\s*\d+\s*(?i:pages|figures|tables)"
)
_HF_SECTIONS: Final = frozenset({"datasets", "spaces", "collections"})
MAX_ARXIV_LINKS: Final = 5  # papers of one message unfurled or scored; more is a list, not a link
_ARXIV_LINK: Final = re.compile(
    r"(?<![\w.])(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/"
    r"(?P<id>\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?![\d])(?:v\d+)?",
    re.IGNORECASE,
)


def code_links(paper: Paper) -> tuple[str, ...]:
    """Code and model links in the abstract and comment, as https URLs, in the order found."""
    return _code_links_in(paper.comment or "", paper.abstract)


@functools.lru_cache(maxsize=4096)
def _code_links_in(comment: str, abstract: str) -> tuple[str, ...]:
    """`code_links` of a comment and an abstract, found once however many digests show the
    paper (a day's 1,000 channels store its digest's papers 1,000 times)."""
    found: dict[str, str] = {}
    for text in (comment, abstract):
        for m in _CODE.finditer(text):
            url = _code_url(m.group("host").lower(), m.group("path"))
            if url is not None:
                found.setdefault(url.lower(), url)
    return tuple(found.values())[:MAX_CODE_LINKS]


def _code_url(host: str, path: str) -> str | None:
    """A canonical link to a repository (owner and name; on Hugging Face also a section),
    or None when the path names no repository (`github.com/features`)."""
    parts = [p for p in path.rstrip(_TRAILING).split("/") if p]
    parts = [p.rstrip(_TRAILING) for p in parts]
    parts = [p for p in parts if p]
    need = 3 if host == "huggingface.co" and parts and parts[0] in _HF_SECTIONS else 2
    if len(parts) < need:
        return None
    if host == "gitlab.com":  # GitLab nests groups: keep the path up to its `/-/` part
        kept = parts[: parts.index("-")] if "-" in parts else parts
    else:
        kept = parts[:need]
    url = f"https://{host}/{'/'.join(kept)}"
    return url if len(url) <= MAX_URL_CHARS else None


def venue(paper: Paper) -> str | None:
    """Where the paper appeared or will: the journal reference, else an "accepted at …" or
    "to appear in …" of the comment; None when neither says."""
    if paper.journal_ref and paper.journal_ref.strip():
        return _short(" ".join(paper.journal_ref.split()))
    if not paper.comment:
        return None
    m = _VENUE.search(paper.comment)
    if m is None:
        return None
    place = _SENTENCE_END.split(m.group("venue"), maxsplit=1)[0].strip(" ,:-")
    if not place:
        return None
    said = " ".join(m.group("said").split())
    return _short(f"{said[0].upper()}{said[1:]} {place}")


def _short(text: str) -> str:
    return text if len(text) <= VENUE_CHARS else text[: VENUE_CHARS - 1].rstrip() + "…"


def arxiv_link_ids(text: str) -> tuple[str, ...]:
    """The arXiv ids (without version) of the abstract, PDF and HTML links in `text`, in the
    order found, each once, at most `MAX_ARXIV_LINKS`."""
    found: dict[str, None] = {}
    for m in _ARXIV_LINK.finditer(text):
        found.setdefault(m.group("id"), None)
    return tuple(found)[:MAX_ARXIV_LINKS]
