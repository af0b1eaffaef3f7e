"""Reading one chat-completion body (HTTP 200) into reply text and token counts, whatever shape
an OpenAI-compatible server gave it.

This module owns the tolerant read of the envelope around the model's answer: `choices` that is
not a list or is empty, a choice without a message, `message: null`, `content` given as a list
of parts (read as their text joined), a refusal, usage counts sent as strings or garbage (a
numeric string is read, anything else counts as 0, nothing is negative or absurdly large). What
cannot be read becomes a one-line `problem`, never an exception.

It must not do I/O, log, call the LLM or price anything, and problems never quote more than a
few dozen characters of the body. Reading the answer itself (the scores) is `scoring.parse`'s.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

MAX_TOKENS_PER_CALL: Final = 10_000_000  # no model reads or writes more in one call
QUOTE_LIMIT: Final = 40
_TOKEN_TEXT: Final = re.compile(r"^\s*\d{1,12}(?:\.\d*)?\s*$", re.ASCII)


@dataclass(frozen=True, slots=True)
class Completion:
    """What one reply body said: its text (None when there is none to read, with `problem`
    saying why) and its token counts (zero when absent or unreadable)."""

    text: str | None
    problem: str | None = None
    refusal: bool = False  # `text` is the model's refusal, not an answer
    has_usage: bool = False
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0


def read_completion(body: bytes | str) -> Completion:
    """The reply text and usage of a chat-completion body; never raises."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return Completion(None, f"reply is not JSON: {_quote(body)}")
    if not isinstance(data, Mapping):
        return Completion(None, f"reply is {_kind(data)}, not a completion object")
    text, problem, refusal = _reply_text(data.get("choices"))
    usage = data.get("usage")
    if not isinstance(usage, Mapping):
        return Completion(text, problem, refusal)
    details = usage.get("prompt_tokens_details")
    prompt = token_count(usage.get("prompt_tokens"))
    cached = token_count(details.get("cached_tokens")) if isinstance(details, Mapping) else 0
    return Completion(
        text,
        problem,
        refusal,
        has_usage=True,
        prompt_tokens=prompt,
        cached_tokens=min(cached, prompt),
        completion_tokens=token_count(usage.get("completion_tokens")),
    )


def token_count(raw: object) -> int:
    """A usage count as a whole number of tokens: ints and numeric strings are read, anything
    else (text, null, a list, a negative or non-finite number) counts as 0."""
    if isinstance(raw, bool):
        return 0
    if isinstance(raw, str):
        raw = float(raw) if _TOKEN_TEXT.match(raw) else 0
    if isinstance(raw, float):
        raw = int(raw) if math.isfinite(raw) else 0
    if isinstance(raw, int):
        return min(max(raw, 0), MAX_TOKENS_PER_CALL)
    return 0


def content_text(content: object) -> str | None:
    """`content` as text: a string as it is, a list of parts as their text joined (parts are
    strings or objects with a `text` field); None for anything else."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    pieces: list[str] = []
    for part in content:
        if isinstance(part, str):
            pieces.append(part)
        elif isinstance(part, Mapping) and isinstance(part.get("text"), str):
            pieces.append(part["text"])
    return "".join(pieces)


def _reply_text(choices: object) -> tuple[str | None, str | None, bool]:
    """The first choice's text (or refusal, and that it is one), or None and why."""
    if not isinstance(choices, list):
        return None, f"reply's choices are {_kind(choices)}, not a list", False
    if not choices:
        return None, "reply has no choices", False
    first = choices[0]
    if not isinstance(first, Mapping):
        return None, f"reply's first choice is {_kind(first)}, not an object", False
    message = first.get("message")
    if not isinstance(message, Mapping):
        return None, f"reply's first choice has no message ({_kind(message)})", False
    text = content_text(message.get("content"))
    if text and text.strip():
        return text, None, False
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal.strip():
        return refusal, None, True
    return None, "reply has no content" if text is None else "empty reply", False


def _kind(value: Any) -> str:
    """A JSON value described by its kind, for a problem note."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return f"the text {_quote(value)}"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _quote(raw: bytes | str) -> str:
    head = raw[: QUOTE_LIMIT * 4]
    text = head.decode("utf-8", "replace") if isinstance(head, bytes) else head
    flat = " ".join(text.split())
    if len(flat) > QUOTE_LIMIT:
        flat = flat[: QUOTE_LIMIT - 1] + "…"
    return f'"{flat}"'
