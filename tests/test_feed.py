"""Parsing arXiv's announcement feed: recorded fixtures, synthesised days and broken bodies."""

from __future__ import annotations

import logging
import time
from datetime import date

import pytest

from bot.arxiv.feed import parse_arxiv_id, parse_feed, split_authors
from bot.arxiv.texclean import tex_to_unicode
from bot.errors import FeedError
from bot.models import AnnounceType, FeedDay
from tests.fakes.synth import empty_rss_feed, fixture, load_eval_day, rss_feed

RSS_FIXTURE = "arxiv_rss/rss_cs.LG+cs.AI+cs.CL+stat.ML_2026-09-24_trimmed4.xml"
ATOM_FIXTURE = "arxiv_rss/atom_rss.arxiv.org_atom_cs.AI_2026-09-29_one_per_type_abridged.xml"
DAY = date(2026, 9, 24)


def _paper(arxiv_id: str, **overrides: object) -> dict[str, object]:
    paper: dict[str, object] = {
        "id": arxiv_id,
        "title": f"Title of {arxiv_id}",
        "abstract": "An abstract.",
        "authors": ["Ada Lovelace", "Alan Turing"],
        "categories": ["cs.LG", "cs.AI"],
        "primary_category": "cs.LG",
        "comment": None,
        "announce_type_inferred": "new_or_cross",
    }
    paper.update(overrides)
    return paper


# --- recorded feeds -------------------------------------------------------------------------


def test_recorded_rss_feed() -> None:
    feed = parse_feed(fixture(RSS_FIXTURE))

    assert feed.day == DAY
    assert [(i.paper.id, i.paper.version, i.announce_type) for i in feed.items] == [
        ("2609.26811", 1, AnnounceType.NEW),
        ("2609.26820", 1, AnnounceType.NEW),
        ("2205.06398", 2, AnnounceType.CROSS),
        ("2009.13987", 3, AnnounceType.REPLACE),
    ]
    first, two_categories, old_cross, _ = (i.paper for i in feed.items)
    assert first.title == ("The Drift Contract: Spectral Updates for Depth-Robust Local Learning")
    assert first.abstract.startswith("Local learning trains each layer")
    assert "Announce Type" not in first.abstract
    assert first.authors == ("Fabien Polly",)
    assert two_categories.categories == ("cs.LG", "cs.AI")
    assert two_categories.authors == ("Naser Mansour", "Sidahmed Benabderrahmane", "Ameer Rahwan")
    assert old_cross.categories == ("stat.ME", "stat.AP", "stat.ML")
    assert all(i.paper.primary_category is None for i in feed.items)


def test_recorded_atom_feed() -> None:
    feed = parse_feed(fixture(ATOM_FIXTURE))

    assert feed.day == date(2026, 9, 29)
    assert [(i.paper.id, i.paper.version, i.announce_type) for i in feed.items] == [
        ("2609.31763", 1, AnnounceType.NEW),
        ("2301.02225", 1, AnnounceType.CROSS),
        ("2306.13961", 3, AnnounceType.REPLACE),
    ]
    new, cross, _ = (i.paper for i in feed.items)
    assert new.authors == ("Srini Ramaswamy", "Deveeshree Nayak")
    assert new.abstract == "Long-context clinical AI systems can miss relevant patient history."
    assert cross.title == "l_1-2 GLasso: Regularized Multi-task Graphical Lasso"
    assert cross.categories == ("stat.ML", "cs.AI")


# --- synthesised days -----------------------------------------------------------------------


def test_eval_day_round_trip() -> None:
    papers = load_eval_day("2025-05-02")
    feed = parse_feed(rss_feed(papers, date(2025, 5, 2)))

    assert feed.day == date(2025, 5, 2)
    assert [i.paper.id for i in feed.items] == [p["id"] for p in papers]
    for paper, item in zip(papers, feed.items, strict=True):
        assert item.paper.authors == tuple(paper["authors"])
        assert item.paper.categories == tuple(paper["categories"])
        assert item.paper.title == tex_to_unicode(paper["title"])
        assert item.paper.abstract == tex_to_unicode(paper["abstract"])
    kinds = {i.announce_type for i in feed.items}
    assert kinds == {AnnounceType.NEW, AnnounceType.CROSS}


def test_eval_day_titles_are_cleaned() -> None:
    papers = load_eval_day("2025-05-13")
    titles = {i.paper.id: i.paper.title for i in parse_feed(rss_feed(papers, DAY)).items}
    assert titles["2505.06581"].startswith("An Õptimal Differentially Private Learner")
    assert titles["2505.06651"].startswith("Dyn-D^2P: Dynamic Differentially Private")
    assert titles["2505.06709"].startswith("Beyond Õ(√(T)) Constraint Violation")
    assert not [t for t in titles.values() if "$" in t or "\\math" in t or "\\text" in t]


