"""Literal replies through `parse_reply`: every shape an LLM answers in, and every way it fails."""

from __future__ import annotations

import json

import pytest

from bot.models import Score
from scoring.parse import MAX_PROBLEMS, QUOTE_LIMIT, ParsedReply, normalise_id, parse_reply

A, B, C = "2505.00326", "2505.00347", "2505.00661"
IDS = (A, B, C)


def _paper(
    paper_id: str, relevance: int = 9, novelty: int = 8, comment: str = "Fits."
) -> dict[str, object]:
    return {"id": paper_id, "comment": comment, "relevance": relevance, "novelty": novelty}


def _jsonl_line(paper_id: str, relevance: int, novelty: int, comment: str = "Fits.") -> str:
    return json.dumps(
        {"ARXIVID": paper_id, "COMMENT": comment, "RELEVANCE": relevance, "NOVELTY": novelty}
    )


STRUCTURED = json.dumps({"papers": [_paper(A), _paper(B, 3, 3, "No."), _paper(C, 8, 7)]})
EXPECTED = (
    Score(A, 9, 8, "Fits."),
    Score(B, 3, 3, "No."),
    Score(C, 8, 7, "Fits."),
)


def _ids(parsed: ParsedReply) -> list[str]:
    return [score.paper_id for score in parsed.scores]


# Shapes


def test_structured_object_reads_every_paper_in_order() -> None:
    assert parse_reply(STRUCTURED, IDS) == ParsedReply(EXPECTED, ())


def test_bare_list() -> None:
    text = json.dumps([_paper(A), _paper(B, 3, 3, "No."), _paper(C, 8, 7)])
    assert parse_reply(text, IDS) == ParsedReply(EXPECTED, ())


def test_single_object_scores_its_paper_and_notes_the_rest() -> None:
    parsed = parse_reply(json.dumps(_paper(A)), IDS)
    assert parsed.scores == (EXPECTED[0],)
    assert parsed.problems == (f"no score for 2 of 3 papers: {B}, {C}",)


def test_jsonl_in_the_old_tools_format() -> None:
    text = "\n".join([_jsonl_line(A, 9, 8), _jsonl_line(B, 3, 3, "No."), _jsonl_line(C, 8, 7)])
    assert parse_reply(text, IDS) == ParsedReply(EXPECTED, ())


def test_fenced_reply_with_chatter_around_it() -> None:
    text = f"Sure! Here are the scores:\n```json\n{STRUCTURED}\n```\nLet me know if you need more."
    assert parse_reply(text, IDS) == ParsedReply(EXPECTED, ())


def test_fenced_jsonl_with_blank_lines_and_pretty_printing() -> None:
    pretty = json.dumps(_paper(C, 8, 7), indent=2)
    text = f"```jsonl\n{_jsonl_line(A, 9, 8)}\n\n{_jsonl_line(B, 3, 3, 'No.')}\n{pretty}\n```"
    assert parse_reply(text, IDS) == ParsedReply(EXPECTED, ())


def test_papers_filed_under_their_ids() -> None:
    text = json.dumps({A: {"relevance": 9, "novelty": 8, "comment": "Fits."}})
    assert parse_reply(text, [A]) == ParsedReply((EXPECTED[0],), ())


def test_a_wrapper_with_its_own_id_is_not_mistaken_for_a_paper() -> None:
    text = json.dumps({"id": "chatcmpl-1", "papers": [_paper(A)]})
    assert parse_reply(text, [A]) == ParsedReply((EXPECTED[0],), ())


@pytest.mark.parametrize(
    ("id_key", "relevance_key", "novelty_key", "comment_key"),
    [
        ("id", "relevance", "novelty", "comment"),
        ("ARXIVID", "RELEVANCE", "NOVELTY", "COMMENT"),
        ("arxiv_id", "Relevance", "Novelty", "reason"),
        ("arxivId", "relevance_score", "novelty_score", "Reason"),
        ("paper_id", "relevance", "novelty", "comments"),
        ("Paper-ID", "RELEVANCE", "NOVELTY", "reasoning"),
    ],
)
def test_key_spellings(id_key: str, relevance_key: str, novelty_key: str, comment_key: str) -> None:
    obj = {id_key: A, relevance_key: 9, novelty_key: 8, comment_key: "Fits."}
    assert parse_reply(json.dumps(obj), [A]) == ParsedReply((EXPECTED[0],), ())


