"""A channel's own settings: the bot's defaults overlaid with what the channel changed.

Pure: parsing and validating `/arxiv settings ...` arguments into overrides, and resolving
overrides against the defaults. Storage of the overrides is the store's job.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.arxiv.categories import check_categories
from bot.config.settings import CATEGORY_RE, Settings
from bot.errors import BotError
from bot.i18n import DEFAULT as DEFAULT_LANGUAGE
from bot.i18n import N_, _, closest_language, language_code, money, percent
from bot.models import Thresholds
from bot.safety import whole_number

# re.ASCII: `\d` alone also matches other scripts' digits, which the grammar does not accept
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$", re.ASCII)
_ON = {"on", "yes", "true", "1"}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAY_NAMES = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)
DEFAULT_WEEKLY = (4, "16:00")  # Friday afternoon, when `weekly on` names no day or time
_OFF = {"off", "no", "false", "0"}


class SettingError(BotError):
    """A `/arxiv settings` change that cannot be applied; says why."""


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    """Everything a channel can choose."""

    categories: tuple[str, ...]
    thresholds: Thresholds
    cross_lists: bool
    post_time: time
    timezone: str
    llm_share: float = 0.3
    llm_min_papers: int = 60
    llm_dollars: float | None = None
    learning: bool = True
    prompt_examples: int = 5  # bot-wide (ARXIV_BOT_PROMPT_EXAMPLES), not set per channel
    warmup_share: float = 0.6  # bot-wide (ARXIV_BOT_WARMUP_SHARE): the warm-up's largest share
    weekly_day: int | None = None  # the weekly post's weekday (0 = Monday); None: off
    weekly_time: time = time(16, 0)  # its local time, in `timezone`
    weekly_kept_day: int | None = None  # the weekday kept while the post is off, for `weekly on`
    language: str = DEFAULT_LANGUAGE  # what the LLM writes for the channel, and the bot's words
    language_set: bool = False  # whether the channel chose it (else a reply may follow the user)

    @classmethod
    def defaults(cls, settings: Settings) -> ChannelSettings:
        """The bot-wide defaults from the settings file."""
        hour, minute = settings.post_time.split(":")
        return cls(
            categories=settings.categories,
            thresholds=Thresholds(settings.min_relevance, settings.min_novelty),
            cross_lists=settings.cross_lists,
            post_time=time(int(hour), int(minute)),
            timezone=settings.timezone,
            llm_share=settings.llm_share,
            llm_min_papers=settings.llm_min_papers,
            learning=settings.learning,
            prompt_examples=settings.prompt_examples,
            warmup_share=settings.warmup_share,
        )

    def with_overrides(self, overrides: dict[str, Any]) -> ChannelSettings:
        """These settings with a channel's stored overrides applied."""
        s = self
        if "categories" in overrides:
            s = replace(s, categories=tuple(overrides["categories"]))
        if "relevance" in overrides or "novelty" in overrides:
            s = replace(
                s,
                thresholds=Thresholds(
                    int(overrides.get("relevance", s.thresholds.relevance)),
                    int(overrides.get("novelty", s.thresholds.novelty)),
                ),
            )
        if "cross_lists" in overrides:
            s = replace(s, cross_lists=bool(overrides["cross_lists"]))
        if "post_time" in overrides:
            s = replace(s, post_time=time.fromisoformat(overrides["post_time"]))
        if "timezone" in overrides:
            s = replace(s, timezone=str(overrides["timezone"]))
        if "llm_share" in overrides:
            s = replace(s, llm_share=float(overrides["llm_share"]))
        if "llm_dollars" in overrides:
            dollars = overrides["llm_dollars"]
            s = replace(s, llm_dollars=None if dollars is None else float(dollars))
        if "learning" in overrides:
            s = replace(s, learning=bool(overrides["learning"]))
        if "weekly_day" in overrides:
            day = overrides["weekly_day"]
            s = replace(s, weekly_day=None if day is None else int(day))
        if "weekly_time" in overrides:
            s = replace(s, weekly_time=time.fromisoformat(overrides["weekly_time"]))
        if overrides.get("weekly_kept_day") is not None:
            s = replace(s, weekly_kept_day=int(overrides["weekly_kept_day"]))
        if overrides.get("language"):
            s = replace(s, language=str(overrides["language"]), language_set=True)
        return s

    def llm_budget_text(self) -> str:
        """The channel's LLM budget in words."""
        if self.llm_share <= 0:
            return _("nothing: the share is 0, papers are ranked locally only (no LLM, no cost)")
        text = _("the top {share} of the local ranking (at least {least})").format(
            share=percent(self.llm_share), least=self.llm_min_papers
        )
        if self.llm_dollars is not None:
            text += _(", at most {dollars} a day").format(dollars=money(self.llm_dollars))
        return text

    def describe(self) -> str:
        """The settings as a short block of text."""
        on, off = _("on"), _("off")
        t = self.thresholds
        return "\n".join(
            [
                _("categories: {categories}").format(categories=", ".join(self.categories)),
                _("cross-lists: {on_off}").format(on_off=on if self.cross_lists else off),
                _("thresholds: relevance ≥ {relevance}, novelty ≥ {novelty}").format(
                    relevance=t.relevance, novelty=t.novelty
                ),
                _("daily post: {time} {zone}").format(
                    time=self.post_time.strftime("%H:%M"), zone=self.timezone
                ),
                _("sent to the LLM: {budget}").format(budget=self.llm_budget_text()),
                _("learning from likes: {on_off}").format(on_off=on if self.learning else off),
                _("weekly post: {when}").format(when=self.weekly_text()),
                _("language: {code}").format(code=self.language),
            ]
        )

    def weekly_text(self) -> str:
        """When the week's best is posted, in words."""
        if self.weekly_day is None:
            if self.weekly_kept_day is None:
                return _("off")
            return _("off (`weekly on` brings back {when})").format(
                when=self._weekly_when(self.weekly_kept_day)
            )
        return self._weekly_when(self.weekly_day)

    def _weekly_when(self, day: int) -> str:
        name = _(WEEKDAY_NAMES[day])
        return f"{name} {self.weekly_time.strftime('%H:%M')} {self.timezone}"