def test_announce_type_rules_of_the_synthesiser() -> None:
    papers = [
        _paper("2505.00001", primary_category="cs.LG"),
        _paper("2505.00002", primary_category="stat.ML"),
        _paper("2412.00003", announce_type_inferred="late_first_seen"),
        _paper("2401.00004"),
    ]
    body = rss_feed(papers, DAY, announce_types={"2401.00004": "replace-cross"})
    kinds = [i.announce_type for i in parse_feed(body).items]
    assert kinds == [
        AnnounceType.NEW,
        AnnounceType.CROSS,
        AnnounceType.CROSS,
        AnnounceType.REPLACE_CROSS,
    ]


def test_two_thousand_items_parse_fast() -> None:
    papers = [_paper(f"2609.{n:05d}") for n in range(2000)]
    body = rss_feed(papers, DAY)
    started = time.perf_counter()
    feed = parse_feed(body)
    assert time.perf_counter() - started < 3.0
    assert len(feed.items) == 2000


def test_awkward_abstracts_survive_as_literal_text() -> None:
    abstract = (
        "We show a < b & c > d with $\\alpha$-decay, 50% less @channel noise, "
        "<!channel> and <!everyone> pings, costs $5 and $10, a~b, x_1^2 #3."
    )
    feed = parse_feed(rss_feed([_paper("2609.00001", abstract=abstract)], DAY))
    assert feed.items[0].paper.abstract == (
        "We show a < b & c > d with α-decay, 50% less @channel noise, "
        "<!channel> and <!everyone> pings, costs $5 and $10, a~b, x_1^2 #3."
    )


def test_entities_and_font_switches_are_gone_from_a_card() -> None:
    """A feed escaping `<cit.>` once more than XML needs, and TeX font switches: the stored
    abstract shows no entity, no `<cit.>` (a renderer would escape it to `&lt;cit.>`) and no
    backslash."""
    abstract = (
        r"Nested {\em Matryoshka SAEs} &lt;cit.&gt; and \citep{x} beat \textit{plain} R&amp;D "
        r"at 5\deg, \eg~here"
    )
    title = r"\emph{Sparse} &amp; {\bf Dense} Autoencoders"
    feed = parse_feed(rss_feed([_paper("2609.00001", abstract=abstract, title=title)], DAY))
    paper = feed.items[0].paper
    assert paper.title == "Sparse & Dense Autoencoders"
    assert paper.abstract == (
        "Nested Matryoshka SAEs [cit.] and [cit.] beat plain R&D at 5°, e.g. here"
    )


def test_tex_names_in_creators() -> None:
    creators = r"Pietro Li\`o, J\"org Tiedemann, S{\o}ren Hauberg and Andr\'e Martins"
    feed = parse_feed(rss_feed([_paper("2609.00001", authors=[creators])], DAY))
    assert feed.items[0].paper.authors == (
        "Pietro Liò",
        "Jörg Tiedemann",
        "Søren Hauberg",
        "André Martins",
    )


@pytest.mark.parametrize(
    ("creators", "names"),
    [
        ("A One, B Two and C Three", ("A One", "B Two", "C Three")),
        ("A One, B Two, and C Three", ("A One", "B Two", "C Three")),
        ("A One and B Two", ("A One", "B Two")),
        ("Sandy Anderson, Brandon Andrews", ("Sandy Anderson", "Brandon Andrews")),
        ("Solo", ("Solo",)),
        ("", ()),
        (" , ,", ()),
    ],
)
def test_split_authors(creators: str, names: tuple[str, ...]) -> None:
    assert split_authors(creators) == names


# --- ids, days, de-duplication --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("2609.26811v1", ("2609.26811", 1)),
        ("2609.26811", ("2609.26811", 1)),
        ("0704.0001v12", ("0704.0001", 12)),
        ("math/0501001v2", ("math/0501001", 2)),
        ("cond-mat.mes-hall/0501001", ("cond-mat.mes-hall/0501001", 1)),
        ("not an id", None),
        ("2609.26811v", None),
    ],
)
def test_parse_arxiv_id(text: str, parsed: tuple[str, int] | None) -> None:
    assert parse_arxiv_id(text) == parsed


def test_id_falls_back_to_description_then_link() -> None:
    body = rss_feed([_paper("2609.00001"), _paper("2609.00002")], DAY)
    body = body.replace(b"oai:arXiv.org:2609.00001v1", b"something-else")
    body = body.replace(b"oai:arXiv.org:2609.00002v1", b"")
    body = body.replace(b"arXiv:2609.00002v1 ", b"")
    items = parse_feed(body).items
    assert [(i.paper.id, i.paper.version) for i in items] == [
        ("2609.00001", 1),
        ("2609.00002", 1),
    ]


def test_old_style_ids() -> None:
    body = rss_feed([_paper("math/0501001")], DAY, announce_types={"math/0501001": "replace"})
    body = body.replace(b"math/0501001v1", b"math/0501001v2")
    (item,) = parse_feed(body).items
    assert (item.paper.id, item.paper.version) == ("math/0501001", 2)


def test_announce_type_falls_back_to_description() -> None:
    body = rss_feed([_paper("2609.00001")], DAY, announce_types={"2609.00001": "cross"})
    body = body.replace(b"<arxiv:announce_type>cross</arxiv:announce_type>", b"")
    assert parse_feed(body).items[0].announce_type is AnnounceType.CROSS


