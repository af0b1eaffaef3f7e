"""Loading a team's criteria text: the default shipped with the bot, or a file the team edits.

This module owns reading and validating criteria text. It must not store or score anything.
"""

from __future__ import annotations

from pathlib import Path

from bot.errors import CriteriaError
from bot.i18n import _, number

MAX_CRITERIA_CHARS = 20_000
DEFAULT_CRITERIA_FILE = "default_criteria.md"


def default_criteria_text() -> str:
    """The criteria shipped with the bot: the reference topics and 1-10 rubric."""
    # beside this module in every install (a wheel or a checkout); importlib.resources would
    # find it too, at the cost of importing tempfile, shutil and zipfile on every command
    return Path(__file__).with_name(DEFAULT_CRITERIA_FILE).read_text("utf-8")


def validate_criteria(text: str) -> str:
    """Normalise criteria text, or raise CriteriaError saying what is wrong with it."""
    cleaned = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable()).strip()
    if not cleaned:
        raise CriteriaError(_("the criteria are empty: describe what your team wants to read"))
    if len(cleaned) > MAX_CRITERIA_CHARS:
        raise CriteriaError(
            _(
                "the criteria are {length} characters long; the limit is {limit} (every "
                "character is sent with every LLM request)"
            ).format(length=number(len(cleaned)), limit=number(MAX_CRITERIA_CHARS))
        )
    return cleaned + "\n"


def load_criteria(path: Path | None) -> str:
    """The criteria text from `path`, or the default when no file is configured."""
    if path is None:
        return validate_criteria(default_criteria_text())
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CriteriaError(f"criteria file not found: {path}") from None
    except OSError as exc:
        raise CriteriaError(f"cannot read criteria file {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CriteriaError(f"criteria file {path} is not UTF-8 text") from None
    try:
        return validate_criteria(text)
    except CriteriaError as exc:
        raise CriteriaError(f"criteria file {path}: {exc}") from None
