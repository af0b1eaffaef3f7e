"""The `criteria preview [confirm]` command: re-score the latest stored day under the channel's
current criteria and show which papers would enter or leave its digest.

It first estimates what the re-scoring costs, the way the LLM budget does
(`scoring.pricing.affordable`): the papers the day's ranking would send that have no score
under the criteria yet. Above `ConversationConfig.preview_confirm_usd` (or at an unknown price)
it waits for `confirm`. The estimate and the replies are pure functions below; the build
itself is `DigestService.build`. Rate limits are `bot.conversation.dispatch`'s.
`first_day_note` says, the same way, what the first day under new criteria costs (its warm-up
share of the latest stored day), for `criteria set` in a channel with a budget.

It must not edit the criteria (`bot.conversation.criteria_commands` does), import a platform SDK or
render platform markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from bot.arxiv.categories import categories_key
from bot.conversation.context import Caller, Context, Handlers, Reply, Respond
from bot.digest.options import DigestOptions
from bot.errors import BotError
from bot.i18n import _, money, ngettext, number, percent
from bot.i18n import day as day_text
from bot.models import Criteria, Digest, DigestEntry, Paper, ScoreKey
from bot.safety import defuse
from scoring import ranking, share
from scoring.pricing import (
    CHARS_PER_TOKEN,
    ESTIMATE_BATCH,
    ESTIMATE_COMPLETION_TOKENS,
    Price,
)
from scoring.prompt import PROMPT_VERSION, paper_block, system_message


class CriteriaPreview:
    """Answers `criteria preview` (see module docstring)."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._store = ctx.store
        self._service = ctx.service
        self._explainer = ctx.explainer

    def handlers(self) -> Handlers:
        return {"criteria preview": self._criteria_preview}

    async def _criteria_preview(self, caller: Caller, arg: str, respond: Respond) -> None:
        word = arg.strip().lower()
        if word not in ("", "confirm"):
            raise BotError(_("say `/arxiv criteria preview` or `/arxiv criteria preview confirm`"))
        history = await self._store.channels.criteria_history(caller.channel_id)
        options = await self._ctx.options(caller)
        day = await self._store.papers.latest_feed_day(categories_key(options.categories))
        if day is None:
            raise BotError(_("there is no announcement day in the store yet; try `/arxiv today`"))
        version = history[0].version
        count, dollars = await self._preview_cost(caller, day, options, history[0].criteria)
        to_score = _to_score_text(count, dollars, self._explainer.model)
        limit = self._ctx.config.preview_confirm_usd
        if count and word != "confirm" and (dollars is None or dollars > limit):
            await respond(
                Reply(
                    _(
                        "Previewing {day} under criteria version {version} means scoring "
                        "{to_score}. Run `/arxiv criteria preview confirm` to go ahead."
                    ).format(day=day_text(day), version=version, to_score=to_score)
                )
            )
            return
        await respond(
            Reply(
                _("Re-scoring {day} under criteria version {version} ({to_score})…").format(
                    day=day_text(day), version=version, to_score=to_score
                )
            )
        )
        now = await self._service.build(caller.channel_id, day, options)
        assert now is not None
        before = await self._service.selection_under(
            history[1].criteria if len(history) > 1 else history[0].criteria, day, options
        )
        await respond(Reply(diff_text(day, before, now), ephemeral=False))

    async def _preview_cost(
        self, caller: Caller, day: date, options: DigestOptions, criteria: Criteria
    ) -> tuple[int, float | None]:
        """How many papers a first build of `day` under `criteria` would send to the LLM that
        have no score under them yet, and roughly what they cost (None: the model's price is
        unknown), estimated the way the LLM budget is."""
        ranked = await self._service.ranking_for(caller.channel_id, day, options)
        budget = options.budget
        top = ranked[: ranking.sent_count(len(ranked), budget.share, budget.min_papers)]
        model = self._explainer.model
        assert criteria.id is not None
        have = await self._store.scores.get(top, ScoreKey(criteria.id, model, PROMPT_VERSION))
        missing = [pid for pid in top if pid not in have]
        price = self._explainer.prices.price(model)
        if price is None or not missing:
            return len(missing), None if missing else 0.0
        papers = (await self._store.papers.get(missing)).values()
        return len(missing), estimate_usd(papers, criteria.text, price, budget.dollars)


