"""The commands that read and change how a channel is served: `settings` and its `threshold`,
`time`, `categories`, `cross-lists`, `llm-share`, `learning`, `weekly`, `language` and `reset`,
and
`subscribe` / `unsubscribe` for the daily post, and the settings form (`bot.config.settings_form`)
submitted as one change.

What a setting may be, and the change it makes, is `bot.config.channels`'s (pure); this module loads
the channel's row, applies the change once and writes it to the audit log. Permissions and rate
limits are `bot.conversation.dispatch`'s.

It must not validate a setting itself, post the digest, import a platform SDK or render
platform markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.config.channels import (
    ChannelSettings,
    categories_change,
    cross_lists_change,
    language_change,
    learning_change,
    llm_share_change,
    threshold_change,
    time_change,
    weekly_change,
)
from bot.config.settings_form import form_change, form_values
from bot.conversation.context import Caller, Context, Handlers, Reply, Respond
from bot.i18n import _, active, using


class SettingsCommands:
    """Answers the settings and subscription commands (see module docstring)."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._store = ctx.store
        self._config = ctx.config

    def handlers(self) -> Handlers:
        return {
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "settings": self._settings_show,
            "settings threshold": self._settings_threshold,
            "settings time": self._settings_time,
            "settings categories": self._settings_categories,
            "settings cross-lists": self._settings_cross_lists,
            "settings llm-share": self._settings_llm_share,
            "settings learning": self._settings_learning,
            "settings weekly": self._settings_weekly,
            "settings language": self._settings_language,
            "settings reset": self._settings_reset,
            "settings edit": self._settings_edit,
        }

    # -- subscription ---------------------------------------------------------------------------

    async def _subscribe(self, caller: Caller, _arg: str, respond: Respond) -> None:
        s = await self._ctx.channel_settings(caller.channel_id, caller.platform)
        when = f"{s.post_time.strftime('%H:%M')} {s.timezone}"
        row = await self._store.channels.get(caller.channel_id, caller.platform)
        if row.subscribed:
            await respond(
                Reply(
                    _(
                        "Subscribed already: the digest comes here every announcement day at "
                        "{when}."
                    ).format(when=when)
                )
            )
            return
        await self._store.channels.set_subscribed(caller.channel_id, True)
        await self._ctx.audit(caller, "subscribe", "")
        await respond(
            Reply(
                _(
                    "Subscribed: the digest will be posted here every announcement day at {when}."
                ).format(when=when),
                ephemeral=False,
            )
        )

    async def _unsubscribe(self, caller: Caller, _arg: str, respond: Respond) -> None:
        row = await self._store.channels.get(caller.channel_id, caller.platform)
        if not row.subscribed:
            await respond(Reply(_("This channel is not subscribed; nothing to stop.")))
            return
        await self._store.channels.set_subscribed(caller.channel_id, False)
        await self._ctx.audit(caller, "unsubscribe", "")
        await respond(
            Reply(
                _("Unsubscribed: no more daily posts here. Likes and history are kept."),
                ephemeral=False,
            )
        )

    # -- settings -------------------------------------------------------------------------------

    async def _settings_show(self, caller: Caller, _arg: str, respond: Respond) -> None:
        s = await self._ctx.channel_settings(caller.channel_id, caller.platform)
        row = await self._store.channels.get(caller.channel_id, caller.platform)
        sub = _("subscribed") if row.subscribed else _("not subscribed")
        head = _("Settings of this channel ({subscribed}):").format(subscribed=sub)
        await respond(Reply(f"{head}\n{s.describe()}"))

    async def _settings_threshold(self, caller: Caller, arg: str, respond: Respond) -> None:
        await self._settings_change(caller, threshold_change(arg), respond)

    async def _settings_time(self, caller: Caller, arg: str, respond: Respond) -> None:
        current = await self._ctx.channel_settings(caller.channel_id, caller.platform)
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
            await self._ctx.audit(caller, "learning reset", "")
            await respond(
                Reply(
                    _(
                        "Learning reset: the ranking forgets this channel's likes so far (they "
                        "stay listed under `/arxiv likes`) and starts again from the criteria "
                        "alone."
                    ),
                    ephemeral=False,
                )
            )
            return
        await self._settings_change(caller, learning_change(arg), respond)

    async def _settings_weekly(self, caller: Caller, arg: str, respond: Respond) -> None:
        current = await self._ctx.channel_settings(caller.channel_id, caller.platform)
        change = weekly_change(arg, current)
        await self._settings_change(caller, change, respond)
        row = await self._store.channels.get(caller.channel_id, caller.platform)
        if change.get("weekly_day") is not None and not row.subscribed:
            await respond(Reply(_("The weekly post comes with the daily one: `/arxiv subscribe`.")))

    async def _settings_language(self, caller: Caller, arg: str, respond: Respond) -> None:
        await self._settings_change(caller, language_change(arg), respond)

    async def _settings_change(
        self, caller: Caller, change: dict[str, Any], respond: Respond
    ) -> None:
        row = await self._store.channels.get(caller.channel_id, caller.platform)
        overrides = {**row.overrides, **change}
        await self._store.channels.set_channel_overrides(caller.channel_id, overrides)
        await self._ctx.audit(caller, "settings", repr(change))
        updated = self._config.defaults.with_overrides(overrides)
        with using(updated.language if updated.language_set else active()):  # answers in itself
            text = _("Settings updated:") + "\n" + updated.describe()
        await respond(Reply(text, ephemeral=False))

    # -- the settings form ---------------------------------------------------------------------

    async def _settings_edit(self, caller: Caller, _arg: str, respond: Respond) -> None:
        """The form itself is the adapter's (Slack, Discord); where there is none, the way."""
        await respond(
            Reply(
                _(
                    "`settings edit` opens a form on Slack and Discord. Here, `/arxiv settings` "
                    "shows them and `/arxiv settings time 08:30 Europe/Berlin` (or `threshold`, "
                    "`categories`, `llm-share`, `weekly` …) changes one."
                )
            )
        )

    def form(self, current: ChannelSettings) -> dict[str, str]:
        """The settings form's fields with their current values."""
        return form_values(current)

    async def apply_form(self, caller: Caller, values: Mapping[str, str], respond: Respond) -> None:
        """A submitted settings form: the fields that changed, read as their commands read
        them, applied as one change (`FormErrors` names each field it cannot read)."""
        current = await self._ctx.channel_settings(caller.channel_id, caller.platform)
        change = form_change(values, current)
        if not change:
            await respond(Reply(_("Nothing to change: the settings are as they were.")))
            return
        await self._settings_change(caller, change, respond)

    async def _settings_reset(self, caller: Caller, _arg: str, respond: Respond) -> None:
        await self._store.channels.set_channel_overrides(caller.channel_id, {})
        await self._ctx.audit(caller, "settings reset", "")
        await respond(
            Reply(
                _("Settings reset to the defaults:") + "\n" + self._config.defaults.describe(),
                ephemeral=False,
            )
        )
