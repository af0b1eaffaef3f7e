"""Discord's forms: `/arxiv settings action:edit` opens a modal with a channel's settings as
`bot.config.settings_form` writes them, one text input per field. It is built under the
channel's language (`Conversation.language`), as `adapters.discord`'s criteria form is, so
titles and labels are the catalogs'; `MENU_NAMES` marks the message commands' names for the
catalogs (the command tree's translator localises them).

A Discord modal holds at most five inputs, so it shows the five fields that are not on/off
toggles (post time and zone, thresholds, categories, LLM share, weekly post); cross-lists and
learning stay `/arxiv settings cross-lists|learning`. Discord cannot mark a field of a modal as
wrong, so what the conversation refuses comes back as a private reply naming each field.

This module must not decide whether a value is valid (the conversation does) or answer an
interaction itself beyond handing the submission to `submit`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import discord

from bot.config.settings_form import FIELDS_BY_NAME
from bot.i18n import N_, _
from bot.safety import clip

log = logging.getLogger(__name__)

DISCORD_FIELDS: Final = ("time", "thresholds", "categories", "llm_share", "weekly")
"""The settings fields a Discord modal shows (five at most)."""
LABEL_CHARS: Final = 45
TITLE_CHARS: Final = 45
MENU_NAMES: Final = (N_("Score for this channel"), N_("Ask about this paper"))
"""The message commands' names (`adapters.discord_papers`), as the catalogs translate them."""
OPEN_SECONDS: Final = 900.0  # a form left open longer is forgotten (its submission is ignored)

Submit = Callable[[discord.Interaction[Any], dict[str, str]], Awaitable[None]]
Failed = Callable[[discord.Interaction[Any]], Awaitable[None]]


class SettingsModal(discord.ui.Modal):
    """A form with the channel's current settings; submitting hands what it holds to `submit`.
    Built in the channel's language."""

    def __init__(self, values: Mapping[str, str], submit: Submit, failed: Failed) -> None:
        super().__init__(
            title=clip(_("This channel's settings"), TITLE_CHARS), timeout=OPEN_SECONDS
        )
        self._submit = submit
        self._failed = failed
        self.inputs: dict[str, discord.ui.TextInput[SettingsModal]] = {}
        for name in DISCORD_FIELDS:
            field = FIELDS_BY_NAME[name]
            text_input: discord.ui.TextInput[SettingsModal] = discord.ui.TextInput(
                label=clip(_(field.label), LABEL_CHARS),
                default=values.get(name, ""),
                placeholder=_("e.g. {example}").format(example=field.example),
                max_length=200,
                custom_id=f"arxiv_setting_{name}",
            )
            self.inputs[name] = text_input
            self.add_item(text_input)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await self._submit(interaction, {name: i.value for name, i in self.inputs.items()})

    async def on_error(  # type: ignore[override]  # Modal's own signature, as discord.py has it
        self, interaction: discord.Interaction[Any], error: Exception, /
    ) -> None:
        log.error("Discord: the settings form failed", exc_info=error)
        await self._failed(interaction)


def refusal_text(refused: Mapping[str, str]) -> str:
    """What the conversation refused in a settings form, one line per field, in the active
    locale."""
    lines = [
        f"• {_(FIELDS_BY_NAME[name].label) if name in FIELDS_BY_NAME else _('Settings')}: {why}"
        for name, why in refused.items()
    ]
    return _("The settings are unchanged:") + "\n" + "\n".join(lines)
