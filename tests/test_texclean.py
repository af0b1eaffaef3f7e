"""TeX-ish arXiv strings become clean unicode without losing a word, and never raise."""

from __future__ import annotations

import re

import pytest

from bot.arxiv.texclean import (
    collapse_whitespace,
    strip_announce_prefix,
    tex_pieces,
    tex_to_unicode,
)
from tests.fakes.synth import eval_days, load_eval_day


@pytest.mark.parametrize(
    ("tex", "expected"),
    [
        (r"Pietro Li\`o", "Pietro Liò"),
        (r"J\"org", "Jörg"),
        (r"S{\o}ren S{\o}gaard", "Søren Søgaard"),
        (r"Andr\'e", "André"),
        (r"Tom\'as Lozano-P\'erez", "Tomás Lozano-Pérez"),
        (r"$\alpha$-$\beta$", "α-β"),
        (r"$\mathcal{L}$", "ℒ"),
        (r"$O(n \log n)$ time", "O(n log n) time"),
        (r"$l_{1-2}$ GLasso", "l_1-2 GLasso"),
        (r"\textbf{Bold} and \emph{emphasis}", "Bold and emphasis"),
        (r"50\% and \$5 and A \& B", "50% and $5 and A & B"),
        (r"\~n\c{c}", "ñç"),
        (
            r"\href{https://github.com/a_b/c~d%20e}{Project Page}",
            "Project Page <https://github.com/a_b/c~d%20e>",
        ),
    ],
)
def test_tex_becomes_unicode(tex: str, expected: str) -> None:
    assert tex_to_unicode(tex) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("50% better than 40%", "50% better than 40%"),
        ("a~b ~5 ms", "a~b ~5 ms"),
        (r"~5 ms in $x$ and https://x.org/~me/\_a", "~5 ms in x and https://x.org/~me/_a"),
        ("x_1 and y^2, issue #3 & co", "x_1 and y^2, issue #3 & co"),
        ("costs $5 and $10", "costs $5 and $10"),
        ("a single $ sign", "a single $ sign"),
        ("a < b > c & d", "a < b > c & d"),
        ("@channel <!everyone> <!channel> <@U123>", "@channel <!everyone> <!channel> <@U123>"),
        ("see https://x.org/a_b~c%20d#frag?q=1&r=2", "see https://x.org/a_b~c%20d#frag?q=1&r=2"),
        ("{Transformer}s and {}braces", "Transformers and braces"),
        (r"\unknownmacro keeps going", "unknownmacro keeps going"),
        (r"our \method{} wins and \foo{bar} too", "our method wins and foo bar too"),
        ("a trailing backslash \\", "a trailing backslash \\"),
        ("quotes \"q\" and 'r'", "quotes \"q\" and 'r'"),
    ],
)
def test_literal_text_survives(text: str, expected: str) -> None:
    assert tex_to_unicode(text) == expected


def test_whitespace_is_collapsed() -> None:
    wrapped = (
        "  RDD: Retrieval-Based Demonstration Decomposer for Planner Alignment in\n  Long\tTasks \n"
    )
    assert tex_to_unicode(wrapped) == (
        "RDD: Retrieval-Based Demonstration Decomposer for Planner Alignment in Long Tasks"
    )
    assert tex_to_unicode("a~\\\\ b") == "a~ b"
    assert collapse_whitespace("\u00a0x\u2009 y ") == "x y"


