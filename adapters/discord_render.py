"""Pure helpers of the Discord adapter: digest embeds within Discord's limits, the mapping of
`/arxiv` options onto the command grammar, reaction translation, button ids, and the comparison
of the command tree with what Discord already has.

Everything here is a function of its arguments: no I/O, no client, no clock. Paper and user text
is defused (no `@everyone`, no role or user mention syntax, no bidi or zero-width characters)
and escaped for Discord markdown before it is placed in an embed; a reply's text (light
markdown holding echoed user text, such as the criteria) is sent through `reply_markdown`, so
masked links, code fences, headings, quotes and spoilers a user typed show as typed. Abstracts
are clipped before anything else touches them. The adapter also sends every message with
mentions disabled. The bot's own words in an embed (field names, counts, footers of a posted
reply, the thread's name) are written in the active locale (`bot.i18n.using`: the channel's
language); the footers `recover` reads back (`daily_footer`, `card_footer`) stay as they are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import discord

from bot.arxiv.links import code_links, venue
from bot.conversation import commands
from bot.conversation.commands import CommandError
from bot.digest.selection import (
    FOLLOWED_NOTE,
    FOLLOWED_TITLE,
    LOCAL_TITLE,
    LOCAL_TITLE_NOTE,
    MORE_LIKE_NOTE,
    MORE_LIKE_TITLE,
    cost_text,
    day_text,
    followed_detail,
    followed_part,
    followed_reasons,
    local_line,
    note_text,
    share_line,
)
from bot.i18n import N_, _, ngettext, number
from bot.models import Digest, DigestEntry, Paper
from bot.safety import clip, defuse, excerpt

MESSAGE_CHARS: Final = 2000
EMBED_TITLE_CHARS: Final = 256
EMBED_DESCRIPTION_CHARS: Final = 4096
EMBED_FIELD_CHARS: Final = 1024
EMBED_FOOTER_CHARS: Final = 2048
EMBED_TOTAL_CHARS: Final = 6000
EMBEDS_PER_MESSAGE: Final = 10
THREAD_NAME_CHARS: Final = 100
TOP_TITLES: Final = 10
FOLLOWED_SHOWN: Final = 15  # papers in the summary's "Followed" part; the rest are counted
LOCAL_CHARS: Final = 2500  # the summary's "Ranked locally" part, leaving room for the rest
FOLLOWED_FIELD_CHARS: Final = 300  # a card's "Followed" field: the reasons, briefly

EXPLAIN_PREFIX: Final = "arxiv:explain:"
EXPLAIN_TEMPLATE: Final = r"arxiv:explain:(?P<paper_id>[0-9A-Za-z.\-/]{1,60})"
DAILY_MARKER: Final = "arxiv-bot daily digest"
CARD_COLOUR: Final = 0xB31B1B  # arXiv red

NO_MENTIONS: Final = discord.AllowedMentions.none()

_ABS_URL: Final = re.compile(r"^https://arxiv\.org/abs/(?P<id>.+)$")
_MARKDOWN: Final = re.compile(r"([\\*_~`|>\[\]()#]|^-)")
_CODE_FENCE: Final = re.compile(r"`{3,}")
_BLOCK_START: Final = re.compile(r"^([ \t]*)(#{1,3}[ \t]|-#[ \t]|>)", re.MULTILINE)

# Commands whose answer is meant for the whole channel; everything else answers privately.
_PUBLIC_COMMANDS: Final = frozenset({"today", "today repost", "criteria preview", "day"})


# -- text ----------------------------------------------------------------------------------------


def inert(value: str) -> str:
    """Paper or user text shown as typed: one line, no mention power, no markdown effect."""
    return _MARKDOWN.sub(r"\\\1", defuse(" ".join(value.split())))


def link_label(value: str, limit: int) -> str:
    """Text safe inside `[...](url)`, at most `limit` characters before escaping."""
    return inert(excerpt(value, limit))


def reply_markdown(text: str) -> str:
    """A reply's light markdown with what a user could have typed into it made literal: masked
    links `[label](url)`, code fences, line-initial headings, subtext and quotes, spoilers.
    The bot's own `*emphasis*` and `code` stay; text escaped by `inert` is left as it is."""
    text = text.replace("](", "]\\(")
    text = _CODE_FENCE.sub(lambda m: "\\`" * len(m.group()), text)
    text = _BLOCK_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", text)
    return text.replace("||", "\\|\\|")


