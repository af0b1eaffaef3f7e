"""Check: what TeX and HTML a reader would still see after cleaning, over real arXiv text.

Cleans every title and abstract of the evaluation days (``../shared/eval/days``) and every
item of the recorded RSS/Atom feeds (``../shared/fixtures/arxiv_rss``) with the bot's one
cleaning path, and counts what is left that a person should not see: backslash commands
(``\\em``, ``\\textit``, ``\\ours``), HTML character references (``&lt;``, ``&amp;``) and
pylatexenc's ``<cit.>`` (which a renderer escapes into ``&lt;cit.>``). Prints the counts in the
raw text and after cleaning, then the most common leftovers with an example. A measurement, not
a test (tests/test_texclean.py holds the line).

    python -m bench.texclean_leftovers [--top 15]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Iterable, Iterator

from bot.arxiv.feed import parse_feed
from bot.arxiv.texclean import tex_to_unicode
from tests.fakes.synth import eval_days, load_eval_day, shared_dir

COMMAND = re.compile(r"\\(?:[A-Za-z]+|[^A-Za-z\s])")
ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#[xX][0-9A-Fa-f]+);")
CITATION_TAG = re.compile(r"<cit\.>")


def leftovers(text: str) -> Counter[str]:
    """Each backslash command, character reference and `<cit.>` in `text`, counted."""
    found: Counter[str] = Counter()
    for pattern in (COMMAND, ENTITY, CITATION_TAG):
        found.update(pattern.findall(text))
    return found


def eval_texts() -> Iterator[str]:
    """Every title and abstract of the evaluation days, as arXiv wrote them."""
    for day in eval_days():
        for paper in load_eval_day(day):
            yield paper["title"]
            yield paper["abstract"]


def tally(texts: Iterable[str]) -> tuple[int, Counter[str], Counter[str], dict[str, str]]:
    """How many texts; leftovers in the raw texts; after cleaning; one cleaned example each."""
    count, raw, cleaned = 0, Counter[str](), Counter[str]()
    examples: dict[str, str] = {}
    for text in texts:
        count += 1
        raw.update(leftovers(text))
        clean = tex_to_unicode(text)
        for name, n in leftovers(clean).items():
            cleaned[name] += n
            at = clean.find(name)
            examples.setdefault(name, clean[max(0, at - 40) : at + 40])
    return count, raw, cleaned, examples


def report(label: str, texts: Iterable[str], top: int) -> None:
    count, raw, cleaned, examples = tally(texts)
    print(
        f"{label}: {count} texts; raw {sum(raw.values())} commands/entities/<cit.> "
        f"({len(raw)} kinds), after cleaning {sum(cleaned.values())} ({len(cleaned)} kinds)"
    )
    for name, n in cleaned.most_common(top):
        print(f"  {n:4d} {name:14s} …{examples[name]}…")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    report("evaluation days", eval_texts(), args.top)
    feeds = sorted((shared_dir() / "fixtures" / "arxiv_rss").glob("*.xml"))
    items = [i for f in feeds for i in parse_feed(f.read_bytes()).items]
    # the feed parser cleans as it reads: these counts are of what the bot stores
    report("recorded feeds", (t for i in items for t in (i.paper.title, i.paper.abstract)), 5)


if __name__ == "__main__":
    main()
