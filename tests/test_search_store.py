"""Full-text search in the store, on SQLite (FTS5) and PostgreSQL (tsvector + GIN) alike: the
same words find the same papers in roughly the same order, hostile text is only words, and the
index follows papers as they are stored, replaced, and copied to another database."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import date

import pytest

from bot.models import AnnounceType, Paper, Score, ScoreKey, Usage
from bot.store import Store
from bot.store.papers import MAX_WORDS, fts5_query, query_terms, shown_terms

DAY = date(2025, 5, 2)
CATS = "cs.LG+cs.AI"


def paper(
    pid: str, title: str, abstract: str, authors: tuple[str, ...] = ("Ada Lovelace",)
) -> Paper:
    return Paper(pid, title, abstract, authors, ("cs.LG",))


PAPERS = [
    paper(
        "2505.00001",
        "Sparse Mixture-of-Experts for Language Models",
        "We route tokens to experts and compress the model.",
        ("Jörg Müller", "Ada Lovelace"),
    ),
    paper(
        "2505.00002",
        "Protein Design with Diffusion",
        "A diffusion model designs proteins; experts in biology agree it is sparse.",
    ),
    paper(
        "2505.00003",
        "Quantized Transformers",
        "Quantization of language models near the edge, with sparse attention.",
        ("Grace Hopper",),
    ),
]


async def stored(database: str) -> None:
    async with Store.open(database) as store:
        await store.papers.save_announcements(DAY, CATS, [(p, AnnounceType.NEW) for p in PAPERS])


async def found(database: str, text: str) -> list[str]:
    async with Store.open(database) as store:
        return [p.id for p in await store.papers.search(query_terms(text), 10)]


async def test_words_of_a_title_find_the_paper_first(database: str) -> None:
    await stored(database)
    assert (await found(database, "sparse experts"))[0] == "2505.00001"  # title beats abstract
    assert set(await found(database, "sparse experts")) == {"2505.00001", "2505.00002"}
    assert await found(database, "protein diffusion") == ["2505.00002"]
    assert await found(database, "quantized transformers") == ["2505.00003"]
    assert await found(database, "nothing like this anywhere") == []


async def test_authors_are_searched_too(database: str) -> None:
    await stored(database)
    assert await found(database, "Hopper") == ["2505.00003"]
    assert await found(database, "müller") == ["2505.00001"]


@pytest.mark.parametrize(
    "hostile",
    [
        '"sparse',
        'sparse" OR "x',
        "sparse NEAR experts",
        "NEAR(sparse experts, 2)",
        "sparse*",
        "-sparse",
        "title:sparse",
        "sparse AND NOT experts",
        "^sparse",
        "sparse & experts | (x",
        "sparse" + " experts" * 3000,
        "sparse ' ; DROP TABLE papers; --",
    ],
)
async def test_hostile_text_is_only_words(database: str, hostile: str) -> None:
    await stored(database)
    got = await found(database, hostile)  # never a syntax error: operators are plain words
    assert got == await found(database, shown_terms(query_terms(hostile)))
    async with Store.open(database) as store:
        assert len(await store.papers.get([p.id for p in PAPERS])) == 3


async def test_operators_and_quotes_search_as_the_words_they_hold(database: str) -> None:
    await stored(database)
    assert (await found(database, '"sparse'))[0] == "2505.00001"
    assert len(await found(database, "-sparse")) == 3  # not "without sparse"
    assert await found(database, "sparse*") == await found(database, "sparse")
    assert await found(database, "quantization NEAR edge") == ["2505.00003"]  # near, a word


def test_only_punctuation_is_nothing_to_search_for() -> None:
    assert query_terms("\"'*-^:()[]{}!?.,;") == []
    assert query_terms("   ") == []
    assert query_terms('"of the" and') == []
    assert len(query_terms(" ".join(f"w{i}" for i in range(100)))) == MAX_WORDS


def test_fts5_query_quotes_every_word() -> None:
    assert fts5_query([("near",), ("and",)]) == '"near" "and"'
    assert fts5_query([("mixture", "of", "experts")]) == '"mixture of experts"'
    with closing(sqlite3.connect(":memory:")) as db:
        db.execute("CREATE VIRTUAL TABLE t USING fts5(x)")
        for terms in ([("near",)], [("and",), ("or", "not")], [("x",)] * 12):
            db.execute("SELECT * FROM t WHERE t MATCH ?", (fts5_query(terms),)).fetchall()


async def test_a_replaced_paper_is_found_by_its_new_words(database: str) -> None:
    await stored(database)
    async with Store.open(database) as store:
        newer = Paper(
            "2505.00002",
            "Protein Folding Revisited",
            "Nothing else.",
            ("A",),
            ("cs.LG",),
            version=2,
        )
        assert await store.papers.apply_replacements([newer]) == 1
    assert await found(database, "protein folding") == ["2505.00002"]
    assert await found(database, "diffusion") == []


async def test_the_channel_s_newest_criteria_score_comes_with_a_result(database: str) -> None:
    await stored(database)
    async with Store.open(database) as store:
        old = await store.channels.criteria("old criteria")
        new = await store.channels.criteria("new criteria")
        await store.channels.set_channel_criteria("C1", old, "me")
        assert old.id is not None
        assert new.id is not None
        await store.scores.save(
            [Score("2505.00001", 3, 3, "meh")], ScoreKey(old.id, "m", "1"), Usage(), DAY
        )
        await store.channels.set_channel_criteria("C1", new, "me")
        await store.scores.save(
            [Score("2505.00001", 9, 8, "yes")], ScoreKey(new.id, "m", "1"), Usage(), DAY
        )
        scores = await store.scores.channel_scores("C1", ["2505.00001", "2505.00002"])
        assert {k: (v.relevance, v.novelty) for k, v in scores.items()} == {"2505.00001": (9, 8)}
        assert await store.scores.channel_scores("C2", ["2505.00001"]) == {}


async def test_migrate_db_fills_the_search_index_of_the_copy(tmp_path: object) -> None:
    from pathlib import Path

    from bot.store.copy import copy_database
    from bot.store.url import parse_database

    base = Path(str(tmp_path))
    source, target = str(base / "a.sqlite3"), str(base / "b.sqlite3")
    await stored(source)
    await copy_database(parse_database(source), parse_database(target))
    assert await found(target, "sparse experts") == await found(source, "sparse experts")


async def real_day_results(database: str, queries: list[str]) -> list[list[str]]:
    from tests.fakes.synth import load_eval_day

    day = [
        Paper(str(p["id"]), str(p["title"]), str(p["abstract"]), tuple(p["authors"]), ("cs.LG",))
        for p in load_eval_day("2025-05-02")
    ]
    async with Store.open(database) as store:
        await store.papers.save_announcements(DAY, CATS, [(p, AnnounceType.NEW) for p in day])
        return [[p.id for p in await store.papers.search(query_terms(q), 5)] for q in queries]


QUERIES = ["sparse attention", "language models reasoning", "diffusion", "graph neural network"]


async def test_both_engines_rank_a_real_day_alike(tmp_path: object) -> None:
    from pathlib import Path

    from tests.conftest import fresh_postgres

    sqlite = await real_day_results(str(Path(str(tmp_path)) / "s.sqlite3"), QUERIES)
    async with fresh_postgres() as url:
        postgres = await real_day_results(url, QUERIES)
    for query, lite, pg in zip(QUERIES, sqlite, postgres, strict=True):
        assert lite, query
        assert lite[0] in pg[:3] or pg[0] in lite[:3], (query, lite, pg)  # the best agree
        assert len(set(lite) & set(pg)) >= min(len(lite), len(pg)) // 2, (query, lite, pg)


async def test_common_words_are_left_out_on_both_engines(database: str) -> None:
    await stored(database)
    assert query_terms("the Protein of Design") == [("protein",), ("design",)]
    assert await found(database, "the protein of design") == ["2505.00002"]
    assert query_terms("of the and") == []


async def test_a_quoted_phrase_finds_only_papers_with_the_phrase(database: str) -> None:
    await stored(database)
    # paper 2 has "experts" and "model", paper 3 "language models": only paper 1 has the phrase
    assert set(await found(database, "mixture experts")) == {"2505.00001"}
    assert set(await found(database, "language models")) == {"2505.00001", "2505.00003"}
    assert await found(database, '"mixture of experts"') == ["2505.00001"]  # written with -
    assert await found(database, '"experts for language"') == ["2505.00001"]
    assert await found(database, '"language experts"') == []  # both words, not in a row
    assert await found(database, '"sparse attention" quantization') == ["2505.00003"]
    assert query_terms('"Mixture of Experts" routing') == [
        ("mixture", "of", "experts"),
        ("routing",),
    ]


LETTERS = [
    paper("2505.00011", "Cross-lingual Transfer", "Languages.", ("Anders Søgaard",)),
    paper("2505.00012", "Łódź Sparse Codes", "Codes.", ("Łukasz Kaiser",)),
    paper("2505.00013", "Straße Networks", "Roads, with Ærø data.", ("Jörg Müller",)),
]


@pytest.mark.parametrize(
    ("typed", "paper_id"),
    [
        ("sogaard", "2505.00011"),
        ("Søgaard", "2505.00011"),
        ("lukasz kaiser", "2505.00012"),
        ("lodz", "2505.00012"),
        ("strasse", "2505.00013"),
        ("Straße", "2505.00013"),
        ("aero", "2505.00013"),
        ("jorg muller", "2505.00013"),
        ("Jörg", "2505.00013"),
    ],
)
async def test_letters_unicode_does_not_take_apart_are_folded_in_the_index(
    database: str, typed: str, paper_id: str
) -> None:
    async with Store.open(database) as store:
        await store.papers.save_announcements(DAY, CATS, [(p, AnnounceType.NEW) for p in LETTERS])
    assert await found(database, typed) == [paper_id]
