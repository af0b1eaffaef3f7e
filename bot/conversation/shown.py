"""The last digest shown to each person in each channel, so that a card number means the card
that person saw: `explain 2` and the console's `:react 2 👍` name the same paper.

It owns only that memory (in this process, bounded); it must not read the store or build digests.
"""

from __future__ import annotations

from collections import OrderedDict

from bot.models import Digest

REMEMBERED = 2000
"""People × channels remembered; the least recently shown are forgotten first."""


class LastShown:
    """Which digest each (channel, person) was shown last."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self._size = size
        self._shown: OrderedDict[tuple[str, str], Digest] = OrderedDict()

    def note(self, channel_id: str, user_id: str, digest: Digest) -> None:
        """`digest` was just shown to `user_id` in `channel_id`."""
        key = (channel_id, user_id)
        self._shown[key] = digest
        self._shown.move_to_end(key)
        while len(self._shown) > self._size:
            self._shown.popitem(last=False)

    def get(self, channel_id: str, user_id: str) -> Digest | None:
        """The digest last shown to `user_id` in `channel_id`, if any since this process began."""
        return self._shown.get((channel_id, user_id))
