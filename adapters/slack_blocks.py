"""Slack renderings of digests and replies: Block Kit payloads, plain-text fallbacks, message
metadata, and the emoji names Slack sends with reactions.

Every function here is pure (literal values in, dicts and strings out) so the limits Slack
enforces — 3,000 characters per text block, 150 per header, 75 per button label, 50 blocks per
message — are checked by plain tests. Paper and user text is escaped for mrkdwn (`&`, `<`, `>`
only), so nothing rendered here can mention anyone, open a link or break the markup; it is also
stripped of bidi and zero-width characters, and a paper's texts are cut to a few hundred
characters before anything else touches them, however long they arrive. The bot's own words
(labels, buttons, counts, footers, the plain-text fallbacks) are written in the active locale
(`bot.i18n.using`: the channel's language), numbers, dates and dollars formatted for it; paper
data and what the LLM wrote stay as they are.

This module must not do I/O or import an SDK.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Final

from bot.arxiv.links import code_links, venue
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
    local_line,
    note_text,
    share_line,
)
from bot.i18n import _, ngettext, number
from bot.models import Digest, DigestEntry, Paper
from bot.safety import clip, defuse, excerpt

Block = dict[str, Any]

TEXT_LIMIT: Final = 3_000
HEADER_LIMIT: Final = 150
BUTTON_LIMIT: Final = 75
MAX_BLOCKS: Final = 50
FALLBACK_LIMIT: Final = 3_900  # Slack truncates `text` beyond 40,000; notifications show far less
ABSTRACT_CHARS: Final = 700
TOP_TITLES: Final = 5
AUTHORS_SHOWN: Final = 4
FOLLOWED_SHOWN: Final = 15  # papers in the summary's "Followed" part; the rest are counted
METADATA_EVENT: Final = "arxiv_bot_digest"

EXPLAIN_ACTION: Final = "arxiv_explain"
ASK_ACTION: Final = "arxiv_ask"  # opens the Ask form (`adapters.slack_modals`)
LINK_ACTION_PREFIX: Final = "arxiv_open_"

# Names Slack sends for the emoji the like settings usually hold; anything else is looked up in
# `_MORE_EMOJI`, and an unknown (custom) name stays `:name:` so settings can name it that way.
_LIKE_EMOJI: Final = {
    "+1": "👍",
    "thumbsup": "👍",
    "-1": "👎",
    "thumbsdown": "👎",
    "heart": "❤️",
    "star": "⭐",
    "fire": "🔥",
}
_MORE_EMOJI: Final = {
    "100": "💯",
    "brain": "🧠",
    "bulb": "💡",
    "clap": "👏",
    "eyes": "👀",
    "heart_eyes": "😍",
    "heavy_check_mark": "✔️",
    "raised_hands": "🙌",
    "rocket": "🚀",
    "sparkles": "✨",
    "star2": "🌟",
    "star-struck": "🤩",
    "tada": "🎉",
    "white_check_mark": "✅",
}
_SKIN_TONE: Final = re.compile(r"::skin-tone-\d$")


# -- text -------------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Text inert in mrkdwn: `&`, `<` and `>` escaped (and only those, as Slack asks)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def inline(text: str) -> str:
    """Paper text on one line, defused and escaped."""
    return escape(defuse(" ".join(text.split())))


_HEADING: Final = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_STRONG: Final = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_BULLET: Final = re.compile(r"^([ \t]*)[-*+][ \t]+(?=\S)", re.MULTILINE)


def mrkdwn(text: str) -> str:
    """Light markdown (criteria people wrote, replies) as Slack's mrkdwn: `## Heading` and
    `**bold**` become `*bold*`, `- item` a `•` bullet; the rest reads the same in both."""
    text = _HEADING.sub(r"*\1*", text)
    text = _STRONG.sub(lambda m: f"*{m[1] or m[2]}*", text)
    return _BULLET.sub(r"\1• ", text)


def link(url: str, label: str) -> str:
    """A mrkdwn link whose label cannot end the link early (`label` is already escaped)."""
    return f"<{url}|{label.replace('|', '¦')}>"


def authors_line(authors: tuple[str, ...], shown: int = AUTHORS_SHOWN) -> str:
    """Authors, long lists shortened to the first few and a count of the rest."""
    if len(authors) <= shown + 1:
        return ", ".join(authors)
    return _("{authors} and {count} more").format(
        authors=", ".join(authors[:shown]), count=number(len(authors) - shown)
    )


def chunks(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at line ends where possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > limit // 2 else limit
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    if text:
        pieces.append(text)
    return pieces


def fallback_text(text: str) -> str:
    """The plain `text` sent with blocks (notifications, screen readers): short, defused and
    escaped, since Slack reads it as mrkdwn too."""
    return escape(defuse(clip(text, FALLBACK_LIMIT)))


def emoji_from_name(name: str) -> str:
    """The unicode emoji for a reaction name Slack sends (`+1`, `heart`, `+1::skin-tone-2`...);
    unknown names come back as `:name:`."""
    base = _SKIN_TONE.sub("", name)
    return _LIKE_EMOJI.get(base) or _MORE_EMOJI.get(base) or f":{base}:"


# -- blocks -----------------------------------------------------------------------------------


def section_block(text: str) -> Block:
    """A section of mrkdwn text, clipped to Slack's limit."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, TEXT_LIMIT)}}


