"""The `explain` command: why a paper got its scores in this channel, or why it was not sent to
the LLM at all.

It reads what `explain` was given (an arXiv id, an abstract, PDF or HTML link, or a card number
of the latest digest), finds the digest that showed the paper (or where the local ranking put a
paper never shown, or the score a shared link got under the current criteria,
`bot.conversation.unfurl`), and asks `scoring.explain` for prose under the criteria that scored
it, cached per criteria, model and prompt version (`fresh` asks again under the current
criteria). The reply's wording is decided by the pure functions at the bottom. Rate limits are
`bot.conversation.dispatch`'s.

It must not score papers, import a platform SDK or render platform markup.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.arxiv.categories import categories_key
from bot.conversation.context import Caller, Context, Handlers, Reply, Respond
from bot.digest.selection import digest_from_json
from bot.errors import BotError
from bot.i18n import _, ngettext, number
from bot.models import Digest, Paper, Score, ScoreKey
from bot.safety import clip, defuse, whole_number
from bot.store import RankedDay
from scoring.explain import EXPLAIN_PROMPT_VERSION, as_prose, prose_version
from scoring.prompt import PROMPT_VERSION, prompt_version

ARXIV_ID = re.compile(
    r"^(?:arxiv:)?(\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?$", re.IGNORECASE
)
"""An arXiv id, new style or old, with an optional `arXiv:` prefix and version."""

_ARXIV_LINK = re.compile(
    r"^<?(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/([^\s|>?#]+?)(?:\.pdf)?/?"
    r"(?:[?#][^\s|>]*)?(?:\|[^>]*)?>?$",
    re.IGNORECASE,
)


def paper_reference(text: str) -> str:
    """What `explain` was given, with an arXiv abstract or PDF link (with or without a version,
    `.pdf`, or the angle brackets chat platforms put around links) reduced to its id."""
    ref = text.strip()
    m = _ARXIV_LINK.match(ref)
    return m.group(1) if m else ref


class ExplainCommands:
    """Answers `explain` (see module docstring)."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._store = ctx.store
        self._explainer = ctx.explainer

    def handlers(self) -> Handlers:
        return {"explain": self._explain}

    async def _explain(self, caller: Caller, arg: str, respond: Respond) -> None:
        words = arg.split()
        fresh = len(words) > 1 and words[-1].lower() == "fresh"
        if fresh or len(words) > 1:
            words = words[:-1] if fresh else words
            if len(words) != 1:
                raise BotError(_("say `/arxiv explain <arXiv id | link | card number> [fresh]`"))
        ref = paper_reference(" ".join(words))
        m = ARXIV_ID.match(ref)
        if m is not None and whole_number(ref) is None:
            paper_id = m.group(1)
            if await self._store.digests.showing(caller.channel_id, paper_id) is None:
                await self._explain_unposted(caller, paper_id, respond, fresh=fresh)
                return
        paper_id, digest = await self._resolve_paper(caller, ref)
        await self._explain_score(caller, paper_id, digest, respond, fresh=fresh)

    async def _explain_unposted(
        self, caller: Caller, paper_id: str, respond: Respond, *, fresh: bool = False
    ) -> None:
        """A paper this channel never showed: where the local ranking put it, and its score if
        the LLM saw it."""
        placed = await self._store.rankings.ranked_day(caller.channel_id, paper_id)
        if placed is None:
            await self._explain_linked(caller, paper_id, respond, fresh=fresh)
            return
        row = placed.row
        where = _where_ranked(placed)
        if not row.sent:
            await respond(Reply(_unsent_text(paper_id, placed)))
            return
        digest = await self._ctx.stored_digest(caller.channel_id, row.day)
        if digest is None:
            raise BotError(
                _("arXiv:{id} was {where}, but its digest is not stored").format(
                    id=paper_id, where=where
                )
            )
        note = _("Sent to the LLM ({where}).").format(where=where) + " "
        await self._explain_score(caller, paper_id, digest, respond, note=note, fresh=fresh)

    async def _explain_linked(
        self, caller: Caller, paper_id: str, respond: Respond, *, fresh: bool = False
    ) -> None:
        """A paper no digest of the channel placed but scored under its current criteria (a
        shared link, `bot.conversation.unfurl`): why, under those criteria."""
        current = await self._store.channels.channel_criteria(caller.channel_id)
        assert current is not None, "channels get default criteria on first contact"
        criteria, version = current
        assert criteria.id is not None
        model = self._explainer.model
        score = (
            await self._store.scores.get([paper_id], ScoreKey(criteria.id, model, PROMPT_VERSION))
        ).get(paper_id)
        paper = (await self._store.papers.get([paper_id])).get(paper_id)
        if score is None or paper is None:
            raise BotError(never_posted(paper_id))
        language = (await self._ctx.options(caller)).language
        explain_key = ScoreKey(criteria.id, model, prose_version(EXPLAIN_PROMPT_VERSION, language))
        text = None if fresh else await self._store.scores.explanation(paper_id, explain_key)
        if text is None:
            text, usage = await self._explainer.explain(paper, score, criteria.text, language)
            today = datetime.now(UTC).date()
            await self._store.scores.save_explanation(paper_id, explain_key, text, usage, today)
        await respond(
            Reply(
                _(
                    "*{title}* (arXiv:{id}) — relevance {relevance}, novelty {novelty} under "
                    "criteria version {version}:"
                ).format(
                    title=defuse(paper.title),
                    id=paper_id,
                    relevance=score.relevance,
                    novelty=score.novelty,
                    version=version,
                )
                + f"\n{defuse(as_prose(text))}"
            )
        )

    async def _explain_score(
        self,
        caller: Caller,
        paper_id: str,
        digest: Digest,
        respond: Respond,
        note: str = "",
        *,
        fresh: bool = False,
    ) -> None:
        """Why the paper scored as it did: under the criteria of the digest that showed it, or
        with `fresh`, asked again under the channel's current criteria."""
        current = await self._store.channels.channel_criteria(caller.channel_id)
        assert current is not None, "channels get default criteria on first contact"
        now_criteria, now_version = current
        if fresh:
            criteria, version = now_criteria, now_version
        else:
            criteria, version = await self._store.channels.criteria(digest.criteria.text), None
        assert criteria.id is not None
        language = (await self._ctx.options(caller)).language
        score = await self._score(paper_id, criteria.id, digest.model, language)
        paper = (await self._store.papers.get([paper_id])).get(paper_id)
        if paper is None or score is None:
            if fresh:
                raise BotError(
                    _(
                        "arXiv:{id} has no score under criteria version {version} yet: papers "
                        "are scored under new criteria with the next digest or "
                        "`/arxiv criteria preview`"
                    ).format(id=paper_id, version=now_version)
                )
            raise BotError(
                _("arXiv:{id} has no score under this channel's criteria").format(id=paper_id)
            )
        explain_key = ScoreKey(
            criteria.id, self._explainer.model, prose_version(EXPLAIN_PROMPT_VERSION, language)
        )
        text = None if fresh else await self._store.scores.explanation(paper_id, explain_key)
        if text is None:
            text, usage = await self._explainer.explain(paper, score, criteria.text, language)
            await self._store.scores.save_explanation(
                paper_id, explain_key, text, usage, digest.day
            )
        scored_under = version or digest.criteria_version
        await respond(
            Reply(
                _explanation_text(
                    note, paper_id, paper, score, text, digest, scored_under, now_version
                )
            )
        )

    async def _score(
        self, paper_id: str, criteria_id: int, model: str, language: str
    ) -> Score | None:
        """The paper's score under the channel's language, else under English: the numbers are
        the same, only the comment's language differs (a day scored before the change)."""
        for version in dict.fromkeys((prompt_version(language), PROMPT_VERSION)):
            key = ScoreKey(criteria_id, model, version)
            score = (await self._store.scores.get([paper_id], key)).get(paper_id)
            if score is not None:
                return score
        return None

    async def _resolve_paper(self, caller: Caller, arg: str) -> tuple[str, Digest]:
        """An arXiv id or a card number (of the digest last shown to the caller) → the paper
        and the digest that showed it in this channel."""
        options = await self._ctx.options(caller)
        latest = await self._store.papers.latest_feed_day(categories_key(options.categories))
        card = whole_number(arg)
        if card is not None:
            # the card the caller saw: the last digest shown to them here, else the latest one
            seen = self._ctx.shown.get(caller.channel_id, caller.user_id)
            digest = seen or await self._ctx.stored_digest(caller.channel_id, latest)
            if digest is None or not 1 <= card <= len(digest.entries):
                raise BotError(no_card(card, len(digest.entries) if digest else 0, seen=bool(seen)))
            return digest.entries[card - 1].paper.id, digest
        m = ARXIV_ID.match(arg)
        if m is None:
            raise BotError(
                _("{text} is neither an arXiv id (e.g. 2505.00326) nor a card number").format(
                    text=repr(clip(arg, 40))
                )
            )
        paper_id = m.group(1)
        found = await self._store.digests.showing(caller.channel_id, paper_id)
        if found is None:
            raise BotError(never_posted(paper_id))
        return paper_id, digest_from_json(found)


