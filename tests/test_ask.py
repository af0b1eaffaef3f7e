"""`ask` as a team reads it: the answer comes from the paper's full text (a sentence only its
body holds reaches the LLM), names where it read, is asked once, and bad input gets a short
reply."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from bot.arxiv.paper_text import (
    PaperTextError,
    best_sections,
    sections_from_html,
    sections_from_pdf,
)
from bot.models import Section
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.openai_server import FakeOpenAI, ServerError
from tests.test_conversation import session

BODY_SENTENCE = "We train on the Quokka-17 corpus of annotated lemur vocalisations."

HTML = f"""<!DOCTYPE html><html><head><title>x</title><script>var a = 1;</script></head>
<body><nav>arXiv menu</nav><article>
<h1 class="ltx_title">A paper</h1>
<section><h2>1 Introduction</h2><p>We study routing in mixtures of experts.</p></section>
<section><h2>4 Experiments</h2>
<section><h3>4.2 Datasets</h3><p>{BODY_SENTENCE}</p><p>Results are in Table 2.</p></section>
</section></article></body></html>"""


def _pdf(text: str) -> bytes:
    """A one-page PDF whose page shows `text` (hand-written objects, read back by pypdf)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def test_html_becomes_numbered_sections_without_scripts_or_menus() -> None:
    sections = sections_from_html(HTML)
    labels = [s.label for s in sections]
    assert "§1 Introduction" in labels
    assert "§4.2 Datasets" in labels
    text = " ".join(s.text for s in sections)
    assert "var a" not in text
    assert "arXiv menu" not in text


def test_the_section_that_answers_is_chosen() -> None:
    sections = [
        Section("1", "Introduction", "We study routing in mixtures of experts."),
        Section("4.2", "Datasets", BODY_SENTENCE),
        Section("5", "Conclusion", "Routing matters."),
    ]
    assert best_sections(sections, "Which corpus do they train on?", 1) == [sections[1]]


def test_a_pdf_is_read_page_by_page_and_a_non_pdf_is_refused() -> None:
    pages = sections_from_pdf(_pdf("Lemurs sing in the Quokka corpus"))
    assert pages[0].label == "page 1"
    assert "Quokka" in pages[0].text
    with pytest.raises(PaperTextError, match="not a PDF"):
        sections_from_pdf(b"<html>not a pdf</html>")


def _asked_text(llm: FakeOpenAI) -> str:
    return json.dumps(llm.requests[-1]["messages"], ensure_ascii=False)


async def test_ask_reads_the_body_answers_once_and_names_sections(
    core: Any, llm: FakeOpenAI, arxiv: FakeArxiv
) -> None:
    s = session(core)
    await s.say("today")
    first = await s.say("explain 1")
    paper_id = first.split("(arXiv:")[1].split(")")[0]
    paper = (await core.store.papers.get([paper_id]))[paper_id]
    arxiv.set_document("html", f"{paper_id}v{paper.version}", HTML.encode())
    calls = llm.calls
    out = await s.say("ask 1 which corpus do they train on?")
    assert llm.calls == calls + 1
    assert BODY_SENTENCE in _asked_text(llm)
    assert BODY_SENTENCE not in paper.abstract
    assert "§4.2 Datasets" in _asked_text(llm)
    assert "from the paper's HTML full text" in out
    again = await session(core, user="bob").say(f"ask {paper_id} Which corpus do they train on")
    assert llm.calls == calls + 1
    assert again == out
    assert len(arxiv.requests_of("html")) == 1
    usage = await core.store.stats.usage()
    assert usage.calls >= 1
    follow = await s.say("ask 1 and how big is it?")
    assert llm.calls == calls + 2
    assert "which corpus do they train on?" in _asked_text(llm)  # the thread's earlier turn
    assert "Answer" in follow


async def test_ask_about_an_unknown_id_says_arxiv_has_no_such_paper(
    core: Any, llm: FakeOpenAI
) -> None:
    s = session(core)
    calls = llm.calls
    out = await s.say("ask 2501.99999 what is it?")
    assert "arXiv has no paper arXiv:2501.99999v1" in out
    assert llm.calls == calls


async def test_ask_falls_back_to_the_pdf_then_says_when_only_the_abstract_was_read(
    core: Any, llm: FakeOpenAI, arxiv: FakeArxiv
) -> None:
    s = session(core)
    await s.say("today")
    digest_ids = [line.split("(arXiv:")[1].split(")")[0] for line in [await s.say("explain 1")]]
    paper = (await core.store.papers.get(digest_ids))[digest_ids[0]]
    ref = f"{paper.id}v{paper.version}"
    arxiv.set_document("pdf", ref, _pdf("Lemurs sing in the Quokka corpus"))
    out = await s.say("ask 1 what do lemurs do?")
    assert "from the paper's PDF" in out
    assert "Quokka" in _asked_text(llm)
    second = await s.say("ask 2")  # arXiv serves neither its HTML nor its PDF
    assert "this is from the abstract" in second
    assert "Summary" in second


async def test_a_huge_question_gets_a_short_reply_and_costs_nothing(
    core: Any, llm: FakeOpenAI
) -> None:
    s = session(core)
    calls = llm.calls
    out = await s.say("ask 1 " + "why " * 7_500)
    assert "that question is 29,999 characters long; ask in at most 2,000" in out
    assert len(out) < 200
    forty = await s.say("ask 1 " + "y" * 40_000)
    assert "characters long" in forty
    assert len(forty) < 200
    assert llm.calls == calls


async def test_the_llm_down_gets_a_short_reply_and_the_next_ask_is_answered_and_billed_once(
    core: Any, llm: FakeOpenAI, arxiv: FakeArxiv
) -> None:
    s = session(core)
    await s.say("today")
    before = (await core.store.stats.usage()).calls
    llm.enqueue(*[ServerError(retry_after=0)] * 3)  # the first try and both retries
    down = await s.say("ask 1 what do they find?")
    assert "the LLM could not answer right now" in down
    assert len(down) < 200
    assert (await core.store.stats.usage()).calls == before
    assert llm.pending_faults == 0  # the endpoint is back
    answered = await s.say("ask 1 what do they find?")
    assert "Answer, " in answered
    await s.say("ask 1 What do they find")
    assert (await core.store.stats.usage()).calls == before + 1
