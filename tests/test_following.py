"""Which papers a channel's follows match, with literal names and texts: accents, TeX and
initials for authors; words, phrases, word boundaries and plurals for keywords; the limits on
what may be followed."""

from __future__ import annotations

import json
import time

import pytest

from bot.digest import following
from bot.digest.following import AUTHOR, KEYWORD, Matcher, match, parse_follow
from bot.errors import BotError
from bot.models import Follow, Paper, Score
from tests.fakes.synth import shared_dir


def paper(
    authors: tuple[str, ...] = ("Someone Else",), title: str = "", abstract: str = ""
) -> Paper:
    return Paper("2505.00001", title or "A paper", abstract or "An abstract.", authors)


def author(text: str) -> Follow:
    return parse_follow(AUTHOR, text)


def keyword(text: str) -> Follow:
    return parse_follow(KEYWORD, text)


def reasons(follow: Follow, p: Paper) -> tuple[str, ...]:
    return Matcher([follow]).reasons(p)


@pytest.mark.parametrize(
    ("followed", "written"),
    [
        ("Jane Doe", "Jane Doe"),
        ("J. Doe", "Jane Doe"),
        ("Jane Doe", "J. Doe"),
        ("J Doe", "Jane A. Doe"),
        ("jane doe", "JANE DOE"),
        ("Doe, Jane", "Jane Doe"),
        ("Jörg Müller", "Jorg Muller"),
        ('J\\"org M\\"uller', "Jörg Müller"),
        ('J{\\"o}rg M{\\"u}ller', "J. Müller"),
        ("Søren Kierkegaard", "Soren Kierkegaard"),
        ("José Ñúñez", "Jose Nunez"),
        ("J.-P. Dupont", "Jean-Pierre Dupont"),
        ("Doe", "Jane Doe"),
    ],
)
def test_a_followed_author_matches_every_spelling_of_the_name(followed: str, written: str) -> None:
    found = reasons(author(followed), paper(("First Author", written)))
    assert len(found) == 1
    assert found[0].startswith("follows author ")


@pytest.mark.parametrize(
    ("followed", "written"),
    [
        ("Jane Doe", "John Doe"),
        ("Jane Doe", "Jane Dole"),
        ("J. Doe", "K. Doe"),
        ("Jane A. Doe", "Jane B. Doe"),
        ("Jean-Pierre Dupont", "Jean-Paul Dupont"),
        ("Jane Doe", "Doe"),
        ("Ann Lee", "Annabel Lee"),
    ],
)
def test_a_followed_author_does_not_match_someone_else(followed: str, written: str) -> None:
    assert reasons(author(followed), paper((written,))) == ()


def test_the_reason_names_the_follow_and_how_the_paper_spells_it() -> None:
    p = paper(("Alice Smith", "Jane A. Doe"))
    assert reasons(author("Jane A. Doe"), p) == ("follows author Jane A. Doe",)
    assert reasons(author("J. Doe"), p) == ("follows author J. Doe (Jane A. Doe)",)


def test_tex_in_a_followed_name_is_cleaned_before_it_is_kept() -> None:
    assert author('J\\"org M\\"uller').text == "Jörg Müller"


@pytest.mark.parametrize(
    ("followed", "title", "abstract"),
    [
        ('"diffusion model"', "Diffusion Models for Proteins", ""),
        ('"diffusion model"', "", "We train a latent diffusion model on cells."),
        ("diffusion model", "", "A model based on denoising diffusion."),
        ('"mixture of experts"', "Sparse Mixture-of-Experts at Scale", ""),
        ("policy", "", "Learning policies from demonstrations."),
        ("graph", "", "Graphs, graphs everywhere."),
        ("box", "", "Bounding boxes."),
        ('"état de l\'art"', "", "Un ÉTAT DE L'ART des méthodes."),
        ("LLM", "", "We fine-tune LLMs."),
    ],
)
def test_a_keyword_matches_words_and_phrases_in_title_or_abstract(
    followed: str, title: str, abstract: str
) -> None:
    assert reasons(keyword(followed), paper(title=title, abstract=abstract))


