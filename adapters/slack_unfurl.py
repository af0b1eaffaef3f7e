"""Slack unfurls of arXiv links: what `chat.unfurl` shows under a message that links a paper.

Each link becomes the paper's linked title, authors, the first lines of its abstract and this
channel's relevance and novelty with the model's reason (or one context line saying why there
are none), with Explain and Ask buttons whose clicks the Slack adapter answers. A link to an id
arXiv does not have unfurls as one short line. Paper text is escaped as on cards
(`adapters.slack_blocks`); the bot's own words go through the catalogs (the adapter renders
under the channel's language).

Pure: views in, `chat.unfurl`'s `unfurls` argument out. This module must not do I/O, import an
SDK or decide what a paper scores (`bot.conversation.unfurl` does).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from adapters.slack_blocks import (
    BUTTON_LIMIT,
    authors_line,
    context_block,
    escape,
    inline,
    link,
    section_block,
)
from bot.arxiv.links import arxiv_link_ids
from bot.conversation.unfurl import LinkView, LinkViews, missing_text
from bot.i18n import _
from bot.safety import clip, excerpt

UNFURL_EXPLAIN_ACTION: Final = "arxiv_unfurl_explain"
UNFURL_ASK_ACTION: Final = "arxiv_unfurl_ask"
UNFURL_ABSTRACT_CHARS: Final = 300

Block = dict[str, Any]


def linked_ids(urls: Sequence[str]) -> dict[str, str]:
    """Each arXiv link Slack sent (abs, pdf or html) → its paper id; other URLs are left out."""
    found: dict[str, str] = {}
    for url in urls:
        ids = arxiv_link_ids(url)
        if ids:
            found[url] = ids[0]
    return found


def unfurls(urls: dict[str, str], views: LinkViews) -> dict[str, dict[str, list[Block]]]:
    """`chat.unfurl`'s `unfurls`: for each link (url → paper id) the blocks of its paper."""
    by_id = {v.paper_id: v for v in views.views}
    return {
        url: {"blocks": paper_blocks(by_id[pid], views.criteria_version, views.note)}
        for url, pid in urls.items()
        if pid in by_id
    }


def paper_blocks(view: LinkView, criteria_version: int, note: str = "") -> list[Block]:
    """One linked paper: title, authors, this channel's scores and reason (or why none), the
    abstract's first lines, and Explain / Ask buttons."""
    p, s = view.paper, view.score
    if p is None:
        return [context_block(escape(missing_text(view.paper_id)))]
    head = f"*{link(p.abs_url, inline(excerpt(p.title, 400)))}*\n"
    head += inline(excerpt(authors_line(p.authors), 600))
    blocks = [section_block(head)]
    if s is not None:
        blocks.append(
            section_block(
                _(
                    "For this channel (criteria version {version}): relevance *{relevance}* · "
                    "novelty *{novelty}*"
                ).format(version=criteria_version, relevance=s.relevance, novelty=s.novelty)
                + f"\n_{inline(excerpt(s.comment, 500))}_"
            )
        )
    elif note:
        blocks.append(context_block(escape(note)))
    blocks.append(section_block(inline(excerpt(p.abstract, UNFURL_ABSTRACT_CHARS))))
    buttons = [_button(_("Ask"), UNFURL_ASK_ACTION, p.id)]
    if s is not None:
        buttons.insert(0, _button(_("Explain"), UNFURL_EXPLAIN_ACTION, p.id))
    blocks.append({"type": "actions", "elements": buttons})
    return blocks


def _button(label: str, action_id: str, value: str) -> Block:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(label, BUTTON_LIMIT)},
        "action_id": action_id,
        "value": value[:2000],
    }
