"""Reading an LLM's scoring reply into `Score` values, however untidy the reply is.

This module owns the tolerant parse of one reply: the structured `{"papers": [...]}` object, a
bare list, one object, or JSONL lines, wrapped in markdown fences or chatter, cut short by a
token limit, with loose key names (the prompt's short `r`, `n`, `c` or spelled out), id
spellings and score formats. Whatever cannot be used becomes a short problem note next to the
scores that could be read.

It must not do I/O, log, call the LLM, decide retries or raise: `parse_reply` returns a value for
any string, and problem notes never quote more than a few dozen characters of the reply.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from bot.models import Score

QUOTE_LIMIT: Final = 80
MAX_TLDR_CHARS: Final = 200  # one line on a card; a model that writes a paragraph is cut
MAX_PROBLEMS: Final = 20
MAX_LISTED_IDS: Final = 5
SCORE_RANGE: Final = range(1, 11)
DECODE_WINDOWS: Final = (1_024, 65_536)
WINDOW_MARGIN: Final = 16  # a window splitting `null` or `-Infinity` fails at its start
MAX_LONG_DECODES: Final = 8

_ID_KEYS: Final = frozenset({"id", "arxivid", "paperid", "arxiv"})
_RELEVANCE_KEYS: Final = frozenset({"relevance", "relevancescore", "r"})
_NOVELTY_KEYS: Final = frozenset({"novelty", "noveltyscore", "n"})
_COMMENT_KEYS: Final = frozenset({"comment", "comments", "reason", "reasoning", "explanation", "c"})
_TLDR_KEYS: Final = frozenset({"tldr", "tl;dr", "summary", "oneline", "t"})
_ANSWER_KEYS: Final = _RELEVANCE_KEYS | _NOVELTY_KEYS | _COMMENT_KEYS

_DECODER: Final = json.JSONDecoder()
_OBJECT_START: Final = re.compile(r"\{\s*\"")
_KEY_NOISE: Final = re.compile(r"[\s_\-]")
_ID_FORMS: Final = re.compile(
    r"^(?:(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/|arxiv:\s*)?"
    r"(?P<id>.+?)(?:v\d+)?(?:\.pdf)?/?$",
    re.IGNORECASE,
)
_SCORE_TEXT: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*10\s*)?$")
_MISSING: Final = object()


@dataclass(frozen=True, slots=True)
class ParsedReply:
    """The scores read from one reply, and what was wrong with the rest of it."""

    scores: tuple[Score, ...]
    problems: tuple[str, ...]


class _Miss(Enum):
    """Why no JSON object could be read at a position."""

    FAILED = "failed"
    TOO_LONG = "too long"


class _Rejected(Exception):
    """One paper object could not be used; the message is its problem note."""


def parse_reply(text: str, expected_ids: Collection[str]) -> ParsedReply:
    """Read every usable paper score in `text`, keeping only ids that were asked for."""
    values, cut_at = _json_objects(text)
    objects = list(_paper_objects(values))
    if not objects:
        return ParsedReply((), (_nothing_found(text, cut_at),))
    wanted = {normalise_id(paper_id): paper_id for paper_id in expected_ids}
    scores, problems = _read_papers(objects, wanted)
    if cut_at is not None:
        problems.append(f"reply cut off at char {cut_at}; kept the complete objects before it")
    scored = {score.paper_id for score in scores}
    missing = [paper_id for paper_id in wanted.values() if paper_id not in scored]
    if missing:
        problems.append(_missing_note(missing, len(wanted)))
    return ParsedReply(tuple(scores), _capped(problems))


def normalise_id(raw: str) -> str:
    """The bare arXiv id in `arXiv:2505.00326`, `https://arxiv.org/abs/2505.00326v2` and alike."""
    stripped = raw.strip()
    match = _ID_FORMS.match(stripped)
    return match.group("id") if match else stripped


def _json_objects(text: str) -> tuple[list[Any], int | None]:
    """Every JSON object that decodes completely, and where a trailing object was cut, if one was.

    Decoding from each `{"` rather than matching JSON with a regex keeps every complete object in
    front of a cut, whatever wraps it (a fence, chatter, an outer object that never closes).
    """
    values: list[Any] = []
    cut_at: int | None = None
    long_tries = MAX_LONG_DECODES
    start = _OBJECT_START.search(text)
    while start is not None:
        pos = start.start()
        try:
            found = _decode_window(text, pos)
            if found is _Miss.TOO_LONG and long_tries > 0:
                long_tries -= 1
                found = _decode_whole(text, pos)
        except RecursionError:
            # Only a hostile reply nests this deep; retrying from every inner `{` would cost
            # quadratic time, so reading stops here as if the reply had been cut.
            return values, pos
        if isinstance(found, _Miss):
            cut_at = pos if cut_at is None else cut_at
            start = _OBJECT_START.search(text, pos + 1)
            continue
        value, end = found
        values.append(value)
        cut_at = None
        start = _OBJECT_START.search(text, end)
    return values, cut_at


def _decode_window(text: str, pos: int) -> tuple[Any, int] | _Miss:
    """The JSON object at `pos`, read through short windows of the text.

    A failed decode costs time in proportion to where it failed within the string it was given
    (json counts lines for its message), so failing against the whole text at every `{` would
    make a long reply quadratic; a window keeps each failure local.
    """
    for size in DECODE_WINDOWS:
        window = text[pos : pos + size]
        try:
            value, end = _DECODER.raw_decode(window)
        except ValueError as error:
            where = getattr(error, "pos", 0)
            if len(window) < size or where < len(window) - WINDOW_MARGIN:
                return _Miss.FAILED
            continue
        return value, pos + end
    return _Miss.TOO_LONG


def _decode_whole(text: str, pos: int) -> tuple[Any, int] | _Miss:
    """The JSON object at `pos` when it is longer than every window."""
    try:
        return _DECODER.raw_decode(text, pos)
    except ValueError:
        return _Miss.FAILED


def _paper_objects(values: list[Any]) -> Iterator[dict[str, Any]]:
    """Objects that carry a paper id, found at any depth, in reply order.

    A walk with an explicit stack, because a hostile reply can nest deeper than Python recurses.
    """
    stack: list[Any] = list(reversed(values))
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(reversed(value))
        elif isinstance(value, dict):
            if _is_paper(value):
                yield value
                continue
            for key, inner in reversed(list(value.items())):
                if _is_keyed_by_id(inner):
                    # Some models answer {"2505.00326": {"relevance": 9, ...}, ...}.
                    stack.append({**inner, "id": key})
                else:
                    stack.append(inner)


def _is_paper(obj: Mapping[str, Any]) -> bool:
    """Whether `obj` is one paper's answer rather than a wrapper that happens to have an id."""
    keys = {_normal_key(key) for key in obj}
    if not keys & _ID_KEYS:
        return False
    has_answer = bool(keys & _ANSWER_KEYS)
    has_children = any(isinstance(inner, dict | list) for inner in obj.values())
    return has_answer or not has_children