@pytest.mark.parametrize(
    "raw",
    [
        "2505.00326",
        " 2505.00326 ",
        "2505.00326v2",
        "arXiv:2505.00326",
        "arxiv: 2505.00326v1",
        "https://arxiv.org/abs/2505.00326",
        "https://arxiv.org/abs/2505.00326v3",
        "http://www.arxiv.org/pdf/2505.00326v1.pdf",
        "arxiv.org/abs/2505.00326/",
    ],
)
def test_id_spellings_normalise_to_the_bare_id(raw: str) -> None:
    assert normalise_id(raw) == A
    reply = json.dumps({"id": raw, "relevance": 9, "novelty": 8, "comment": "Fits."})
    assert parse_reply(reply, [A]).scores == (EXPECTED[0],)


def test_old_style_ids_keep_their_archive() -> None:
    assert normalise_id("arXiv:cs/0112017v1") == "cs/0112017"


# Scores


@pytest.mark.parametrize(
    ("raw", "value"),
    [(8, 8), (8.0, 8), (7.5, 8), (7.4, 7), ("8", 8), (" 8 ", 8), ("8/10", 8), ("7.6 / 10", 8)],
)
def test_score_formats(raw: object, value: int) -> None:
    reply = json.dumps({"id": A, "relevance": raw, "novelty": raw})
    assert parse_reply(reply, [A]).scores == (Score(A, value, value, ""),)


@pytest.mark.parametrize("raw", [0, 11, 37, -1, "0/10", "11/10", 0.4, 10.5])
def test_out_of_range_scores_reject_the_paper_not_clamp_it(raw: object) -> None:
    text = json.dumps([{"id": A, "relevance": raw, "novelty": 8}, _paper(B)])
    parsed = parse_reply(text, [A, B])
    assert _ids(parsed) == [B]
    assert parsed.problems[0].startswith(f"dropped {A}: relevance")
    assert "outside 1-10" in parsed.problems[0]
    assert parsed.problems[1] == f"no score for 1 of 2 papers: {A}"


@pytest.mark.parametrize("raw", ["high", "8 of 10", "", None, True, [8], {"value": 8}, "NaN"])
def test_non_numeric_scores_reject_the_paper(raw: object) -> None:
    parsed = parse_reply(json.dumps({"id": A, "relevance": 9, "novelty": raw}), [A])
    assert parsed.scores == ()
    assert parsed.problems[0].startswith(f"dropped {A}: ")
    assert "novelty" in parsed.problems[0]


def test_a_missing_score_rejects_the_paper() -> None:
    parsed = parse_reply(json.dumps({"id": A, "relevance": 9, "comment": "x"}), [A])
    assert parsed.scores == ()
    assert parsed.problems[0] == f"dropped {A}: no novelty"


def test_a_missing_or_odd_comment_becomes_empty() -> None:
    text = json.dumps([{"id": A, "relevance": 9, "novelty": 8}, {**_paper(B), "comment": None}])
    assert [s.comment for s in parse_reply(text, [A, B]).scores] == ["", ""]


# Ids


def test_invented_ids_are_dropped_with_a_note() -> None:
    parsed = parse_reply(json.dumps([_paper(A), _paper("9999.99999")]), [A])
    assert parsed.scores == (EXPECTED[0],)
    assert parsed.problems == ('dropped id not asked for: "9999.99999"',)


def test_skipped_ids_are_noted() -> None:
    parsed = parse_reply(json.dumps([_paper(A)]), IDS)
    assert _ids(parsed) == [A]
    assert parsed.problems == (f"no score for 2 of 3 papers: {B}, {C}",)


def test_duplicates_keep_the_first_answer() -> None:
    text = json.dumps([_paper(A, 9, 8), _paper(A, 2, 2, "second thoughts")])
    parsed = parse_reply(text, [A])
    assert parsed.scores == (EXPECTED[0],)
    assert parsed.problems == (f"ignored a second answer for {A}",)


def test_a_rejected_first_answer_leaves_room_for_a_valid_second() -> None:
    text = json.dumps([_paper(A, 0, 8), _paper(A, 9, 8)])
    assert _ids(parse_reply(text, [A])) == [A]


def test_scores_carry_the_id_as_the_caller_spelled_it() -> None:
    parsed = parse_reply(json.dumps(_paper("arXiv:2505.00326v2")), [A])
    assert parsed.scores[0].paper_id == A


def test_ids_that_are_not_text_are_dropped() -> None:
    parsed = parse_reply(json.dumps([{"id": {"x": 1}, "relevance": 9}, _paper(A)]), [A])
    assert _ids(parsed) == [A]
    assert parsed.problems == ("dropped a paper whose id is an object",)


