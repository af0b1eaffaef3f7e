"""Asking about and scoring the papers a Discord message shows, from the message itself.

- **"Score for this channel"** (a message context-menu command): the arXiv papers the message
  links (abs, pdf or html links in its text, a card's embed) with this channel's relevance,
  novelty and reason, scored once if never (`bot.conversation.unfurl`), answered privately.
- **"Ask about this paper"** (a message context-menu command): a form with one optional
  question field; submitting runs `ask <paper> <question>` (no question: the summary).
- **A reply to a card, or a mention in a digest's thread**: `@arxiv-bot which datasets?` in
  reply to a card asks about that card's paper; `@arxiv-bot 3 which datasets?` or
  `@arxiv-bot 2505.01234 …` in a thread is `ask 3 …`. The answer is a reply to the message.
  Without the Message Content intent Discord sends the text of messages that mention the bot
  only, so a reply counts when it pings the bot (Discord's default for replies).

It must not decide what a paper scores or what `ask` answers (the conversation does), log or show
the token, or let paper text mention anyone.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final, Protocol

import discord
from discord import app_commands

from adapters import discord_render as render
from adapters.discord_forms import LABEL_CHARS, TITLE_CHARS
from bot.arxiv.links import arxiv_link_ids
from bot.conversation.dispatch import Caller, Conversation, Reply
from bot.conversation.unfurl import LinkViews, missing_text
from bot.errors import BotError
from bot.i18n import N_, _, active, using
from bot.safety import clip, excerpt

log = logging.getLogger("adapters.discord")

PLATFORM: Final = "discord"
SCORE_MENU: Final = "Score for this channel"
ASK_MENU: Final = "Ask about this paper"
NO_PAPER: Final = N_("That message links no arXiv paper (an arxiv.org abs, pdf or html link).")
APOLOGY: Final = N_("Sorry, something went wrong on my side; it has been logged.")
_MENTION: Final = re.compile(r"<@!?\d+>")
_CARD_BUTTON: Final = re.compile(render.EXPLAIN_TEMPLATE)


class PaperRoom(Protocol):
    """What these commands need of the Discord adapter."""

    @property
    def conversation(self) -> Conversation: ...

    async def caller(self, interaction: discord.Interaction[Any]) -> Caller: ...

    async def home_channel(self, channel: object, channel_id: int | None) -> str: ...

    async def run_command(self, interaction: discord.Interaction[Any], text: str) -> None: ...


# -- pure helpers ----------------------------------------------------------------------------


def message_paper_ids(message: discord.Message) -> tuple[str, ...]:
    """The papers a message shows: arXiv links in its text and embeds, and a card's button."""
    texts = [message.content or ""]
    for embed in message.embeds:
        texts += [embed.url or "", embed.description or ""]
    for row in message.components:
        for child in getattr(row, "children", ()):
            m = _CARD_BUTTON.fullmatch(getattr(child, "custom_id", None) or "")
            if m:
                texts.append(f"https://arxiv.org/abs/{m['paper_id']}")
    return arxiv_link_ids("\n".join(texts))


def question_of(content: str) -> str:
    """A message's text without its mentions."""
    return " ".join(_MENTION.sub(" ", content).split())


def mention_text(question: str) -> str:
    """What a mention in a thread says, as the grammar: `ask …`, or `help` when empty."""
    if not question:
        return "help"
    return question if question.split()[0].lower() == "ask" else f"ask {question}"


def link_views_text(views: LinkViews) -> str:
    """The answer to "Score for this channel": each paper with its scores and reason, in the
    active locale (titles, authors and the reason as they are)."""
    lines = []
    for view in views.views:
        p, s = view.paper, view.score
        if p is None:
            lines.append(f"• {missing_text(view.paper_id)}")
            continue
        head = f"• **{render.inert(excerpt(p.title, 300))}** (arXiv:{p.id})"
        authors = render.inert(excerpt(", ".join(p.authors), 300))
        if s is None:
            lines.append(f"{head}\n{authors}")
            continue
        scores = _(
            "Relevance **{relevance}**/10 · novelty **{novelty}**/10 for this channel "
            "(criteria version {version}):"
        ).format(relevance=s.relevance, novelty=s.novelty, version=views.criteria_version)
        lines.append(f"{head}\n{authors}\n{scores} {render.inert(excerpt(s.comment, 500))}")
    if views.note:
        lines.append(f"-# {render.inert(views.note)}")
    return "\n".join(lines)