def _is_keyed_by_id(value: object) -> bool:
    """Whether `value` is a paper's scores filed under its id rather than carrying it."""
    return (
        isinstance(value, dict)
        and _field(value, _ID_KEYS) is _MISSING
        and _field(value, _RELEVANCE_KEYS) is not _MISSING
    )


def _read_papers(
    objects: list[dict[str, Any]], wanted: Mapping[str, str]
) -> tuple[list[Score], list[str]]:
    """Scores of the usable objects, first valid one per id, and a note for each other one."""
    scores: list[Score] = []
    problems: list[str] = []
    seen: set[str] = set()
    for obj in objects:
        try:
            score = _read_paper(obj, wanted, seen)
        except _Rejected as rejected:
            problems.append(str(rejected))
            continue
        seen.add(score.paper_id)
        scores.append(score)
    return scores, problems


def _read_paper(obj: Mapping[str, Any], wanted: Mapping[str, str], seen: set[str]) -> Score:
    """One paper object as a score, or `_Rejected` saying why it cannot be one."""
    paper_id = _expected_id(_field(obj, _ID_KEYS), wanted)
    if paper_id in seen:
        raise _Rejected(f"ignored a second answer for {paper_id}")
    return Score(
        paper_id=paper_id,
        relevance=_score(_field(obj, _RELEVANCE_KEYS), "relevance", paper_id),
        novelty=_score(_field(obj, _NOVELTY_KEYS), "novelty", paper_id),
        comment=_comment(_field(obj, _COMMENT_KEYS)),
        tldr=_tldr(_field(obj, _TLDR_KEYS)),
    )