def message_chunks(text: str, limit: int = MESSAGE_CHARS) -> list[str]:
    """A reply's text made safe (`reply_markdown`) and cut into messages of at most `limit`
    characters, at line breaks where possible."""
    text = reply_markdown(text)
    chunks: list[str] = []
    current = ""
    for line in text.splitlines():
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current or not chunks:
        chunks.append(current)
    return chunks


# -- the daily post ------------------------------------------------------------------------------


def daily_footer(day: date) -> str:
    """The footer that marks a day's daily parent message, so `recover` can find it."""
    return f"{DAILY_MARKER} · {day.isoformat()}"


def card_footer(entry: DigestEntry, day: date) -> str:
    """The footer of a card: the paper and the day, read back by `recover`."""
    return f"arXiv:{entry.paper.id} · {day.isoformat()}"


def thread_name(digest: Digest) -> str:
    """The name of the thread holding a digest's cards."""
    n = len(digest.entries)
    if digest.week:
        return clip(week_title(digest), THREAD_NAME_CHARS)
    name = ngettext("arXiv {day} · {count} paper", "arXiv {day} · {count} papers", n)
    return clip(name.format(day=day_text(digest.day), count=number(n)), THREAD_NAME_CHARS)


def week_title(digest: Digest) -> str:
    """`The week's best · 2026-W48`."""
    return _("The week's best · {week}").format(week=digest.week)


def scores_text(relevance: int, novelty: int) -> str:
    """`relevance 8, novelty 6`."""
    return _("relevance {relevance}, novelty {novelty}").format(
        relevance=relevance, novelty=novelty
    )


def more_text(count: int) -> str:
    """`…and 3 more`: what a list left out."""
    return _("…and {count} more").format(count=number(count))


CARDS_HINT: Final = N_("One card per paper in the thread: react 👍 to like, press Explain for why.")


def parent_embed(digest: Digest, *, daily: bool) -> discord.Embed:
    """The summary message: counts, the top titles, the LLM cost; `daily` marks the scheduled
    post (only those are found again by `recover`)."""
    if digest.week:
        return weekly_embed(digest)
    c, t = digest.counts, digest.thresholds
    met = ngettext(
        "**{selected}** of {considered} paper met relevance ≥ {relevance} and novelty ≥ "
        "{novelty} (criteria version {version}).",
        "**{selected}** of {considered} papers met relevance ≥ {relevance} and novelty ≥ "
        "{novelty} (criteria version {version}).",
        c.considered,
    )
    counted = _("Announced {announced} · considered {considered} · scored {scored}")
    lines = [
        met.format(
            selected=number(c.selected),
            considered=number(c.considered),
            relevance=t.relevance,
            novelty=t.novelty,
            version=digest.criteria_version,
        ),
        counted.format(
            announced=number(c.announced), considered=number(c.considered), scored=number(c.scored)
        )
        + (
            " · " + _("not scored {unscored}").format(unscored=number(c.unscored))
            if c.unscored
            else ""
        ),
    ]
    lines += [f"*{inert(note_text(note))}*" for note in digest.notes]
    if digest.entries:
        lines.append("")
        for n, entry in enumerate(digest.entries[:TOP_TITLES], 1):
            s = entry.score
            lines.append(
                f"{n}. [{link_label(entry.paper.title, 150)}]({entry.paper.abs_url}) — "
                f"{scores_text(s.relevance, s.novelty)}"
            )
        if len(digest.entries) > TOP_TITLES:
            lines.append(
                _("…and {count} more in the thread.").format(
                    count=number(len(digest.entries) - TOP_TITLES)
                )
            )
        lines += ["", _(CARDS_HINT)]
    elif digest.ranked_locally:
        lines += local_lines(digest)
    else:
        lines += ["", _("No paper met the thresholds today.")]
    if digest.more_like:
        lines += ["", f"**{_(MORE_LIKE_TITLE)}** ({_(MORE_LIKE_NOTE)})"]
        lines += [
            f"• [{link_label(e.paper.title, 150)}]({e.paper.abs_url}) — "
            f"{scores_text(e.score.relevance, e.score.novelty)}"
            for e in digest.more_like
        ]
    tail = []
    share = share_line(digest)
    if share:
        tail.append(f"*{inert(share)}*")
    u = digest.usage
    tail.append(
        _("LLM: {calls} calls, {tokens} tokens, {cost} ({model})").format(
            calls=number(u.calls),
            tokens=number(u.total_tokens),
            cost=cost_text(u.cost_usd, u.priced),
            model=inert(digest.model),
        )
    )
    room = EMBED_DESCRIPTION_CHARS - len("\n".join(lines + tail)) - 1
    lines += followed_lines(digest, room) + tail
    title = _("arXiv digest for {day}").format(day=day_text(digest.day))
    embed = discord.Embed(
        title=clip(title, EMBED_TITLE_CHARS),
        description=clip("\n".join(lines), EMBED_DESCRIPTION_CHARS),
        colour=CARD_COLOUR,
    )
    embed.set_footer(text=daily_footer(digest.day) if daily else f"arxiv-bot · {digest.day}")
    return embed


