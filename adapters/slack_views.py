"""Slack's Home tab and modals for the bot: the bolt listeners that publish a person's home
view, open the criteria, settings and Ask forms, and take their submissions.

`app_home_opened` (the Home tab) publishes `adapters.slack_home`'s view of the core's
`Conversation.home` for that person. `/arxiv criteria edit`, `/arxiv settings edit` and the
Home tab's buttons open the forms of `adapters.slack_modals` with `views.open` (the request's
`trigger_id` lasts three seconds, so nothing slow runs before it). A submitted criteria or
settings form is the conversation's `submit_criteria` / `submit_settings`, the same path as
`criteria set` and `settings ...`: a refusal goes back in the ack as `response_action: errors`
on the field it concerns (the form stays open), and only once the form is closed are the
replies posted to the channel. A card's Ask button opens a one-question form whose answer is
posted in the digest's thread, under a line saying who asked what.

The Home tab is written in the person's Slack locale when a catalog has it (else English);
a form opened for a channel, and what answers its submission, in the channel's language
(`Conversation.language`: the channel's choice, else the person's locale).

A form names its channel in `private_metadata`; a submission or button for a channel outside
the request's workspace is ignored. This module must not decide what a command means, keep a
token, or render Block Kit itself beyond the line above an answer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack_blocks import ASK_ACTION, Block, escape, text_message
from adapters.slack_home import HOME_CRITERIA_ACTION, HOME_SETTINGS_ACTION, home_view
from adapters.slack_modals import (
    ASK_CALLBACK,
    CRITERIA_CALLBACK,
    SETTINGS_CALLBACK,
    ViewAbout,
    about_of,
    ask_modal,
    criteria_block,
    criteria_modal,
    field_errors,
    setting_block,
    settings_blocks,
    settings_modal,
    submitted_criteria,
    submitted_question,
    submitted_settings,
)
from bot.config.settings_form import SETTINGS_FIELDS
from bot.conversation.dispatch import CRITERIA_FIELD, Caller, Conversation, Reply, Respond
from bot.errors import PlatformError
from bot.i18n import _, using
from bot.safety import clip

log = logging.getLogger(__name__)

PLATFORM: Final = "slack"
FORMS: Final = {"criteria edit": "criteria", "settings edit": "settings"}
"""The slash commands that open a form instead of answering in text."""

ChannelKey = Callable[[AsyncBoltContext, str], str]
Guarded = Callable[[dict[str, Any], Awaitable[None]], Awaitable[None]]
Call = Callable[[str, Awaitable[AsyncSlackResponse]], Awaitable[AsyncSlackResponse]]
Managing = Callable[[AsyncBoltContext, str, str], Callable[[], Awaitable[bool]]]
"""For (request, channel key, user): asks Slack whether the user manages that channel."""
Post = Callable[[str, str, list[Block], str | None], Awaitable[str]]
ThreadReplies = Callable[[Caller, str | None], Respond]
UserLocale = Callable[[AsyncBoltContext, str], Awaitable[str]]
"""For (request, user): the person's Slack locale (`de-DE`), "" when Slack will not say."""


def form_of(text: str) -> str | None:
    """The form a slash command opens ('criteria' or 'settings'), or None."""
    return FORMS.get(" ".join(text.lower().split()))


def slack_channel(key: str) -> str:
    """Slack's own id of a channel key (`T0TEAM:C0123` → `C0123`)."""
    return key.rpartition(":")[2]