def _expected_id(raw: object, wanted: Mapping[str, str]) -> str:
    """The asked-for id that `raw` names; anything else was invented by the model."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise _Rejected(f"dropped a paper whose id is {_show(raw)}")
    text = str(raw)
    paper_id = wanted.get(normalise_id(text))
    if paper_id is None:
        raise _Rejected(f"dropped id not asked for: {_quote(text)}")
    return paper_id


def _score(raw: object, name: str, paper_id: str) -> int:
    """A 1–10 score from an int, a float or text like "8" or "8/10".

    Out-of-range values are rejected rather than clamped: a 0 or a 37 means the model misread
    the scale, so its other numbers are not to be trusted either.
    """
    if raw is _MISSING or raw is None:
        raise _Rejected(f"dropped {paper_id}: no {name}")
    value = _number(raw)
    if value is None:
        raise _Rejected(f"dropped {paper_id}: {name} is not a number: {_show(raw)}")
    if value not in SCORE_RANGE:
        raise _Rejected(f"dropped {paper_id}: {name} {_show(raw)} is outside 1-10")
    return value


def _number(raw: object) -> int | None:
    """`raw` as a whole number rounded half up, or None when it is not numeric."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        match = _SCORE_TEXT.match(raw)
        raw = float(match.group(1)) if match else None
    if isinstance(raw, float) and math.isfinite(raw):
        return math.floor(raw + 0.5)
    return None


def _comment(raw: object) -> str:
    """The model's comment as text; a missing or structured comment becomes empty."""
    if isinstance(raw, str):
        return raw.strip()
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return str(raw)
    return ""


def _tldr(raw: object) -> str:
    """The one-line TL;DR: text on one line, cut at MAX_TLDR_CHARS; anything else is empty."""
    if not isinstance(raw, str):
        return ""
    line = " ".join(raw.split())
    return line if len(line) <= MAX_TLDR_CHARS else line[: MAX_TLDR_CHARS - 1] + "…"


def _field(obj: Mapping[str, Any], aliases: frozenset[str]) -> Any:
    """The value under any spelling of a key (`ARXIVID`, `arxiv_id`, `Paper-Id`...)."""
    for key, value in obj.items():
        if _normal_key(key) in aliases:
            return value
    return _MISSING


def _normal_key(key: object) -> str:
    """A key folded so that `ARXIVID`, `arxiv_id` and `Arxiv-Id` compare equal."""
    return _KEY_NOISE.sub("", key).lower() if isinstance(key, str) else ""


def _nothing_found(text: str, cut_at: int | None) -> str:
    """The single problem of a reply without one usable paper object."""
    if not text.strip():
        return "empty reply"
    if cut_at is not None:
        return f"reply cut off at char {cut_at} before any complete paper object"
    return f"no paper scores in reply: {_quote(text)}"


def _missing_note(missing: list[str], asked: int) -> str:
    """A short note naming the first few papers the reply did not score."""
    listed = ", ".join(missing[:MAX_LISTED_IDS])
    more = ", …" if len(missing) > MAX_LISTED_IDS else ""
    return f"no score for {len(missing)} of {asked} papers: {listed}{more}"


def _capped(problems: list[str]) -> tuple[str, ...]:
    """At most MAX_PROBLEMS notes, so a reply of invented ids cannot flood a log line."""
    if len(problems) <= MAX_PROBLEMS:
        return tuple(problems)
    extra = len(problems) - MAX_PROBLEMS + 1
    return (*problems[: MAX_PROBLEMS - 1], f"… and {extra} more problems")


def _show(raw: object) -> str:
    """A JSON value for a problem note; containers by kind only, as they may be huge or deep."""
    if isinstance(raw, dict):
        return "an object"
    if isinstance(raw, list):
        return "a list"
    return _quote(raw if isinstance(raw, str) else json.dumps(raw))


def _quote(text: str) -> str:
    """`text` on one line, shortened to QUOTE_LIMIT characters, in quotes."""
    flat = " ".join(text[: QUOTE_LIMIT * 4].split())
    if len(flat) > QUOTE_LIMIT:
        flat = flat[: QUOTE_LIMIT - 1] + "…"
    return f'"{flat}"'
