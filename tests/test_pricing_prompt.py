"""Pricing and prompt building: pure functions with literal inputs."""

from __future__ import annotations

import pytest

from bot.models import Paper
from scoring import prompt
from scoring.pricing import PriceTable, align_usd, format_usd


def test_cost_counts_cached_tokens_at_the_cached_price() -> None:
    table = PriceTable()
    usage = table.usage("gpt-4o", prompt=1_000_000, cached=400_000, completion=100_000)
    assert usage.prompt_cost_usd == pytest.approx(0.6 * 2.50 + 0.4 * 1.25)
    assert usage.completion_cost_usd == pytest.approx(1.0)
    assert usage.priced


def test_dated_model_names_use_the_family_price_and_unknown_models_are_unpriced() -> None:
    table = PriceTable()
    assert table.price("gpt-4o-2024-08-06") == table.price("gpt-4o")
    assert table.price("gpt-4o-mini-2024-07-18") == table.price("gpt-4o-mini")
    unknown = table.usage("llama3.1:8b", 100, 0, 10)
    assert not unknown.priced
    assert unknown.cost_usd == 0


def test_overrides_replace_and_extend_the_table() -> None:
    table = PriceTable({"gpt-4o": {"input": 1, "output": 2}, "local": {"input": 0, "output": 0}})
    price = table.price("gpt-4o")
    assert price is not None
    assert price.cached_input == 1
    assert table.usage("local", 10, 0, 10).priced


def test_override_without_output_price_is_refused() -> None:
    with pytest.raises(ValueError, match="needs numeric"):
        PriceTable({"m": {"input": 1}})


def test_reasoning_models_get_no_temperature() -> None:
    assert "temperature" not in prompt.request_options("o4-mini", structured=True)
    assert "temperature" not in prompt.request_options("gpt-5-mini", structured=False)
    assert prompt.request_options("gpt-4o", structured=False)["temperature"] == 0
    assert "response_format" not in prompt.request_options("gpt-4o", structured=False)
    fmt = prompt.request_options("gpt-4o", structured=True)["response_format"]
    assert fmt["json_schema"]["strict"] is True


def test_messages_put_the_shared_criteria_first_and_every_paper_id_in_the_batch() -> None:
    papers = [Paper(f"2505.0000{i}", f"T{i}", "x " * 5000, ("A",)) for i in range(3)]
    msgs = prompt.messages("My criteria.", papers, structured=True)
    assert msgs[0]["role"] == "system"
    assert "My criteria." in msgs[0]["content"]
    assert (
        msgs[0]["content"]
        == prompt.messages("My criteria.", papers[:1], structured=True)[0]["content"]
    )
    user = msgs[1]["content"]
    assert [line for line in user.splitlines() if line.startswith("ARXIVID:")] == [
        "ARXIVID: 2505.00000",
        "ARXIVID: 2505.00001",
        "ARXIVID: 2505.00002",
    ]
    assert len(user) < 3 * (prompt.MAX_ABSTRACT_CHARS + 200)


def test_jsonl_mode_asks_for_the_reference_format() -> None:
    system = prompt.system_message("c", structured=False)
    assert '"ARXIVID"' in system
    assert "JSONL" in system
    assert "JSONL" not in prompt.system_message("c", structured=True)


@pytest.mark.parametrize(
    ("dollars", "shown"),
    [
        (0, "$0.00"),
        (0.002, "$0.0020"),  # below a cent: two significant digits
        (0.0031, "$0.0031"),
        (0.000123, "$0.00012"),
        (0.0049999, "$0.0050"),
        (0.00999, "$0.01"),  # rounds up to a cent: cents
        (0.01, "$0.01"),
        (0.126, "$0.13"),
        (1234.5, "$1,234.50"),
        (1e-9, "<$0.000001"),
        (-0.002, "-$0.0020"),
        (None, "n/a"),
    ],
)
def test_one_money_format(dollars: float | None, shown: str) -> None:
    assert format_usd(dollars) == shown


def test_an_unpriced_model_costs_na_not_zero() -> None:
    assert format_usd(0.0, priced=False) == "n/a"


def test_a_column_of_costs_lines_up_on_the_decimal_point() -> None:
    column = align_usd([format_usd(0.01), format_usd(0.002), format_usd(12.5), "n/a"])
    assert column == [" $0.01  ", " $0.0020", "$12.50  ", "n/a     "]
    assert len({c.index(".") for c in column[:3]}) == 1


ABSTRACT = (
    "Large language models are everywhere. Their memory grows with the context. "
    "We propose a sparse mixture-of-experts cache that halves it. "
    "Experiments on six benchmarks show no loss in accuracy. Code is released."
)


def test_a_paper_is_sent_as_its_title_and_the_sentences_that_state_its_contribution() -> None:
    block = prompt.paper_block(Paper("2505.00001", "Sparse  caches", ABSTRACT, ("A. Author",)))
    assert block.splitlines() == [
        "ARXIVID: 2505.00001",
        "Sparse caches",
        "We propose a sparse mixture-of-experts cache that halves it. "
        "Experiments on six benchmarks show no loss in accuracy. Code is released.",
    ]
    assert "A. Author" not in block
    assert (
        prompt.lead(ABSTRACT, limit=70)
        == "We propose a sparse mixture-of-experts cache that halves it."
    )


def test_a_lead_stays_within_its_limit_whatever_the_abstract() -> None:
    long_sentence = "We " + "study " * 200 + "things."
    cut = prompt.lead(long_sentence)
    assert len(cut) <= prompt.LEAD_CHARS + 2
    assert cut.endswith(" …")
    assert prompt.lead("No contribution sentence here. Just facts.") == (
        "No contribution sentence here. Just facts."
    )
    assert prompt.lead("") == ""


def test_the_schema_asks_for_the_smallest_verdict() -> None:
    fmt = prompt.request_options("gpt-4o", structured=True)["response_format"]
    item = fmt["json_schema"]["schema"]["properties"]["papers"]["items"]
    assert list(item["properties"]) == ["id", "c", "t", "r", "n"]
    assert "c: for a paper that closely matches a criterion" in prompt.system_message(
        "x", structured=True
    )
