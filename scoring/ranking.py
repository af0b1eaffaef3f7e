"""The local ranking stage: orders a day's candidates for one channel before any LLM call.

Three signals, all computed on the bot's machine from the papers' text:

- **criteria similarity**: tf-idf (sublinear tf) of each paper, title counted twice, against each
  topic of the criteria (the criteria are split into topic paragraphs; a paper scores by its best
  topic, minus a little of its best match with the lines that say what is *not* wanted). Word and
  character n-gram spaces are fitted on the day's papers plus the criteria, and their ranks are
  averaged; the character space catches "sparse"/"sparsity", "quantized"/"quantization". Papers
  whose primary category is one the channel follows (arXiv's `new`, not a cross-list) get a small
  lift: cross-lists from other fields are more often applications.
- **the LLM's earlier verdicts** under the same criteria: every paper it scored on earlier days is
  a labelled example, selected (by the channel's thresholds) or not. They teach the ranking what
  the criteria mean in practice, far better than the words of the criteria alone.
- **the team's taste**, once it has reacted: liked papers (positive), explicitly disliked papers
  (negative), posted-but-not-liked papers (weak negative), and the papers it imported as its
  reading list (positive: what it picked, as a selected verdict says, with nothing it passed
  over).

The examples train one logistic regression on word uni+bigram tf-idf, hashed into a fixed
number of features so memory stays bounded however many days of verdicts it learns from (the
day's candidates join as unlabelled weak negatives); its ranks are blended with the criteria
similarity, leaning on the learned model more as evidence accumulates (a like counts as four
selected verdicts, an imported paper as one).

Everything is rank-normalised, so the final score is in (0, 1]; ties break by arXiv id, and the
whole computation is deterministic for fixed inputs.

`rank` is pure and synchronous: no I/O, no clock, no randomness. The caller decides what to
send on. It keeps the last day's papers counted in the criteria similarity's two spaces
(`day_features`), so the day's rankings under other criteria keys, which come one after
another in the worker, count only their criteria: the same figures, about 0.05 s instead of
1.2 s for 1,000 papers.

`rank_off_loop` (and `learned_scores_off_loop`, for a model of the examples alone) is the same
computation for an event loop: it runs in a worker process that leaves when rankings
stop coming, so scikit-learn, SciPy and NumPy (about 90 MB, and a second of CPU to import) are
loaded there and released with it, never in the caller's process. This module must not import
them at module level.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, TypeAlias, TypeVar

from bot.models import Paper

if TYPE_CHECKING:  # NumPy, SciPy and scikit-learn load only where a ranking is computed
    import numpy as np
    import numpy.typing as npt
    from scipy.sparse import csr_matrix

    Vector: TypeAlias = npt.NDArray[np.float64]

RANKING_VERSION = "tfidf-3"
"""Names the ranking method; stored with every ranking so a change of method is visible."""


class Signal(Enum):
    """What one training example says about a paper, and how much it weighs."""

    LIKE = "like"  # a team member liked it
    IMPORTED = "imported"  # on the reading list the team imported (`/arxiv import`)
    DISLIKE = "dislike"  # a team member marked it 👎
    POSTED = "posted"  # shown in the channel and nobody liked it: a weak hint, not a verdict
    SELECTED = "selected"  # the LLM scored it at or above the channel's thresholds
    REJECTED = "rejected"  # the LLM scored it below them

    @property
    def positive(self) -> bool:
        """Whether the example is a paper the channel wants."""
        return self in (Signal.LIKE, Signal.IMPORTED, Signal.SELECTED)

    @property
    def weight(self) -> float:
        """The example's sample weight before the classes are balanced."""
        return POSTED_WEIGHT if self is Signal.POSTED else 1.0


LIKE, DISLIKE, POSTED, IMPORTED = Signal.LIKE, Signal.DISLIKE, Signal.POSTED, Signal.IMPORTED
SELECTED, REJECTED = Signal.SELECTED, Signal.REJECTED