def threshold_change(arg: str) -> dict[str, Any]:
    """`relevance 7` or `novelty 6` as an override."""
    parts = arg.lower().split()
    if len(parts) != 2 or parts[0] not in ("relevance", "novelty"):
        raise SettingError(_("say which threshold and a value, e.g. `threshold relevance 7`"))
    value = whole_number(parts[1])
    if value is None or not 1 <= value <= 10:
        raise SettingError(
            _("a threshold is a whole number from 1 to 10, not {value}").format(
                value=repr(parts[1][:20])
            )
        )
    return {parts[0]: value}


def time_change(arg: str, current_zone: str) -> dict[str, Any]:
    """`08:30 [Europe/Berlin]` as an override."""
    parts = arg.split()
    if not parts or len(parts) > 2 or not _TIME.match(parts[0]):
        raise SettingError(
            _("give a 24-hour time and optionally a time zone, e.g. `time 08:30 Europe/Berlin`")
        )
    hour, minute = _TIME.match(parts[0]).groups()  # type: ignore[union-attr]
    zone = parts[1] if len(parts) == 2 else current_zone
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        guess = _zone_spelled(zone)
        if guess is not None:
            raise SettingError(
                _("unknown time zone {zone}; did you mean {guess}?").format(
                    zone=repr(zone[:60]), guess=guess
                )
            ) from None
        raise SettingError(
            _(
                "unknown time zone {zone}; use an IANA name such as Europe/Berlin or "
                "America/New_York"
            ).format(zone=repr(zone[:60]))
        ) from None
    return {"post_time": f"{int(hour):02d}:{minute}", "timezone": zone}


def _zone_spelled(zone: str) -> str | None:
    """The IANA name `zone` means when only its capitals are wrong (`europe/berlin`,
    `america/new_york`), if there is one."""
    parts = zone[:60].split("/")
    guess = "/".join("_".join(w.capitalize() for w in p.split("_")) for p in parts)
    if guess == zone:
        return None
    try:
        ZoneInfo(guess)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return guess


def categories_change(arg: str) -> dict[str, Any]:
    """`cs.CL,cs.LG` as an override."""
    cats = list(dict.fromkeys(c.strip() for c in re.split(r"[,\s]+", arg) if c.strip()))
    bad = [c for c in cats if not CATEGORY_RE.match(c)]
    if not cats or bad:
        shown = ", ".join(b[:20] for b in bad[:3]) or "nothing"
        raise SettingError(
            _("not arXiv categories: {shown} (expected e.g. cs.CL,cs.LG)").format(shown=shown)
        )
    if len(cats) > 20:
        raise SettingError(_("at most 20 categories per channel"))
    try:
        return {"categories": list(check_categories(cats))}
    except ValueError as exc:
        raise SettingError(
            _("{problem}; the categories are unchanged").format(problem=exc)
        ) from None


def cross_lists_change(arg: str) -> dict[str, Any]:
    """`on` or `off` as an override."""
    word = arg.strip().lower()
    if word not in _ON | _OFF:
        raise SettingError(_("say `cross-lists on` or `cross-lists off`"))
    return {"cross_lists": word in _ON}