def test_duplicates_keep_the_most_telling_announcement() -> None:
    papers = [_paper("2609.00001"), _paper("2609.00002"), _paper("2609.00001")]
    kinds = {"2609.00001": "cross"}
    first = rss_feed(papers[:2], DAY, announce_types=kinds)
    again = rss_feed(papers[2:], DAY)  # the same paper, announced as new
    body = first.replace(b"  </channel>", _items_of(again) + b"  </channel>")
    items = parse_feed(body).items
    assert [(i.paper.id, i.announce_type) for i in items] == [
        ("2609.00001", AnnounceType.NEW),
        ("2609.00002", AnnounceType.NEW),
    ]


def test_day_comes_from_items_then_last_build_date() -> None:
    body = rss_feed([_paper("2609.00001")], DAY)
    channel_date = b"<pubDate>Thu, 24 Sep 2026 00:00:00 -0400</pubDate>\n    <skipDays>"
    without_channel_date = body.replace(channel_date, b"<skipDays>")
    assert parse_feed(without_channel_date).day == DAY

    empty = empty_rss_feed(DAY).replace(channel_date, b"<skipDays>")
    assert parse_feed(empty).day == DAY  # lastBuildDate, 08:58 UTC that day


def test_date_in_the_feeds_own_offset() -> None:
    late_evening = rss_feed([], DAY).replace(
        b"Thu, 24 Sep 2026 00:00:00 -0400", b"Wed, 23 Sep 2026 23:30:00 -0400"
    )
    assert parse_feed(late_evening).day == date(2026, 9, 23)


def test_weekend_feed_is_empty_not_an_error() -> None:
    feed = parse_feed(empty_rss_feed(date(2026, 9, 26)))
    assert feed == FeedDay(day=date(2026, 9, 26), items=())
    assert feed.is_empty


def test_empty_atom_feed_uses_updated() -> None:
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><id>x</id>'
        b"<updated>2026-09-27T05:00:00+00:00</updated></feed>"
    )
    assert parse_feed(body) == FeedDay(day=date(2026, 9, 27), items=())


def test_channel_without_any_date() -> None:
    body = b'<rss version="2.0"><channel><title>x</title></channel></rss>'
    assert parse_feed(body) == FeedDay(day=None, items=())


# --- bad items and bad bodies ---------------------------------------------------------------


def test_bad_items_are_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    papers = [_paper("2609.00001"), _paper("2609.00002"), _paper("2609.00003")]
    body = rss_feed(papers, DAY, announce_types={"2609.00003": "withdrawn"})
    body = body.replace(b"oai:arXiv.org:2609.00001v1", b"")
    body = body.replace(b"arXiv:2609.00001v1", b"")
    body = body.replace(b"https://arxiv.org/abs/2609.00001", b"")
    with caplog.at_level(logging.WARNING, logger="bot.arxiv.feed"):
        items = parse_feed(body).items
    assert [i.paper.id for i in items] == ["2609.00002"]
    assert "no arXiv id" in caplog.text
    assert "unknown announce type 'withdrawn'" in caplog.text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty body"),
        (b"  \n ", "empty body"),
        (b"<rss><channel><item></channel></rss>", "malformed XML (mismatched tag at line 1"),
        (b"\x89PNG\r\n", "malformed XML"),
        (b"<?xml version='1.0'?><opml><head/></opml>", "neither RSS nor Atom (root <opml>)"),
        (b"<rss version='2.0'></rss>", "no <channel>"),
    ],
)
def test_unusable_bodies_raise_one_line_feed_errors(body: bytes, message: str) -> None:
    with pytest.raises(FeedError) as raised:
        parse_feed(body)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "page",
    [
        b"<!DOCTYPE html>\n<html><head><title>503 Service &amp; Unavailable</title></head>"
        b"<body><p>Try later<br></body></html>",
        b"<html><head>\n<title>\n  503 Service &amp; Unavailable\n</title></head></html>",
        b"<?xml version='1.0'?>\n<html xmlns='http://www.w3.org/1999/xhtml'><head>"
        b"<title>503 Service &amp; Unavailable</title></head></html>",
    ],
)
def test_html_page_instead_of_feed(page: bytes) -> None:
    with pytest.raises(FeedError) as raised:
        parse_feed(page)
    assert str(raised.value) == (
        "arXiv returned an HTML page instead of a feed: 503 Service & Unavailable"
    )


def test_html_page_without_title() -> None:
    with pytest.raises(FeedError, match=r"^arXiv returned an HTML page instead of a feed$"):
        parse_feed(b"<html><body>Oops</body></html>")


def test_entity_expansion_is_refused() -> None:
    bomb = b'<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><rss><channel/></rss>'
    with pytest.raises(FeedError, match="forbidden XML"):
        parse_feed(bomb)


def _items_of(body: bytes) -> bytes:
    start = body.index(b"    <item>")
    return body[start : body.index(b"  </channel>")]
