"""A card's code links and venue, from literal abstracts, comments and journal references."""

from __future__ import annotations

import pytest

from bot.arxiv.links import MAX_CODE_LINKS, VENUE_CHARS, code_links, venue
from bot.models import Paper


def paper(abstract: str = "", comment: str | None = None, journal_ref: str | None = None) -> Paper:
    return Paper("2505.00001", "T", abstract, ("A B",), comment=comment, journal_ref=journal_ref)


@pytest.mark.parametrize(
    ("abstract", "comment", "links"),
    [
        ("Code: https://github.com/org/repo.", None, ["https://github.com/org/repo"]),
        ("at github.com/Org/Repo/tree/main/src)", None, ["https://github.com/Org/Repo"]),
        (
            "\\url{https://huggingface.co/datasets/org/data}",
            None,
            ["https://huggingface.co/datasets/org/data"],
        ),
        ("weights: huggingface.co/org/model,", None, ["https://huggingface.co/org/model"]),
        (
            "",
            "Code at https://gitlab.com/group/sub/proj/-/tree/main; 9 pages",
            ["https://gitlab.com/group/sub/proj"],
        ),
        (
            "https://github.com/a/b and https://GitHub.com/A/B again",
            None,
            ["https://github.com/a/b"],
        ),
        ("see https://github.com/features or mail x@github.com/a/b", None, []),
        ("no code here", "12 pages", []),
    ],
)
def test_code_links_come_from_the_abstract_and_the_comment(
    abstract: str, comment: str | None, links: list[str]
) -> None:
    assert list(code_links(paper(abstract, comment))) == links


def test_code_links_are_few_and_the_comment_comes_first() -> None:
    many = " ".join(f"https://github.com/org/repo{n}" for n in range(10))
    found = code_links(paper(many, "https://huggingface.co/org/model"))
    assert len(found) == MAX_CODE_LINKS
    assert found[0] == "https://huggingface.co/org/model"


def test_the_links_of_a_paper_shown_again_are_found_once() -> None:
    from bot.arxiv import links

    abstract = "Our code is at https://github.com/org/shown-twice."
    first = code_links(paper(abstract, "12 pages"))
    before = links._code_links_in.cache_info()
    again = code_links(paper(abstract, "12 pages"))  # another channel's digest, the same paper
    assert again == first == ("https://github.com/org/shown-twice",)
    assert links._code_links_in.cache_info().hits == before.hits + 1
    assert code_links(paper(abstract, "github.com/org/other")) != first  # another comment


def test_a_link_too_long_to_be_a_repository_is_not_one() -> None:
    assert code_links(paper("https://github.com/org/" + "x" * 500)) == ()


@pytest.mark.parametrize(
    ("comment", "journal_ref", "shown"),
    [
        (None, "Phys. Rev. D 110,\n 012345 (2024)", "Phys. Rev. D 110, 012345 (2024)"),
        ("Accepted at ICML 2025", "JMLR 26 (2025)", "JMLR 26 (2025)"),
        ("Accepted at ICML 2025. Code available soon", None, "Accepted at ICML 2025"),
        ("Accepted at ICML 2025. 9 pages", None, "Accepted at ICML 2025"),
        (
            "10 pages, 5 figures, accepted to CVPR 2025 (Highlight)",
            None,
            "Accepted to CVPR 2025 (Highlight)",
        ),
        (
            "To appear in Proc. ACM SIGMOD 2025; 12 pages",
            None,
            "To appear in Proc. ACM SIGMOD 2025",
        ),
        (
            "Published as a conference paper at ICLR 2025",
            None,
            "Published as a conference paper at ICLR 2025",
        ),
        (
            "Accepted for publication in IEEE TPAMI, 14 pages",
            None,
            "Accepted for publication in IEEE TPAMI",
        ),
        ("Under review. 12 pages", None, None),
        (None, None, None),
        (None, "   ", None),
    ],
)
def test_the_venue_is_the_journal_reference_or_what_the_comment_says(
    comment: str | None, journal_ref: str | None, shown: str | None
) -> None:
    assert venue(paper(comment=comment, journal_ref=journal_ref)) == shown


def test_a_long_venue_is_cut() -> None:
    found = venue(paper(journal_ref="Proceedings " * 100))
    assert found is not None
    assert len(found) <= VENUE_CHARS
    assert found.endswith("…")