def test_many_invented_ids_cannot_flood_the_problems() -> None:
    text = json.dumps([_paper(f"9999.{n:05d}") for n in range(500)])
    problems = parse_reply(text, [A]).problems
    assert len(problems) == MAX_PROBLEMS
    assert problems[-1] == f"… and {500 + 1 - MAX_PROBLEMS + 1} more problems"


# Truncation


def test_truncated_structured_reply_keeps_every_complete_paper() -> None:
    third = STRUCTURED.rindex("{", 0, STRUCTURED.index(C))
    parsed = parse_reply(STRUCTURED[: third + 30], IDS)  # as finish_reason "length" leaves it
    assert parsed.scores == EXPECTED[:2]
    assert parsed.problems == (
        f"reply cut off at char {third}; kept the complete objects before it",
        f"no score for 1 of 3 papers: {C}",
    )


def test_truncated_jsonl_keeps_the_complete_lines() -> None:
    text = _jsonl_line(A, 9, 8) + "\n" + _jsonl_line(B, 3, 3, "No.")[:30]
    parsed = parse_reply(text, [A, B])
    assert parsed.scores == (EXPECTED[0],)
    assert parsed.problems[0].startswith("reply cut off at char ")


def test_a_reply_cut_inside_its_first_paper_has_one_problem() -> None:
    parsed = parse_reply(STRUCTURED[:40], IDS)
    assert parsed == ParsedReply((), ("reply cut off at char 0 before any complete paper object",))


@pytest.mark.parametrize(("last", "cut"), [(10, '"last": 1'), (None, '"last": nu')])
def test_a_value_split_at_the_first_window_edge_is_still_read(last: object, cut: str) -> None:
    head = '{"id": "2505.00326", "relevance": 9, "novelty": 8, "note": "'
    padding = "x" * (1024 - len(head) - len(f'", {cut}'))
    text = json.dumps({"id": A, "relevance": 9, "novelty": 8, "note": padding, "last": last})
    assert text[:1024].endswith(cut)
    assert parse_reply(text, [A]).scores == (Score(A, 9, 8, ""),)


# Garbage


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry, I can't help with that.",
        "As an AI language model, I cannot evaluate papers.",
        "```json\n```",
        '{"error": "rate limited"}',
        '{"papers": []}',
        "[1, 2, 3]",
        "null",
    ],
)
def test_garbage_gives_no_scores_and_one_problem(text: str) -> None:
    parsed = parse_reply(text, IDS)
    assert parsed.scores == ()
    assert len(parsed.problems) == 1
    assert parsed.problems[0].startswith("no paper scores in reply: ")


def test_an_empty_reply() -> None:
    assert parse_reply("  \n", IDS) == ParsedReply((), ("empty reply",))


def test_problem_notes_quote_only_a_short_piece_of_the_reply() -> None:
    refusal = "I'm sorry, but I can't assist with that. " * 500
    (problem,) = parse_reply(refusal, IDS).problems
    assert len(problem) < QUOTE_LIMIT + 40
    assert problem.endswith('…"')


def test_a_very_long_reply_is_read_whole() -> None:
    ids = [f"2505.{n:05d}" for n in range(3000)]
    text = "Scores:\n" + "\n".join(_jsonl_line(i, 5, 5, "word " * 100) for i in ids)
    parsed = parse_reply(text, ids)
    assert len(parsed.scores) == 3000
    assert parsed.problems == ()


def test_a_very_long_single_object_is_read_whole() -> None:
    ids = [f"2505.{n:05d}" for n in range(1000)]
    text = json.dumps({"papers": [_paper(i, 5, 5, "word " * 100) for i in ids]})
    assert len(text) > 65_536
    assert len(parse_reply(text, ids).scores) == 1000


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "}",
        "[{]",
        '{"id":',
        '{"id": "2505.00326", "relevance": 1e999, "novelty": -1e999}',
        '{"id": "2505.00326", "relevance": NaN, "novelty": Infinity}',
        '{"id": ' + "9" * 5000 + "}",
        '{"a":' * 50_000,
        '{"a":[' * 900 + "1," * 10_000,
        '{"' * 20_000,
        "x{" * 50_000,
        '\x00\ud800{"id": "\ud800"}',
        '{"papers": null}',
        '{"id": null, "relevance": 9}',
        '{"id": ["2505.00326"], "relevance": 9}',
        '{"2505.00326": {"relevance": "9/10", "novelty": "ten"}}',
    ],
)
def test_never_raises(text: str) -> None:
    parsed = parse_reply(text, IDS)
    assert isinstance(parsed, ParsedReply)
    assert all(len(problem) < 200 for problem in parsed.problems)