def never_posted(paper_id: str) -> str:
    """The error of a paper the channel never saw."""
    return _("I never posted arXiv:{id} in this channel").format(id=paper_id)


def no_card(card: int, count: int, *, seen: bool) -> str:
    """The error of a card number the digest does not have."""
    if seen:
        text = ngettext(
            "there is no card {card} in the last digest shown to you ({count} paper)",
            "there is no card {card} in the last digest shown to you ({count} papers)",
            count,
        )
    else:
        text = ngettext(
            "there is no card {card} in the latest digest ({count} paper)",
            "there is no card {card} in the latest digest ({count} papers)",
            count,
        )
    return text.format(card=card, count=number(count))


def _where_ranked(placed: RankedDay) -> str:
    row = placed.row
    return _("ranked {rank} of {count} by the local ranking (score {score})").format(
        rank=number(row.rank), count=number(placed.ranked), score=number(row.score, 2)
    )


def _unsent_text(paper_id: str, placed: RankedDay) -> str:
    """Why a paper the local ranking placed was never sent to the LLM."""
    scored = (
        _("the top {count} were scored").format(count=number(placed.sent))
        if placed.sent
        else _("none was: the channel ranks locally only (its LLM share is 0)")
    )
    return _(
        "arXiv:{id} ({day}) was not sent to the LLM: {where}; {scored}. Raise the share with "
        "`/arxiv settings llm-share`, or like papers like it to teach the ranking."
    ).format(id=paper_id, day=placed.row.day, where=_where_ranked(placed), scored=scored)


