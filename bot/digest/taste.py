"""A channel's taste: its reactions as ranking examples, and what they say of a day's papers.

It owns turning a channel's reactions (likes, 👎, posts nobody reacted to) into the ranking's
training examples, and the taste over a day's candidates that orders the cards of a day not
decided before. Deciding a day (`bot.digest.deciding`) and showing a stored day
(`bot.digest.stored`) both use it.

This module must not read or write the store, fetch or score: callers hand it what they loaded.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.models import Paper
from bot.store import Reaction
from scoring import ranking


def example(reaction: Reaction) -> ranking.Example:
    """A channel's reaction as a training example of the ranking."""
    label = (
        ranking.IMPORTED
        if reaction.imported
        else ranking.LIKE
        if reaction.value > 0
        else ranking.DISLIKE
        if reaction.value < 0
        else ranking.POSTED
    )
    return ranking.Example(reaction.paper, label)


async def channel_taste(
    candidates: Sequence[Paper], reactions: Sequence[Reaction]
) -> tuple[dict[str, float], int]:
    """The channel's taste over the day's candidates, learned from its reactions alone, and how
    many likes it rests on; nothing when the channel never liked a paper (or does not learn, so
    its reactions were not loaded). The learning runs in the ranking worker, off the loop."""
    likes = sum(1 for r in reactions if r.value > 0)
    if not likes or not candidates:
        return {}, 0
    examples = [example(r) for r in reactions][: ranking.MAX_EXAMPLES]
    texts = [ranking.paper_text(p) for p in candidates]
    values = await ranking.learned_scores_off_loop(texts, examples)
    return {p.id: float(v) for p, v in zip(candidates, values, strict=True)}, likes