def local_lines(digest: Digest, room: int = LOCAL_CHARS) -> list[str]:
    """A day ranked locally only: the local ranking's best papers with their place and
    similarity, labelled as not scored by an LLM, in whole lines of at most `room` characters
    together (the rest of the summary keeps its room)."""
    lines = ["", f"**{_(LOCAL_TITLE)}** ({_(LOCAL_TITLE_NOTE)})"]
    top = digest.ranked_locally
    for n, (p, score) in enumerate(top, 1):
        line = f"{n}. [{link_label(p.title, 150)}]({p.abs_url}) — {local_line(n, score)}"
        left = more_text(len(top) - n + 1)
        if len("\n".join([*lines, line, left])) > room:
            return [*lines, left]
        lines.append(line)
    return lines


def followed_lines(digest: Digest, room: int) -> list[str]:
    """The "Followed" part of the summary: followed papers the cards do not show, with why and
    their scores, in whole lines of at most `room` characters together."""
    part = followed_part(digest)
    if not part:
        return []
    lines = ["", f"**{_(FOLLOWED_TITLE)}** ({_(FOLLOWED_NOTE)})"]
    for n, f in enumerate(part[:FOLLOWED_SHOWN]):
        line = (
            f"• [{link_label(f.paper.title, 150)}]({f.paper.abs_url}) — "
            f"{inert(clip(followed_detail(f), 300))}"
        )
        left = more_text(len(part) - n)
        if len("\n".join([*lines, line, left])) > room:
            lines.append(left)
            break
        lines.append(line)
    else:
        if len(part) > FOLLOWED_SHOWN:
            lines.append(more_text(len(part) - FOLLOWED_SHOWN))
    return lines if len("\n".join(lines)) <= room else []


def code_field(p: Paper) -> str | None:
    """A card's code links as one field value (whole links, within the field limit)."""
    value = ""
    for url in code_links(p):
        item = f"[{link_label(url.removeprefix('https://'), 100)}]({url})"
        candidate = f"{value} · {item}" if value else item
        if len(candidate) > EMBED_FIELD_CHARS:
            break
        value = candidate
    return value or None


def weekly_embed(digest: Digest) -> discord.Embed:
    """The weekly post's summary message: the most-liked and the unnoticed papers of the week
    (the digest's notes), footed like a daily parent of its key day so `recover` finds it."""
    lines = [inert(note_text(note)) for note in digest.notes]
    lines += ["", _(CARDS_HINT)]
    embed = discord.Embed(
        title=clip(week_title(digest), EMBED_TITLE_CHARS),
        description=clip("\n".join(lines), EMBED_DESCRIPTION_CHARS),
        colour=CARD_COLOUR,
    )
    embed.set_footer(text=daily_footer(digest.day))
    return embed


