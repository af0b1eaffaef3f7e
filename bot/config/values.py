"""How the text of one environment variable becomes a typed value.

Each reader takes a variable's text (stripped, never blank: a blank variable means its
default, which the caller decides) and returns the value, or raises ValueError saying what the
value must be, without echoing it (it may be a secret). `bot.config.settings` names, for each
setting, its variable and its reader.

This module must not read the environment or files, nor know any setting's name.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.secret import Secret

TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
FALSE = frozenset({"0", "false", "no", "off", "n", "f"})

Parse = Callable[[str], Any]
"""Reads one variable's (non-blank) text; raises ValueError with what it must be."""


def text(text: str) -> str:
    """The text as it is."""
    return text


def secret(text: str) -> Secret:
    """The text as a `Secret`: it shows as asterisks from here on."""
    return Secret(text)


def path(text: str) -> Path:
    """A file path."""
    return Path(text)


def boolean(text: str) -> bool:
    """true/false, yes/no, on/off, 1/0 (in any case)."""
    value = text.lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ValueError("must be true or false")


def _range(low: float | None, high: float | None, *, above: bool = False) -> str:
    """How a bound reads in a message: "from 1 to 10", "at least 0", "above 0"."""
    if low is not None and high is not None:
        return f"from {low:g} to {high:g}" if not above else f"above {low:g}, at most {high:g}"
    if low is not None:
        return f"above {low:g}" if above else f"at least {low:g}"
    return f"at most {high:g}" if high is not None else ""


def whole(low: int | None = None, high: int | None = None) -> Parse:
    """A whole number within [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"must be a whole number {_range(low, high)}".rstrip()) from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"must be a whole number {_range(low, high)}")
        return value

    return parse


def number(low: float | None = None, high: float | None = None, *, above: bool = False) -> Parse:
    """A finite number within [low, high] (or (low, high] when `above`)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        too_low = low is not None and (value <= low if above else value < low)
        if not math.isfinite(value) or too_low or (high is not None and value > high):
            raise ValueError(f"must be a number {_range(low, high, above=above)}".rstrip())
        return value

    return parse


def choice(*allowed: str, upper: bool = False) -> Parse:
    """One of `allowed`, in any case (compared in upper case when `upper`)."""

    def parse(text: str) -> str:
        value = text.upper() if upper else text.lower()
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value

    return parse


def items(text: str) -> tuple[str, ...]:
    """Comma-separated items, trimmed, empty ones dropped."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def listed(item: Parse = text, *, at_least: int = 0) -> Parse:
    """Comma-separated items, each read by `item`; at least `at_least` of them."""

    def parse(text: str) -> tuple[Any, ...]:
        parts = items(text)
        if len(parts) < at_least:
            raise ValueError(f"needs at least {at_least} comma-separated value")
        return tuple(item(part) for part in parts)

    return parse


def url(*schemes: str) -> Parse:
    """A URL with one of these schemes."""

    def parse(text: str) -> str:
        if urlsplit(text).scheme not in schemes:
            article = "an" if schemes[0] == "http" else "a"
            raise ValueError(
                f"must be {article} " + " or ".join(f"{s}://" for s in schemes) + " URL"
            )
        return text

    return parse
