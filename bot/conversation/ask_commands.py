"""The `ask` command: a question about one paper, answered by the LLM from the paper's full
text, or with no question a structured summary.

It resolves what `ask` was given (a card number of the latest digest, an arXiv id or link),
gets the paper version's full text once for every channel and process (unit of work
`fulltext:<id>v<version>`, kept in the store), picks the sections that match the question best
(`bot.paper_text.best_sections`) and asks `scoring.ask` with the thread's earlier turns about
the paper. The same normalised question about the same paper version under the same criteria
is answered once (unit of work `ask:<...>`), from the store afterwards, in any channel; each
answer's cost goes to the usage ledger as "ask", and its request through the daily budget
(`scoring.spending`: the asker holds its worst case before sending). Rate limits are
`bot.conversation.dispatch`'s.

It must not import a platform SDK or render platform markup.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

from bot.arxiv.categories import categories_key
from bot.arxiv.fetch import FullText, PaperFetcher, PaperMissing
from bot.arxiv.paper_text import best_sections, normalise_question
from bot.conversation.context import Caller, Context, Handlers, Reply, Respond
from bot.conversation.explain_commands import ARXIV_ID, no_card, paper_reference
from bot.errors import BotError
from bot.i18n import _, number
from bot.models import Paper, Section
from bot.safety import clip, defuse, whole_number
from scoring.ask import ASK_PROMPT_VERSION, Asker, ask_messages
from scoring.explain import prose_version

MAX_QUESTION_CHARS = 2_000
SECTIONS_SENT = 4


def split_ask(arg: str) -> tuple[str, str]:
    """`ask`'s argument as the paper reference (first word) and the question (the rest)."""
    ref, _space, question = arg.strip().partition(" ")
    question = question.strip()
    if len(question) > MAX_QUESTION_CHARS:
        raise BotError(
            _("that question is {count} characters long; ask in at most {most}").format(
                count=number(len(question)), most=number(MAX_QUESTION_CHARS)
            )
        )
    return paper_reference(ref), question


def answer_key(
    paper_id: str, version: int, criteria_id: int, model: str, question: str, language: str = "en"
) -> str:
    """The unit of work of one answer: paper version, criteria, model, prompt (with the
    answer's language), question."""
    digest = hashlib.sha256(normalise_question(question).encode()).hexdigest()[:24]
    prompt = prose_version(ASK_PROMPT_VERSION, language)
    return f"ask:{paper_id}v{version}:{criteria_id}:{model}:{prompt}:{digest}"


def source_note(source: str) -> str:
    """What the answer was read from, for the reply."""
    if source == "abstract":
        return _("arXiv has no full text of this paper I could read, so this is from the abstract")
    return _("from the paper's HTML full text") if source == "html" else _("from the paper's PDF")


class AskCommands:
    """Answers `ask` (see module docstring)."""

    def __init__(
        self,
        ctx: Context,
        asker: Asker | None,
        fetcher: PaperFetcher | None,
    ) -> None:
        self._ctx = ctx
        self._store = ctx.store
        self._asker = asker
        self._fetcher = fetcher

    def handlers(self) -> Handlers:
        return {"ask": self._ask}

    async def _ask(self, caller: Caller, arg: str, respond: Respond) -> None:
        if self._asker is None or self._fetcher is None:
            raise BotError(_("`ask` is not available on this bot"))
        ref, question = split_ask(arg)
        paper_id, paper = await self._resolve(caller, ref)
        if paper is not None and "withdrawn" in (paper.comment or "").lower():
            raise BotError(
                _("arXiv:{id} was withdrawn by its authors; there is no text").format(id=paper_id)
            )
        version = paper.version if paper else 1
        text = await self._full_text(paper_id, version, paper)
        current = await self._store.channels.channel_criteria(caller.channel_id)
        assert current is not None, "channels get default criteria on first contact"
        criteria = current[0]
        assert criteria.id is not None
        asker = self._asker
        language = (await self._ctx.options(caller)).language
        key = answer_key(paper_id, version, criteria.id, asker.model, question, language)
        title = paper.title if paper else f"arXiv:{paper_id}"

        async def make() -> str:
            chosen = best_sections(text.sections, question, SECTIONS_SENT)
            history = await self._store.paper_texts.turns(
                caller.channel_id, caller.thread, paper_id
            )
            messages = ask_messages(title, chosen, question, history, criteria.text, language)
            answer, usage = await asker.ask(messages)
            await self._store.paper_texts.save_answer(
                key, paper_id, question, answer, usage, asker.model, criteria.id, _today()
            )
            return answer

        answer = await self._ctx.service.work.once(
            key, lambda: self._store.paper_texts.answer(key), make
        )
        await self._store.paper_texts.record_turn(caller.channel_id, caller.thread, paper_id, key)
        head = (
            _("*{title}* (arXiv:{id}) — Summary, {source}:")
            if not question
            else _("*{title}* (arXiv:{id}) — Answer, {source}:")
        )
        shown = head.format(
            title=defuse(title), id=f"{paper_id}v{version}", source=source_note(text.source)
        )
        await respond(Reply(f"{shown}\n{defuse(answer)}", ephemeral=False))

    async def _resolve(self, caller: Caller, ref: str) -> tuple[str, Paper | None]:
        """A card number of the latest digest or an arXiv id → the paper id and the stored
        paper (None when the store never saw it)."""
        card = whole_number(ref)
        if card is not None:
            options = await self._ctx.options(caller)
            latest = await self._store.papers.latest_feed_day(categories_key(options.categories))
            digest = await self._ctx.stored_digest(caller.channel_id, latest)
            if digest is None or not 1 <= card <= len(digest.entries):
                raise BotError(no_card(card, len(digest.entries) if digest else 0, seen=False))
            paper = digest.entries[card - 1].paper
            stored = (await self._store.papers.get([paper.id])).get(paper.id)
            return paper.id, stored or paper
        m = ARXIV_ID.match(ref)
        if m is None:
            raise BotError(
                _("{text} is neither an arXiv id (e.g. 2505.00326) nor a card number").format(
                    text=repr(clip(ref, 40))
                )
            )
        paper_id = m.group(1)
        return paper_id, (await self._store.papers.get([paper_id])).get(paper_id)

    async def _full_text(self, paper_id: str, version: int, paper: Paper | None) -> FullText:
        """The paper version's text, fetched once for everyone and kept in the store."""
        fetcher = self._fetcher
        assert fetcher is not None
        texts = self._store.paper_texts

        async def load() -> FullText | None:
            kept = await texts.text(paper_id, version)
            if kept is None:
                return None
            source, rows = kept
            return FullText(source, tuple(Section(*row) for row in rows))

        async def make() -> FullText:
            try:
                got = await fetcher.full_text(paper_id, version)
            except PaperMissing:
                if paper is None:  # not in any feed the bot read either: arXiv has no such id
                    raise
                got = None
            if got is None:
                if paper is None:
                    raise BotError(
                        _("arXiv has no readable text of arXiv:{id}").format(id=paper_id)
                    ) from None
                got = FullText("abstract", (Section("", "Abstract", paper.abstract),))
            rows = [[s.number, s.title, s.text] for s in got.sections]
            await texts.save_text(paper_id, version, got.source, rows)
            return got

        return await self._ctx.service.work.once(f"fulltext:{paper_id}v{version}", load, make)


def _today() -> date:
    return datetime.now(UTC).date()