def context_block(text: str) -> Block:
    """A context line of mrkdwn text, clipped to Slack's limit."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, TEXT_LIMIT)}]}


def header_block(text: str) -> Block:
    """A header of plain text, clipped to Slack's limit."""
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(text, HEADER_LIMIT), "emoji": True},
    }


def _button(label: str, action_id: str, **extra: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(label, BUTTON_LIMIT)},
        "action_id": action_id,
        **extra,
    }


def metadata(day: date, slot: str) -> dict[str, Any]:
    """Message metadata tagging one message of a digest, read back by `slot_of`."""
    return {"event_type": METADATA_EVENT, "event_payload": {"day": day.isoformat(), "slot": slot}}


def slot_of(message: dict[str, Any], day: date) -> str | None:
    """The slot ('parent' or a paper id) of a message of `day`'s digest, else None."""
    meta = message.get("metadata") or {}
    payload = meta.get("event_payload") or {}
    if meta.get("event_type") != METADATA_EVENT or payload.get("day") != day.isoformat():
        return None
    slot = payload.get("slot")
    return slot if isinstance(slot, str) and slot else None


def counts_line(digest: Digest) -> str:
    """Per-stage counts in one line."""
    c = digest.counts
    return _(
        "{announced} announced · {considered} considered · {scored} scored · "
        "*{selected} selected* (relevance ≥ {relevance}, novelty ≥ {novelty}, criteria "
        "v{version})"
    ).format(
        announced=number(c.announced),
        considered=number(c.considered),
        scored=number(c.scored),
        selected=number(c.selected),
        relevance=digest.thresholds.relevance,
        novelty=digest.thresholds.novelty,
        version=digest.criteria_version,
    )


def cost_line(digest: Digest) -> str:
    """The model, tokens and dollars behind the digest."""
    u = digest.usage
    return _("{model} · {calls} LLM calls · {tokens} tokens ({cached} cached) · {cost}").format(
        model=escape(digest.model),
        calls=number(u.calls),
        tokens=number(u.total_tokens),
        cached=number(u.cached_tokens),
        cost=cost_text(u.cost_usd, u.priced),
    )


def title_text(digest: Digest) -> str:
    """The day's title, `arXiv digest for 2025-05-02` (the date as the locale writes it)."""
    return _("arXiv digest for {day}").format(day=day_text(digest.day))


def more_text(count: int) -> str:
    """`…and 3 more`: what a list left out."""
    return _("…and {count} more").format(count=number(count))


def scores_text(relevance: int, novelty: int) -> str:
    """`relevance 8, novelty 6`."""
    return _("relevance {relevance}, novelty {novelty}").format(
        relevance=relevance, novelty=novelty
    )


