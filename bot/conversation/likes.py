"""How `/arxiv likes` reads: each liked paper once, with how many like it and whether you do,
then the channel's imported reading list (marked as imported).

This module owns the text of the likes listing, from `LikedPaper`s the store gathered (one per
paper, its likers newest first). Pure: it must not query the store or name other people (a
platform user id would be a mention on some platforms); it says "yours and 2 others".
"""

from __future__ import annotations

from collections.abc import Sequence

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
    whose = "You" if mine else "This channel"
    if not liked:
        head = f"{whose} liked nothing yet: react with 👍 to a posted paper."
    else:
        rows = [_line(item, user_id) for item in liked]
        head = f"{whose} liked recently (newest first):\n" + "\n".join(rows)
    if not imported:
        return head
    more = imported_total - len(imported)
    tail = f"\n… and {more} more imported" if more > 0 else ""
    rows = [
        f"• {defuse(i.paper.title)} — {i.paper.abs_url} (imported {i.imported_at[:10]})"
        for i in imported
    ]
    return (
        f"{head}\nImported reading list ({imported_total}, teaching the ranking like likes; "
        "`import undo` takes back the latest import):\n" + "\n".join(rows) + tail
    )


def _line(item: LikedPaper, user_id: str) -> str:
    paper = item.paper
    return (
        f"• {defuse(paper.title)} — {paper.abs_url} "
        f"({who_likes(item.likers, user_id)}; {item.last_at[:10]})"
    )


def who_likes(likers: Sequence[str], user_id: str) -> str:
    """`1 like`, `3 likes`, `1 like: yours`, `3 likes: yours and 2 others`."""
    n = len(likers)
    count = f"{n} like{'' if n == 1 else 's'}"
    if user_id not in likers:
        return count
    others = n - 1
    tail = f" and {others} other{'' if others == 1 else 's'}" if others else ""
    return f"{count}: yours{tail}"
