"""Plain unicode text from arXiv's TeX-ish titles, abstracts, names and comments.

This module owns turning strings like ``J\\"org``, ``$\\alpha$-$\\beta$`` or ``S{\\o}ren`` into
``Jörg``, ``α-β`` and ``Søren``, and stripping the RSS feed's ``arXiv:… Announce Type: …
Abstract:`` prefix. The conversion itself is pylatexenc's; this module only shields the
characters that TeX reads differently from a person (``%`` starts a comment, ``~`` is a
non-breaking space, a lone ``$`` opens math, an unknown macro is dropped), so no word is lost.

pylatexenc reads a text one character at a time (about 20 ms for an abstract), so only the
pieces that carry TeX go to it: a text is cut at the spaces TeX cannot read across (outside
math and braces, not after a macro), pieces without TeX markers are kept as they are, and the
converted pieces are cached, so a title or name seen again costs nothing.

It must not do I/O, escape text for a chat platform (``<``, ``&``, ``@channel`` stay literal;
adapters escape) or raise: every ``str`` comes back as a ``str``.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

from pylatexenc import latexwalker, macrospec
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

logger = logging.getLogger(__name__)

# Unicode noncharacters never occur in real text, so they can stand in for characters we hide
# from pylatexenc and be swapped back afterwards without ambiguity.
_PLACEHOLDER = {
    "%": "\ufdd0",
    "~": "\ufdd1",
    "&": "\ufdd2",
    "#": "\ufdd3",
    "_": "\ufdd4",
    "^": "\ufdd5",
    "$": "\ufdd6",
    "\\": "\ufdd7",
}
_RESTORE = str.maketrans({v: k for k, v in _PLACEHOLDER.items()})
_NONCHARACTERS = re.compile("[\ufdd0-\ufdef]")

# Specials that are literal text outside math; in math only these three still misbehave.
_TEXT_SPECIALS = frozenset("%~&#_^$")
_MATH_SPECIALS = frozenset("%&#")
_ESCAPED_LITERALS = frozenset("%&#_$")

# Anything pylatexenc would change; text without these is only whitespace-collapsed (fast path,
# which keeps a 2,000-item feed quick).
_NEEDS_LATEX = re.compile(r"[\\${}`]|--|''")

# Pandoc's rule for `$` math: the opener is followed by a non-space, the closer preceded by a
# non-space and not followed by a digit. So "costs $5 and $10" stays text.
_MATH = re.compile(
    r"\\.|(\$\$(?:\\.|[^$\\])+?\$\$|\$(?![\s$])(?:\\.|[^$\\])*?(?<![\s\\])\$(?!\d))", re.DOTALL
)
_TOKEN = re.compile(r"\\(?:[A-Za-z]+(?P<arg>(?=\{))?|.)?|[%~&#_^$]", re.DOTALL)
_ENVIRONMENT_MACROS = frozenset({"begin", "end"})  # the parser handles these, not the macro table

# Common in arXiv titles yet unknown to pylatexenc 2.11, which would drop them with their text.
_PLAIN_ARGUMENT_MACROS = (
    "texttt",
    "textsf",
    "textup",
    "textnormal",
    "textmd",
    "mbox",
    "operatorname",
    "boldsymbol",
    "bm",
)
_EXTRA_TEXT_MACROS = [
    *(MacroTextSpec(name, discard=False) for name in _PLAIN_ARGUMENT_MACROS),
    MacroTextSpec("xspace", simplify_repl=""),
]

# Cutting a text into pieces pylatexenc can convert one by one.
_SPACE = re.compile(r"\s+")
_BRACE = re.compile(r"\\.|[{}]", re.DOTALL)
_BRACKET_MATH = re.compile(r"\\\(.*?\\\)|\\\[.*?\\\]", re.DOTALL)  # \(…\) and \[…\]
_ENDS_IN_CONTROL = re.compile(r"\\(?:[A-Za-z]+|[^A-Za-z])?\Z")  # a macro may take what follows
_CACHED_PIECES = 8192

_ANNOUNCE_PREFIX = re.compile(
    r"\A\s*arXiv:\S+\s+Announce\s+Type:\s*[A-Za-z-]+\s*(?:Abstract:\s*)?", re.IGNORECASE
)


def tex_to_unicode(text: str) -> str:
    """Readable unicode for a TeX-ish arXiv string, whitespace collapsed; never raises."""
    text = _NONCHARACTERS.sub("", text)
    if not _NEEDS_LATEX.search(text):
        return collapse_whitespace(text)
    pieces = (
        _convert(piece) if _NEEDS_LATEX.search(piece) else piece for piece in tex_pieces(text)
    )
    return " ".join(p for p in pieces if p)


def tex_pieces(text: str) -> list[str]:
    """`text` cut at the whitespace TeX cannot read across: outside math (``$…$``,
    ``\\(…\\)``) and braces, and not after a macro (``\\c c``, ``\\textbf {x}``). Joined by
    single spaces they are the text with its whitespace collapsed. Text with environments stays
    whole."""
    if "\\begin" in text:
        return [collapse_whitespace(text)]
    math = [m.span(1) for m in _MATH.finditer(text) if m.group(1) is not None]
    math += [m.span() for m in _BRACKET_MATH.finditer(text)]
    pieces: list[str] = []
    start = scanned = depth = 0
    for space in _SPACE.finditer(text):
        cut = space.start()
        for brace in _BRACE.finditer(text, scanned, cut):
            depth += {"{": 1, "}": -1}.get(brace.group(0), 0)
        scanned = cut
        if depth < 0:  # a stray closing brace: let pylatexenc see all of it
            return [collapse_whitespace(text)]
        inside_math = any(a < cut < b for a, b in math)
        if depth or inside_math or _ENDS_IN_CONTROL.search(text, start, cut):
            continue
        if cut > start:
            pieces.append(collapse_whitespace(text[start:cut]))
        start = space.end()
    if start < len(text):
        pieces.append(collapse_whitespace(text[start:]))
    return pieces


@functools.lru_cache(maxsize=_CACHED_PIECES)
def _convert(piece: str) -> str:
    """One piece through pylatexenc, shielded; as written if pylatexenc fails."""
    try:
        converted = _converter().latex_to_text(_shield(piece), latex_context=_walker_context())
    except Exception:  # pylatexenc bugs (e.g. IndexError on some macros) must not cost a paper
        logger.debug("pylatexenc failed; keeping the text as written: %.80r", piece)
        return piece
    return collapse_whitespace(str(converted).translate(_RESTORE))


def strip_announce_prefix(description: str) -> str:
    """The abstract of an RSS description, without ``arXiv:<id> Announce Type: <t> Abstract:``."""
    return _ANNOUNCE_PREFIX.sub("", description, count=1)


def collapse_whitespace(text: str) -> str:
    """Single spaces between words (hard-wrapped API text), no leading or trailing space."""
    return " ".join(text.split())


def _shield(text: str) -> str:
    """Hide TeX-special characters that mean themselves here, keeping `$…$` math as math."""
    parts: list[str] = []
    last = 0
    for match in _MATH.finditer(text):
        if match.group(1) is None:
            continue
        parts.append(_shield_part(text[last : match.start()], _TEXT_SPECIALS))
        parts.append(_shield_part(match.group(1), _MATH_SPECIALS))
        last = match.end()
    parts.append(_shield_part(text[last:], _TEXT_SPECIALS))
    return "".join(parts)


def _shield_part(part: str, specials: frozenset[str]) -> str:
    """Replace the given bare specials and every unknown macro's backslash by placeholders."""
    return _TOKEN.sub(lambda m: _shield_token(m, specials), part)


