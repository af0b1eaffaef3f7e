"""The bot's own words in the reader's language: language codes, gettext catalogs, the active
locale, and numbers, dates and money formatted for it.

    language codes  `language_code` reads `de`, `zh-CN`, `pt_BR` (Babel's locale list) into one
                    spelling; `closest_language` names the code a typo meant; `language_name` is a
                    code's English name, for the LLM's prompts
    catalogs        `bot/locale/<code>/LC_MESSAGES/bot.po`, compiled into memory on first use
                    (a `.mo` beside it is not needed, so a fresh clone works as it is)
    active locale   a context variable: `using(code)` around the work of one reply or one post;
                    `_()` and `ngettext()` translate under it, `N_()` only marks a constant for
                    extraction (translated where it is shown)
    pseudo-locale   `PSEUDO` wraps every translated string in ⟦…⟧, so a test can see any user
                    text that escaped translation; no channel can choose it

This module must not read the store or settings, import a platform SDK, or translate data:
titles, abstracts, ids, criteria text and what the LLM wrote stay as they are.
"""

from __future__ import annotations

import difflib
import gettext
import io
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.localedata import locale_identifiers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent

DEFAULT = "en"
PSEUDO = "qps"  # Windows' pseudo-locale tag; Babel knows no such language, so none can set it
DOMAIN = "bot"
LOCALE_DIR = Path(__file__).with_name("locale")
MAX_CODE = 16
_CODE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,2}$", re.ASCII)
# asked first when guessing what a typo meant: a typo of `de` should not become Ewe (`ee`)
_COMMON = ("en", "de", "fr", "es", "it", "pt", "nl", "pl", "ru", "uk", "zh", "ja", "ko", "ar")

_active: ContextVar[str] = ContextVar("locale", default=DEFAULT)


def language_code(text: str) -> str | None:
    """`text` as a language code in one spelling (`de`, `zh_CN`, `pt_BR`); None when Babel knows
    no such locale."""
    word = text.strip()
    if len(word) > MAX_CODE or not _CODE.match(word):
        return None
    try:
        locale = Locale.parse(word.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return None
    return locale.language + (f"_{locale.territory}" if locale.territory else "")


def closest_language(text: str) -> str | None:
    """The language code a mistyped `text` most likely meant, if one is close."""
    word = text.strip().lower().replace("-", "_")[:MAX_CODE]
    for pool in (_COMMON, sorted(locale_identifiers())):
        close = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
        if close:
            return close[0]
    return None


def language_name(code: str) -> str:
    """A language code's English name (`German`, `Chinese (China)`), as the LLM is told it."""
    try:
        return str(Locale.parse(code).english_name)
    except (UnknownLocaleError, ValueError):
        return code


class _Pseudo(gettext.NullTranslations):
    """Every translated string wrapped in ⟦…⟧: a string without them escaped translation."""

    def gettext(self, message: str) -> str:
        return f"⟦{message}⟧"

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return f"⟦{msgid1 if n == 1 else msgid2}⟧"


def catalog_dir(code: str) -> Path | None:
    """The catalog a code is served from: its own, else its language's (`zh` reads `zh_CN`)."""
    language = code.split("_")[0]
    for name in (code, language):
        if (LOCALE_DIR / name / "LC_MESSAGES" / f"{DOMAIN}.po").is_file():
            return LOCALE_DIR / name
    found = sorted(LOCALE_DIR.glob(f"{language}_*/LC_MESSAGES/{DOMAIN}.po"))
    return found[0].parents[1] if found else None


def catalog_locale(text: str) -> str:
    """`text` (a platform locale such as `de-DE`) as a code a catalog serves (`de_DE`), else
    English: for a page that follows a person only in a language the bot writes."""
    code = language_code(text) if text else None
    return code if code is not None and catalog_dir(code) is not None else DEFAULT


@cache
def translations(code: str) -> gettext.NullTranslations:
    """The compiled catalog of a code (English, the source language, has none)."""
    if code == PSEUDO:
        return _Pseudo()
    where = catalog_dir(code) if code != DEFAULT else None
    if where is None:
        return gettext.NullTranslations()
    with (where / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        catalog = read_po(po, locale=where.name)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def preload() -> None:
    """Compile every catalog now, before the event loop runs, so no reply waits for one."""
    for po in sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        translations(po.parents[1].name)


def active() -> str:
    """The locale replies are written in now."""
    return _active.get()


@contextmanager
def using(code: str | None) -> Iterator[None]:
    """Write in `code` (the default when None or empty) until the block ends."""
    token = _active.set(code or DEFAULT)
    try:
        yield
    finally:
        _active.reset(token)


def _(message: str) -> str:
    """`message` in the active locale."""
    return translations(_active.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for `n`, in the active locale."""
    return translations(_active.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a constant for extraction; `_()` translates it where it is shown."""
    return message


def _babel_locale() -> str:
    code = _active.get()
    return DEFAULT if code == PSEUDO else code


def number(value: float, digits: int = 0) -> str:
    """A number for the active locale (`1,234` / `1.234`)."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=_babel_locale())


def percent(share: float) -> str:
    """A share for the active locale (`30%` / `30 %`)."""
    return format_percent(share, locale=_babel_locale())


def money(dollars: float) -> str:
    """US dollars for the active locale: cents from a cent up, two significant digits below
    (`$0.0020` in English, `0,0020 $` in German), as `scoring.pricing.format_usd` writes them."""
    amount = abs(dollars)
    decimals = 2
    if amount and round(amount, 2) < 0.01:
        decimals = min(1 - math.floor(math.log10(amount)), 6)
    # the locale's own pattern (`¤#,##0.00`, `#,##0.00 ¤`) with the decimals this amount needs
    standard = Locale.parse(_babel_locale()).currency_formats["standard"].pattern
    pattern = standard.split(";")[0].replace("0.00", "0." + "0" * decimals, 1)
    return format_currency(
        dollars, "USD", format=pattern, locale=_babel_locale(), currency_digits=False
    )


def day(value: date | datetime) -> str:
    """A date for the active locale (`Dec 7, 2026` / `07.12.2026`)."""
    return format_date(value, format="medium", locale=_babel_locale())
