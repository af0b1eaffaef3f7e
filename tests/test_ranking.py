"""The local ranking, pure: deterministic, criteria-driven, and shaped by a channel's reactions."""

from __future__ import annotations

import pytest

from bot.models import Paper
from scoring import ranking
from scoring.criteria import default_criteria_text
from scoring.ranking import (
    DISLIKE,
    LIKE,
    POSTED,
    REJECTED,
    SELECTED,
    Example,
    criteria_topics,
    rank,
    sent_count,
)
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


def test_llm_verdicts_teach_what_the_criteria_mean() -> None:
    before = rank(TOYS, CRITERIA)
    words = ["design", "folding", "docking", "structure", "binding", "dynamics", "function"]
    verdicts = [  # twenty selected like the protein paper, as many rejected like the pruning one
        *(
            Example(toy(f"1{i}", f"Protein {w} with graph networks, take {i}"), SELECTED)
            for i, w in enumerate(words * 3)
            if i < 20
        ),
        *(
            Example(toy(f"2{i}", f"Pruning large networks for {w}, take {i}"), REJECTED)
            for i, w in enumerate(words * 3)
            if i < 20
        ),
    ]
    after = rank(TOYS, CRITERIA, verdicts)
    assert (after.verdicts, after.liked, after.examples) == (40, 0, 40)
    assert _place(after, "3") < _place(before, "3")
    assert _place(after, "1") > _place(before, "1")
    assert rank(TOYS, CRITERIA, verdicts) == after  # still deterministic
    # rejections alone give the learned model nothing to aim at: criteria only
    assert rank(TOYS, CRITERIA, verdicts[20:]).entries == before.entries


def test_followed_categories_lift_a_paper_over_a_cross_list() -> None:
    twins = [toy("a", "Pruning large networks"), toy("b", "Pruning large networks")]
    assert rank(twins, CRITERIA).top(2) == ["a", "b"]  # a tie breaks by id
    assert rank(twins, CRITERIA, core={"b"}).top(2) == ["b", "a"]


def test_the_newest_examples_are_kept_up_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ranking, "MAX_EXAMPLES", 3)
    examples = [Example(toy(str(20 + i), f"Sparse topic {i}"), SELECTED) for i in range(5)]
    r = rank(TOYS, CRITERIA, examples)
    assert (r.examples, r.verdicts) == (3, 3)
    assert r == rank(TOYS, CRITERIA, examples[:3])


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


def test_the_model_fitted_on_the_used_features_scores_as_the_full_width_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    papers, earlier = day("2025-05-08")[:120], day("2025-05-06")[:80]
    examples = [Example(p, SELECTED if n % 5 == 0 else REJECTED) for n, p in enumerate(earlier)]
    texts = [ranking.paper_text(p) for p in papers]
    compact = ranking.learned_scores(texts, examples)
    monkeypatch.setattr(ranking, "used_columns", lambda matrix: matrix)
    full = ranking.learned_scores(texts, examples)
    # the same model up to the rounding of single-precision scores, which the BLAS and the
    # library versions move
    assert compact.tolist() == pytest.approx(full.tolist(), rel=1e-5, abs=1e-6)


def test_used_columns_drops_the_features_no_text_has_and_keeps_the_rest_in_order() -> None:
    from scipy.sparse import csr_matrix

    matrix = csr_matrix(([3.0, 1.0, 2.0], [7, 2, 7], [0, 2, 3]), shape=(2, 10))
    compact = ranking.used_columns(matrix)
    assert compact.shape == (2, 2)
    assert compact.toarray().tolist() == [[1.0, 3.0], [0.0, 2.0]]
    assert compact.data.tolist() == [3.0, 1.0, 2.0]  # the same entries in the same order


def _fitted_similarity(texts: list[str], topics: ranking.Topics) -> list[float]:
    """The criteria similarity as scikit-learn fits it on the texts and topics together: what
    the day's shared counts must give."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfVectorizer

    def space(vectorizer: TfidfVectorizer) -> np.ndarray:
        corpus = [*texts, *topics.wanted, *topics.not_wanted]
        try:
            matrix = csr_matrix(vectorizer.fit_transform(corpus))
        except ValueError:  # nothing but stop words
            return np.zeros(len(texts))
        n, w = len(texts), len(topics.wanted)
        best = np.asarray((matrix[:n] @ matrix[n : n + w].T).max(axis=1).todense()).ravel()
        if topics.not_wanted:
            worst = np.asarray((matrix[:n] @ matrix[n + w :].T).max(axis=1).todense()).ravel()
            best = best - ranking.NOT_WANTED_WEIGHT * worst
        return best

    word = space(TfidfVectorizer(sublinear_tf=True, stop_words="english", dtype=np.float64))
    char = space(
        TfidfVectorizer(
            sublinear_tf=True, analyzer="char_wb", ngram_range=(4, 4), min_df=2, dtype=np.float64
        )
    )
    return [float(v) for v in (ranking._ranks(word) + ranking._ranks(char)) / 2]


def test_one_days_counts_shared_by_many_criteria_score_as_a_fit_per_criteria() -> None:
    texts = [ranking.paper_text(p) for p in day("2025-05-06")]
    features = ranking.count_day(texts)
    criteria = [
        default_criteria_text(),
        f"{default_criteria_text()}\n- Variant 1: robustness of 1-step methods\n",
        CRITERIA,
        "Avoid: protein folding.\nQuantized zqxwv kernels for sparse attention",  # new terms
        "the of and with",  # stop words only: nothing of the word space is the topic's
    ]
    for text in criteria:  # one after another on the same counts, as the worker ranks a day
        topics = criteria_topics(text)
        shared = ranking.criteria_similarity(texts, topics, features).tolist()
        # the same figures (other library versions may round the last bits differently)
        assert shared == pytest.approx(_fitted_similarity(texts, topics), rel=0, abs=1e-12)
        assert (
            shared == ranking.criteria_similarity(texts, topics, ranking.count_day(texts)).tolist()
        )
    with pytest.raises(ValueError, match="other texts"):
        ranking.criteria_similarity(texts[1:], criteria_topics(CRITERIA), features)
    empty = ["the of and", "was it the"]  # stop words only: no word space at all
    topics = criteria_topics("the and with is")
    shared = ranking.criteria_similarity(empty, topics).tolist()
    assert shared == pytest.approx(_fitted_similarity(empty, topics), rel=0, abs=1e-12)


def test_a_days_counts_are_kept_for_its_next_ranking_and_replaced_by_another_day() -> None:
    first = [ranking.paper_text(p) for p in TOYS]
    kept = ranking.day_features(first)
    assert ranking.day_features(list(first)) is kept
    other = ranking.day_features(first[1:])
    assert other is not kept
    assert other.texts == tuple(first[1:])
    assert ranking.day_features(first) is not kept  # one day is kept, not every day seen
    alone = rank(TOYS, CRITERIA)
    rank(TOYS, "Protein folding with graph networks")  # another ranking of the kept day
    assert rank(TOYS, CRITERIA) == alone
