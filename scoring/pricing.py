"""Dollar cost of LLM usage, from a price table that settings can extend or override.

Prices are US dollars per million tokens, as published by OpenAI (list prices, standard tier).
A model missing from the table is costed at zero and marked unpriced, so reports say "price
unknown" instead of inventing a number. Requests made through the Batch API cost
`BATCH_DISCOUNT` of the standard prices (OpenAI's batch tier is half price, cached input
included). It also owns how a dollar amount is written (`format_usd`, `align_usd`): every
cost the bot shows goes through them, and the estimate of what sending papers to the LLM
would cost before it is sent (`affordable`: how many fit in a dollar cap). This module must
not call any API.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.models import Paper, Usage
from scoring.prompt import paper_block, system_message


@dataclass(frozen=True, slots=True)
class Price:
    """Dollars per million tokens: fresh prompt, cached prompt, completion."""

    input: float
    cached_input: float
    output: float


DEFAULT_PRICES: Mapping[str, Price] = {
    "gpt-4o": Price(2.50, 1.25, 10.00),
    "gpt-4o-mini": Price(0.15, 0.075, 0.60),
    "gpt-4.1": Price(2.00, 0.50, 8.00),
    "gpt-4.1-mini": Price(0.40, 0.10, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.025, 0.40),
    "o3": Price(2.00, 0.50, 8.00),
    "o4-mini": Price(1.10, 0.275, 4.40),
    "gpt-5": Price(1.25, 0.125, 10.00),
    "gpt-5-mini": Price(0.25, 0.025, 2.00),
    "gpt-5-nano": Price(0.05, 0.005, 0.40),
}


BATCH_DISCOUNT = 0.5
"""What a Batch API request costs relative to the standard tier."""


class PriceTable:
    """Looks up a model's price by exact name, then by the longest known prefix
    (`gpt-4o-2024-08-06` is priced as `gpt-4o`)."""

    def __init__(self, overrides: Mapping[str, Mapping[str, float]] | None = None) -> None:
        self._prices = dict(DEFAULT_PRICES)
        for model, fields in (overrides or {}).items():
            self._prices[model] = _price_from(model, fields)

    def price(self, model: str) -> Price | None:
        """The model's price, or None when unknown."""
        if model in self._prices:
            return self._prices[model]
        prefixes = [name for name in self._prices if model.startswith(name + "-")]
        return self._prices[max(prefixes, key=len)] if prefixes else None

    def usage(
        self, model: str, prompt: int, cached: int, completion: int, *, batch: bool = False
    ) -> Usage:
        """One call's usage with its cost; cached tokens are part of `prompt`. `batch`: the
        call went through the Batch API, at batch prices."""
        price = self.price(model)
        if price is None:
            return Usage(1, prompt, cached, completion, priced=False)
        factor = BATCH_DISCOUNT if batch else 1.0
        fresh = max(prompt - cached, 0)
        prompt_cost = factor * (fresh * price.input + cached * price.cached_input) / 1_000_000
        return Usage(
            1,
            prompt,
            cached,
            completion,
            prompt_cost,
            factor * completion * price.output / 1_000_000,
        )


def _price_from(model: str, fields: Mapping[str, float]) -> Price:
    try:
        inp = float(fields["input"])
        out = float(fields["output"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"price of {model}: needs numeric 'input' and 'output' (dollars per 1M tokens)"
        ) from None
    return Price(inp, float(fields.get("cached_input", inp)), out)


UNPRICED = "n/a"
"""How a cost reads when the model has no price (never as free)."""
_SMALLEST_DECIMALS = 6  # a millionth of a dollar; anything smaller reads "<$0.000001"


def format_usd(dollars: float | None, priced: bool = True) -> str:
    """Dollars as every report writes them: cents from a cent up (`$0.01`, `$1,234.50`), two
    significant digits below a cent (`$0.0020`, `$0.00012`), `$0.00` for nothing, and
    `n/a` for a model without a price."""
    if dollars is None or not priced or math.isnan(dollars):
        return UNPRICED
    sign, amount = ("-" if dollars < 0 else ""), abs(dollars)
    if amount == 0 or round(amount, 2) >= 0.01:
        return f"{sign}${amount:,.2f}"
    decimals = min(1 - math.floor(math.log10(amount)), _SMALLEST_DECIMALS)
    if round(amount, decimals) == 0:
        return f"{sign}<${10.0**-_SMALLEST_DECIMALS:.{_SMALLEST_DECIMALS}f}"
    return f"{sign}${amount:.{decimals}f}"


def align_usd(amounts: Sequence[str]) -> list[str]:
    """Formatted amounts padded so that, one under the other in a fixed-width font, their
    decimal points line up (`  $0.01  ` over `  $0.0020` over `$12.50  `)."""
    parts = [a.partition(".") for a in amounts]
    left = max((len(whole) for whole, _, _ in parts), default=0)
    right = max((len(dot + frac) for _, dot, frac in parts), default=0)
    return [whole.rjust(left) + (dot + frac).ljust(right) for whole, dot, frac in parts]


ESTIMATE_BATCH = 50  # papers per request assumed when turning dollars into papers (the default)
ESTIMATE_COMPLETION_TOKENS = 25  # per paper: the short verdict, a comment only on a match
CHARS_PER_TOKEN = 4


def affordable(
    in_order: Sequence[Paper],
    dollars: float,
    criteria_text: str,
    price: Price,
    scored: frozenset[str] = frozenset(),
) -> int:
    """How many of the papers (best first) fit in `dollars` of estimated LLM spend at `price`
    (papers already `scored` are free): the prompt's share of the instructions and each
    paper's block at `CHARS_PER_TOKEN`, and a short verdict per paper."""
    system = system_message(criteria_text, structured=True)
    shared = len(system) / CHARS_PER_TOKEN / ESTIMATE_BATCH
    spent = 0.0
    for n, paper in enumerate(in_order):
        if paper.id in scored:
            continue
        tokens = len(paper_block(paper)) / CHARS_PER_TOKEN + shared
        spent += (tokens * price.input + ESTIMATE_COMPLETION_TOKENS * price.output) / 1e6
        if spent > dollars:
            return n
    return len(in_order)
