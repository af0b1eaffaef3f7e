"""A paper's full text as sections, and the sections that best answer a question.

Pure functions only: `sections_from_html` reads arXiv's HTML rendering with a real HTML
parser (BeautifulSoup over the standard library's parser), `sections_from_pdf` reads a PDF's
text with pypdf and cuts it into pseudo-sections, `best_sections` ranks sections for a question
with BM25. A document that cannot be read raises `PaperTextError` with a short reason.

It must not fetch anything, touch the store or talk to the LLM (`bot.arxiv.fetch`,
`bot.conversation.ask_commands` and `scoring.ask` do).
"""

from __future__ import annotations

import io
import math
import re
from collections import Counter
from collections.abc import Sequence

from bot.errors import BotError
from bot.models import Section

MAX_SECTION_CHARS = 6_000
"""Characters of one section kept (a long section is cut into parts of this size)."""
MAX_SECTIONS = 200
MAX_PDF_PAGES = 60
_WORD = re.compile(r"[a-z0-9]+")
_STOP_WORDS = (
    "a an and are as at be by can do does for from has have how i in is it its of on or that "
    "the their they this to use used uses using was were what which who why with"
)
_STOP = frozenset(_STOP_WORDS.split())


class PaperTextError(BotError):
    """A paper's full text could not be read (the message says why, for the user)."""


def sections_from_html(html: str) -> list[Section]:
    """The sections of arXiv's HTML rendering (LaTeXML): each `section`/`subsection` heading's
    number and title with the paragraphs under it; the abstract is a section of its own."""
    from bs4 import BeautifulSoup  # loads only when a paper is asked about

    soup = BeautifulSoup(html, "html.parser")
    for junk in soup(["script", "style", "nav", "header", "footer", "math", "figure"]):
        junk.decompose()
    root = soup.find("article") or soup.body or soup
    sections: list[Section] = []
    number, title, parts = "", "Front matter", []
    for node in root.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p"]):
        if node.name == "p":
            text = " ".join(node.get_text(" ").split())
            if text:
                parts.append(text)
            continue
        _add(sections, number, title, parts)
        number, title = _heading(node.get_text(" "))
        parts = []
    _add(sections, number, title, parts)
    if not sections:
        raise PaperTextError("arXiv's HTML page of this paper has no text")
    return sections[:MAX_SECTIONS]


def _heading(text: str) -> tuple[str, str]:
    words = " ".join(text.split())
    m = re.match(r"^((?:[A-Z]|\d+)(?:\.\d+)*)\.?\s+(.*)$", words)
    return (m.group(1), m.group(2)) if m and m.group(2) else ("", words)


def _add(sections: list[Section], number: str, title: str, parts: list[str]) -> None:
    text = " ".join(parts)
    for start in range(0, len(text), MAX_SECTION_CHARS):
        sections.append(Section(number, title, text[start : start + MAX_SECTION_CHARS]))


def sections_from_pdf(data: bytes) -> list[Section]:
    """A PDF's text as pseudo-sections, one a page ("page 3"); a file that is not a PDF, is
    encrypted or holds no text raises PaperTextError."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if not data.startswith(b"%PDF-"):
        raise PaperTextError("arXiv's PDF of this paper is not a PDF")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise PaperTextError("arXiv's PDF of this paper is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages[:MAX_PDF_PAGES]]
    except (PyPdfError, ValueError, KeyError, TypeError):
        raise PaperTextError("arXiv's PDF of this paper cannot be read") from None
    sections: list[Section] = []
    for n, text in enumerate(pages, 1):
        _add(sections, "", f"page {n}", [" ".join(text.split())])
    if not sections:
        raise PaperTextError("arXiv's PDF of this paper has no text")
    return sections[:MAX_SECTIONS]


def words(text: str) -> list[str]:
    """The words BM25 counts: lower-cased letters and digits, common words left out."""
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


def normalise_question(question: str) -> str:
    """A question as the same question: case, spacing and end punctuation ignored."""
    return " ".join(question.lower().split()).rstrip(" ?!.")


def best_sections(
    sections: Sequence[Section], question: str, k: int = 4, *, k1: float = 1.5, b: float = 0.75
) -> list[Section]:
    """The `k` sections that match `question` best by BM25, in the paper's order; with no
    question word matching, the first `k` sections."""
    docs = [Counter(words(f"{s.title} {s.text}")) for s in sections]
    query = set(words(question))
    if not docs or not query:
        return list(sections[:k])
    avg = sum(sum(d.values()) for d in docs) / len(docs) or 1.0
    df = {w: sum(1 for d in docs if w in d) for w in query}
    n = len(docs)

    def score(doc: Counter[str]) -> float:
        size = sum(doc.values())
        total = 0.0
        for w in query:
            tf = doc.get(w, 0)
            if tf:
                idf = math.log(1 + (n - df[w] + 0.5) / (df[w] + 0.5))
                total += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * size / avg))
        return total

    scores = [score(d) for d in docs]
    if not any(scores):
        return list(sections[:k])
    ranked = sorted(range(n), key=lambda i: -scores[i])[:k]
    return [sections[i] for i in sorted(i for i in ranked if scores[i] > 0)]
