"""The conversation: everything a team can say to the bot, and what it answers, platform-neutral.

Adapters turn a slash command into `handle(caller, text, respond)` and a reaction into
`react(...)`; they render the `Reply` values they get back. Permissions, validation, the audit
log, explanations and likes live here once.

This module must not import a platform SDK or render platform markup.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot import commands, follow_commands
from bot.channels import (
    ChannelSettings,
    categories_change,
    cross_lists_change,
    learning_change,
    llm_share_change,
    threshold_change,
    time_change,
    weekly_change,
)
from bot.commands import Command
from bot.criteria_topics import add_topic, change_summary, remove_topic, topics
from bot.deciding import (
    CHARS_PER_TOKEN,
    ESTIMATE_BATCH,
    ESTIMATE_COMPLETION_TOKENS,
    DigestOptions,
)
from bot.digest import digest_from_json
from bot.errors import BotError
from bot.ingest import categories_key
from bot.likes import likes_text
from bot.models import Criteria, Digest, DigestEntry, Paper, ScoreKey
from bot.ratelimit import RateLimiter, RateLimits
from bot.safety import clip, defuse
from bot.search import Lookups
from bot.service import FEED_FRESH_FOR, DigestService
from bot.store import Store
from scoring import ranking
from scoring.criteria import validate_criteria
from scoring.explain import EXPLAIN_PROMPT_VERSION, Explainer, as_prose
from scoring.pricing import align_usd, format_usd
from scoring.prompt import PROMPT_VERSION, paper_block, system_message

log = logging.getLogger(__name__)

DISLIKE = "👎"
MAX_DIFF_LINES = 60
LIKES_SHOWN = 15  # papers `likes` lists, each once
_ARXIV_ID = re.compile(
    r"^(?:arxiv:)?(\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?$", re.IGNORECASE
)


_ARXIV_LINK = re.compile(
    r"^<?(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/([^\s|>?#]+?)(?:\.pdf)?/?"
    r"(?:[?#][^\s|>]*)?(?:\|[^>]*)?>?$",
    re.IGNORECASE,
)


def paper_reference(text: str) -> str:
    """What `explain` was given, with an arXiv abstract or PDF link (with or without a version,
    `.pdf`, or the angle brackets chat platforms put around links) reduced to its id."""
    ref = text.strip()
    m = _ARXIV_LINK.match(ref)
    return m.group(1) if m else ref


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a command, from which channel of which platform."""

    platform: str
    channel_id: str
    user_id: str
    roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer: text (light markdown, already defused), or a digest to render; `thread` is
    the id of a posted message the answer points to (adapters link to it)."""

    text: str
    ephemeral: bool = True
    digest: Digest | None = None
    thread: str | None = None


Respond = Callable[[Reply], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ConversationConfig:
    """Bot-wide defaults the conversation needs."""

    defaults: ChannelSettings
    default_criteria: str
    admins: frozenset[str]
    like_emoji: frozenset[str]
    limits: RateLimits = field(default_factory=RateLimits)
    preview_confirm_usd: float = 0.05  # `criteria preview` above this waits for `confirm`


# Commands that post in the channel or spend LLM money; changes to a channel count separately.
COSTLY_COMMANDS = frozenset({"today", "criteria preview", "explain", "day", "similar"})


class Conversation:
    """Answers `/arxiv` commands and records reactions for every platform."""

    def __init__(
        self,
        store: Store,
        service: DigestService,
        explainer: Explainer,
        config: ConversationConfig,
        *,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._store = store
        self._service = service
        self._explainer = explainer
        self._config = config
        self._limiter = limiter or RateLimiter()
        self._follows = follow_commands.FollowCommands(store)
        self._lookups = Lookups(store, service)

    # -- entry points ---------------------------------------------------------------------------

    async def handle(self, caller: Caller, text: str, respond: Respond) -> None:
        """Parse and run one command; every user-facing problem becomes a reply."""
        try:
            command = commands.parse(text)
            await self._ensure_channel(caller)
            changes = commands.spec(command.name).changes_channel
            if changes:
                self._check_permission(caller)
            self._check_rate(caller, command.name, changes)
            await self._run(caller, command, respond)
        except BotError as exc:
            await respond(Reply(defuse(str(exc))))

    def _check_rate(self, caller: Caller, name: str, changes: bool) -> None:
        """Refuse, with when to try again, a costly command or a change over its limits."""
        kind = "costly" if name in COSTLY_COMMANDS else "edits" if changes else None
        if kind is None:
            return
        limits = self._config.limits
        per_user, per_channel = (
            (limits.costly_per_user, limits.costly_per_channel)
            if kind == "costly"
            else (limits.edits_per_user, limits.edits_per_channel)
        )
        place = f"{caller.platform}:{caller.channel_id}"
        denied = self._limiter.acquire(
            [
                (f"{kind}:user:{caller.platform}:{caller.user_id}", per_user),
                (f"{kind}:channel:{place}", per_channel),
            ]
        )
        if denied is None:
            return
        what = "changes to this channel" if kind == "edits" else f"`{name}`"
        who = "per person" if denied.index == 0 else "in this channel"
        raise BotError(
            f"Slow down a little: {what} can run {denied.limit} {who}. "
            f"Please try again {denied.wait_text}."
        )

    async def react(self, caller: Caller, message_id: str, emoji: str, added: bool) -> str | None:
        """A reaction on a posted message: like/unlike (or dislike) the paper it shows.
        Returns the paper id when something changed; other messages and emoji are ignored."""
        value = 1 if emoji in self._config.like_emoji else -1 if emoji == DISLIKE else 0
        if not value:
            return None
        paper_id = await self._store.digests.posted_paper(caller.channel_id, message_id)
        if paper_id is None:
            return None
        if added:
            changed = await self._store.likes.set_like(
                caller.channel_id, caller.user_id, paper_id, value
            )
        else:
            changed = await self._store.likes.remove_like(
                caller.channel_id, caller.user_id, paper_id
            )
        return paper_id if changed else None

    async def record_post(
        self, channel_id: str, day: date, slot: str, message_id: str, *, daily: bool = False
    ) -> None:
        """An adapter posted a message: `slot` is 'parent', 'notice' or the paper id of a card;
        `daily` is for the scheduled daily post only (the delivery records those itself)."""
        await self._store.digests.record_posted(channel_id, day, slot, message_id, daily=daily)

    async def channel_settings(self, channel_id: str, platform: str) -> ChannelSettings:
        """A channel's effective settings."""
        row = await self._store.channels.get(channel_id, platform)
        return self._config.defaults.with_overrides(row.overrides)

    async def _latest_papers(self, caller: Caller) -> tuple[date, list[Paper]] | None:
        """The channel's latest stored day and its papers as the digest considers them."""
        options = await self._options(caller)
        day = await self._store.papers.latest_feed_day(categories_key(options.categories))
        return (day, await self._service.day_papers(day, options)) if day is not None else None

    # -- dispatch -------------------------------------------------------------------------------

    async def _run(self, caller: Caller, command: Command, respond: Respond) -> None:
        if command.name in follow_commands.NAMES:
            answer = await self._follows.run(
                command.name,
                caller.channel_id,
                caller.user_id,
                command.arg,
                lambda: self._latest_papers(caller),
            )
            await respond(Reply(answer.text, ephemeral=not answer.public))
            return
        handlers: dict[str, Callable[[Caller, str, Respond], Awaitable[None]]] = {
            "today": self._today,
            "today repost": self._today_repost,
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "criteria": self._criteria_show,
            "criteria set": self._criteria_set,
            "criteria add": self._criteria_add,
            "criteria remove": self._criteria_remove,
            "criteria show": self._criteria_show_version,
            "criteria diff": self._criteria_diff,
            "criteria history": self._criteria_history,
            "criteria revert": self._criteria_revert,
            "criteria preview": self._criteria_preview,
            "explain": self._explain,
            "likes": self._likes,
            "settings": self._settings_show,
            "settings threshold": self._settings_threshold,
            "settings time": self._settings_time,
            "settings categories": self._settings_categories,
            "settings cross-lists": self._settings_cross_lists,
            "settings llm-share": self._settings_llm_share,
            "settings learning": self._settings_learning,
            "settings reset": self._settings_reset,
            "stats": self._stats,
            "help": self._help,
            **self._lookback_handlers(),
        }
        await handlers[command.name](caller, command.arg, respond)

    async def _ensure_channel(self, caller: Caller) -> None:
        await self._store.channels.get(caller.channel_id, caller.platform)
        if await self._store.channels.channel_criteria(caller.channel_id) is None:
            await self._service.use_criteria(
                caller.channel_id, self._config.default_criteria, "default"
            )

    def _check_permission(self, caller: Caller) -> None:
        admins = self._config.admins
        if (
            not admins
            or caller.user_id in admins
            or any(f"role:{r}" in admins for r in caller.roles)
        ):
            return
        raise BotError(
            "only this bot's admins may change the channel's criteria, settings or "
            "subscription (ARXIV_BOT_ADMINS); reading is open to everyone"
        )

    async def _audit(self, caller: Caller, action: str, detail: str) -> None:
        await self._store.channels.record_event(caller.channel_id, caller.user_id, action, detail)
        log.info(
            "channel %s: %s by %s: %s", caller.channel_id, action, caller.user_id, clip(detail, 120)
        )

    async def _options(self, caller: Caller) -> DigestOptions:
        s = await self.channel_settings(caller.channel_id, caller.platform)
        return DigestOptions.for_channel(s)

    # -- today ----------------------------------------------------------------------------------

    async def _today_repost(self, caller: Caller, _: str, respond: Respond) -> None:
        await self._post_today(caller, respond, repost=True)

    async def _today(self, caller: Caller, _: str, respond: Respond) -> None:
        await self._post_today(caller, respond, repost=False)

    async def _post_today(self, caller: Caller, respond: Respond, *, repost: bool) -> None:
        """Post the day's digest in the channel unless it is there already (then point to it
        privately) or another `today` is posting it right now."""
        digest = await self.today_digest(caller, respond)
        if digest is None:
            return
        posted = await self._store.digests.thread_of(caller.channel_id, digest.day)
        if posted is not None and not repost:
            await respond(
                Reply(
                    f"The digest of {digest.day} is already posted in this channel: see its "
                    "thread. `/arxiv today repost` posts it here again.",
                    thread=posted,
                )
            )
            return
        # many `today` at once share one digest, and only one of them posts it
        async with self._service.work.attempt(f"today:{caller.channel_id}:{digest.day}") as mine:
            if not mine:
                await respond(Reply(f"The digest of {digest.day} is being posted here right now."))
                return
            await respond(Reply(f"arXiv digest for {digest.day}", ephemeral=False, digest=digest))

    async def today_digest(self, caller: Caller, respond: Respond | None = None) -> Digest | None:
        """The channel's digest of the latest announcement day: from the store when the feed
        was fetched in the last half hour and everything is scored, otherwise built now (a
        caller asking while the same digest is being built joins that build)."""
        options = await self._options(caller)
        key = categories_key(options.categories)
        since = datetime.now(UTC) - FEED_FRESH_FOR
        last = await self._store.papers.last_fetch(key)
        if last is not None and last.fetched_at >= since and last.day is not None:
            stored = await self._service.build(
                caller.channel_id, last.day, options, scored_only=True
            )
            if stored is not None and not stored.counts.unscored and stored.counts.sent:
                return stored
        if respond is not None:
            await respond(Reply("Working on today's digest… I'll post it here when it's ready."))
        outcome = await self._service.today(caller.channel_id, options, since=since)
        if outcome.digest is not None:
            return outcome.digest
        latest = await self._store.papers.latest_feed_day(key)
        if respond is not None:
            tail = f" The latest announcement was on {latest}." if latest else ""
            await respond(Reply(f"No arXiv announcement today (weekend or holiday).{tail}"))
        return None

    # -- subscription ---------------------------------------------------------------------------

    async def _subscribe(self, caller: Caller, _: str, respond: Respond) -> None:
        s = await self.channel_settings(caller.channel_id, caller.platform)
        when = f"{s.post_time.strftime('%H:%M')} {s.timezone}"
        row = await self._store.channels.get(caller.channel_id, caller.platform)
        if row.subscribed:
            await respond(
                Reply(
                    f"Subscribed already: the digest comes here every announcement day at {when}."
                )
            )
            return
        await self._store.channels.set_subscribed(caller.channel_id, True)
        await self._audit(caller, "subscribe", "")
        await respond(
            Reply(
                f"Subscribed: the digest will be posted here every announcement day at {when}.",
                ephemeral=False,
            )
        )

    async def _unsubscribe(self, caller: Caller, _: str, respond: Respond) -> None:
        row = await self._store.channels.get(caller.channel_id, caller.platform)
        if not row.subscribed:
            await respond(Reply("This channel is not subscribed; nothing to stop."))
            return
        await self._store.channels.set_subscribed(caller.channel_id, False)
        await self._audit(caller, "unsubscribe", "")
        await respond(
            Reply(
                "Unsubscribed: no more daily posts here. Likes and history are kept.",
                ephemeral=False,
            )
        )

    # -- criteria -------------------------------------------------------------------------------

    async def _current(self, channel_id: str) -> tuple[str, int]:
        current = await self._store.channels.channel_criteria(channel_id)
        assert current is not None, "channels get default criteria on first contact"
        return current[0].text, current[1]

    async def _criteria_show(self, caller: Caller, _: str, respond: Respond) -> None:
        text, version = await self._current(caller.channel_id)
        found = topics(text)
        numbered = "\n".join(f"{n}. {t.label}" for n, t in enumerate(found, 1))
        await respond(
            Reply(
                f"Criteria version {version}, {len(found)} topics (`/arxiv criteria show "
                f"{version}` for the full text):\n{defuse(numbered)}"
            )
        )

    async def _set_criteria(self, caller: Caller, text: str, action: str, respond: Respond) -> None:
        text = validate_criteria(text)
        _, old_version = await self._current(caller.channel_id)
        _, version = await self._service.use_criteria(caller.channel_id, text, caller.user_id)
        if version == old_version:
            await respond(Reply(f"The criteria are unchanged (still version {version})."))
            return
        await self._audit(caller, action, f"version {version}")
        await respond(
            Reply(
                f"Criteria updated to version {version} by {defuse(caller.user_id)}. "
                "It takes effect for the next digest. Run `/arxiv criteria preview` to "
                "re-score today's papers and see which would enter or leave.",
                ephemeral=False,
            )
        )

    async def _criteria_set(self, caller: Caller, arg: str, respond: Respond) -> None:
        await self._set_criteria(caller, arg, "criteria set", respond)

    async def _criteria_add(self, caller: Caller, arg: str, respond: Respond) -> None:
        topic = " ".join(arg.split())
        text, _ = await self._current(caller.channel_id)
        await self._set_criteria(caller, add_topic(text, topic), "criteria add", respond)

    async def _criteria_remove(self, caller: Caller, arg: str, respond: Respond) -> None:
        text, _ = await self._current(caller.channel_id)
        found = topics(text)
        number = commands.whole_number(arg)
        if number is None or not 1 <= number <= len(found):
            raise BotError(f"give a topic number from 1 to {len(found)} (see `/arxiv criteria`)")
        if len(found) == 1:
            raise BotError("that is the last topic; use `criteria set` to replace the criteria")
        kept = remove_topic(text, found[number - 1])
        await self._set_criteria(caller, kept, "criteria remove", respond)

    async def _criteria_history(self, caller: Caller, _: str, respond: Respond) -> None:
        history = await self._store.channels.criteria_history(caller.channel_id)
        rows = []
        for n, h in enumerate(history[:20]):
            earlier = history[n + 1].criteria.text if n + 1 < len(history) else None
            same = [o.version for o in history[n + 1 :] if o.criteria.text == h.criteria.text]
            what = f"same as v{same[0]}" if same else change_summary(earlier, h.criteria.text)
            rows.append(
                f"v{h.version} — {h.changed_at} by {defuse(h.changed_by)} — "
                f"{defuse(clip(what, 160))}"
            )
        await respond(Reply("Criteria history (newest first):\n" + "\n".join(rows)))

    async def _criteria_version(self, caller: Caller, arg: str) -> tuple[int, str]:
        """A stored version of this channel's criteria by number (`3` or `v3`)."""
        history = await self._store.channels.criteria_history(caller.channel_id)
        wanted = commands.whole_number(arg.strip().lower().removeprefix("v"))
        for h in history:
            if h.version == wanted:
                return h.version, h.criteria.text
        raise BotError(
            f"there is no criteria version {clip(arg, 20)!r} (versions 1 to "
            f"{history[0].version if history else 0}); see `/arxiv criteria history`"
        )

    async def _criteria_show_version(self, caller: Caller, arg: str, respond: Respond) -> None:
        version, text = await self._criteria_version(caller, arg)
        _, current = await self._current(caller.channel_id)
        now = " (the current one)" if version == current else f" (now {current})"
        await respond(Reply(f"Criteria version {version}{now}:\n{defuse(text.strip())}"))

    async def _criteria_diff(self, caller: Caller, arg: str, respond: Respond) -> None:
        words = arg.split()
        if len(words) != 2:
            raise BotError("give two versions, e.g. `/arxiv criteria diff 1 2`")
        a, old = await self._criteria_version(caller, words[0])
        b, new = await self._criteria_version(caller, words[1])
        diff = list(
            difflib.unified_diff(
                old.strip().splitlines(),
                new.strip().splitlines(),
                f"version {a}",
                f"version {b}",
                n=1,
                lineterm="",
            )
        )
        if not diff:
            await respond(Reply(f"Versions {a} and {b} have the same text."))
            return
        shown = [clip(line, 200) for line in diff[:MAX_DIFF_LINES]]
        if len(diff) > MAX_DIFF_LINES:
            shown.append(f"… {len(diff) - MAX_DIFF_LINES} more lines")
        summary = change_summary(old, new)
        await respond(
            Reply(
                f"Version {a} → {b}: {defuse(summary)}\n```\n" + defuse("\n".join(shown)) + "\n```"
            )
        )

    async def _criteria_revert(self, caller: Caller, arg: str, respond: Respond) -> None:
        history = await self._store.channels.criteria_history(caller.channel_id)
        wanted = arg.strip().lstrip("v")
        match = [h for h in history if str(h.version) == wanted]
        if not match:
            raise BotError(
                f"there is no criteria version {clip(arg, 20)!r}; see `/arxiv criteria history`"
            )
        await self._set_criteria(caller, match[0].criteria.text, "criteria revert", respond)

    async def _criteria_preview(self, caller: Caller, arg: str, respond: Respond) -> None:
        word = arg.strip().lower()
        if word not in ("", "confirm"):
            raise BotError("say `/arxiv criteria preview` or `/arxiv criteria preview confirm`")
        history = await self._store.channels.criteria_history(caller.channel_id)
        options = await self._options(caller)
        day = await self._store.papers.latest_feed_day(categories_key(options.categories))
        if day is None:
            raise BotError("there is no announcement day in the store yet; try `/arxiv today`")
        version = history[0].version
        count, dollars = await self._preview_cost(caller, day, options, history[0].criteria)
        model = self._explainer.model
        cost = (
            f"about {format_usd(dollars)}"
            if dollars is not None
            else f"an unknown amount ({model})"
        )
        to_score = f"{count} paper{'s' if count != 1 else ''} not yet scored under it, {cost}"
        limit = self._config.preview_confirm_usd
        if count and word != "confirm" and (dollars is None or dollars > limit):
            await respond(
                Reply(
                    f"Previewing {day} under criteria version {version} means scoring "
                    f"{to_score}. Run `/arxiv criteria preview confirm` to go ahead."
                )
            )
            return
        await respond(Reply(f"Re-scoring {day} under criteria version {version} ({to_score})…"))
        now = await self._service.build(caller.channel_id, day, options)
        assert now is not None
        before = await self._service.selection_under(
            history[1].criteria if len(history) > 1 else history[0].criteria, day, options
        )
        await respond(Reply(_diff_text(day, before, now), ephemeral=False))

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
        shared = len(system_message(criteria.text, structured=True)) / CHARS_PER_TOKEN
        per_request = shared / ESTIMATE_BATCH
        dollars = 0.0
        for paper in (await self._store.papers.get(missing)).values():
            tokens = len(paper_block(paper)) / CHARS_PER_TOKEN + per_request
            dollars += (tokens * price.input + ESTIMATE_COMPLETION_TOKENS * price.output) / 1e6
        if budget.dollars is not None:
            dollars = min(dollars, budget.dollars)
        return len(missing), dollars

    # -- explain --------------------------------------------------------------------------------

    async def _explain(self, caller: Caller, arg: str, respond: Respond) -> None:
        words = arg.split()
        fresh = len(words) > 1 and words[-1].lower() == "fresh"
        if fresh or len(words) > 1:
            words = words[:-1] if fresh else words
            if len(words) != 1:
                raise BotError("say `/arxiv explain <arXiv id | link | card number> [fresh]`")
        ref = paper_reference(" ".join(words))
        m = _ARXIV_ID.match(ref)
        if m is not None and commands.whole_number(ref) is None:
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
            raise BotError(f"I never posted arXiv:{paper_id} in this channel")
        row = placed.row
        where = f"ranked {row.rank} of {placed.ranked} by the local ranking (score {row.score:.2f})"
        if not row.sent:
            scored = (
                f"the top {placed.sent} were scored"
                if placed.sent
                else "none was: the channel ranks locally only (its LLM share is 0)"
            )
            await respond(
                Reply(
                    f"arXiv:{paper_id} ({row.day}) was not sent to the LLM: {where}; {scored}. "
                    "Raise the share with `/arxiv settings llm-share`, or like papers like it "
                    "to teach the ranking."
                )
            )
            return
        digest = await self._stored_digest(caller.channel_id, row.day)
        if digest is None:
            raise BotError(f"arXiv:{paper_id} was {where}, but its digest is not stored")
        await self._explain_score(
            caller, paper_id, digest, respond, note=f"Sent to the LLM ({where}). ", fresh=fresh
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
        key = ScoreKey(criteria.id, digest.model, PROMPT_VERSION)
        score = (await self._store.scores.get([paper_id], key)).get(paper_id)
        paper = (await self._store.papers.get([paper_id])).get(paper_id)
        if paper is None or score is None:
            if fresh:
                raise BotError(
                    f"arXiv:{paper_id} has no score under criteria version {now_version} yet: "
                    "papers are scored under new criteria with the next digest or "
                    "`/arxiv criteria preview`"
                )
            raise BotError(f"arXiv:{paper_id} has no score under this channel's criteria")
        explain_key = ScoreKey(criteria.id, self._explainer.model, EXPLAIN_PROMPT_VERSION)
        text = None if fresh else await self._store.scores.explanation(paper_id, explain_key)
        if text is None:
            text, usage = await self._explainer.explain(paper, score, criteria.text)
            await self._store.scores.save_explanation(
                paper_id, explain_key, text, usage, digest.day
            )
        scored_under = version or digest.criteria_version
        if scored_under == now_version:
            under = f"under criteria version {scored_under}"
            offer = ""
        else:
            under = f"scored under criteria version {scored_under} (now {now_version})"
            offer = (
                f"\nThe criteria changed since: `/arxiv explain {paper_id} fresh` explains it "
                "under the current ones."
            )
        await respond(
            Reply(
                f"{note}*{defuse(paper.title)}* (arXiv:{paper_id}) — relevance {score.relevance}, "
                f"novelty {score.novelty} {under}:\n"
                f"{defuse(as_prose(text))}{_taste_text(paper_id, digest)}{offer}"
            )
        )

    async def _resolve_paper(self, caller: Caller, arg: str) -> tuple[str, Digest]:
        """An arXiv id or a card number of the latest digest → the paper and the digest that
        showed it in this channel."""
        options = await self._options(caller)
        latest = await self._store.papers.latest_feed_day(categories_key(options.categories))
        card = commands.whole_number(arg)
        if card is not None:
            digest = await self._stored_digest(caller.channel_id, latest)
            if digest is None or not 1 <= card <= len(digest.entries):
                count = len(digest.entries) if digest else 0
                raise BotError(f"there is no card {card} in the latest digest ({count} papers)")
            return digest.entries[card - 1].paper.id, digest
        m = _ARXIV_ID.match(arg)
        if m is None:
            raise BotError(
                f"{clip(arg, 40)!r} is neither an arXiv id (e.g. 2505.00326) nor a card number"
            )
        paper_id = m.group(1)
        found = await self._store.digests.showing(caller.channel_id, paper_id)
        if found is None:
            raise BotError(f"I never posted arXiv:{paper_id} in this channel")
        return paper_id, digest_from_json(found)

    async def _stored_digest(self, channel_id: str, day: date | None) -> Digest | None:
        if day is None:
            return None
        stored = await self._store.digests.get(channel_id, day)
        return digest_from_json(stored[1]) if stored else None

    # -- likes, settings, stats, help -------------------------------------------------------------

    async def _likes(self, caller: Caller, arg: str, respond: Respond) -> None:
        mine = arg.strip().lower() == "me"
        if arg.strip() and not mine:
            raise BotError("say `/arxiv likes` for the channel or `/arxiv likes me` for yours")
        who = caller.user_id if mine else None
        liked = await self._store.likes.liked_papers(caller.channel_id, who, LIKES_SHOWN)
        await respond(Reply(likes_text(liked, caller.user_id, mine=mine)))

    async def _settings_show(self, caller: Caller, _: str, respond: Respond) -> None:
        s = await self.channel_settings(caller.channel_id, caller.platform)
        row = await self._store.channels.get(caller.channel_id, caller.platform)
        sub = "subscribed" if row.subscribed else "not subscribed"
        await respond(Reply(f"Settings of this channel ({sub}):\n{s.describe()}"))

    async def _settings_threshold(self, caller: Caller, arg: str, respond: Respond) -> None:
        await self._settings_change(caller, threshold_change(arg), respond)

    async def _settings_time(self, caller: Caller, arg: str, respond: Respond) -> None:
        current = await self.channel_settings(caller.channel_id, caller.platform)
        await self._settings_change(caller, time_change(arg, current.timezone), respond)

    async def _settings_categories(self, caller: Caller, arg: str, respond: Respond) -> None:
        await self._settings_change(caller, categories_change(arg), respond)

    async def _settings_cross_lists(self, caller: Caller, arg: str, respond: Respond) -> None:
        await self._settings_change(caller, cross_lists_change(arg), respond)

    async def _settings_llm_share(self, caller: Caller, arg: str, respond: Respond) -> None:
        await self._settings_change(caller, llm_share_change(arg), respond)

    async def _settings_learning(self, caller: Caller, arg: str, respond: Respond) -> None:
        if arg.strip().lower() == "reset":
            await self._store.rankings.reset_learning(caller.channel_id)
            await self._audit(caller, "learning reset", "")
            await respond(
                Reply(
                    "Learning reset: the ranking forgets this channel's likes so far (they stay "
                    "listed under `/arxiv likes`) and starts again from the criteria alone.",
                    ephemeral=False,
                )
            )
            return
        await self._settings_change(caller, learning_change(arg), respond)

    async def _settings_change(
        self, caller: Caller, change: dict[str, Any], respond: Respond
    ) -> None:
        row = await self._store.channels.get(caller.channel_id, caller.platform)
        overrides = {**row.overrides, **change}
        await self._store.channels.set_channel_overrides(caller.channel_id, overrides)
        await self._audit(caller, "settings", repr(change))
        updated = self._config.defaults.with_overrides(overrides)
        await respond(Reply(f"Settings updated:\n{updated.describe()}", ephemeral=False))

    async def _settings_reset(self, caller: Caller, _: str, respond: Respond) -> None:
        await self._store.channels.set_channel_overrides(caller.channel_id, {})
        await self._audit(caller, "settings reset", "")
        await respond(
            Reply(
                f"Settings reset to the defaults:\n{self._config.defaults.describe()}",
                ephemeral=False,
            )
        )

    async def _stats(self, caller: Caller, _: str, respond: Respond) -> None:
        s = await self.channel_settings(caller.channel_id, caller.platform)
        midnight = datetime.combine(datetime.now(UTC).date(), datetime.min.time(), UTC)
        periods = (("today:", 0), ("7 days:", 6), ("30 days:", 29))
        rows: list[tuple[str, str, str]] = []
        for label, days in periods:
            start = midnight - timedelta(days=days)
            counts = await self._store.stats.channel_counts(
                caller.channel_id, categories_key(s.categories), start
            )
            usage = await self._store.stats.usage(since=start)
            rest = (
                f"{counts['seen']} papers seen, {counts['scored']} scored, "
                f"{counts['posted']} posted, {counts['likes']} likes; LLM "
                f"{usage.calls} calls, {usage.total_tokens} tokens ({usage.cached_tokens} cached)"
            )
            rows.append((label, format_usd(usage.cost_usd, usage.priced), rest))
        width = max(len(label) for label, _ in periods)
        costs = align_usd([cost for _, cost, _ in rows])
        lines = [
            f"{lab.ljust(width)} {c} · {rest}"
            for (lab, _, rest), c in zip(rows, costs, strict=True)
        ]
        lines.append(await self._learning_line(caller.channel_id, s))
        await respond(Reply("Stats (LLM cost is the whole bot's):\n" + "\n".join(lines)))

    async def _learning_line(self, channel_id: str, s: ChannelSettings) -> str:
        return f"{await self._taste_line(channel_id, s)}\n{await self._share_line(channel_id)}"

    async def _share_line(self, channel_id: str) -> str:
        """What the LLM share was on the latest day, and what warm-up and widened days cost."""
        extra, wider, latest = 0.0, 0, None
        for record in (await self._store.digests.records(channel_id))[:30]:
            stored = await self._store.digests.get(channel_id, record.day)
            body = stored[1] if stored else None
            share = body.get("llm_share") if isinstance(body, dict) else None
            if not isinstance(share, dict):
                continue
            latest = latest or share
            if share.get("reason") != "base":
                wider += 1
                extra += float(share.get("extra_usd") or 0.0)
        if latest is None:
            return "LLM share: no digest decided yet"
        return (
            f"LLM share: {latest['share']:.0%} of the latest day ({latest['reason']}); warm-up "
            f"and widened days in the last 30 digests: {wider}, costing about {format_usd(extra)} "
            "beyond the channel's share"
        )

    async def _taste_line(self, channel_id: str, s: ChannelSettings) -> str:
        state = await self._store.rankings.learning_state(channel_id)
        verdicts = f"{state.verdicts} earlier LLM verdicts under these criteria"
        if not s.learning:
            return f"learning from likes: off (ranking by the criteria and {verdicts})"
        measured = (
            f"recall of liked papers at the last measurement ({state.measured_day}) "
            f"{state.recall:.2f}"
            if state.recall is not None
            else "recall not measured yet (needs likes on an earlier ranked day)"
        )
        return (
            f"learning from likes: learned from {state.learned_from} likes and {verdicts}; "
            f"{measured}"
        )

    # -- search, past days, more like this, the weekly post (bot.search, bot.channels) -----

    def _lookback_handlers(self) -> dict[str, Callable[[Caller, str, Respond], Awaitable[None]]]:
        return {
            "search": self._search,
            "day": self._day,
            "similar": self._similar,
            "settings weekly": self._settings_weekly,
        }

    async def _search(self, caller: Caller, arg: str, respond: Respond) -> None:
        await respond(Reply(await self._lookups.search(caller.channel_id, arg)))

    async def _day(self, caller: Caller, arg: str, respond: Respond) -> None:
        digest = await self._lookups.day(caller.channel_id, await self._options(caller), arg)
        await respond(Reply(f"arXiv digest for {digest.day}", ephemeral=False, digest=digest))

    async def _similar(self, caller: Caller, arg: str, respond: Respond) -> None:
        options = await self._options(caller)
        text = await self._lookups.similar(caller.channel_id, options, paper_reference(arg))
        await respond(Reply(text))

    async def _settings_weekly(self, caller: Caller, arg: str, respond: Respond) -> None:
        current = await self.channel_settings(caller.channel_id, caller.platform)
        change = weekly_change(arg, current)
        await self._settings_change(caller, change, respond)
        row = await self._store.channels.get(caller.channel_id, caller.platform)
        if change.get("weekly_day") is not None and not row.subscribed:
            await respond(Reply("The weekly post comes with the daily one: `/arxiv subscribe`."))

    async def _help(self, caller: Caller, _: str, respond: Respond) -> None:
        await respond(Reply(commands.help_text()))


def _taste_text(paper_id: str, digest: Digest) -> str:
    """What the channel's taste did to a paper in a digest, if anything."""
    for n, entry in enumerate(digest.entries, 1):
        if entry.paper.id == paper_id and entry.moved:
            way = "up" if entry.moved > 0 else "down"
            places = abs(entry.moved)
            return (
                f"\nTaste: the channel's likes moved it {way} {places} "
                f"place{'s' if places != 1 else ''}, to card {n}."
            )
    if any(e.paper.id == paper_id for e in digest.more_like):
        return (
            "\nTaste: shown under “More like what you liked”: just under the thresholds, and "
            "close to what this channel liked."
        )
    return ""


def _diff_text(day: date, before: tuple[DigestEntry, ...], now: Digest) -> str:
    old = {e.paper.id: e.paper for e in before}
    new = {e.paper.id: e.paper for e in now.entries}
    enter = [p for pid, p in new.items() if pid not in old]
    leave = [p for pid, p in old.items() if pid not in new]
    if not enter and not leave:
        return f"Under the new criteria, {day}'s digest would not change ({len(new)} papers)."
    parts = [
        f"Under the new criteria, {day}'s digest would have {len(new)} papers (was {len(old)})."
    ]
    parts += [f"+ {defuse(p.title)} (arXiv:{p.id})" for p in enter]
    parts += [f"− {defuse(p.title)} (arXiv:{p.id})" for p in leave]
    return "\n".join(parts)