POSTED_WEIGHT = 0.1  # a posted paper nobody liked is a weak hint, not a verdict
UNLABELLED_WEIGHT = 0.1  # today's candidates: most are not wanted, a few are
LIKE_STRENGTH = 4  # a like (a person said so) weighs as much as four selected verdicts
IMPORT_STRENGTH = 1
"""An imported paper weighs as one selected verdict: a pick of the team's, but one made
against no day's alternatives (a like is a person's answer to a posted card). With 27 imported
picks, `python -m bench.replay --mode cold --import-picks 2` found 0.963 of the first day's
picks (0.852 when they weighed as likes, 0.926 without the import; docs/ranking.md)."""
BLEND_HALF = 20  # evidence at which the learned model and the criteria count equally
BLEND_MAX = 0.9  # the criteria always keep some say
NOT_WANTED_WEIGHT = 0.3
CORE_LIFT = 0.3  # added to the (0, 1] similarity rank of a paper in a followed category
MAX_EXAMPLES = 20_000  # a bound on time only: 60 days of verdicts are well under it
HASHED_FEATURES = 2**17  # word uni+bigrams hashed: memory bounded by examples, not vocabulary
CHUNK = 1000  # texts hashed at a time
T = TypeVar("T")

_HEADING = re.compile(r"^#{1,6}\s+", re.MULTILINE)
_RUBRIC_HEADING = re.compile(r"scor|rubric|novelty|format|output", re.IGNORECASE)
_ITEM_START = re.compile(r"\n\s*\n|\n(?=(?:\d+[.)]|[-*•])\s)")
_NOT_WANTED = re.compile(
    r"^[\s>*_-]*(?:irrelevant|not relevant|exclude|avoid|not interested|application)\b",
    re.IGNORECASE,
)
_MARKUP = re.compile(r"[*_`>#]+")
_LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s")


@dataclass(frozen=True, slots=True)
class Example:
    """A paper the ranking learns from: a reaction of the channel or a verdict of the LLM."""

    paper: Paper
    label: Signal


@dataclass(frozen=True, slots=True)
class Ranked:
    """One paper's place in a ranking: 1 is the best; score in (0, 1], higher is better."""

    paper_id: str
    score: float
    rank: int


@dataclass(frozen=True, slots=True)
class Ranking:
    """A day's candidates in ranking order, and what the ranking learned from."""

    entries: tuple[Ranked, ...]
    liked: int = 0
    examples: int = 0
    verdicts: int = 0
    version: str = RANKING_VERSION

    def top(self, k: int) -> list[str]:
        """The ids of the best `k` papers."""
        return [r.paper_id for r in self.entries[:k]]


@dataclass(frozen=True, slots=True)
class Topics:
    """The criteria as topic paragraphs, and the lines that say what is not wanted."""

    wanted: tuple[str, ...]
    not_wanted: tuple[str, ...]


def preamble_blocks(blocks: Sequence[str]) -> int:
    """How many of a headed section's blocks are its preamble: the heading and the prose before
    the section's first list item, which say how to read the list rather than what is wanted.
    None when there is no list."""
    for n, block in enumerate(blocks):
        if _LIST_ITEM.match(block.lstrip("\n")):
            return n
    return 0


def criteria_topics(text: str) -> Topics:
    """Split criteria into topics: one per paragraph or list item; rubric sections (scoring,
    output format) are left out unless nothing else is there."""
    parts = _HEADING.split(text)
    sections = [(n > 0, s) for n, s in enumerate(parts) if s.strip()]
    kept = [(h, s) for h, s in sections if not _RUBRIC_HEADING.search(s.split("\n", 1)[0])]
    wanted: list[str] = []
    not_wanted: list[str] = []
    for under_heading, section in kept or sections:
        blocks = _ITEM_START.split(section)
        lead = preamble_blocks(blocks) if under_heading else 0
        for n, block in enumerate(blocks):
            yes = [ln for ln in block.splitlines() if not _NOT_WANTED.match(ln)]
            no = [ln for ln in block.splitlines() if _NOT_WANTED.match(ln)]
            topic = _MARKUP.sub(" ", " ".join(yes)).strip()
            if len(topic.split()) >= 2 and n >= lead:
                wanted.append(topic)
            if no:
                not_wanted.append(_MARKUP.sub(" ", " ".join(no)).strip())
    if not wanted:
        wanted = [_MARKUP.sub(" ", text).strip() or "paper"]
    return Topics(tuple(wanted), tuple(not_wanted))


