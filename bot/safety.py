"""Making user and paper text inert before it is echoed into a chat: no control characters, no
mass mentions, no platform mention syntax. Adapters still escape for their own markup.

Pure functions only.
"""

from __future__ import annotations

import re

_MASS_MENTION = re.compile(r"@(everyone|here|channel)\b", re.IGNORECASE)
_MENTION_SYNTAX = re.compile(r"<([!@#])")
_WORD_JOINER = "\u2060"


def strip_controls(text: str) -> str:
    """Drop control characters other than newline and tab."""
    return "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())


def defuse(text: str) -> str:
    """Text that can be shown anywhere without pinging anyone: `@everyone` and `<!channel>`
    keep their look but lose their power."""
    text = _MASS_MENTION.sub(lambda m: f"@{_WORD_JOINER}{m.group(1)}", strip_controls(text))
    return _MENTION_SYNTAX.sub(lambda m: f"<{_WORD_JOINER}{m.group(1)}", text)


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rsplit(" ", 1)[0].rstrip() + "…"
