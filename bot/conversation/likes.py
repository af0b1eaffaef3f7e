"""How `/arxiv likes` reads: each liked paper once, with how many like it and whether you do.

This module owns the text of the likes listing, from `LikedPaper`s the store gathered (one per
paper, its likers newest first). Pure: it must not query the store or name other people (a
platform user id would be a mention on some platforms); it says "yours and 2 others".
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.safety import defuse
from bot.store.records import LikedPaper


def likes_text(liked: Sequence[LikedPaper], user_id: str, *, mine: bool) -> str:
    """The reply to `likes` (the channel's) or `likes me` (the caller's)."""
    whose = "You" if mine else "This channel"
    if not liked:
        return f"{whose} liked nothing yet: react with 👍 to a posted paper."
    rows = [_line(item, user_id) for item in liked]
    return f"{whose} liked recently (newest first):\n" + "\n".join(rows)


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