def card_embed(digest: Digest, entry: DigestEntry, number: int) -> discord.Embed:
    """One paper's card: linked title, authors, scores, why it is followed (if it is), the
    LLM's comment, venue and code, and the abstract, clipped so the whole embed stays within
    Discord's limits."""
    p, s = entry.paper, entry.score
    embed = discord.Embed(
        title=clip(f"{number}. {inert(p.title)}", EMBED_TITLE_CHARS),
        url=p.abs_url,
        colour=CARD_COLOUR,
    )
    embed.add_field(name=_("Relevance"), value=f"{s.relevance}/10", inline=True)
    embed.add_field(name=_("Novelty"), value=f"{s.novelty}/10", inline=True)
    embed.add_field(name=_("Authors"), value=_field(", ".join(p.authors) or "—"), inline=False)
    reasons = followed_reasons(digest, p.id)
    if reasons:
        value = clip(inert(clip("; ".join(reasons), FOLLOWED_FIELD_CHARS)), EMBED_FIELD_CHARS)
        embed.add_field(name=_(FOLLOWED_TITLE), value=value, inline=False)
    if s.tldr:
        embed.add_field(name=_("TL;DR"), value=_field(s.tldr), inline=False)
    embed.add_field(name=_("Why it fits"), value=_field(s.comment or "—"), inline=False)
    if p.comment:
        embed.add_field(name=_("arXiv comment"), value=_field(p.comment), inline=False)
    where = venue(p)
    if where:
        embed.add_field(name=_("Venue"), value=_field(where), inline=False)
    code = code_field(p)
    if code:
        embed.add_field(name=_("Code"), value=code, inline=False)
    embed.set_footer(text=card_footer(entry, digest.day))
    room = EMBED_TOTAL_CHARS - len(embed)
    abstract = inert(excerpt(p.abstract, EMBED_DESCRIPTION_CHARS))
    embed.description = clip(abstract, min(EMBED_DESCRIPTION_CHARS, room))
    return embed


def _field(value: str) -> str:
    return clip(inert(excerpt(value, EMBED_FIELD_CHARS)), EMBED_FIELD_CHARS)


def invite_permissions() -> discord.Permissions:
    """Exactly what the bot needs in a channel: see it, post the parent, start the thread, post
    cards with embeds in it, add the like reaction, and read its own history to recover."""
    return discord.Permissions(
        view_channel=True,
        send_messages=True,
        send_messages_in_threads=True,
        create_public_threads=True,
        embed_links=True,
        add_reactions=True,
        read_message_history=True,
    )


def invite_url(application_id: int) -> str:
    """The link a server admin opens to add the bot with those permissions and commands."""
    return (
        f"https://discord.com/oauth2/authorize?client_id={application_id}"
        f"&scope=bot+applications.commands&permissions={invite_permissions().value}"
    )


def explain_custom_id(paper_id: str) -> str:
    """The custom id of a card's Explain button; it carries the paper so it survives restarts."""
    return f"{EXPLAIN_PREFIX}{paper_id}"


# -- reading the daily post back -----------------------------------------------------------------


def is_daily_parent(embeds: Sequence[discord.Embed], day: date) -> bool:
    """Whether a message's embeds mark it as `day`'s daily parent."""
    return any(e.footer.text == daily_footer(day) for e in embeds)


def card_paper(embeds: Sequence[discord.Embed], day: date) -> str | None:
    """The paper id a card of `day` shows, from its embed URL and footer."""
    for embed in embeds:
        match = _ABS_URL.match(embed.url or "")
        if match and (embed.footer.text or "").endswith(f" · {day.isoformat()}"):
            return match.group("id")
    return None


# -- commands ------------------------------------------------------------------------------------


def command_help(payload: Mapping[str, Any]) -> str:
    """Every `/arxiv` subcommand as Discord's own option UI offers it, one line each, from the
    group's payload as Discord was given it (`Group.to_dict`): required options as
    `name:…`, optional ones in brackets, fixed choices listed, then the description."""
    lines = ["Commands (pick the options in Discord's command box):"]
    for sub in payload.get("options", ()):
        parts = [f"/{payload['name']} {sub['name']}"]
        for o in sub.get("options", ()):
            choices = "|".join(c["name"] for c in o.get("choices", ()))
            value = choices or ("True|False" if o.get("type") == _BOOLEAN else "…")
            parts.append(f"{o['name']}:{value}" if o.get("required") else f"[{o['name']}:{value}]")
        lines.append(f"{' '.join(parts)} — {sub['description']}")
    return "\n".join(lines)


