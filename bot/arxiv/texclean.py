"""Plain unicode text from arXiv's TeX-ish titles, abstracts, names and comments.

This module owns turning strings like ``J\\"org``, ``$\\alpha$-$\\beta$`` or ``S{\\o}ren`` into
``Jörg``, ``α-β`` and ``Søren``, decoding HTML character references (``&lt;``, ``&amp;``,
sometimes escaped twice on the way), and stripping the RSS feed's ``arXiv:… Announce Type: …
Abstract:`` prefix. The conversion itself is pylatexenc's; this module only shields the
characters that TeX reads differently from a person (``%`` starts a comment, ``~`` is a
non-breaking space, a lone ``$`` opens math, an unknown macro is dropped), so no word is lost,
and teaches it what arXiv authors write that it does not know: font switches (``{\\em x}``,
``\\large``) vanish, citations read ``[cit.]``, an author's own macro (``\\ours``) reads as its
name. No backslash command is left for a reader (`python -m bench.texclean_leftovers` counts).

pylatexenc reads a text one character at a time (about 20 ms for an abstract), so only the
pieces that carry TeX go to it: a text is cut at the spaces TeX cannot read across (outside
math and braces, not after a macro), pieces without TeX markers are kept as they are, and the
converted pieces are cached, so a title or name seen again costs nothing.

It must not do I/O, escape text for a chat platform (``<``, ``&``, ``@channel`` stay literal;
adapters escape) or raise: every ``str`` comes back as a ``str``.
"""

from __future__ import annotations

import functools
import html
import html.entities
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
# non-space and not followed by a digit. So "costs $5 and $10" stays text. arXiv authors also
# write `$\sim$10`, `0.80$\pm$0.02` and `$ O(\epsilon^2) $`: a pair whose inside holds a macro
# and does not start with a digit is math too (an amount of dollars starts with one).
_MATH = re.compile(
    r"\\.|(\$\$(?:\\.|[^$\\])+?\$\$"
    r"|\$(?=[^$]*?\\[A-Za-z])(?![\d$])(?:\\.|[^$\\])+?\$"
    r"|\$(?![\s$])(?:\\.|[^$\\])*?(?<![\s\\])\$(?!\d))",
    re.DOTALL,
)
# A `~` touching a macro (`\eg~progress`, `et al.~\cite{x}`) is TeX's tie, a space to a reader;
# any other `~` is literal (`~5 ms`, a URL's `~user`).
_TOKEN = re.compile(
    r"\\(?:[A-Za-z]+(?:(?P<arg>(?=\{))|(?P<tie>~))?|.)?|(?P<lead>~)(?=\\[A-Za-z])|[%~&#_^$]",
    re.DOTALL,
)
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
# Declarations that change only how the text looks (`{\em word}`, `\large`, `\left(`): the
# text after them is kept, the command itself says nothing to a reader.
# fmt: off
_SILENT_MACROS = (
    "em", "it", "bf", "rm", "sc", "tt", "sf", "sl", "up", "md", "normalfont",
    "bfseries", "itshape", "mdseries", "upshape", "slshape", "scshape",
    "rmfamily", "sffamily", "ttfamily",
    "tiny", "scriptsize", "footnotesize", "small", "normalsize", "large", "Large", "LARGE",
    "huge", "Huge",
    "noindent", "nonumber", "centering", "displaystyle", "textstyle", "scriptstyle",
    "limits", "nolimits", "xspace",
    "left", "right", "middle", "big", "Big", "bigg", "Bigg",
    "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr", "Biggl", "Biggr",
)
# Citations: pylatexenc writes `<cit.>`, which a renderer escapes to `&lt;cit.>`.
_CITATION_MACROS = (
    "cite", "citep", "citet", "citealp", "citealt", "citeauthor", "citeyear", "citenum", "Cite",
    "parencite", "textcite", "autocite", "footcite",
)
# fmt: on
CITATION = "[cit.]"
_SYMBOL_MACROS = {
    "deg": "°",
    "degC": "°C",
    "celsius": "°C",
    "percent": "%",
    "R": "ℝ",
    "eg": "e.g.",
    "ie": "i.e.",
    "etal": "et al.",
    "wrt": "w.r.t.",
    "minute": "min",
    "second": "s",
}
# Macros with arguments, and how each reads.
_ARGUMENT_MACROS = {
    "smash": ("{", "%s"),
    "textsuperscript": ("{", "^%s"),
    "textsubscript": ("{", "_%s"),
    "tfrac": ("{{", "%(1)s/%(2)s"),
    "dfrac": ("{{", "%(1)s/%(2)s"),
    "binom": ("{{", "C(%(1)s,%(2)s)"),
    "SI": ("[{{", "%(2)s %(3)s"),
    "num": ("[{", "%(2)s"),
    "unicode": ("{", None),  # MathJax's \unicode{x2013}: the character itself, below
}


