"""Making user and paper text inert before it is echoed anywhere: no control or invisible
characters (C0/C1 controls, bidi overrides and isolates, zero-width characters, BOMs), no mass
mentions, no platform mention syntax, and no unbounded length. Adapters still escape for their
own markup, and each rendering calls these before it does. `whole_number` is the one way user
text becomes a number (card, line, version, threshold): ASCII digits of bounded length, so `³`,
`٣` or a 5,000-digit number is simply "not a number" instead of a crash in `int`.
`UNDECOMPOSED` spells the letters Unicode does not take apart (`ø`, `ł`, `ß`, `æ`...) as the
ASCII names are usually written with, for every comparison that ignores accents (follows and the
full-text index alike).

Pure functions only; no knowledge of any platform's markup.
"""

from __future__ import annotations

import re
from typing import Final

UNDECOMPOSED: Final = {
    "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "þ": "th",
    "Þ": "th", "ı": "i", "ß": "ss", "ẞ": "ss", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe",
}  # fmt: skip
"""Letters NFKD leaves whole, as they are transliterated (`Søgaard` is written `Sogaard`)."""
_UNDECOMPOSED_ONE: Final = str.maketrans({k: v for k, v in UNDECOMPOSED.items() if len(v) == 1})
_UNDECOMPOSED_MORE: Final = {k: v for k, v in UNDECOMPOSED.items() if len(v) > 1}


def spell_undecomposed(text: str) -> str:
    """`text` with the letters of `UNDECOMPOSED` spelled out (`Søgaard` → `Sogaard`)."""
    for letter, spelled in _UNDECOMPOSED_MORE.items():
        text = text.replace(letter, spelled)
    return text.translate(_UNDECOMPOSED_ONE)


_MASS_MENTION: Final = re.compile(r"@(everyone|here|channel)\b", re.IGNORECASE)
_MENTION_SYNTAX: Final = re.compile(r"<([!@#])")
_WORD_JOINER: Final = "\u2060"

# Every Unicode control (Cc, except tab and newline), format character (Cf: soft hyphen, bidi
# marks, embeddings, overrides and isolates, zero-width space/joiners, word joiner, BOM, tags)
# and lone surrogate (Cs, which no encoder can write). A test checks the list against the
# running Python's Unicode database. The word joiner that `defuse` puts after `@` or `<` stays,
# so text defused once cannot be re-armed by a later pass.
_INVISIBLE: Final = re.compile(
    "(?<![@<])\u2060|["
    "\x00-\x08\x0b-\x1f\x7f-\x9f"
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u202a-\u202e\u2061-\u2064\u2066-\u206f"
    "\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
    "\ud800-\udfff"
    "]"
)
# Spaces other than ASCII's (no-break, en, em, thin, ideographic...) read as one space, and the
# Unicode line and paragraph separators as a newline.
_SPACES: Final = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_LINE_SEPARATORS: Final = re.compile("[\u2028\u2029]")


def strip_controls(text: str) -> str:
    """`text` without control or invisible characters; tabs and newlines stay, and other
    Unicode spaces and line separators become plain ones."""
    text = _INVISIBLE.sub("", text)
    return _LINE_SEPARATORS.sub("\n", _SPACES.sub(" ", text))


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


def excerpt(text: str, limit: int) -> str:
    """`text` on one line, without invisible characters, at most `limit` characters (cut with
    an ellipsis). Only the start of a huge text is looked at, so a 2 MB abstract costs what a
    short one does."""
    head = text[: limit * 4 + 64]
    flat = " ".join(strip_controls(head).split())
    if len(head) < len(text) and len(flat) <= limit:
        flat = flat[: max(limit - 1, 0)].rstrip() + "…"
    return clip(flat, limit)


MAX_NUMBER_DIGITS = 6  # no card, line, version or threshold the bot shows needs more


def whole_number(text: str, max_digits: int = MAX_NUMBER_DIGITS) -> int | None:
    """`text` (surrounding spaces aside) as a whole number when it is 1 to `max_digits` ASCII
    digits, else None: no sign, no superscripts or other scripts' digits, nothing `int` would
    refuse or take long over."""
    word = text.strip()
    if not 0 < len(word) <= max_digits or not (word.isascii() and word.isdigit()):
        return None
    return int(word)
