"""The one gate every paid LLM request passes: `paid` holds the request's worst-case cost in the
daily budget's account before it is sent, and settles the hold to what the reply really cost
(or gives it back when the request fails), so no request is sent once the day's holds and
spending would pass the cap.

The worst case of a request (`worst_case_usd`) is its prompt estimated generously (3
characters a token, against the usual 4) plus every output token the request allows
(`max_tokens`), at the model's price; a request without an output bound cannot be costed, so
every paid request here sets one. The account itself is the caller's (`Account`: the store's
`bot.store.DailyAccount`, shared by every process on the database); without one (no budget
set) `paid` only sends.

It must not touch the store, send requests itself or decide what to do when the budget is
spent: `BudgetSpent` says so and the caller chooses (the scorer stops, a command refuses).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Protocol, TypeVar

from bot.errors import BotError
from bot.models import Usage
from scoring.pricing import PriceTable, format_usd

T = TypeVar("T")

CHARS_PER_PROMPT_TOKEN = 3
TOKENS_PER_MESSAGE = 8  # the chat format's own tokens around each message
HOLD_WAIT = 60.0  # seconds a request waits for holds in flight to settle before giving up
HOLD_POLL = 0.25  # seconds between looks at the account while it waits


class Account(Protocol):
    """A budget shared by every request: hold room, then settle or give it back."""

    @property
    def cap_usd(self) -> float:
        """Dollars a day."""
        ...

    async def reserve(self, usd: float) -> int | None:
        """Hold `usd`; the hold's id, or None when the budget has no room for it."""
        ...

    async def settle(self, hold: int, usd: float) -> None:
        """Replace the hold by what the request really cost."""
        ...

    async def release(self, hold: int) -> None:
        """Give the hold back."""
        ...

    async def held_usd(self) -> float:
        """Dollars held now for requests in flight, by every process."""
        ...


class BudgetSpent(BotError):
    """The daily LLM budget has no room for one more request; nothing was sent."""

    def __init__(self, cap_usd: float) -> None:
        self.cap_usd = cap_usd
        super().__init__(
            f"today's LLM budget of {format_usd(cap_usd)} is spent; nothing was sent to the "
            "LLM. Try again tomorrow (UTC), or ask an operator to raise ARXIV_BOT_DAILY_BUDGET"
        )


def prompt_tokens(messages: Iterable[Mapping[str, object]]) -> int:
    """A generous count of the prompt tokens of chat `messages`."""
    total = 0
    for message in messages:
        total += len(str(message.get("content", ""))) // CHARS_PER_PROMPT_TOKEN + TOKENS_PER_MESSAGE
    return total


def worst_case_usd(
    prices: PriceTable,
    model: str,
    messages: Iterable[Mapping[str, object]],
    max_output_tokens: int,
    *,
    batch: bool = False,
) -> float:
    """The most one request may cost: its prompt (uncached) and `max_output_tokens` answered."""
    return prices.usage(model, prompt_tokens(messages), 0, max_output_tokens, batch=batch).cost_usd


async def paid(
    account: Account | None,
    worst_usd: float,
    send: Callable[[], Awaitable[tuple[T, Usage]]],
) -> tuple[T, Usage]:
    """Send one request under the budget: hold `worst_usd`, `send`, settle to the usage it
    returns; a `send` that raises gives the hold back. While the room is taken by holds of
    requests in flight (worst cases that mostly settle for much less), it waits for them, up to
    `HOLD_WAIT`; `BudgetSpent` (nothing sent) when the account has no room."""
    if account is None:
        return await send()
    hold = await account.reserve(worst_usd)
    waited = 0.0
    while hold is None and waited < HOLD_WAIT and await account.held_usd() > 0:
        await asyncio.sleep(HOLD_POLL)
        waited += HOLD_POLL
        hold = await account.reserve(worst_usd)
    if hold is None:
        raise BudgetSpent(account.cap_usd)
    try:
        result, usage = await send()
    except BaseException:
        await account.release(hold)
        raise
    await account.settle(hold, usage.cost_usd)
    return result, usage