def parent_message(digest: Digest) -> tuple[str, list[Block]]:
    """The day's summary message: date, counts, the top titles and the cost line; a day with
    no selected paper gets a short 'nothing today' note."""
    if digest.week:
        return weekly_parent_message(digest)
    title = title_text(digest)
    if not digest.entries and digest.ranked_locally:
        return local_parent_message(digest)
    if not digest.entries:
        c = digest.counts
        text = _(
            "{title}: nothing today — none of the {scored} papers scored met the thresholds "
            "(relevance ≥ {relevance}, novelty ≥ {novelty})."
        ).format(
            title=title,
            scored=number(c.scored),
            relevance=digest.thresholds.relevance,
            novelty=digest.thresholds.novelty,
        )
        share = share_line(digest)  # a day ranked locally only says so
        notes = [context_block(escape(share))] if share else []
        blocks = [
            section_block(escape(text)),
            *notes,
            *followed_blocks(digest),
            context_block(cost_line(digest)),
        ]
        return fallback_text(text), blocks
    top = [
        f"{n}. {link(e.paper.abs_url, inline(excerpt(e.paper.title, 400)))}"
        for n, e in enumerate(digest.entries[:TOP_TITLES], 1)
    ]
    more = len(digest.entries) - TOP_TITLES
    if more > 0:
        top.append(more_text(more))
    blocks = [
        header_block(title),
        section_block(counts_line(digest)),
        section_block("*" + _("Top papers") + "*\n" + "\n".join(top)),
    ]
    blocks += followed_blocks(digest)
    blocks += more_like_blocks(digest)
    blocks += [context_block(inline(note_text(note))) for note in digest.notes[:3]]
    share = share_line(digest)
    if share:
        blocks.append(context_block(escape(share)))
    blocks.append(
        context_block(cost_line(digest) + " · " + _("one paper per reply in the thread ↓"))
    )
    selected = digest.counts.selected
    fallback = ngettext(
        "{title}: {count} paper selected — {titles}",
        "{title}: {count} papers selected — {titles}",
        selected,
    ).format(
        title=title,
        count=number(selected),
        titles="; ".join(" ".join(e.paper.title.split()) for e in digest.entries[:TOP_TITLES]),
    )
    return fallback_text(fallback), blocks


def local_parent_message(digest: Digest) -> tuple[str, list[Block]]:
    """The summary of a day ranked locally only (a share of 0): the local ranking's best
    papers with their place and similarity, labelled as not scored by an LLM."""
    c = digest.counts
    title = _("arXiv digest for {day} · ranked locally").format(day=day_text(digest.day))
    items = [
        f"{n}. {link(p.abs_url, inline(excerpt(p.title, 150)))} — {local_line(n, score)}"
        for n, (p, score) in enumerate(digest.ranked_locally, 1)
    ]
    counts = _("{announced} announced · {considered} considered · ranked locally only").format(
        announced=number(c.announced), considered=number(c.considered)
    )
    blocks = [
        header_block(title),
        section_block(counts),
        section_block(whole_lines(f"*{_(LOCAL_TITLE)}* ({_(LOCAL_TITLE_NOTE)})", items)),
    ]
    share = share_line(digest)
    if share:
        blocks.append(context_block(escape(share)))
    blocks += followed_blocks(digest)
    blocks.append(context_block(cost_line(digest)))
    fallback = f"{title}: " + "; ".join(
        " ".join(p.title.split()) for p, _ in digest.ranked_locally[:TOP_TITLES]
    )
    return fallback_text(fallback), blocks


def whole_lines(head: str, items: list[str], limit: int = TEXT_LIMIT) -> str:
    """`head` and as many whole `items` lines as fit in `limit` characters, then how many were
    left out (a cut link would show its markup)."""
    text = head
    for n, item in enumerate(items):
        left = "\n" + more_text(len(items) - n)
        if len(text) + 1 + len(item) + len(left) > limit:
            return text + left
        text += "\n" + item
    return text


def weekly_parent_message(digest: Digest) -> tuple[str, list[Block]]:
    """The weekly post's summary message: the week, then which papers were most liked and
    which scored best without a reaction (`bot.daily.weekly` writes them as the digest's notes)."""
    title = _("The week's best · {week}").format(week=digest.week)
    notes = [note_text(note) for note in digest.notes]
    blocks = [header_block(title), *[section_block(inline(note)) for note in notes[:3]]]
    blocks.append(context_block(_("one paper per reply in the thread ↓ · react 👍 to like")))
    fallback = f"{title}: " + " ".join(notes)
    return fallback_text(fallback), blocks


def more_like_blocks(digest: Digest) -> list[Block]:
    """The "more like what you liked" part of the summary message, labelled so."""
    if not digest.more_like:
        return []
    items = [
        f"• {link(e.paper.abs_url, inline(clip(e.paper.title, 300)))} — "
        f"{scores_text(e.score.relevance, e.score.novelty)}"
        for e in digest.more_like
    ]
    return [section_block(f"*{_(MORE_LIKE_TITLE)}* ({_(MORE_LIKE_NOTE)})\n" + "\n".join(items))]