def paper_text(paper: Paper) -> str:
    """What the ranking reads of a paper: the title twice (it is dense), then the abstract."""
    return f"{paper.title}. {paper.title}. {paper.abstract}"


def rank(
    papers: Sequence[Paper],
    criteria_text: str,
    examples: Sequence[Example] = (),
    core: Set[str] = frozenset(),
) -> Ranking:
    """Rank `papers` for a channel with these criteria, learning from `examples` (reactions
    and earlier LLM verdicts, newest first; none: criteria similarity only). `core` holds the
    ids of papers whose primary category the channel follows."""
    import numpy as np

    if not papers:
        return Ranking(())
    texts = [paper_text(p) for p in papers]
    base = criteria_similarity(texts, criteria_topics(criteria_text))
    if core:
        lift = np.array([CORE_LIFT if p.id in core else 0.0 for p in papers])
        base = _ranks(base + lift)
    # whatever order the examples arrive in (batch results land in any order), one ranking
    examples = sorted(list(examples)[:MAX_EXAMPLES], key=_example_key)
    likes = sum(1 for e in examples if e.label is Signal.LIKE)
    imported = sum(1 for e in examples if e.label is Signal.IMPORTED)
    liked = likes + imported
    verdicts = sum(1 for e in examples if e.label in (Signal.SELECTED, Signal.REJECTED))
    selected = sum(1 for e in examples if e.label is Signal.SELECTED)
    score = base
    evidence = selected + LIKE_STRENGTH * likes + IMPORT_STRENGTH * imported
    if evidence:
        learned = learned_scores(texts, examples)
        weight = min(BLEND_MAX, evidence / (evidence + BLEND_HALF))
        score = (1 - weight) * base + weight * _ranks(learned)
    return _ordered(papers, score, liked, len(examples), verdicts)


async def rank_off_loop(
    papers: Sequence[Paper],
    criteria_text: str,
    examples: Sequence[Example] = (),
    core: Set[str] = frozenset(),
) -> Ranking:
    """`rank`, computed in the ranking worker process and awaited without blocking the event
    loop, so the caller's process never loads NumPy, SciPy or scikit-learn.

    Rankings take turns in one worker (each holds a core and up to ~300 MB for seconds), so
    many channels asking at once never start many. An error in `rank` is raised here; a worker
    that dies (killed, out of memory) raises `scoring.worker.WorkerDied` and the next ranking
    starts a new one. Cancelling the await drops a ranking still waiting for its turn; one
    already running finishes in the worker.
    """
    if not papers:
        return Ranking(())
    args = (list(papers), criteria_text, list(examples), frozenset(core))
    return await _in_worker(rank, *args)


async def learned_scores_off_loop(texts: Sequence[str], examples: Sequence[Example]) -> list[float]:
    """`learned_scores` (the model of the examples alone, e.g. a channel's taste), computed in
    the ranking worker like `rank_off_loop`, as plain floats."""
    if not texts:
        return []
    return await _in_worker(_learned_list, list(texts), list(examples))


async def _in_worker(fn: Callable[..., T], *args: object) -> T:
    """`fn(*args)` in the worker, awaited. Submitting never blocks: the worker's own thread
    starts the process and pickles the arguments. The worker's module loads on the first use
    (`run` and `digest` load it before their event loop starts; a command that never ranks
    never does)."""
    from scoring.worker import WORKER

    return await asyncio.wrap_future(WORKER.submit(fn, *args))