# -- the context menus and the form ------------------------------------------------------------


def context_menus() -> list[app_commands.ContextMenu]:
    """The two message commands, for the client's command tree."""
    return [
        app_commands.ContextMenu(name=SCORE_MENU, callback=_score_for_channel),
        app_commands.ContextMenu(name=ASK_MENU, callback=_ask_about),
    ]


def _room(interaction: discord.Interaction[Any]) -> PaperRoom:
    room: PaperRoom = getattr(interaction.client, "adapter")  # noqa: B009 - the client's adapter
    return room


async def _score_for_channel(
    interaction: discord.Interaction[Any], message: discord.Message
) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    language = active()
    try:
        room = _room(interaction)
        caller = await room.caller(interaction)
        language = await room.conversation.language(caller)
        with using(language):
            ids = message_paper_ids(message)
            if not ids:
                text = _(NO_PAPER)
            else:
                text = link_views_text(await room.conversation.link_views(caller, list(ids)))
    except BotError as exc:
        text = render.inert(str(exc))
    except Exception:
        log.exception("Discord: %s failed", SCORE_MENU)
        with using(language):
            text = _(APOLOGY)
    for chunk in render.message_chunks(text):
        await interaction.followup.send(chunk, ephemeral=True, allowed_mentions=render.NO_MENTIONS)


async def _ask_about(interaction: discord.Interaction[Any], message: discord.Message) -> None:
    room = _room(interaction)
    with using(await room.conversation.language(await room.caller(interaction))):
        ids = message_paper_ids(message)
        if not ids:
            await interaction.response.send_message(_(NO_PAPER), ephemeral=True)
            return
        modal = AskModal(ids[0])
    await interaction.response.send_modal(modal)


class AskModal(discord.ui.Modal):
    """One optional question about a paper; empty asks for the summary. Built in the active
    locale (the channel's)."""

    def __init__(self, paper_id: str) -> None:
        super().__init__(
            title=clip(_("Ask about this paper"), TITLE_CHARS),
            custom_id=f"arxiv:ask:{paper_id}"[:100],
        )
        self.paper_id = paper_id
        self.question: discord.ui.TextInput[AskModal] = discord.ui.TextInput(
            label=clip(_("Your question (empty: a summary)"), LABEL_CHARS),
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=2000,
        )
        self.add_item(self.question)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        text = f"ask {self.paper_id} {self.question.value or ''}".strip()
        await _room(interaction).run_command(interaction, text)

    async def on_error(  # type: ignore[override]  # Modal's own signature, as discord.py has it
        self, interaction: discord.Interaction[Any], error: Exception, /
    ) -> None:
        log.error("Discord: the ask form failed", exc_info=error)


# -- replies and mentions ------------------------------------------------------------------------


async def answer_message(room: PaperRoom, me: discord.ClientUser, message: discord.Message) -> None:
    """A reply to one of the bot's cards, or a mention in a thread: `ask`, answered as a reply.
    Other messages (and every message Discord sent without its text) are left alone."""
    if message.author.bot or message.guild is None:
        return
    replied = message.reference.resolved if message.reference else None
    card = replied if isinstance(replied, discord.Message) and replied.author.id == me.id else None
    mentioned = any(user.id == me.id for user in message.mentions)
    if not mentioned:
        return
    question = question_of(message.content)
    ids = message_paper_ids(card) if card is not None else ()
    text = f"ask {ids[0]} {question}".strip() if ids else mention_text(question)
    channel = message.channel
    thread = str(channel.id) if isinstance(channel, discord.Thread) else str(message.id)
    home = await room.home_channel(channel, channel.id)
    caller = Caller(PLATFORM, home, str(message.author.id), thread=thread)

    async def respond(reply: Reply) -> None:
        for chunk in render.message_chunks(reply.text):
            await message.reply(chunk, mention_author=False, allowed_mentions=render.NO_MENTIONS)

    await room.conversation.handle(caller, text, respond)