def followed_blocks(digest: Digest) -> list[Block]:
    """The "Followed" part of the summary message: followed papers the cards do not show, with
    why and their scores, in one section (cut to fit its 3,000 characters)."""
    part = followed_part(digest)
    if not part:
        return []
    items = [
        f"• {link(f.paper.abs_url, inline(clip(f.paper.title, 200)))} — "
        f"{inline(clip(followed_detail(f), 300))}"
        for f in part[:FOLLOWED_SHOWN]
    ]
    more = "\n" + more_text(len(part) - FOLLOWED_SHOWN) if len(part) > FOLLOWED_SHOWN else ""
    head = f"*{_(FOLLOWED_TITLE)}* ({_(FOLLOWED_NOTE)})\n"
    body = "\n".join(items)
    room = TEXT_LIMIT - len(head) - len(more)
    if len(body) > room:  # whole lines only: a cut link would show its markup
        body = body[: body.rfind("\n", 0, room)] if "\n" in body[:room] else ""
        more = more or "\n" + _("…and more")
    return [section_block(head + body + more)]


def code_venue_line(p: Paper) -> str | None:
    """A card's venue and code links in one line, when the paper has either."""
    parts = []
    where = venue(p)
    if where:
        parts.append(_("Venue: {venue}").format(venue=inline(where)))
    links = code_links(p)
    if links:
        shown = ", ".join(link(u, escape(u.removeprefix("https://"))) for u in links)
        parts.append(_("Code: {links}").format(links=shown))
    return " · ".join(parts) or None


def card_message(
    n: int, entry: DigestEntry, reasons: tuple[str, ...] = ()
) -> tuple[str, list[Block]]:
    """One paper's card: linked title, authors, scores, why it is followed (if it is), the
    model's comment, venue and code, the abstract folded to a readable length, and Explain /
    Ask / arXiv / PDF buttons."""
    p, s = entry.paper, entry.score
    title = link(p.abs_url, inline(excerpt(p.title, 400)))
    category = f" · {escape(p.primary_category)}" if p.primary_category else ""
    scores = _("Relevance *{relevance}* · Novelty *{novelty}*").format(
        relevance=s.relevance, novelty=s.novelty
    )
    head = (
        f"*{n}. {title}*\n{inline(excerpt(authors_line(p.authors), 600))}\n"
        f"{scores} · arXiv:{escape(p.id)}{category}"
    )
    blocks = [section_block(head)]
    if reasons:
        why = inline(clip("; ".join(reasons), 500))
        blocks.append(context_block(_("Followed: {reasons}").format(reasons=why)))
    if s.tldr:
        blocks.append(section_block("*" + _("TL;DR:") + f"* {inline(excerpt(s.tldr, 300))}"))
    blocks.append(section_block(f"_{inline(excerpt(s.comment, 500))}_"))
    extras = code_venue_line(p)
    if extras:
        blocks.append(context_block(extras))
    blocks += [
        section_block(inline(excerpt(p.abstract, ABSTRACT_CHARS))),
        {
            "type": "actions",
            "elements": [
                _button(_("Explain"), EXPLAIN_ACTION, value=p.id[:2000]),
                _button(_("Ask"), ASK_ACTION, value=p.id[:2000]),
                _button(_("arXiv"), f"{LINK_ACTION_PREFIX}abs", url=p.abs_url),
                _button(_("PDF"), f"{LINK_ACTION_PREFIX}pdf", url=p.pdf_url),
            ],
        },
    ]
    fallback = f"{n}. {excerpt(p.title, 400)} — {scores_text(s.relevance, s.novelty)} — {p.abs_url}"
    return fallback_text(fallback), blocks


def text_message(text: str, link: tuple[str, str] | None = None) -> tuple[str, list[Block]]:
    """A reply (light markdown, already defused) as sections of at most 3,000 characters and at
    most 50 blocks; what does not fit is cut with a note. `link` (url, label) is added as a
    working link after the text."""
    pieces = chunks(mrkdwn(escape(text)))
    if len(pieces) > MAX_BLOCKS:
        cut = _("(cut: the answer is too long for one message)")
        pieces = [*pieces[: MAX_BLOCKS - 1], f"_{cut}_"]
    blocks = [section_block(piece) for piece in pieces]
    if link is not None and len(blocks) < MAX_BLOCKS:
        url, label = link
        blocks.append(section_block(f"<{escape(url)}|{escape(label)}>"))
    return fallback_text(text), blocks


# -- the Zotero key form (`/arxiv import zotero <library>`) ----------------------------------

ZOTERO_VIEW: Final = "arxiv_zotero_key"
ZOTERO_KEY_INPUT: Final = "key"


def zotero_library(text: str) -> str | None:
    """The library of an `import zotero <library>` command text (`user:123 [collection K]`),
    None for any other command (the grammar answers those, and a bad library)."""
    words = text.split(maxsplit=2)
    if len(words) < 3 or [w.lower() for w in words[:2]] != ["import", "zotero"]:
        return None
    return words[2].strip()