async def similarities_off_loop(query: str, texts: Sequence[str]) -> list[float]:
    """`similarities`, computed in the ranking worker like `rank_off_loop`."""
    if not texts:
        return []
    return await _in_worker(similarities, query, list(texts))


def similarities(query: str, texts: Sequence[str]) -> list[float]:
    """How close each text is to `query` (cosine, 0 to 1) in the word space of the criteria
    similarity: tf-idf of words (sublinear tf, English stop words dropped) fitted on the texts
    and the query together, so a word most papers share counts for little. Words alone, not
    word pairs: a week of papers (about 7,000) takes under two seconds instead of seven."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not texts:
        return []
    vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english", dtype=np.float64)
    try:
        matrix = csr_matrix(vectorizer.fit_transform([query, *texts]))
    except ValueError:  # nothing but stop words
        return [0.0] * len(texts)
    values = np.asarray((matrix[1:] @ matrix[0].T).todense()).ravel()
    return [float(v) for v in values]


def _learned_list(texts: list[str], examples: list[Example]) -> list[float]:
    return [float(v) for v in learned_scores(texts, examples)]


def criteria_similarity(
    texts: Sequence[str], topics: Topics, features: DayFeatures | None = None
) -> Vector:
    """Each text's rank-normalised similarity to its best topic (word and character spaces).
    `features` are the texts' counts (`day_features(texts)`, computed here when not given):
    the same whatever the criteria, so the rankings of a day under many criteria count the
    day's words and character n-grams once."""
    import numpy as np

    day = features if features is not None else day_features(texts)
    if day.texts != tuple(texts):
        raise ValueError("the features are of other texts")
    word = _topic_similarity(day.word, topics)
    char = _topic_similarity(day.char, topics)
    return np.asarray((_ranks(word) + _ranks(char)) / 2, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Space:
    """A day's texts counted in one tf-idf space of the criteria similarity: its analyzer (the
    one `TfidfVectorizer` builds), the terms in the order the texts first use them, each
    text's sublinear term frequencies (1 + log count) and each term's document frequency."""

    analyze: Callable[[str], list[str]]
    min_df: int
    vocabulary: dict[str, int]
    tf: csr_matrix
    df: npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class DayFeatures:
    """A day's texts in the word and character spaces of the criteria similarity: everything
    of a ranking's tf-idf that does not depend on the criteria."""

    texts: tuple[str, ...]
    word: Space
    char: Space


_last_day: list[DayFeatures] = []  # the last day counted (one day: ~14 MB for 1,000 papers)


def day_features(texts: Sequence[str]) -> DayFeatures:
    """The texts counted in both spaces, reusing the last day's counts when the texts are the
    same (the rankings of one day under each criteria key come one after another): a ranking
    stays a function of its inputs, only cheaper."""
    texts = tuple(texts)
    if _last_day and _last_day[0].texts == texts:
        return _last_day[0]
    _last_day.clear()  # the previous day's memory goes before the new day's is taken
    features = count_day(texts)
    _last_day.append(features)
    return features


def count_day(texts: Sequence[str]) -> DayFeatures:
    """The texts counted in both spaces of the criteria similarity, afresh."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    word = TfidfVectorizer(sublinear_tf=True, stop_words="english", dtype=np.float64)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(4, 4), dtype=np.float64)
    return DayFeatures(
        tuple(texts),
        _space(word.build_analyzer(), 1, texts),
        _space(char.build_analyzer(), 2, texts),
    )


def _space(analyze: Callable[[str], list[str]], min_df: int, texts: Sequence[str]) -> Space:
    import numpy as np

    vocabulary: dict[str, int] = {}
    counts = _counts(analyze, texts, vocabulary, None)
    tf = _sublinear(counts)
    df = np.bincount(counts.indices, minlength=len(vocabulary)).astype(np.int64)
    return Space(analyze, min_df, vocabulary, tf, df)


def _sublinear(counts: csr_matrix) -> csr_matrix:
    """Sublinear term frequencies (1 + log count) of term counts, as a new matrix."""
    import numpy as np

    tf = counts.copy()
    np.log(tf.data, tf.data)
    tf.data += 1.0
    return tf


def _counts(
    analyze: Callable[[str], list[str]],
    texts: Sequence[str],
    vocabulary: dict[str, int],
    extra: dict[str, int] | None,
) -> csr_matrix:
    """Term counts of `texts`, as `CountVectorizer` counts them before it sorts its terms: a
    term's column is its first use, each row's entries by column. A term `vocabulary` lacks
    joins it (`extra` None: a day's texts make the vocabulary) or `extra`, numbered after
    the vocabulary (a ranking's topics leave the day's vocabulary as it is)."""
    import numpy as np
    from scipy.sparse import csr_matrix

    indices: list[int] = []
    values: list[int] = []
    indptr = [0]
    for text in texts:
        for term, n in Counter(analyze(text)).items():
            column = vocabulary.get(term)
            if column is None:
                if extra is None:
                    column = vocabulary[term] = len(vocabulary)
                else:
                    column = extra.setdefault(term, len(vocabulary) + len(extra))
            indices.append(column)
            values.append(n)
        indptr.append(len(indices))
    width = max(1, len(vocabulary) + len(extra or ()))
    matrix = csr_matrix(
        (
            np.asarray(values, dtype=np.float64),
            np.asarray(indices, dtype=np.int32),
            np.asarray(indptr, dtype=np.int32),
        ),
        shape=(len(texts), width),
    )
    matrix.sort_indices()
    return matrix


def _topic_similarity(space: Space, topics: Topics) -> Vector:
    """Each text's cosine with its best wanted topic, minus a share of its best not-wanted
    one, in `space` fitted on the texts and the topics together: the figures
    `TfidfVectorizer(...).fit_transform([*texts, *topics])` gives, from the day's counts."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.preprocessing import normalize

    docs = [*topics.wanted, *topics.not_wanted]
    n = space.tf.shape[0]
    extra: dict[str, int] = {}
    counts = _counts(space.analyze, docs, space.vocabulary, extra)
    width = len(space.vocabulary) + len(extra)
    df = np.bincount(counts.indices, minlength=width)
    df[: len(space.df)] += space.df
    kept = df >= space.min_df
    if not kept.any():  # nothing but stop words, or no term in two documents
        return np.zeros(n)
    idf = np.full(width, n + len(docs) + 1, dtype=np.float64)  # smoothed, as sklearn's
    idf /= df.astype(np.float64) + 1.0
    np.log(idf, out=idf)
    idf += 1.0
    weight = np.where(kept, idf, 0.0)

    def weighted(tf: csr_matrix) -> csr_matrix:
        data = tf.data * weight[tf.indices]
        shape = (tf.shape[0], width)
        matrix = csr_matrix((data, tf.indices.copy(), tf.indptr.copy()), shape=shape)
        matrix.eliminate_zeros()  # the terms too rare to count (in place: the copies above)
        return csr_matrix(normalize(matrix, norm="l2", copy=False))

    texts = weighted(space.tf)
    topic = weighted(_sublinear(counts))
    w = len(topics.wanted)
    best = np.asarray((texts @ topic[:w].T).max(axis=1).todense()).ravel()
    if topics.not_wanted:
        worst = np.asarray((texts @ topic[w:].T).max(axis=1).todense()).ravel()
        best = best - NOT_WANTED_WEIGHT * worst
    return np.asarray(best, dtype=np.float64)


def learned_scores(texts: Sequence[str], examples: Sequence[Example]) -> Vector:
    """Decision values of a logistic regression fitted on the examples (hashed word uni+bigram
    tf-idf: no vocabulary is kept, so many days of verdicts cost only their sparse rows)."""
    import numpy as np
    from scipy.sparse import csr_matrix, vstack
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression

    hashing = HashingVectorizer(
        n_features=HASHED_FEATURES,
        stop_words="english",
        ngram_range=(1, 2),
        alternate_sign=False,
        norm=None,
        dtype=np.float32,  # half the memory of float64; the ranks it gives are the same
    )
    all_texts = [*texts, *(paper_text(e.paper) for e in examples)]
    hashed = vstack(  # in chunks: hashing a whole window at once holds every token's index
        [hashing.transform(all_texts[i : i + CHUNK]) for i in range(0, len(all_texts), CHUNK)],
        format="csr",
    )
    del all_texts
    matrix = used_columns(csr_matrix(TfidfTransformer(sublinear_tf=True).fit_transform(hashed)))
    del hashed
    y = np.array([0] * len(texts) + [int(e.label.positive) for e in examples])
    weights = np.array(
        [UNLABELLED_WEIGHT] * len(texts) + [e.label.weight for e in examples], dtype=np.float64
    )
    positives = float(weights[y == 1].sum())
    negatives = float(weights[y == 0].sum())
    weights[y == 1] *= negatives / max(positives, 1e-9)  # balance the classes
    model = LogisticRegression(C=1.0, max_iter=1000)
    model.fit(matrix, y, sample_weight=weights)
    return np.asarray(model.decision_function(matrix[: len(texts)]), dtype=np.float64)


def used_columns(matrix: csr_matrix) -> csr_matrix:
    """`matrix` without its all-zero columns (the hashed features no text has), its entries in
    the same order. The fit is the same: an unused feature's coefficient starts at zero and
    its gradient (its penalty alone) keeps it there, while L-BFGS keeps ten vectors of the
    model's width, so 2^17 features cost ~30 MB where a day's few thousand cost ~1 MB. The
    new column numbers cost one more copy of the column indices, nothing when all are used."""
    import numpy as np
    from scipy.sparse import csr_matrix

    width = matrix.shape[1]
    used = np.flatnonzero(np.bincount(matrix.indices, minlength=width))
    if len(used) == width:
        return matrix
    renumbered = np.zeros(width, dtype=matrix.indices.dtype)
    renumbered[used] = np.arange(len(used), dtype=matrix.indices.dtype)
    shape = (matrix.shape[0], max(1, len(used)))
    return csr_matrix((matrix.data, renumbered[matrix.indices], matrix.indptr), shape)


def _example_key(e: Example) -> tuple[str, str]:
    return (e.paper.id, e.label.value)


def _ranks(values: Vector) -> Vector:
    """Values replaced by their rank in (0, 1] (ties share the average rank)."""
    import numpy as np

    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    average = (ends - counts + 1 + ends) / 2
    return np.asarray(average[inverse] / len(values), dtype=np.float64)


def _ordered(
    papers: Sequence[Paper], score: Vector, liked: int, examples: int, verdicts: int
) -> Ranking:
    order = sorted(range(len(papers)), key=lambda i: (-round(float(score[i]), 12), papers[i].id))
    entries = tuple(
        Ranked(papers[i].id, round(float(score[i]), 6), n) for n, i in enumerate(order, 1)
    )
    return Ranking(entries, liked=liked, examples=examples, verdicts=verdicts)


def sent_count(candidates: int, share: float, minimum: int) -> int:
    """How many of a day's candidates go to the LLM: the top `share`, but at least `minimum`
    (small days are scored whole). A share of 0 sends none, whatever the minimum: the channel
    ranks locally only."""
    if share <= 0:
        return 0
    return min(candidates, max(math.ceil(share * candidates - 1e-9), minimum))


def recall(ranking: Ranking, wanted: Sequence[str], k: int) -> float | None:
    """The share of `wanted` ids among the top `k` (None when nothing is wanted)."""
    ranked = {r.paper_id for r in ranking.entries}
    want = {w for w in wanted if w in ranked}
    if not want:
        return None
    return len(want & set(ranking.top(k))) / len(want)
