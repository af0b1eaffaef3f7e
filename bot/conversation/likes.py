"""How `/arxiv likes` reads: each liked paper once, with how many like it and whether you do,
then the channel's imported reading list (marked as imported).

This module owns the text of the likes listing, from `LikedPaper`s the store gathered (one per
paper, its likers newest first). Pure: it must not query the store or name other people (a
platform user id would be a mention on some platforms); it says "yours and 2 others".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.digest.selection import day_text
from bot.i18n import _, ngettext, number
from bot.safety import defuse
from bot.store.records import ImportedPaper, LikedPaper


def likes_text(
    liked: Sequence[LikedPaper],
    user_id: str,
    *,
    mine: bool,
    imported: Sequence[ImportedPaper] = (),
    imported_total: int = 0,
) -> str:
    """The reply to `likes` (the channel's) or `likes me` (the caller's); the channel's reply
    ends with its imported papers (`imported_total` of them in all)."""
    if not liked:
        head = (
            _("You liked nothing yet: react with 👍 to a posted paper.")
            if mine
            else _("This channel liked nothing yet: react with 👍 to a posted paper.")
        )
    else:
        rows = [_line(item, user_id) for item in liked]
        head = (
            (
                _("You liked recently (newest first):")
                if mine
                else _("This channel liked recently (newest first):")
            )
            + "\n"
            + "\n".join(rows)
        )
    if not imported:
        return head
    more = imported_total - len(imported)
    tail = (
        "\n"
        + ngettext("… and {count} more imported", "… and {count} more imported", more).format(
            count=number(more)
        )
        if more > 0
        else ""
    )
    rows = [
        f"• {defuse(i.paper.title)} — {i.paper.abs_url} ("
        + _("imported {when}").format(when=_day(i.imported_at))
        + ")"
        for i in imported
    ]
    intro = ngettext(
        "Imported reading list ({count} paper; the ranking learns from it as from a paper this "
        "channel picked; `import undo` takes back the latest import):",
        "Imported reading list ({count} papers; the ranking learns from them as from papers "
        "this channel picked; `import undo` takes back the latest import):",
        imported_total,
    ).format(count=number(imported_total))
    return f"{head}\n{intro}\n" + "\n".join(rows) + tail


def _line(item: LikedPaper, user_id: str) -> str:
    paper = item.paper
    return (
        f"• {defuse(paper.title)} — {paper.abs_url} "
        f"({who_likes(item.likers, user_id)}; {_day(item.last_at)})"
    )


def _day(stamp: str) -> str:
    """A stored timestamp's day as the reader's locale writes it (English keeps ISO)."""
    try:
        return day_text(date.fromisoformat(stamp[:10]))
    except ValueError:
        return stamp[:10]


def who_likes(likers: Sequence[str], user_id: str) -> str:
    """`1 like`, `3 likes`, `1 like: yours`, `3 likes: yours and 2 others`."""
    n = len(likers)
    count = ngettext("{count} like", "{count} likes", n).format(count=number(n))
    if user_id not in likers:
        return count
    others = n - 1
    if not others:
        return _("{likes}: yours").format(likes=count)
    return ngettext(
        "{likes}: yours and {count} other", "{likes}: yours and {count} others", others
    ).format(likes=count, count=number(others))