def _explanation_text(
    note: str,
    paper_id: str,
    paper: Paper,
    score: Score,
    explanation: str,
    digest: Digest,
    scored_under: int,
    now_version: int,
) -> str:
    """The reply to `explain`: the paper, its scores and the criteria version they were given
    under, the prose, what taste did, and an offer to explain afresh if the criteria changed."""
    if scored_under == now_version:
        head = _(
            "*{title}* (arXiv:{id}) — relevance {relevance}, novelty {novelty} under criteria "
            "version {version}:"
        )
        offer = ""
    else:
        head = _(
            "*{title}* (arXiv:{id}) — relevance {relevance}, novelty {novelty} scored under "
            "criteria version {version} (now {now}):"
        )
        offer = "\n" + _(
            "The criteria changed since: `/arxiv explain {id} fresh` explains it under the "
            "current ones."
        ).format(id=paper_id)
    shown = head.format(
        title=defuse(paper.title),
        id=paper_id,
        relevance=score.relevance,
        novelty=score.novelty,
        version=scored_under,
        now=now_version,
    )
    return f"{note}{shown}\n{defuse(as_prose(explanation))}{_taste_text(paper_id, digest)}{offer}"


def _taste_text(paper_id: str, digest: Digest) -> str:
    """What the channel's taste did to a paper in a digest, if anything."""
    for n, entry in enumerate(digest.entries, 1):
        if entry.paper.id == paper_id and entry.moved:
            places = abs(entry.moved)
            if entry.moved > 0:
                moved = ngettext(
                    "Taste: the channel's likes moved it up {places} place, to card {card}.",
                    "Taste: the channel's likes moved it up {places} places, to card {card}.",
                    places,
                )
            else:
                moved = ngettext(
                    "Taste: the channel's likes moved it down {places} place, to card {card}.",
                    "Taste: the channel's likes moved it down {places} places, to card {card}.",
                    places,
                )
            return "\n" + moved.format(places=places, card=n)
    if any(e.paper.id == paper_id for e in digest.more_like):
        return "\n" + _(
            "Taste: shown under “More like what you liked”: just under the thresholds, and "
            "close to what this channel liked."
        )
    return ""
