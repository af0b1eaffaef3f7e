"""The local ranking, pure: deterministic, criteria-driven, and shaped by a channel's reactions."""

from __future__ import annotations

from bot.models import Paper
from scoring import ranking
from scoring.criteria import default_criteria_text
from scoring.ranking import DISLIKE, LIKE, POSTED, Example, criteria_topics, rank, sent_count
from tests.fakes.synth import load_eval_day

CRITERIA = "1. Model compression: pruning, quantization, sparsity.\n2. Mixture-of-experts.\n"


def day(name: str = "2025-05-02") -> list[Paper]:
    return [
        Paper(p["id"], p["title"], p["abstract"], tuple(p["authors"])) for p in load_eval_day(name)
    ]


def toy(pid: str, title: str, abstract: str = "") -> Paper:
    return Paper(pid, title, abstract or f"We study {title.lower()} in depth.", ("A",))


TOYS = [
    toy("1", "Pruning large networks"),
    toy("2", "Quantization of transformers to four bits"),
    toy("3", "Protein folding with graph networks"),
    toy("4", "Reinforcement learning for robot grasping"),
    toy("5", "Sparse mixture-of-experts routing"),
    toy("6", "Medical image segmentation with protein priors"),
]


def test_ranking_is_deterministic_and_covers_every_paper() -> None:
    papers = day()
    first = rank(papers, default_criteria_text())
    again = rank(list(reversed(papers)), default_criteria_text())
    assert first == again
    assert sorted(r.paper_id for r in first.entries) == sorted(p.id for p in papers)
    assert [r.rank for r in first.entries] == list(range(1, len(papers) + 1))
    scores = [r.score for r in first.entries]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s <= 1 for s in scores)


def test_criteria_similarity_puts_matching_papers_first() -> None:
    order = rank(TOYS, CRITERIA).top(3)
    assert set(order) == {"1", "2", "5"}


def test_likes_teach_the_ranking_and_dislikes_push_back() -> None:
    before = rank(TOYS, CRITERIA)
    liked = [Example(toy("9", "Protein structure generation with graph networks"), LIKE)]
    after = rank(TOYS, CRITERIA, liked)
    assert after.liked == 1
    assert _place(after, "3") < _place(before, "3")
    disliked = [
        *liked,
        Example(toy("8", "Pruning heuristics for networks"), DISLIKE),
        Example(toy("7", "Pruning again, for networks"), POSTED),
    ]
    assert _place(rank(TOYS, CRITERIA, disliked), "1") > _place(after, "1")


def test_criteria_are_split_into_topics_without_the_rubric() -> None:
    topics = criteria_topics(default_criteria_text())
    assert len(topics.wanted) >= 6
    assert any("Mixture-of-Experts" in t for t in topics.wanted)
    assert not any("Novelty 9-10" in t for t in topics.wanted)
    assert any("Reinforcement Learning" in t for t in topics.not_wanted)
    assert criteria_topics("Just sparse models").wanted == ("Just sparse models",)


def test_budget_sizes_and_recall() -> None:
    assert sent_count(412, 0.3, 60) == 124
    assert sent_count(40, 0.3, 60) == 40
    assert sent_count(200, 0.3, 0) == 60
    r = rank(TOYS, CRITERIA)
    top2 = r.top(2)
    assert ranking.recall(r, [top2[0], "6"], 2) == 0.5
    assert ranking.recall(r, ["unknown"], 2) is None
    assert rank([], CRITERIA).entries == ()


def _place(r: ranking.Ranking, pid: str) -> int:
    return next(e.rank for e in r.entries if e.paper_id == pid)
