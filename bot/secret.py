"""A secret value (an API key, a token, a database password) that never prints.

`Secret` keeps the value for the one call that needs it (`get_secret_value()`, handed to a
client or a driver) and shows as asterisks everywhere else: `str`, `repr`, f-strings, logs,
`dataclasses.asdict` and error messages built from it.

This module must not import anything beyond the standard library (settings and the store's
URL parsing load it on every start).
"""

from __future__ import annotations

import hmac

MASKED = "**********"


class Secret:
    """A string that shows as asterisks; `get_secret_value()` is the only way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        """The value in clear: hand it to the client or driver that needs it, never print it."""
        return self._value

    def __str__(self) -> str:
        return MASKED if self._value else ""

    def __repr__(self) -> str:
        return f"Secret('{self}')"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:
        # a copy (deepcopy, dataclasses.asdict) stays a Secret
        return (Secret, (self._value,))