def _shield_token(match: re.Match[str], specials: frozenset[str]) -> str:
    token = match.group(0)
    if not token.startswith("\\"):
        return _PLACEHOLDER[token] if token in specials else token
    name = token[1:]
    if not name:  # a trailing backslash
        return _PLACEHOLDER["\\"]
    if name in _ESCAPED_LITERALS:
        return _PLACEHOLDER[name]
    if name.isalpha() and _is_unknown_macro(name):
        # pylatexenc silently drops unknown macros: "\ours{} wins" should keep "\ours", and
        # "\foo{bar}" must not glue into "\foobar".
        return _PLACEHOLDER["\\"] + name + (" " if match.group("arg") is not None else "")
    return token


def _is_unknown_macro(name: str) -> bool:
    spec = _converter().latex_context.get_macro_spec(name)
    return spec is None and name not in _ENVIRONMENT_MACROS


@functools.cache
def _converter() -> Any:
    context = get_default_latex_context_db().filter_context()  # a copy we may extend
    context.add_context_category("arxiv-bot", macros=_EXTRA_TEXT_MACROS, prepend=True)
    # "based-on-source" keeps the spaces as typed: "\alpha is" stays two words, not "αis".
    return LatexNodes2Text(
        math_mode="text", latex_context=context, strict_latex_spaces="based-on-source"
    )


@functools.cache
def _walker_context() -> Any:
    """The parser's macro table, taught the arguments of the macros added above.

    Without it pylatexenc 2.11 parses ``\\href{url}{text}`` with no arguments and its text
    formatter then crashes with IndexError.
    """
    context = latexwalker.get_default_latex_context_db().filter_context()
    arguments = [macrospec.MacroSpec(name, "{") for name in _PLAIN_ARGUMENT_MACROS]
    arguments.append(macrospec.MacroSpec("href", "{{"))
    context.add_context_category("arxiv-bot", macros=arguments, prepend=True)
    return context
