"""Criteria as numbered topics: the paragraphs and list items the ranking matches papers against
(`scoring.ranking.criteria_topics`), with where each sits in the text, so a team can list, remove
and add topics, and read what changed between two versions in one line.

Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.i18n import _, ngettext, number
from scoring.ranking import criteria_topics, preamble_blocks

_HEADING = re.compile(r"^#{1,6}\s+", re.MULTILINE)
_RUBRIC_HEADING = re.compile(r"scor|rubric|novelty|format|output", re.IGNORECASE)
_ITEM_START = re.compile(r"\n\s*\n|\n(?=(?:\d+[.)]|[-*•])\s)")
_NOT_WANTED = re.compile(
    r"^[\s>*_-]*(?:irrelevant|not relevant|exclude|avoid|not interested|application)\b",
    re.IGNORECASE,
)
_MARKUP = re.compile(r"[*_`>#]+")
_NUMBERED = re.compile(r"^\s*(\d+)[.)]\s")
_MARKER = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+")
LABEL_CHARS = 100
TITLE_CHARS = 60


@dataclass(frozen=True, slots=True)
class Topic:
    """One topic: the text the ranking reads, and its span in the criteria."""

    text: str
    start: int
    end: int
    source: str

    @property
    def label(self) -> str:
        """The topic on one line, without its list marker or markup."""
        flat = " ".join(_MARKUP.sub(" ", _MARKER.sub("", self.source)).split())
        return flat if len(flat) <= LABEL_CHARS else flat[: LABEL_CHARS - 1].rstrip() + "…"

    @property
    def title(self) -> str:
        """The topic's first line, without its list marker or markup."""
        first = _MARKER.sub("", self.source.strip().splitlines()[0])
        flat = " ".join(_MARKUP.sub(" ", first).split())
        return flat if len(flat) <= TITLE_CHARS else flat[: TITLE_CHARS - 1].rstrip() + "…"


def topics(text: str) -> list[Topic]:
    """The criteria's topics in order: what the ranking matches papers against. A section's
    heading line and its preamble (see `context`) are not topics."""
    return _split(text)[0]


def context(text: str) -> list[Topic]:
    """The prose that opens a section before its list of topics: it says how to read them, so
    it is shown with them but not numbered, and the ranking does not match papers against it."""
    return _split(text)[1]


def _split(text: str) -> tuple[list[Topic], list[Topic]]:
    found: list[Topic] = []
    lead: list[Topic] = []
    sections = _sections(text)
    kept = [s for s in sections if not _RUBRIC_HEADING.search(text[s[0] : s[1]].split("\n")[0])]
    for start, end in kept or sections:
        heading = text[start:end].split("\n", 1)[0] if start > 0 else None
        spans = _blocks(text, start, end)
        before = preamble_blocks([text[a:b] for a, b in spans]) if heading is not None else 0
        for n, (b_start, b_end) in enumerate(spans):
            block = text[b_start:b_end]
            yes = [ln for ln in block.splitlines() if not _NOT_WANTED.match(ln)]
            topic = _MARKUP.sub(" ", " ".join(yes)).strip()
            if len(topic.split()) < 2 or (heading is not None and block.strip() == heading.strip()):
                continue
            (lead if n < before else found).append(Topic(topic, b_start, b_end, block))
    if not found and not criteria_topics(text).wanted:
        return [], lead
    if not found:
        return [Topic(text.strip(), 0, len(text), text)], lead
    return found, lead


def remove_topic(text: str, topic: Topic) -> str:
    """The criteria without `topic`."""
    before, after = text[: topic.start].rstrip(), text[topic.end :].lstrip("\n")
    return (before + ("\n\n" if before and after else "") + after).strip() + "\n"


def add_topic(text: str, topic: str) -> str:
    """The criteria with `topic` after the last numbered topic (continuing its numbering), or
    after the last topic."""
    found = topics(text)
    numbered = [t for t in found if _NUMBERED.match(t.source)]
    if not found:
        return f"{text.rstrip()}\n\n- {topic}\n"
    anchor = numbered[-1] if numbered else found[-1]
    match = _NUMBERED.match(anchor.source)
    marker = f"{int(match.group(1)) + 1}." if match else "-"
    return (
        f"{text[: anchor.end].rstrip()}\n\n{marker} {topic}\n{text[anchor.end :]}".rstrip() + "\n"
    )


def change_summary(old: str | None, new: str) -> str:
    """What changed from `old` to `new` in one line: topics added, removed or edited, or
    "rewritten" when most of them changed."""
    if old is None:
        return _("first version: {topics}").format(topics=_number(len(topics(new))))
    if old.strip() == new.strip():
        return _("same text")
    before = {t.text: t for t in topics(old)}
    after = {t.text: t for t in topics(new)}
    added = [t for k, t in after.items() if k not in before]
    removed = [t for k, t in before.items() if k not in after]
    edited = {t.title for t in added} & {t.title for t in removed}
    added = [t for t in added if t.title not in edited]
    removed = [t for t in removed if t.title not in edited]
    if len(added) + len(removed) + len(edited) > max(2, len(before) // 2):
        return _("rewritten: {topics}").format(topics=_number(len(after)))
    parts = [_counted("+", added), _counted("−", removed)]
    if edited:
        parts.append(_("edited: {titles}").format(titles="; ".join(sorted(edited))))
    shown = "; ".join(p for p in parts if p)
    return shown or _("changed outside the topics (e.g. the scoring rubric)")


def _number(count: int) -> str:
    return ngettext("{count} topic", "{count} topics", count).format(count=number(count))


def _counted(sign: str, changed: list[Topic]) -> str:
    if not changed:
        return ""
    titles = "; ".join(t.title for t in changed)
    return f"{sign}{_number(len(changed))}: {titles}"


def _sections(text: str) -> list[tuple[int, int]]:
    marks = list(_HEADING.finditer(text))
    spans = [(0, marks[0].start() if marks else len(text))]
    for n, m in enumerate(marks):
        spans.append((m.end(), marks[n + 1].start() if n + 1 < len(marks) else len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _blocks(text: str, start: int, end: int) -> list[tuple[int, int]]:
    section = text[start:end]
    spans, at = [], 0
    for m in _ITEM_START.finditer(section):
        spans.append((start + at, start + m.start()))
        at = m.end()
    spans.append((start + at, end))
    return [(a, b) for a, b in spans if text[a:b].strip()]