NASTY = [
    "",
    " ",
    "$",
    "$$",
    "$$$",
    "\\",
    "\\\\",
    "{",
    "}",
    "}{",
    "%",
    "~",
    "^",
    "_",
    "#",
    "&",
    "\\begin{itemize}",
    "\\end{itemize}",
    "\\begin{equation} x",
    "$\\frac{a}{$",
    "\\href{",
    "\\href{x}",
    "\\url{",
    "\\verb|x",
    "\\cite{",
    "$x^$",
    "$_$",
    "\\'",
    '\\"',
    "\\c",
    "\\~",
    "\\^",
    "\\(",
    "\\)",
    "\\[",
    "\\]",
    "\ufdd0\ufdd7$",
    "\x00\x01",
    "\ud800",
    "\U0001f600 emoji",
    "<!everyone> & @here",
    "\\input{/etc/passwd}",
    "\\include{x}",
    "\\def\\x{y}\\x",
    "\\newcommand{\\x}{y}",
    "a" * 5000 + "$" + "\\alpha" * 200,
    "$" * 101,
    "{" * 300 + "x",
]


@pytest.mark.parametrize("text", NASTY)
def test_never_raises(text: str) -> None:
    out = tex_to_unicode(text)
    assert isinstance(out, str)
    assert out == out.strip()
    assert "  " not in out


WORDY = [
    "50% better, 10% worse",
    "costs $5 and $10 per run",
    "Wait~what x_i and y^j #tag & more",
    "email me@host.org <https://a.b/c_d> {braced words} here",
    "<!channel> @everyone ping",
    r"\unknownmacro word",
    "unbalanced { brace and } other",
    "tilde~joined~words",
]


@pytest.mark.parametrize("text", WORDY)
def test_no_word_is_lost(text: str) -> None:
    assert _words(text) <= _words(tex_to_unicode(text))


def test_eval_day_texts_lose_no_plain_words() -> None:
    """Real abstracts: every word outside macros, math and braces is still there."""
    for paper in load_eval_day("2025-05-02")[:150]:
        text = paper["abstract"]
        if re.search(r"[\\${}]", text):
            continue  # TeX rewrites these; the parametrised cases cover them
        assert _words(text) <= _words(tex_to_unicode(text)), paper["id"]


@pytest.mark.parametrize(
    ("description", "abstract"),
    [
        ("arXiv:2609.26811v1 Announce Type: new \nAbstract: Local learning.", "Local learning."),
        ("arXiv:2205.06398v2 Announce Type: cross \nAbstract: It has", "It has"),
        ("arXiv:2009.13987v3 Announce Type: replace \nAbstract: We", "We"),
        ("arXiv:math/0501001v2 Announce Type: replace-cross\nAbstract: Old id", "Old id"),
        ("No prefix at all.", "No prefix at all."),
        (
            "Abstract: stays when there is no arXiv prefix",
            "Abstract: stays when there is no arXiv prefix",
        ),
    ],
)
def test_strip_announce_prefix(description: str, abstract: str) -> None:
    assert strip_announce_prefix(description) == abstract


def _words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z0-9]+", text))


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("plain words stay whole", ["plain", "words", "stay", "whole"]),
        (r"an $O(n \log n)$ bound", ["an", r"$O(n \log n)$", "bound"]),
        (r"size \( n \), then", ["size", r"\( n \),", "then"]),
        (r"\textbf{two words} and \c c", [r"\textbf{two words}", "and", r"\c c"]),
        ("{open brace never closed", ["{open brace never closed"]),
        ("a } stray\n brace", ["a } stray brace"]),
        ("\\begin{itemize} x \\end{itemize}", ["\\begin{itemize} x \\end{itemize}"]),
    ],
)
def test_texts_are_cut_where_tex_cannot_read_across(text: str, pieces: list[str]) -> None:
    assert tex_pieces(text) == pieces


def test_a_dash_keeps_its_spaces() -> None:
    assert tex_to_unicode(r"we call \emph{role separation} -- is crucial") == (
        "we call role separation – is crucial"
    )
    assert tex_to_unicode(r"size \( n \), and ``X'' -- y") == "size n, and “X” – y"