_BOOLEAN: Final = 5  # Discord's option type of a true/false option


def command_text(subcommand: str, options: Mapping[str, object]) -> str:
    """The command grammar text (without `/arxiv`) of an `/arxiv <subcommand>` interaction and
    its options; unknown subcommands are passed through for the grammar to reject."""
    value = _option(options, "value")
    if subcommand == "today":
        return "today repost" if options.get("repost") is True else "today"
    if subcommand == "explain":
        fresh = " fresh" if options.get("fresh") is True else ""
        return f"explain {_option(options, 'paper')}{fresh}".strip()
    if subcommand == "ask":
        return f"ask {_option(options, 'paper')} {_option(options, 'question')}".strip()
    if subcommand == "criteria":
        action = _option(options, "action") or "list"
        if action == "list" or (action == "show" and not value):
            return "criteria"
        return f"criteria {action} {value}".strip()
    if subcommand == "settings":
        action = _option(options, "action") or "show"
        return "settings" if action == "show" else f"settings {action} {value}".strip()
    if subcommand == "follow":
        return f"follow {_option(options, 'kind')} {value}".strip()
    if subcommand == "following":
        return "following history" if options.get("history") is True else "following"
    if subcommand == "unfollow":
        return f"unfollow {_option(options, 'number')}".strip()
    if subcommand == "likes":
        return "likes me" if _option(options, "whose") == "me" else "likes"
    if subcommand == "import":
        action = _option(options, "action") or "ids"
        if action == "undo":
            return "import undo"
        return f"import {value}".strip() if action == "ids" else f"import {action} {value}".strip()
    if subcommand in ("search", "day", "similar"):
        return f"{subcommand} {value}".strip()
    return subcommand


def _option(options: Mapping[str, object], name: str) -> str:
    value = options.get(name)
    return "" if value is None else " ".join(str(value).split())


def answers_publicly(text: str) -> bool:
    """Whether a command's answer is for the channel (a digest, a change everyone should see)
    rather than for the person who asked; invalid commands answer privately."""
    try:
        name = commands.parse(text).name
    except CommandError:
        return False
    return name in _PUBLIC_COMMANDS or commands.spec(name).changes_channel


@dataclass(frozen=True, slots=True)
class ReactionEvent:
    """A reaction worth passing to the conversation: who, on which message, which emoji."""

    user_id: str
    message_id: str
    emoji: str
    added: bool


def reaction_event(
    *,
    user_id: int,
    bot_user_id: int | None,
    message_id: int,
    emoji_name: str | None,
    emoji_id: int | None,
    added: bool,
) -> ReactionEvent | None:
    """A raw Discord reaction as a like/unlike candidate; the bot's own reactions and custom
    (server) emoji are not likes."""
    if user_id == bot_user_id or emoji_id is not None or not emoji_name:
        return None
    return ReactionEvent(str(user_id), str(message_id), emoji_name, added)


# -- command sync --------------------------------------------------------------------------------

_OPTION_KEYS: Final = (
    "name",
    "description",
    "choices",
    "min_value",
    "max_value",
    "min_length",
    "max_length",
    "channel_types",
)


def command_signature(payloads: Sequence[Mapping[str, Any]]) -> str:
    """A canonical text of application commands that ignores what Discord adds (ids, versions,
    defaults left out): equal signatures mean there is nothing to sync."""
    return json.dumps(sorted((_canonical(p) for p in payloads), key=lambda c: c["name"]))


def _canonical(payload: Mapping[str, Any]) -> dict[str, Any]:
    # Discord gives a context-menu command an empty description it was never sent
    out: dict[str, Any] = {k: payload[k] for k in _OPTION_KEYS if payload.get(k) not in (None, "")}
    out["type"] = payload.get("type", 1)
    out["required"] = bool(payload.get("required", False))
    out["autocomplete"] = bool(payload.get("autocomplete", False))
    out["options"] = [_canonical(o) for o in payload.get("options") or ()]
    return out
