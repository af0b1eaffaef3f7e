"""The notes a digest says about itself, and their wording in the reader's language.

A digest is stored once and shown many times, perhaps after the channel chose another language,
so a note is kept as a `Note`: its kind (papers that could not be scored, the daily budget
reached, the LLM unreachable, a day never built) and its figures. `note_text` writes it in the
active locale each time it is shown, its numbers, dollars and dates formatted for it. A note kept
as finished words (the weekly post's, or what digests stored before notes had kinds hold) is
shown as it is. It also owns how a digest writes its figures for the reader (`cost_text`,
`day_text`; `bot.digest.selection` re-exports them).

The stored form keeps both: `notes` the English words (what scripts and older readers read) and
`note_data` the kinds and figures (`notes_to_json`, `notes_from_json`).

Pure: this module must not read the store, and it must not translate data (an error's reason
stays as it came).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from bot.i18n import DEFAULT, _, active, money, ngettext, number, using
from bot.i18n import day as locale_day
from bot.models import Note
from scoring.pricing import format_usd

Values = Mapping[str, Any]

UNSCORED = "unscored"
BUDGET = "budget"
LLM_DOWN = "llm-down"
LLM_REFUSED = "llm-refused"
NEVER_BUILT = "never-built"


def cost_text(dollars: float | None, priced: bool = True) -> str:
    """Dollars as the active locale writes them (`$0.08`, `0,08 $`); English keeps
    `format_usd`'s spelling, which every report shares."""
    if _english():
        return format_usd(dollars, priced)
    if dollars is None or not priced or dollars != dollars:  # NaN
        return _("n/a")
    return money(dollars)


def day_text(day: date) -> str:
    """A digest's day as the active locale writes it (`07.12.2026`); English keeps the ISO
    date, the spelling `day YYYY-MM-DD` takes (`en_US` too: a Slack user's locale)."""
    return day.isoformat() if _english() else locale_day(day)


def _english() -> bool:
    return active().split("_")[0] == DEFAULT


def note(kind: str, **values: str | int | float) -> Note:
    """A note of `kind` with its figures."""
    return Note(kind, tuple(sorted(values.items())))


def _unscored(v: Values) -> str:
    return _(
        "{unscored} of {sent} papers could not be scored; they will be retried on the next run."
    ).format(unscored=number(v["unscored"]), sent=number(v["sent"]))


def _budget(v: Values) -> str:
    return ngettext(
        "The daily LLM budget of {budget} was reached: {unscored} of {sent} paper waits for "
        "tomorrow's budget.",
        "The daily LLM budget of {budget} was reached: {unscored} of {sent} papers wait for "
        "tomorrow's budget.",
        int(v["unscored"]),
    ).format(
        budget=cost_text(float(v["budget"])),
        unscored=number(v["unscored"]),
        sent=number(v["sent"]),
    )


def _llm_refused(v: Values) -> str:
    return _(
        "The LLM refused the bot's API key, so {waiting} of {sent} papers are not scored yet; "
        "retrying will not help until OPENAI_API_KEY is fixed."
    ).format(waiting=number(v["waiting"]), sent=number(v["sent"]))


def _llm_down(v: Values) -> str:
    return _(
        "The LLM could not be reached ({reason}), so {waiting} of {sent} papers are not scored "
        "yet. I will try again at {at} {timezone} and add the ones that qualify to this digest."
    ).format(
        reason=v["reason"],
        waiting=number(v["waiting"]),
        sent=number(v["sent"]),
        at=v["at"],
        timezone=v["timezone"],
    )


def _never_built(v: Values) -> str:
    return _(
        "This channel's digest of {day} was never built; shown is what was already scored "
        "under its criteria (nothing was sent to the LLM for this)."
    ).format(day=day_text(date.fromisoformat(str(v["day"]))))


_WORDING: dict[str, Callable[[Values], str]] = {
    UNSCORED: _unscored,
    BUDGET: _budget,
    LLM_REFUSED: _llm_refused,
    LLM_DOWN: _llm_down,
    NEVER_BUILT: _never_built,
}


def note_text(item: Note | str) -> str:
    """A note in the active locale (finished words as they are)."""
    if isinstance(item, str):
        return item
    return _WORDING[item.kind](dict(item.values))


def notes_to_json(notes: Sequence[Note | str]) -> dict[str, Any]:
    """The stored form of a digest's notes: their English words, and each note's kind and
    figures (None for finished words)."""
    with using(DEFAULT):
        texts = [note_text(n) for n in notes]
    data = [
        None if isinstance(n, str) else {"kind": n.kind, "values": dict(n.values)} for n in notes
    ]
    return {"notes": texts, **({"note_data": data} if any(data) else {})}


def notes_from_json(data: Mapping[str, Any]) -> tuple[Note | str, ...]:
    """The inverse of `notes_to_json`; a digest stored before notes had kinds, or one naming a
    kind (or figures) this version does not word, keeps its stored words."""
    texts = [str(t) for t in data.get("notes") or ()]
    kinds = data.get("note_data") or ()
    if len(kinds) != len(texts):
        return tuple(texts)
    notes: list[Note | str] = []
    for text, kind in zip(texts, kinds, strict=True):
        known = isinstance(kind, Mapping) and kind.get("kind") in _WORDING
        values = kind.get("values") if known else None
        read = note(str(kind["kind"]), **values) if known and isinstance(values, Mapping) else None
        notes.append(read if read is not None and _wordable(read) else text)
    return tuple(notes)


def _wordable(item: Note) -> bool:
    """Whether a stored note's figures are the ones its kind needs (a row written by another
    version may differ): otherwise its stored words are shown."""
    try:
        with using(DEFAULT):
            note_text(item)
    except (KeyError, ValueError, TypeError):
        return False
    return True
