"""A channel's settings as a form: the fields a settings form shows, each one's current value
written as the `/arxiv settings` grammar writes it, and a submitted form as one change.

Pure, like `bot.config.channels`, whose change functions read every field, so a form accepts
exactly what the commands accept and refuses it with the same words. Only the fields whose
value differs from the current one are read, and every field's problem is reported at once
(`FormErrors`, by field), before anything is changed. Labels are marked for the catalogs and
translated where a form shows them; refusals are written in the active locale.

It must not store anything or know a platform.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.config.channels import (
    WEEKDAYS,
    ChannelSettings,
    SettingError,
    categories_change,
    cross_lists_change,
    learning_change,
    llm_share_change,
    threshold_change,
    time_change,
    weekly_change,
)
from bot.errors import BotError
from bot.i18n import N_, _
from bot.safety import whole_number


@dataclass(frozen=True, slots=True)
class FormField:
    """One field of the settings form: its name, label (English, `_()` where shown), an
    example, and its choices (a toggle) if it has a fixed set."""

    name: str
    label: str
    example: str
    choices: tuple[str, ...] = ()


SETTINGS_FIELDS: tuple[FormField, ...] = (
    FormField("time", N_("Daily post: time and time zone"), "08:30 Europe/Berlin"),
    FormField("thresholds", N_("Thresholds: relevance, then novelty (1–10)"), "8 7"),
    FormField("categories", N_("arXiv categories"), "cs.LG, cs.AI"),
    FormField("cross_lists", N_("Cross-listed papers"), "on", ("on", "off")),
    FormField("llm_share", N_("Sent to the LLM: share of the day, dollar cap"), "30% $none"),
    FormField("learning", N_("Learn from likes"), "on", ("on", "off")),
    FormField("weekly", N_("Weekly post: off, or on with day and time"), "on friday 16:00"),
)
FIELDS_BY_NAME = {f.name: f for f in SETTINGS_FIELDS}


class FormErrors(BotError):
    """A submitted form that cannot be applied: what is wrong with each field."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)


def _on(flag: bool) -> str:
    return "on" if flag else "off"


def form_values(s: ChannelSettings) -> dict[str, str]:
    """Each field's current value, as the grammar would write it."""
    dollars = "$none" if s.llm_dollars is None else f"${s.llm_dollars:g}"
    weekly = (
        "off"
        if s.weekly_day is None
        else f"on {WEEKDAYS[s.weekly_day]} {s.weekly_time.strftime('%H:%M')}"
    )
    return {
        "time": f"{s.post_time.strftime('%H:%M')} {s.timezone}",
        "thresholds": f"{s.thresholds.relevance} {s.thresholds.novelty}",
        "categories": ", ".join(s.categories),
        "cross_lists": _on(s.cross_lists),
        "llm_share": f"{s.llm_share * 100:g}% {dollars}",
        "learning": _on(s.learning),
        "weekly": weekly,
    }


def thresholds_change(value: str) -> dict[str, Any]:
    """`8 7` (relevance, then novelty) or `relevance 8 novelty 7` as overrides."""
    words = value.lower().replace(",", " ").split()
    if len(words) == 4 and {words[0], words[2]} == {"relevance", "novelty"}:
        return {**threshold_change(" ".join(words[:2])), **threshold_change(" ".join(words[2:]))}
    if len(words) == 2 and all(whole_number(w) is not None for w in words):
        return {
            **threshold_change(f"relevance {words[0]}"),
            **threshold_change(f"novelty {words[1]}"),
        }
    raise SettingError(_("give two whole numbers from 1 to 10, relevance then novelty, e.g. `8 7`"))


def _weekly(value: str, current: ChannelSettings) -> dict[str, Any]:
    words = value.lower().split()
    if words and words[0] not in ("on", "off", "yes", "no", "true", "false", "1", "0"):
        words.insert(0, "on")  # `friday 16:00` means it should be on
    return weekly_change(" ".join(words), current)


_CHANGES: dict[str, Callable[[str, ChannelSettings], dict[str, Any]]] = {
    "time": lambda v, s: time_change(v, s.timezone),
    "thresholds": lambda v, _: thresholds_change(v),
    "categories": lambda v, _: categories_change(v),
    "cross_lists": lambda v, _: cross_lists_change(v),
    "llm_share": lambda v, _: llm_share_change(v),
    "learning": lambda v, _: learning_change(v),
    "weekly": _weekly,
}


def _same(a: str, b: str) -> bool:
    return " ".join(a.lower().split()) == " ".join(b.lower().split())


def form_change(values: Mapping[str, str], current: ChannelSettings) -> dict[str, Any]:
    """The overrides a submitted form makes (fields left as they were change nothing; unknown
    fields are ignored); `FormErrors` names every field that cannot be read."""
    before = form_values(current)
    change: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, value in values.items():
        if name not in before or _same(value, before[name]):
            continue
        if not value.strip():
            errors[name] = _("{field} cannot be empty").format(field=_(FIELDS_BY_NAME[name].label))
            continue
        try:
            change.update(_CHANGES[name](value, current))
        except SettingError as exc:
            errors[name] = str(exc)
    if errors:
        raise FormErrors(errors)
    return change
