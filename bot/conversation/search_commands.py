"""The commands that look through the stored days for papers: `search <words>` and
`similar <paper>`.

They hand what was typed to `bot.digest.search.Lookups`, which owns the looking, and send its text
back privately. Rate limits are `bot.conversation.dispatch`'s.

It must not spend (LLM or arXiv), query the store itself, import a platform SDK or render
platform markup.
"""

from __future__ import annotations

from bot.conversation.context import Caller, Context, Handlers, Reply, Respond
from bot.conversation.explain_commands import paper_reference
from bot.digest.search import Lookups


class SearchCommands:
    """Answers `search` and `similar` (see module docstring)."""

    def __init__(self, ctx: Context, lookups: Lookups) -> None:
        self._ctx = ctx
        self._lookups = lookups

    def handlers(self) -> Handlers:
        return {"search": self._search, "similar": self._similar}

    async def _search(self, caller: Caller, arg: str, respond: Respond) -> None:
        await respond(Reply(await self._lookups.search(caller.channel_id, arg)))

    async def _similar(self, caller: Caller, arg: str, respond: Respond) -> None:
        options = await self._ctx.options(caller)
        text = await self._lookups.similar(caller.channel_id, options, paper_reference(arg))
        await respond(Reply(text))