def _unicode_character(node: Any, l2tobj: Any) -> str:
    """``\\unicode{x2013}`` (or ``{8211}``) as the character it names; as written if not one."""
    code = str(l2tobj.nodelist_to_text([node.nodeargd.argnlist[-1]])).strip()
    try:
        number = int(code[1:], 16) if code[:1] in "xX" else int(code)
        return chr(number) if 0 < number < 0x110000 else code
    except (ValueError, IndexError):
        return code


_EXTRA_TEXT_MACROS = [
    *(MacroTextSpec(name, discard=False) for name in _PLAIN_ARGUMENT_MACROS),
    *(MacroTextSpec(name, simplify_repl="") for name in _SILENT_MACROS),
    *(MacroTextSpec(name, simplify_repl=CITATION) for name in _CITATION_MACROS),
    *(MacroTextSpec(name, simplify_repl=text) for name, text in _SYMBOL_MACROS.items()),
    *(
        MacroTextSpec(name, simplify_repl=repl or _unicode_character)
        for name, (_, repl) in _ARGUMENT_MACROS.items()
    ),
]

# Cutting a text into pieces pylatexenc can convert one by one.
_SPACE = re.compile(r"\s+")
_BRACE = re.compile(r"\\.|[{}]", re.DOTALL)
_BRACKET_MATH = re.compile(r"\\\(.*?\\\)|\\\[.*?\\\]", re.DOTALL)  # \(…\) and \[…\]
_ENDS_IN_CONTROL = re.compile(r"\\(?:[A-Za-z]+|[^A-Za-z])?\Z")  # a macro may take what follows
_CACHED_PIECES = 8192

# A complete HTML character reference; decoded up to this many times (text escaped twice).
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_ENTITY_ROUNDS = 3

_ANNOUNCE_PREFIX = re.compile(
    r"\A\s*arXiv:\S+\s+Announce\s+Type:\s*[A-Za-z-]+\s*(?:Abstract:\s*)?", re.IGNORECASE
)


def tex_to_unicode(text: str) -> str:
    """Readable unicode for a TeX-ish arXiv string, whitespace collapsed; never raises."""
    text = _NONCHARACTERS.sub("", unescape_entities(text)).replace("<cit.>", CITATION)
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


def unescape_entities(text: str) -> str:
    """HTML character references decoded: ``&lt;cit.&gt;`` is ``<cit.>``, ``&amp;amp;`` (escaped
    twice on the way) is ``&``. Only complete references (ending in ``;``) are decoded, so a
    URL's ``?a=1&reg=2`` or a bare ``AT&T`` keeps its ampersand."""
    for _ in range(_ENTITY_ROUNDS):
        if "&" not in text:
            break
        decoded = _ENTITY.sub(_decode_reference, text)
        if decoded == text:
            break
        text = decoded
    return text


def _decode_reference(match: re.Match[str]) -> str:
    reference = match.group(0)
    # html.unescape reads "&notin;" from "&notanentity;": only whole names are decoded
    if reference[1] != "#" and reference[1:] not in html.entities.html5:
        return reference
    return html.unescape(reference)


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
    if match.group("lead") is not None:
        return " "
    if match.group("tie") is not None:
        return _shield_macro(token[:-1], has_argument=False) + " "
    return _shield_macro(token, has_argument=match.group("arg") is not None, specials=specials)


def _shield_macro(
    token: str, *, has_argument: bool, specials: frozenset[str] = _TEXT_SPECIALS
) -> str:
    """A special or macro token as pylatexenc should see it."""
    if not token.startswith("\\"):
        return _PLACEHOLDER[token] if token in specials else token
    name = token[1:]
    if not name:  # a trailing backslash
        return _PLACEHOLDER["\\"]
    if name in _ESCAPED_LITERALS:
        return _PLACEHOLDER[name]
    if name.isalpha() and _is_unknown_macro(name):
        # pylatexenc silently drops unknown macros: an author's "\ours{} wins" should read
        # "ours wins" (the name is the word), and "\foo{bar}" must not glue into "foobar".
        return name + (" " if has_argument else "")
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
    arguments += [macrospec.MacroSpec(name, "*[[{") for name in _CITATION_MACROS]
    arguments += [macrospec.MacroSpec(name, args) for name, (args, _) in _ARGUMENT_MACROS.items()]
    context.add_context_category("arxiv-bot", macros=arguments, prepend=True)
    return context