class SlackViews:
    """The Home tab and the modals (see the module docstring)."""

    def __init__(
        self,
        conversation: Conversation,
        *,
        channel_key: ChannelKey,
        guarded: Guarded,
        call: Call,
        post: Post,
        replies: ThreadReplies,
        manager: Managing,
        managers: str,
        locale: UserLocale,
    ) -> None:
        self._locale = locale
        self._manager = manager
        self._managers = managers
        self._conversation = conversation
        self._channel_key = channel_key
        self._guarded = guarded
        self._call = call
        self._post = post
        self._replies = replies

    def register(self, app: AsyncApp) -> None:
        """Add the listeners to bolt's app."""
        app.event("app_home_opened")(self._on_home_opened)
        app.action(HOME_CRITERIA_ACTION)(self._on_form_button)
        app.action(HOME_SETTINGS_ACTION)(self._on_form_button)
        app.action(ASK_ACTION)(self._on_ask_button)
        app.view(CRITERIA_CALLBACK)(self._on_criteria_submitted)
        app.view(SETTINGS_CALLBACK)(self._on_settings_submitted)
        app.view(ASK_CALLBACK)(self._on_ask_submitted)

    def _belongs(self, context: AsyncBoltContext) -> Callable[[str], bool]:
        """Whether a channel key is of the request's workspace."""
        return lambda key: self._channel_key(context, slack_channel(key)) == key

    # -- the Home tab ---------------------------------------------------------------------------

    async def _on_home_opened(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        event = body.get("event") or {}
        user = str(event.get("user") or "")
        if event.get("tab", "home") != "home" or not user:
            return
        await self._guarded(body, self._publish_home(user, context))

    async def _publish_home(self, user: str, context: AsyncBoltContext) -> None:
        locale = await self._locale(context, user)
        home = await self._conversation.home(PLATFORM, user, self._belongs(context), locale)
        with using(home.locale):
            view = home_view(home, slack_channel)
        await self._call("views.publish", _client(context).views_publish(user_id=user, view=view))

    # -- opening a form -------------------------------------------------------------------------

    async def open_form(
        self, form: str, caller: Caller, trigger_id: str, context: AsyncBoltContext
    ) -> None:
        """Open the criteria or settings form of the caller's channel, in its language."""
        if form == "criteria":
            text, version = await self._conversation.criteria_form(caller)
            with using(await self._conversation.language(caller)):
                view = criteria_modal(caller.channel_id, text, version)
        else:
            values = await self._conversation.settings_form(caller)
            mention = f"<#{slack_channel(caller.channel_id)}>"
            with using(await self._conversation.language(caller)):
                view = settings_modal(mention, caller.channel_id, values)
        await self._open(view, trigger_id, context)

    async def _open(self, view: dict[str, Any], trigger_id: str, context: AsyncBoltContext) -> None:
        try:
            await self._call(
                "views.open", _client(context).views_open(trigger_id=trigger_id, view=view)
            )
        except PlatformError as exc:  # an expired trigger: the person clicks again
            log.warning("Slack: could not open a form: %s", exc)

    async def _on_form_button(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await ack()
        await self._guarded(body, self._form_button(body, context))

    async def _form_button(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        action = (body.get("actions") or [{}])[0]
        key = str(action.get("value") or "")
        if not key or not self._belongs(context)(key):
            return
        form = "criteria" if action.get("action_id") == HOME_CRITERIA_ACTION else "settings"
        user = str((body.get("user") or {}).get("id") or "")
        caller = Caller(PLATFORM, key, user, locale=await self._locale(context, user))
        await self.open_form(form, caller, str(body.get("trigger_id") or ""), context)

    async def _on_ask_button(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await ack()
        await self._guarded(body, self._ask_button(body, context))

    async def _ask_button(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        message = body.get("message") or {}
        paper = str((body.get("actions") or [{}])[0].get("value") or "")
        channel = str((body.get("channel") or {}).get("id") or "")
        if not paper or not channel:
            return
        about = ViewAbout(
            self._channel_key(context, channel),
            paper,
            str(message.get("thread_ts") or message.get("ts") or ""),
        )
        user = str((body.get("user") or {}).get("id") or "")
        caller = Caller(PLATFORM, about.channel, user, locale=await self._locale(context, user))
        with using(await self._conversation.language(caller)):
            view = ask_modal(about)
        await self._open(view, str(body.get("trigger_id") or ""), context)

    # -- submissions ----------------------------------------------------------------------------

    async def _submitter(self, body: dict[str, Any], context: AsyncBoltContext) -> Caller | None:
        """Who submitted a form, in its channel; None for a form not about this workspace."""
        about = about_of(body.get("view") or {})
        user = str((body.get("user") or {}).get("id") or "")
        if about is None or not user or not self._belongs(context)(about.channel):
            return None
        return Caller(
            PLATFORM,
            about.channel,
            user,
            thread=about.thread,
            manager=self._manager(context, about.channel, user),
            managers=self._managers,
            locale=await self._locale(context, user),
        )

    async def _on_criteria_submitted(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        caller = await self._submitter(body, context)
        if caller is None:
            await ack()
            return
        kept, respond = _kept()
        text = submitted_criteria(body.get("view") or {})
        refused = await self._conversation.submit_criteria(caller, text, respond)
        blocks = {CRITERIA_FIELD: criteria_block(0)}
        await self._answer(
            ack, body, caller, kept, field_errors(refused, blocks, blocks[CRITERIA_FIELD])
        )

    async def _on_settings_submitted(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        caller = await self._submitter(body, context)
        if caller is None:
            await ack()
            return
        kept, respond = _kept()
        values = submitted_settings(body.get("view") or {})
        refused = await self._conversation.submit_settings(caller, values, respond)
        first = setting_block(SETTINGS_FIELDS[0].name)
        await self._answer(ack, body, caller, kept, field_errors(refused, settings_blocks(), first))

    async def _answer(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        caller: Caller,
        kept: list[Reply],
        errors: dict[str, str],
    ) -> None:
        """Keep the form open with its errors, or close it and post what the change replied."""
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        await self._guarded(body, self._deliver(caller, kept))

    async def _deliver(self, caller: Caller, kept: list[Reply]) -> None:
        respond = self._replies(caller, None)
        for reply in kept:
            await respond(reply)

    async def _on_ask_submitted(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await ack()  # the answer takes a while: the form closes, the thread gets it
        caller = await self._submitter(body, context)
        if caller is None or not caller.thread:
            return
        about = about_of(body.get("view") or {})
        assert about is not None
        question = submitted_question(body.get("view") or {})
        await self._guarded(
            body,
            self._conversation.handle(
                caller, f"ask {about.paper} {question}".strip(), self._asked(caller, question)
            ),
        )

    def _asked(self, caller: Caller, question: str) -> Respond:
        """Replies to an Ask form: the answer in the thread under who asked what; a refusal to
        the asker only."""
        private = self._replies(caller, caller.thread)

        async def reply(answer: Reply) -> None:
            if answer.ephemeral:
                await private(answer)
                return
            who = f"<@{caller.user_id}>"
            said = (
                _("{who} asked “{question}”").format(who=who, question=escape(clip(question, 300)))
                if question
                else _("{who} asked for a summary").format(who=who)
            )
            text, blocks = text_message(answer.text)
            head: Block = {"type": "context", "elements": [{"type": "mrkdwn", "text": said}]}
            await self._post(caller.channel_id, text, [head, *blocks[:49]], caller.thread)

        return reply


def _kept() -> tuple[list[Reply], Respond]:
    """A `Respond` that keeps the replies, to post once the form is closed."""
    kept: list[Reply] = []

    async def keep(reply: Reply) -> None:
        kept.append(reply)

    return kept, keep


def _client(context: AsyncBoltContext) -> AsyncWebClient:
    """The Web API client bolt made for the request's workspace."""
    client = context.client
    assert client is not None, "bolt gives every request a client"
    return client