async def first_day_note(ctx: Context, caller: Caller, criteria_text: str) -> str | None:
    """What the first day under new criteria will cost, in a sentence, when the channel has a
    budget (its own dollar cap or the bot's daily budget); None without one, without a stored
    day, or at an unknown price."""
    options = await ctx.options(caller)
    budget, account = options.budget, ctx.service.account
    if budget.dollars is None and account is None:
        return None
    key = categories_key(options.categories)
    day = await ctx.store.papers.latest_feed_day(key)
    price = ctx.explainer.prices.price(ctx.explainer.model)
    if day is None or price is None:
        return None
    papers = [a.paper for a in await ctx.store.papers.announced(day, key)]
    first = share.decide_share(
        budget.share, 0, (), adaptive=budget.adaptive, warmup_cap=budget.warmup_cap
    )
    sent = ranking.sent_count(len(papers), first.share, budget.min_papers)
    if not sent:
        return None
    cost = estimate_usd(papers[:sent], criteria_text, price, budget.dollars)
    limits = []
    if budget.dollars is not None:
        limits.append(
            _("this channel's cap is {dollars} a day").format(dollars=money(budget.dollars))
        )
    if account is not None and cost > account.cap_usd:
        limits.append(
            _(
                "more than the bot's daily budget of {dollars}: scoring stops there and the "
                "rest waits for the next day's budget"
            ).format(dollars=money(account.cap_usd))
        )
    elif account is not None:
        limits.append(
            _("it counts under the bot's daily budget of {dollars}").format(
                dollars=money(account.cap_usd)
            )
        )
    return _(
        "New criteria have no LLM verdicts yet, so the first day sends about {sent} of a "
        "{papers}-paper day ({day}) to the LLM ({share}, warm-up): about {cost}; {limits}."
    ).format(
        sent=number(sent),
        papers=number(len(papers)),
        day=day_text(day),
        share=percent(first.share),
        cost=money(cost),
        limits=_(" and ").join(limits),
    )


def estimate_usd(
    papers: Iterable[Paper], criteria_text: str, price: Price, cap: float | None
) -> float:
    """Roughly what scoring `papers` under the criteria costs at `price`, estimated the way the
    LLM budget is, and no more than `cap` dollars when the channel has one."""
    shared = len(system_message(criteria_text, structured=True)) / CHARS_PER_TOKEN
    per_request = shared / ESTIMATE_BATCH
    dollars = 0.0
    for paper in papers:
        tokens = len(paper_block(paper)) / CHARS_PER_TOKEN + per_request
        dollars += (tokens * price.input + ESTIMATE_COMPLETION_TOKENS * price.output) / 1e6
    if cap is not None:
        dollars = min(dollars, cap)
    return dollars


def _to_score_text(count: int, dollars: float | None, model: str) -> str:
    cost = (
        _("about {dollars}").format(dollars=money(dollars))
        if dollars is not None
        else _("an unknown amount ({model})").format(model=model)
    )
    return ngettext(
        "{count} paper not yet scored under it, {cost}",
        "{count} papers not yet scored under it, {cost}",
        count,
    ).format(count=number(count), cost=cost)


def diff_text(day: date, before: tuple[DigestEntry, ...], now: Digest) -> str:
    """Which papers would enter or leave `day`'s digest under the new criteria."""
    old = {e.paper.id: e.paper for e in before}
    new = {e.paper.id: e.paper for e in now.entries}
    enter = [p for pid, p in new.items() if pid not in old]
    leave = [p for pid, p in old.items() if pid not in new]
    if not enter and not leave:
        return ngettext(
            "Under the new criteria, the digest of {day} would not change ({count} paper).",
            "Under the new criteria, the digest of {day} would not change ({count} papers).",
            len(new),
        ).format(day=day_text(day), count=number(len(new)))
    parts = [
        ngettext(
            "Under the new criteria, the digest of {day} would have {count} paper (was {was}).",
            "Under the new criteria, the digest of {day} would have {count} papers (was {was}).",
            len(new),
        ).format(day=day_text(day), count=number(len(new)), was=number(len(old)))
        + " "
        + _("(+ enters the digest, − leaves it)")
    ]
    parts += [f"+ {defuse(p.title)} (arXiv:{p.id})" for p in enter]
    parts += [f"− {defuse(p.title)} (arXiv:{p.id})" for p in leave]
    return "\n".join(parts)