_SHARE = re.compile(r"^(\d{1,6}(?:\.\d{1,6})?)(%?)$", re.ASCII)
_DOLLARS = re.compile(r"^\$(\d{1,6}(?:\.\d{1,6})?)$", re.ASCII)


def llm_share_change(arg: str) -> dict[str, Any]:
    """`30%`, `0.3`, `$0.05`, `30% $0.05` or `$none` as overrides of the LLM budget; `0`
    (or `0%`) ranks locally only."""
    words = arg.lower().split()
    out: dict[str, Any] = {}
    for word in words:
        share, dollars = _SHARE.match(word), _DOLLARS.match(word)
        if word in ("$none", "$off", "nolimit"):
            out["llm_dollars"] = None
        elif dollars:
            amount = float(dollars.group(1))
            if amount <= 0:
                raise SettingError(_("a dollar budget must be above $0 (`$none` removes it)"))
            out["llm_dollars"] = amount
        elif share:
            value = float(share.group(1)) / (100 if share.group(2) or "." not in word else 1)
            if not 0 <= value <= 1:
                raise SettingError(
                    _(
                        "the share is a percentage from 0% (rank locally only, no LLM) to "
                        "100%, e.g. `30%`"
                    )
                )
            out["llm_share"] = value
        else:
            raise SettingError(
                _(
                    "give a share of the day and/or dollars a day, e.g. `llm-share 30%`, "
                    "`llm-share $0.05` or `llm-share 30% $0.05` (`$none` removes the dollar "
                    "cap)"
                )
            )
    if not out:
        raise SettingError(_("give a share of the day, e.g. `llm-share 30%`"))
    return out


def learning_change(arg: str) -> dict[str, Any]:
    """`on` or `off` as an override (`reset` is an action, handled by the conversation)."""
    word = arg.strip().lower()
    if word not in _ON | _OFF:
        raise SettingError(_("say `learning on`, `learning off` or `learning reset`"))
    return {"learning": word in _ON}


def weekly_change(arg: str, current: ChannelSettings) -> dict[str, Any]:
    """`on [day] [HH:MM]` (either order; what is not given stays as it was, or as it was
    before `off`, or Friday 16:00) or `off` (which keeps the day and time for a later `on`)
    as overrides of the weekly post."""
    words = arg.lower().split()
    if words == ["off"] or (words and words[0] in _OFF and len(words) == 1):
        kept = current.weekly_day if current.weekly_day is not None else current.weekly_kept_day
        return {"weekly_day": None, "weekly_kept_day": kept}
    if not words or words[0] not in _ON or len(words) > 3:
        raise SettingError(
            _("say `weekly on [day HH:MM]` (e.g. `weekly on friday 16:00`) or `weekly off`")
        )
    day = next(
        (d for d in (current.weekly_day, current.weekly_kept_day) if d is not None),
        DEFAULT_WEEKLY[0],
    )
    chosen = current.weekly_day is not None or current.weekly_kept_day is not None
    at = current.weekly_time.strftime("%H:%M") if chosen else None
    for word in words[1:]:
        match = _TIME.match(word)
        if match:
            at = f"{int(match.group(1)):02d}:{match.group(2)}"
        elif ":" in word or word[:1].isdigit():
            raise SettingError(
                _("{word} is not a time: give a 24-hour time such as 16:00").format(
                    word=repr(word[:20])
                )
            )
        else:
            day = _weekday(word)
    return {"weekly_day": day, "weekly_time": at or DEFAULT_WEEKLY[1], "weekly_kept_day": None}


def language_change(arg: str) -> dict[str, Any]:
    """A language code (`de`, `zh_CN`, `pt-BR`) as an override; `en` is the default."""
    word = arg.strip()
    if not word:
        raise SettingError(_("give a language code, e.g. `language de` or `language zh_CN`"))
    code = language_code(word)
    if code is None:
        close = closest_language(word)
        shown = repr(word[:20])
        if close:
            raise SettingError(
                _("{word} is not a language code; did you mean {code}?").format(
                    word=shown, code=close
                )
            )
        raise SettingError(
            _("{word} is not a language code (e.g. de, fr, ja, zh_CN)").format(word=shown)
        )
    return {"language": code}


def _weekday(word: str) -> int:
    """A day name (or its first three letters) as 0 = Monday ... 6 = Sunday."""
    for n, name in enumerate(WEEKDAYS):
        if word in (name, name[:3]):
            return n
    close = difflib.get_close_matches(word, WEEKDAYS, n=1, cutoff=0.6)
    shown = repr(word[:20])
    if close:
        raise SettingError(
            _("{word} is not a day of the week; did you mean {day}?").format(
                word=shown, day=close[0]
            )
        )
    raise SettingError(_("{word} is not a day of the week (monday … sunday)").format(word=shown))