@pytest.mark.parametrize(
    ("followed", "abstract"),
    [
        ('"diffusion model"', "A model of diffusion."),  # a phrase keeps its order
        ("graph", "One paragraph on topography."),  # whole words only
        ("diffusion model", "Only diffusion here."),  # every word must be there
        ("transformer", "Transformation of data."),
    ],
)
def test_a_keyword_does_not_match_inside_other_words_or_out_of_order(
    followed: str, abstract: str
) -> None:
    assert reasons(keyword(followed), paper(abstract=abstract)) == ()


def test_keyword_reasons_quote_the_keyword() -> None:
    p = paper(title="Diffusion models")
    assert reasons(keyword('"Diffusion Model"'), p) == ("follows keyword “Diffusion Model”",)


def test_equal_follows_have_one_key() -> None:
    assert following.follow_key(author('J\\"org Doe')) == following.follow_key(author("Jörg Doe"))
    assert following.follow_key(author("Doe, Jane")) == following.follow_key(author("jane doe"))
    assert following.follow_key(keyword('"Diffusion Models"')) == following.follow_key(
        keyword('"diffusion model"')
    )
    assert following.follow_key(keyword('"a b"')) != following.follow_key(keyword("a b"))
    assert following.follow_key(author("Jane Doe")) != following.follow_key(keyword("Jane Doe"))


@pytest.mark.parametrize(
    ("kind", "text", "says"),
    [
        (AUTHOR, "", "give a name to follow"),
        (KEYWORD, "   ", "give a keyword to follow"),
        (AUTHOR, "x" * 101, "at most 100"),
        (AUTHOR, "12345 ...", "no letters"),
        (KEYWORD, '"" ...', "no words"),
        (KEYWORD, "a b c d e f g h i", "at most 8"),
    ],
)
def test_what_cannot_be_followed_is_refused_saying_why(kind: str, text: str, says: str) -> None:
    with pytest.raises(BotError, match=says):
        parse_follow(kind, text)


def test_followed_papers_are_listed_scored_first_best_first() -> None:
    a = Paper("1", "Diffusion", "x", ("A B",))
    b = Paper("2", "Diffusion", "x", ("A B",))
    c = Paper("3", "Diffusion", "x", ("A B",))
    matched = match([a, b, c], [keyword("diffusion")])
    entries = following.followed_entries(
        [a, b, c], matched, {"2": Score("2", 3, 3, ""), "3": Score("3", 9, 9, "")}
    )
    assert [e.paper.id for e in entries] == ["3", "2", "1"]
    assert entries[2].score is None
    assert entries[0].reasons == ("follows keyword “diffusion”",)


def real_day() -> list[Paper]:
    rows = (shared_dir() / "eval" / "days" / "2025-05-02.jsonl").read_text().splitlines()
    return [
        Paper(d["id"], d["title"], d["abstract"], tuple(d["authors"]))
        for d in map(json.loads, rows)
    ]


async def test_a_day_of_1000_papers_against_100_follows_matches_quickly_off_the_loop() -> None:
    day = real_day()
    papers = [Paper(f"{p.id}.{n}", p.title, p.abstract, p.authors) for n in range(5) for p in day]
    follows = (
        [author(p.authors[0]) for p in day[:50]]
        + [keyword(w) for w in ('"language model"', "diffusion", "graph", "reinforcement")] * 12
        + [keyword("zzz unmatched")] * 2
    )
    started = time.perf_counter()
    matched = await following.match_off_loop(papers, follows[:100])
    seconds = time.perf_counter() - started
    # every first author of the first 50 papers is followed: each of their 5 copies matches
    assert {pid.rsplit(".", 1)[0] for pid in matched} >= {p.id for p in day[:50]}
    assert seconds < 5, f"{seconds:.2f} s"
    assert await following.match_off_loop(papers, []) == {}
