"""Markdown and JSON renderings of a digest, from literal digests."""

from __future__ import annotations

import json
from datetime import date

from adapters.markdown import render_json, render_markdown
from bot.digest.assembly import select, stage_counts
from bot.digest.selection import digest_from_json, digest_to_json
from bot.models import (
    Criteria,
    Digest,
    DigestEntry,
    Paper,
    Score,
    StageCounts,
    Thresholds,
    Usage,
)


def entry(pid: str, rel: int, nov: int, title: str = "Sparse MoE") -> DigestEntry:
    paper = Paper(
        pid,
        title,
        "We study $x$ & <b>bold</b> claims. @channel",
        ("Jörg B", "Ann C"),
        ("cs.LG",),
        "cs.LG",
        "12 pages",
    )
    return DigestEntry(paper, Score(pid, rel, nov, f"Matches criterion {rel}."))


def digest(*entries: DigestEntry) -> Digest:
    return Digest(
        day=date(2025, 5, 2),
        channel_id="console",
        model="gpt-4o",
        criteria=Criteria("1. Model compression\n"),
        criteria_version=3,
        thresholds=Thresholds(8, 7),
        counts=StageCounts(206, 183, 180, len(entries), 3),
        entries=entries,
        usage=Usage(21, 31381, 1024, 3815, 0.0771, 0.03815),
        notes=("3 of 183 papers could not be scored; they will be retried on the next run.",),
    )


def test_layout_follows_the_reference_reports() -> None:
    md = render_markdown(digest(entry("2505.00326", 9, 8), entry("2505.00110", 8, 7)))
    lines = md.splitlines()
    assert lines[0] == "# Personalized Daily ArXiv Papers 2025-05-02"
    assert "| *[gpt-4o]* | Prompt | Cached | Completion | Total |" in md
    assert "| **Token** | 31381 | 1024 | 3815 | 35196 |" in md
    assert "| **Cost** | $0.08 | (incl.) | $0.04 | $0.12 |" in md
    for count in (
        "Total arXiv papers: 206",
        "Total considered papers: 183",
        "Total scored papers: 180",
        "Total relevant papers: 2",
    ):
        assert count in lines
    assert "*3 of 183 papers could not be scored; they will be retried on the next run.*" in md
    assert "1. [Sparse MoE](#user-content-link1)\n**Authors:** Jörg B, Ann C" in md
    assert '## 1. [Sparse MoE](https://arxiv.org/abs/2505.00326) <a id="link1"></a>' in md
    assert "**ArXiv ID:** 2505.00326" in md
    assert "**Relevance:** 9\n**Novelty:** 8" in md
    assert md.index("2505.00326") < md.index("2505.00110")
    assert "# Paper Selection Criteria (version 3)" in md
    assert "1. Model compression" in md


def test_paper_text_cannot_inject_html_or_break_links() -> None:
    md = render_markdown(digest(entry("2505.00326", 9, 8, title="[x](javascript:1) <img>")))
    assert "<img>" not in md
    assert "<b>" not in md
    assert "\\[x\\](javascript:1) &lt;img>" in md
    assert "$x$ & &lt;b>bold&lt;/b> claims. @channel" in md


def test_empty_selection_says_so() -> None:
    md = render_markdown(digest())
    assert "No paper met the thresholds today." in md
    assert "Table of contents" not in md


def test_json_round_trips() -> None:
    d = digest(entry("2505.00326", 9, 8))
    data = json.loads(render_json(d))
    assert data["papers"][0]["id"] == "2505.00326"
    assert data["usage"]["total_tokens"] == 35196
    assert data["counts"]["unscored"] == 3
    assert digest_from_json(digest_to_json(d)).entries == d.entries


def test_selection_is_thresholded_and_deterministic() -> None:
    papers = [Paper(pid, "t", "a", ()) for pid in ("3", "1", "2", "4", "5")]
    scores = {
        "1": Score("1", 9, 7, ""),
        "2": Score("2", 8, 8, ""),
        "3": Score("3", 9, 7, ""),
        "4": Score("4", 7, 10, ""),
        "5": Score("5", 10, 6, ""),
    }
    picked = select(papers, scores, Thresholds(8, 7))
    assert [e.paper.id for e in picked] == ["1", "3", "2"]
    assert select(reversed(papers), scores, Thresholds(8, 7)) == picked


def test_stage_counts_are_over_distinct_ids() -> None:
    scores = {"a": Score("a", 1, 1, ""), "b": Score("b", 9, 9, "")}
    counts = stage_counts(["a", "a", "b", "c", "d"], ["a", "b", "c"], scores, 1, 2)
    assert counts == StageCounts(4, 3, 2, 1, 1, 2)
