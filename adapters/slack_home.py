"""The Slack Home tab: a person's `bot.conversation.home.Home` as a Block Kit home view.

Each channel the bot posts to in the workspace gets its criteria's topics, its settings, what
it follows, its latest digest's top papers and two buttons (Edit criteria, Settings) that open
the modals of `adapters.slack_modals`; then the person's own likes. A view holds at most 100
blocks: channels that do not fit are counted in an "…and N more channels" line, never cut
halfway. Text is escaped and clipped as in `adapters.slack_blocks`. Its words go through the
catalogs: the adapter renders the page under `Home.locale`, the person's language.

Pure: this module must not do I/O, import an SDK, or decide what the page holds (that is
`bot.conversation.home`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Final

from adapters.slack_blocks import (
    BUTTON_LIMIT,
    Block,
    context_block,
    escape,
    header_block,
    inline,
    link,
    section_block,
    whole_lines,
)
from bot.config.channels import ChannelSettings
from bot.conversation.home import Home, HomeChannel
from bot.i18n import _, day, ngettext, number
from bot.models import Follow
from bot.safety import clip, excerpt

MAX_VIEW_BLOCKS: Final = 100
HOME_CRITERIA_ACTION: Final = "arxiv_home_criteria"
HOME_SETTINGS_ACTION: Final = "arxiv_home_settings"
TOPICS_SHOWN: Final = 12
FOLLOWS_SHOWN: Final = 10

ChannelRef = Callable[[str], str]
"""The Slack channel id of a channel key (`T0TEAM:C0123` → `C0123`)."""


def _button(label: str, action_id: str, value: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(label, BUTTON_LIMIT)},
        "action_id": action_id,
        "value": value[:2000],
    }


def settings_line(s: ChannelSettings) -> str:
    """A channel's settings on one line."""
    categories = escape(", ".join(s.categories))
    return " · ".join(
        [
            _("relevance ≥ {relevance}, novelty ≥ {novelty}").format(
                relevance=s.thresholds.relevance, novelty=s.thresholds.novelty
            ),
            _("{categories} (with cross-lists)").format(categories=categories)
            if s.cross_lists
            else categories,
            _("LLM: {budget}").format(budget=escape(s.llm_budget_text())),
            _("learning on") if s.learning else _("learning off"),
            _("weekly: {when}").format(when=escape(s.weekly_text())),
        ]
    )


def follows_line(follows: tuple[Follow, ...]) -> str:
    """What a channel follows, on one line."""
    kinds = {"author": _("author"), "keyword": _("keyword")}
    shown = [
        f"{kinds.get(f.kind, f.kind)} {inline(clip(f.text, 80))}" for f in follows[:FOLLOWS_SHOWN]
    ]
    more = len(follows) - FOLLOWS_SHOWN
    text = _("Following: {follows}").format(follows="; ".join(shown))
    if more > 0:
        text += ngettext("; and {n} more", "; and {n} more", more).format(n=number(more))
    return text


def channel_blocks(c: HomeChannel, ref: ChannelRef) -> list[Block]:
    """One channel's part of the page, ending with its buttons and a divider."""
    s = c.settings
    status = (
        _("subscribed, daily post {time} {zone}").format(
            time=s.post_time.strftime("%H:%M"), zone=escape(s.timezone)
        )
        if c.subscribed
        else _("not subscribed (`/arxiv subscribe`)")
    )
    topics = [f"{n}. {inline(t)}" for n, t in enumerate(c.topics[:TOPICS_SHOWN], 1)]
    if len(c.topics) > TOPICS_SHOWN:
        more = len(c.topics) - TOPICS_SHOWN
        topics.append(
            ngettext("…and {n} more topic", "…and {n} more topics", more).format(n=number(more))
        )
    head = "*" + _("Criteria v{version}").format(version=c.criteria_version) + "*"
    blocks = [
        section_block(f"*<#{ref(c.channel_id)}>* · {status}"),
        section_block(whole_lines(head, topics or [_("(no topics)")])),
        context_block(settings_line(s)),
    ]
    if c.follows:
        blocks.append(context_block(follows_line(c.follows)))
    blocks.append(section_block(top_papers_text(c)))
    blocks += [
        {
            "type": "actions",
            "elements": [
                _button(_("Edit criteria"), HOME_CRITERIA_ACTION, c.channel_id),
                _button(_("Settings"), HOME_SETTINGS_ACTION, c.channel_id),
            ],
        },
        {"type": "divider"},
    ]
    return blocks


def top_papers_text(c: HomeChannel) -> str:
    """The latest digest's best papers, or why there are none."""
    if c.day is None:
        return _("No arXiv day read yet for these categories.")
    if not c.built:
        return _("No digest for {day} yet (`/arxiv today`).").format(day=day(c.day))
    if not c.top:
        return _("Nothing met the thresholds on {day}.").format(day=day(c.day))
    items = [
        f"• {link(e.paper.abs_url, inline(excerpt(e.paper.title, 200)))} — "
        + _("relevance {relevance}, novelty {novelty}").format(
            relevance=e.score.relevance, novelty=e.score.novelty
        )
        for e in c.top
    ]
    head = "*" + _("Top papers of {day}").format(day=day(c.day)) + "* "
    head += ngettext("({n} selected)", "({n} selected)", c.selected).format(n=number(c.selected))
    return whole_lines(head, items)


def likes_blocks(home: Home, ref: ChannelRef) -> list[Block]:
    """The person's own likes, newest first."""
    if not home.likes:
        return [
            header_block(_("Your likes")),
            context_block(_("Nothing liked yet: react 👍 to a card in a digest's thread.")),
        ]
    items = [
        f"• {link(like.paper.abs_url, inline(excerpt(like.paper.title, 200)))} — "
        f"<#{ref(like.channel_id)}>, {escape(_liked_day(like.liked_at))}"
        for like in home.likes
    ]
    return [header_block(_("Your likes")), section_block(whole_lines("", items).lstrip("\n"))]


def _liked_day(liked_at: str) -> str:
    """The day of a like's timestamp for the locale; as stored when it cannot be read."""
    try:
        return day(date.fromisoformat(liked_at[:10]))
    except ValueError:
        return liked_at[:10]


def home_view(home: Home, ref: ChannelRef) -> dict[str, Any]:
    """The home view of `home`, within Slack's 100 blocks."""
    top: list[Block] = [
        header_block(_("arXiv papers for your channels")),
        context_block(
            _(
                "Each channel I post to in this workspace: its criteria, settings and latest "
                "top papers. The buttons open a form to change them."
            )
        ),
    ]
    tail = likes_blocks(home, ref)
    if not home.channels:
        top.append(
            section_block(
                _(
                    "I do not post in any channel of this workspace yet: `/invite @arxiv-bot` "
                    "in a channel, then `/arxiv subscribe` there."
                )
            )
        )
    room = MAX_VIEW_BLOCKS - len(top) - len(tail) - 1  # one block for "…and N more"
    body: list[Block] = []
    shown = 0
    for channel in home.channels:
        part = channel_blocks(channel, ref)
        if len(body) + len(part) > room:
            break
        body += part
        shown += 1
    more = len(home.channels) - shown + home.more_channels
    if more > 0:
        body.append(
            context_block(
                ngettext(
                    "…and {n} more channel: `/arxiv criteria` and `/arxiv settings` there.",
                    "…and {n} more channels: `/arxiv criteria` and `/arxiv settings` there.",
                    more,
                ).format(n=number(more))
            )
        )
    return {"type": "home", "blocks": [*top, *body, *tail]}
