"""`explain` as a team reads it: prose even when the model answers in JSON, arXiv links as well
as ids, and a clear word when the score is from older criteria, with a fresh explanation on
request."""

from __future__ import annotations

from typing import Any

import pytest

from scoring.explain import as_prose
from tests.fakes.openai_server import FakeOpenAI
from tests.test_conversation import session


def test_a_json_answer_is_rewritten_as_sentences() -> None:
    raw = '{"ARXIVID": "2505.00326", "COMMENT": "Sparse MoE routing", "RELEVANCE": 9, "NOVELTY": 8}'
    assert as_prose(raw) == "Scored relevance 9 and novelty 8. Sparse MoE routing."
    fenced = '```json\n{"relevance": "fits topic 2", "novelty": "a new router"}\n```'
    assert as_prose(fenced) == "Relevance: fits topic 2. Novelty: a new router."
    assert as_prose("It fits topic 2 {mostly}.") == "It fits topic 2 {mostly}."


async def test_explain_answers_in_prose_not_json(core: Any) -> None:
    s = session(core)
    await s.say("today")
    out = await s.say("explain 1")
    assert "Scored relevance 9 and novelty 8." in out
    assert "ARXIVID" not in out
    assert "{" not in out


@pytest.mark.parametrize(
    "link",
    [
        "https://arxiv.org/abs/{id}",
        "https://arxiv.org/abs/{id}v2",
        "http://arxiv.org/pdf/{id}v1.pdf",
        "https://arxiv.org/pdf/{id}",
        "<https://www.arxiv.org/abs/{id}>",
    ],
)
async def test_explain_accepts_arxiv_abstract_and_pdf_links(
    core: Any, llm: FakeOpenAI, link: str
) -> None:
    s = session(core)
    await s.say("today")
    first = await s.say("explain 1")
    paper_id = first.split("(arXiv:")[1].split(")")[0]
    calls = llm.calls
    assert await s.say("explain " + link.format(id=paper_id)) == first
    assert llm.calls == calls


async def test_explain_says_the_score_is_from_older_criteria_and_offers_a_fresh_one(
    core: Any, llm: FakeOpenAI
) -> None:
    s = session(core)
    await s.say("today")
    paper_id = (await s.say("explain 1")).split("(arXiv:")[1].split(")")[0]
    await s.say("criteria add Diffusion models for protein design")
    old = await s.say(f"explain {paper_id}")
    assert "scored under criteria version 1 (now 2)" in old
    assert f"`/arxiv explain {paper_id} fresh`" in old
    assert "no score under criteria version 2 yet" in await s.say(f"explain {paper_id} fresh")
    await s.say("criteria preview confirm")
    calls = llm.calls
    fresh = await session(core, user="bob").say(f"explain {paper_id} fresh")
    assert "under criteria version 2:" in fresh
    assert "now 2" not in fresh
    assert llm.calls == calls + 1