@pytest.mark.parametrize(
    ("tex", "expected"),
    [
        (r"the goal of {\em subspace approximation} is", "the goal of subspace approximation is"),
        (r"{\it fair} and {\bf bold} and {\sc Caps}", "fair and bold and Caps"),
        (r"\textit{italic}, \emph{emphasis}, \textsc{Small}", "italic, emphasis, Small"),
        (r"we propose \large Faster \large Prompts", "we propose Faster Prompts"),
        (r"\noindent The datasets", "The datasets"),
        (r"$O\left(\log\left(d/\epsilon\right)\right)$", "O(log(d/ϵ))"),
        (r"$O\big( \sqrt{T} \big)$", "O( √(T))"),
        (r"Toker et al.~\cite{toker}, who", "Toker et al. [cit.], who"),
        (r"SAEs \citep[see][p.~3]{a,b} and \citet{c}", "SAEs [cit.] and [cit.]"),
        (r"~\citeauthor{bu2023} recently", "[cit.] recently"),
        (r"7 of 11 sets\unicode{x2013}or all", "7 of 11 sets–or all"),
        (r"at 5.625\deg{} and 0.96\degC", "at 5.625° and 0.96°C"),
        (r"up to \SI{89}{\times} faster, \SI{86.71}{\percent}", "up to 89 × faster, 86.71 %"),
        (r"rewards, \eg~progress (\ie, speed)", "rewards, e.g. progress (i.e., speed)"),
        (r"in \R^d with $\binom{n}{k}$ and $\tfrac{1}{2}$", "in ℝ^d with C(n,k) and 1/2"),
        (r"HiFR\textsuperscript{2}-Net", "HiFR^2-Net"),
        (
            r"introduces \METHOD~(Modular) and \SysName, a",
            "introduces METHOD (Modular) and SysName, a",
        ),
        (r"about $\sim$10 GPUs, 0.80$\pm$0.02 apart", "about ∼10 GPUs, 0.80±0.02 apart"),
        (r"of order $ O(\epsilon^2) $ using", "of order O(ϵ^2) using"),
        (r"from $\approx$74\% to 64$\times$ fewer", "from ≈74% to 64× fewer"),
        # dollars stay dollars, even next to TeX: an amount starts with a digit
        (r"costs $5 and $10 with $\alpha$", "costs $5 and $10 with α"),
        (r"a price of $5 with \emph{x} and $6", "a price of $5 with x and $6"),
    ],
)
def test_no_tex_command_is_left_for_a_reader(tex: str, expected: str) -> None:
    """What a reader sees of font switches, citations, sizes, units and an author's own macros."""
    assert tex_to_unicode(tex) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("as in &lt;cit.&gt; before", "as in [cit.] before"),
        ("escaped twice: &amp;lt;b&amp;gt; and &amp;amp;", "escaped twice: <b> and &"),
        ("R&amp;D, &#955;-calculus, &#x3b1; and &quot;q&quot;", 'R&D, λ-calculus, α and "q"'),
        # only complete references: an ampersand in a URL or a name stays as written
        ("AT&T and https://x.org/?a=1&reg=2&copy=3", "AT&T and https://x.org/?a=1&reg=2&copy=3"),
        ("&notanentity; stays", "&notanentity; stays"),
        (r"$a &lt; b$ in math", "a < b in math"),
    ],
)
def test_html_entities_are_decoded(text: str, expected: str) -> None:
    assert tex_to_unicode(text) == expected


_LEFTOVER = re.compile(r"\\[A-Za-z]+|&(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#[xX][0-9A-Fa-f]+);|<cit\.>")


def test_no_command_or_entity_left_in_fifteen_real_days() -> None:
    """Every title and abstract of the evaluation days (8,050 texts, 1,935 TeX commands) reads
    without a backslash command, an entity or `<cit.>`."""
    left = []
    for day in eval_days():
        for paper in load_eval_day(day):
            for field in ("title", "abstract"):
                clean = tex_to_unicode(paper[field])
                left += [f"{paper['id']} {m.group(0)}" for m in _LEFTOVER.finditer(clean)]
    assert left == []
