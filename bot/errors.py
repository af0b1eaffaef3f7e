"""The bot's exceptions.

    BotError                 a message fit to show a user as is (one line, no secret, no traceback)
     ├── SettingsError       the settings are invalid; lists every problem at once
     ├── CriteriaError       the criteria file is missing, empty or unreadable
     ├── FeedError           arXiv's feed could not be read or is not a feed
     │    ├── ArxivUnavailable  arXiv did not answer (network error, timeout, 5xx after retries)
     │    └── FeedUnreadable    the feed has items but none could be read (a format change):
     │                          not a holiday, and retrying the same feed will not help
     ├── ScoringError        the LLM endpoint refused the whole job (bad key, unknown model)
     │    └── LLMUnavailable    not one paper could be scored: the endpoint could not be
     │                          reached or refused the key; carries the endpoint and a hint
     └── PlatformError       a chat platform refused a post (bot not in channel, bad request)
          └── PlatformUnavailable  the platform could not be reached (network, 5xx, rate limit
                                   beyond the SDK's retries): try again later

    LeaseLost                a fenced write was refused: this process paused past its lease and
                             another took the unit of work over; the holder stops at once (not
                             a user's error and not a bug: it is said in one log line)

Anything else that escapes is a bug: adapters log it with its traceback and show a short apology.
"""

from __future__ import annotations


class BotError(Exception):
    """An error whose message is displayed to the user as it is."""


class SettingsError(BotError):
    """Invalid settings; the message lists every problem."""


class CriteriaError(BotError):
    """The criteria file cannot be used."""


class FeedError(BotError):
    """arXiv's feed could not be read, or what came back is not a feed."""


class ArxivUnavailable(FeedError):
    """arXiv could not be reached or kept failing."""


class FeedUnreadable(FeedError):
    """arXiv's feed has items, but not one of them could be read: arXiv changed its format, or
    the feed is broken. It is never "no announcement today"."""


class ScoringError(BotError):
    """The LLM endpoint refused the whole job; nothing can be scored until the cause is fixed."""


class LLMUnavailable(ScoringError):
    """Not one paper could be scored: the LLM endpoint could not be reached, or it refused the
    API key. The message is one line naming the endpoint (never the key) and the variables that
    set it; `reason` says what failed, `refused` whether it was the key (retrying cannot help
    until the key is fixed), and `retry_hint` what to do, in words fit for a channel."""

    def __init__(self, endpoint: str, reason: str, *, refused: bool = False) -> None:
        self.endpoint = endpoint
        self.reason = reason
        self.refused = refused
        if refused:
            self.retry_hint = "retrying will not help until OPENAI_API_KEY is fixed"
            message = (
                f"the LLM endpoint {endpoint} {reason}: OPENAI_API_KEY sets the key "
                "(and OPENAI_BASE_URL the endpoint)"
            )
        else:
            self.retry_hint = (
                "scoring is retried later; if it keeps failing, check that the LLM server is up "
                "and OPENAI_BASE_URL points at it"
            )
            message = (
                f"the LLM endpoint {endpoint} could not be reached ({reason}): "
                "OPENAI_BASE_URL sets the endpoint (and OPENAI_API_KEY the key)"
            )
        super().__init__(message)


class LLMKeyMissing(ScoringError):
    """No OPENAI_API_KEY is set: nothing can be scored, but the day can still be ranked locally
    and stored days can be shown."""

    def __init__(self) -> None:
        super().__init__(
            "OPENAI_API_KEY is not set: put it in .env or the environment to score papers "
            "(for a local server that needs no key, any value works)"
        )


class PlatformError(BotError):
    """A chat platform refused a post for a reason that retrying will not fix by itself."""


class PlatformUnavailable(PlatformError):
    """A chat platform could not be reached or kept failing; the post should be retried later."""


class LeaseLost(Exception):
    """Another process took this process's unit of work over (its fencing epoch is stale): the
    holder stops what it was doing at once."""

    def __init__(self, key: str, epoch: int) -> None:
        super().__init__(f"{key}: epoch {epoch} is stale")
        self.key = key
        self.epoch = epoch
