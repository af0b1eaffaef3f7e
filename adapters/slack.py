"""The Slack adapter: `/arxiv` commands, Explain buttons, reactions as likes, arXiv links
unfurled with the channel's scores (`adapters.slack_unfurl`), and the daily post; the Home tab
and the modals are `adapters.slack_views`'s listeners, registered here.

Built on slack-bolt's `AsyncApp` in the bot's own event loop. With an app-level token it connects
over Socket Mode (no public URL); otherwise it serves `POST /slack/events` with aiohttp, where
`adapters.slack_verify` checks each request's signature before bolt parses anything. At start
an unreachable Slack raises `PlatformUnavailable` (`arxiv-bot run` tries again, as for every
platform, see `bot.platform`) and a token Slack refuses raises `PlatformError` naming its
variable.

For many workspaces (SLACK_CLIENT_ID, no SLACK_BOT_TOKEN) it also serves bolt's OAuth flow
(`GET /slack/install`, `GET /slack/oauth_redirect`, see `adapters.slack_install`), bolt finds each
request's token in the installation store, and every call the bot makes itself (the daily post
included) uses the token of the channel's workspace (`adapters.slack_workspaces`).
`app_uninstalled` and `tokens_revoked` remove the workspace's installation and pause its channels.

It implements `bot.platform.ChatPlatform`: the daily post is one parent message plus one card
per paper in its thread, each tagged with message metadata (day, slot) so `recover` can find
them after a crash.

Slash commands are acknowledged before any work starts, then answered through `respond`
(ephemeral for personal answers) or, for a digest, posted in the channel. Posts are paced per
channel (about one a second) and per workspace (`Pacer`, policy in `bot.daily.pacing`); a post's 429
holds its workspace for `Retry-After` and is retried here, while the Web API client retries
other calls' 429s after `Retry-After`, and 5xx and connection errors. Slack failures become
`PlatformUnavailable` (try later) or `PlatformError` (refused); anything else reaching bolt is
logged with its traceback while the user sees a short apology.

This module must not keep tokens anywhere but the SDK clients, put them in messages or logs,
render Block Kit itself (see `adapters.slack_blocks`), or decide what a command means (that is
`bot.conversation.dispatch`).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, Protocol

import aiohttp
import yarl
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import (
    BackoffRetryIntervalCalculator,
)
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack_blocks import (
    EXPLAIN_ACTION,
    LINK_ACTION_PREFIX,
    ZOTERO_KEY_INPUT,
    ZOTERO_VIEW,
    Block,
    card_message,
    emoji_from_name,
    metadata,
    parent_message,
    slot_of,
    text_message,
    zotero_library,
)
from adapters.slack_charts import upload_chart, with_reason
from adapters.slack_install import (
    INSTALL_PATH,
    REDIRECT_PATH,
    OAuthClient,
    StoreInstallations,
    StoreStates,
    TokenBox,
    handle_install,
    handle_redirect,
    oauth_settings,
    quiet_oauth_logger,
    workspace_key,
)
from adapters.slack_modals import zotero_key_view
from adapters.slack_unfurl import (
    UNFURL_ASK_ACTION,
    UNFURL_EXPLAIN_ACTION,
    linked_ids,
    unfurls,
)
from adapters.slack_verify import SlackVerifier
from adapters.slack_views import SlackViews, form_of
from adapters.slack_workspaces import REFUSED_TOKEN, ManyWorkspaces, OneWorkspace, Workspaces
from bot import i18n
from bot.config.settings import Settings
from bot.conversation.dispatch import Caller, Conversation, Reply, Respond
from bot.conversation.reactions import reaction_verb
from bot.daily.pacer import LocalPacing, Paced, Pacing, StoredPacing
from bot.daily.pacing import (
    CAP,
    SLACK_CHANNEL,
    SLACK_WORKSPACE,
    Rate,
    per_workspace,
    planned,
)
from bot.daily.pacing import keys as pacing_keys
from bot.digest.selection import followed_reasons
from bot.errors import PlatformError, PlatformUnavailable, SettingsError
from bot.i18n import N_, _, active, using
from bot.models import Digest, DigestEntry
from bot.platform import PARENT, about_to_send
from bot.secret import Secret
from bot.store import Installations, Store

log = logging.getLogger(__name__)

MAX_IMPORT_FILE_BYTES: Final = 5_000_000  # a .bib file `@arxiv-bot import` reads


class _NoKeyForms(logging.Filter):
    """Keeps the payload of a submitted Zotero key form out of bolt's debug lines (Socket
    Mode logs every message it receives): the key must never reach a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if ZOTERO_VIEW in str(record.msg) or any(ZOTERO_VIEW in str(a) for a in _args(record)):
            record.msg, record.args = "(a Zotero key form's payload, not logged)", ()
        return True


def _args(record: logging.LogRecord) -> tuple[object, ...]:
    args = record.args
    if isinstance(args, tuple):
        return args
    return tuple(args.values()) if isinstance(args, dict) else ()


def bolt_logger() -> logging.Logger:
    """The logger bolt and its Socket Mode client write to, without Zotero key forms."""
    logger = logging.getLogger(f"{__name__}.bolt")
    if not any(isinstance(f, _NoKeyForms) for f in logger.filters):
        logger.addFilter(_NoKeyForms())
    return logger


PLATFORM: Final = "slack"
EVENTS_PATH: Final = "/slack/events"
APOLOGY: Final = N_("Sorry, something went wrong on my side; it is logged. Please try again later.")
RETRIES: Final = 3
HISTORY_PAGES: Final = 10
SEEN_EVENTS: Final = 2_048
CLOSE_GRACE: Final = 30.0
CANCEL_WAIT: Final = 1.0  # seconds cancelled answers get to clean up before the store closes
ACKED_AT_ONCE: Final = frozenset({"block_actions", "event_callback"})  # and slash commands
_UNAVAILABLE_CODES: Final = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
_NOT_IN_CHANNEL: Final = frozenset({"not_in_channel", "channel_not_found", "is_archived"})

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class Pacer:
    """Paces chat.postMessage as Slack limits it (`bot.daily.pacing`): per channel, per workspace,
    and a workspace held after its 429 while the other workspaces keep posting; `cap` is the
    operator's optional bot-wide ceiling. The keys' states are this process's unless `pacing`
    keeps them in the store every replica shares (`bot.daily.pacer`). Clock and sleep are
    injectable so tests never wait."""

    def __init__(
        self,
        interval: float = 1.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        *,
        burst: int = 1,
        workspace: Rate | None = SLACK_WORKSPACE,
        cap: Rate | None = None,
        pacing: Pacing | None = None,
    ) -> None:
        self.interval = interval
        # Slack's limits, planned with a second of each burst spare (`bot.daily.pacing.planned`)
        self._channel = planned(Rate(interval, burst))
        self._workspace = planned(workspace or Rate(0.0))  # 0: unlimited, a 429 still holds it
        self._cap = cap
        self._paced = Paced(pacing or LocalPacing(clock), sleep)

    @property
    def per_workspace(self) -> int:
        """How many channels of one workspace can post at their own rate together."""
        return per_workspace(self._channel, self._workspace)

    def _rates(self, workspace: str | None, channel_id: str) -> dict[str, Rate]:
        channel_key, workspace_key, *_ = pacing_keys(workspace, channel_id)
        rates = {channel_key: self._channel, workspace_key: self._workspace}
        if self._cap is not None:
            rates[CAP] = self._cap
        return rates

    async def wait(self, channel_id: str, workspace: str | None = None) -> None:
        """Return at this post's slot (claimed at once, so concurrent posts queue in order);
        a post whose workspace is held while it waits claims a new slot after the hold."""
        await self._paced.wait(self._rates(workspace, channel_id), pacing_keys(workspace, "")[1])

    async def hold(self, workspace: str | None, retry_after: float) -> None:
        """Slack answered 429 for this workspace: nothing more goes there for `retry_after` s,
        posts already waiting for their slot included (in every replica sharing the pacing)."""
        await self._paced.hold(pacing_keys(workspace, "")[1], self._workspace, retry_after)


def bot_pacer(store: Store | None, posts_per_second: float = 0.0) -> Pacer:
    """Slack's pacing for the bot: kept in the store every replica shares (in this process
    without one), with the operator's optional cap of posts per second (0: none)."""
    cap = Rate(1.0 / posts_per_second) if posts_per_second > 0 else None
    pacing = StoredPacing(store) if store is not None else None
    return Pacer(burst=SLACK_CHANNEL.burst, cap=cap, pacing=pacing)


def web_client(
    token: str | None,
    base_url: str | None = None,
    *,
    retries: int = RETRIES,
    backoff: RetryIntervalCalculator | None = None,
) -> AsyncWebClient:
    """A Web API client that retries 429s (after `Retry-After`), 5xx and connection errors."""
    pause = backoff or BackoffRetryIntervalCalculator(backoff_factor=0.5)
    return AsyncWebClient(
        token=token,
        base_url=base_url or AsyncWebClient.BASE_URL,
        timeout=30,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=retries, interval_calculator=pause),
            _OtherRateLimits(max_retry_count=retries),
            AsyncServerErrorRetryHandler(max_retry_count=retries, interval_calculator=pause),
        ],
    )


def _api_base(url: str | None) -> str | None:
    return None if not url else url.rstrip("/") + "/"


class EventLedger(Protocol):
    """Event ids seen by any process sharing the database (the store)."""

    async def first_sight(self, event_id: str, now: float, keep: float = ...) -> bool:
        """True the first time any process asks about this id."""
        ...


class HomeLedger(Protocol):
    """Where a single-token deployment records its workspace (the store's installations)."""

    async def note_home(self, platform: str, workspace: str) -> str:
        """Record the platform's home workspace once; returns the one recorded."""
        ...


class SlackAdapter:
    """Slack for the bot: bolt listeners, the HTTP or Socket Mode transport, and the daily post."""

    def __init__(
        self,
        conversation: Conversation,
        client: AsyncWebClient,
        *,
        signing_secret: str | None = None,
        app_token: str | None = None,
        host: str = "0.0.0.0",
        port: int = 3000,
        pacer: Pacer | None = None,
        verifier: SlackVerifier | None = None,
        events: EventLedger | None = None,
        homes: HomeLedger | None = None,
        workspaces: Workspaces | None = None,
        oauth: tuple[AsyncOAuthSettings, StoreInstallations] | None = None,
        charts: bool = False,
    ) -> None:
        if app_token is None and not signing_secret:
            raise SettingsError(
                "Slack HTTP mode needs SLACK_SIGNING_SECRET (or set SLACK_APP_TOKEN for "
                "Socket Mode)"
            )
        self._conversation = conversation
        self._client = client
        self._charts = charts  # ARXIV_BOT_SLACK_CHARTS: `stats` uploads its chart too
        self._locales: dict[tuple[str, str], str] = {}  # (team, user) -> Slack locale
        self._app_token = app_token
        self._host = host
        self._wanted_port = port
        self._pacer = pacer or Pacer(burst=SLACK_CHANNEL.burst)
        self._verifier = verifier or (SlackVerifier(signing_secret) if signing_secret else None)
        self._bound_port: int | None = None
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._bot_user_id: str | None = None
        self._events = events
        self._homes = homes
        self._workspaces = workspaces or OneWorkspace(client)
        self._many = oauth is not None
        self._seen_events: OrderedDict[str, None] = OrderedDict()
        self._busy: set[asyncio.Task[Any]] = set()
        self._dispatching: set[asyncio.Task[None]] = set()
        self._app = AsyncApp(
            client=client,
            signing_secret=signing_secret or "",
            request_verification_enabled=app_token is None,
            process_before_response=False,
            logger=bolt_logger(),
            oauth_flow=(
                AsyncOAuthFlow(
                    client=OAuthClient(client.base_url),
                    logger=quiet_oauth_logger(),
                    settings=oauth[0],
                )
                if oauth is not None
                else None
            ),
            installation_store=oauth[1] if oauth is not None else None,
        )
        self._installations = oauth[1] if oauth is not None else None
        self._views = SlackViews(
            conversation,
            channel_key=self._channel,
            guarded=self._guarded,
            call=self._call,
            post=lambda channel, text, blocks, thread: self._post(
                channel, text, blocks, thread_ts=thread
            ),
            replies=self._thread_replies,
            manager=lambda context, key, user: self._manager(context, key.split(":")[-1], user),
            managers=MANAGERS,
            locale=self._user_locale,
        )
        self._register()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        conversation: Conversation,
        installations: Installations | None = None,
        **options: Any,
    ) -> SlackAdapter:
        """The adapter configured by SLACK_* settings: SLACK_BOT_TOKEN for one workspace, or
        SLACK_CLIENT_ID and its fellows for many (which keep their installations in
        `installations`, the store's)."""
        if settings.slack_many_workspaces:
            if installations is None:
                raise SettingsError("Slack for many workspaces needs the bot's database")
            return cls._for_many(settings, conversation, installations, **options)
        if settings.slack_bot_token is None:
            raise SettingsError("SLACK_BOT_TOKEN is not set: the Slack adapter is disabled")
        secret = settings.slack_signing_secret
        app_token = settings.slack_app_token
        return cls(
            conversation,
            web_client(
                settings.slack_bot_token.get_secret_value(), _api_base(settings.slack_api_url)
            ),
            signing_secret=secret.get_secret_value() if secret else None,
            app_token=app_token.get_secret_value() if app_token else None,
            port=settings.http_port,
            charts=settings.slack_charts,
            homes=installations,
            **options,
        )

    @classmethod
    def _for_many(
        cls,
        settings: Settings,
        conversation: Conversation,
        installations: Installations,
        **options: Any,
    ) -> SlackAdapter:
        assert settings.slack_client_id
        assert settings.slack_client_secret
        assert settings.slack_signing_secret
        assert settings.token_key
        base = _api_base(settings.slack_api_url)
        store = StoreInstallations(installations, TokenBox(settings.token_key.get_secret_value()))
        workspaces = ManyWorkspaces(installations, store, lambda token: web_client(token, base))
        store.on_change(workspaces.changed)
        oauth = oauth_settings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret.get_secret_value(),
            installations=store,
            states=StoreStates(installations),
            authorize_url=settings.slack_authorize_url,
            redirect_url=settings.slack_redirect_url,
        )
        return cls(
            conversation,
            web_client(None, base),
            signing_secret=settings.slack_signing_secret.get_secret_value(),
            port=settings.http_port,
            charts=settings.slack_charts,
            workspaces=workspaces,
            oauth=(oauth, store),
            homes=installations,
            **options,
        )

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def platform(self) -> str:
        """'slack'."""
        return PLATFORM

    @property
    def port(self) -> int | None:
        """The HTTP port bound in HTTP mode (the real one when asked for port 0)."""
        return self._bound_port

    @property
    def socket_mode(self) -> bool:
        """Whether events arrive over Socket Mode rather than HTTP."""
        return self._app_token is not None

    async def start(self) -> None:
        """Check the tokens with Slack, then connect Socket Mode or serve HTTP; returns once
        ready. Raises `PlatformUnavailable` while Slack cannot be reached, having opened
        nothing (the caller tries again), and `PlatformError` naming its variable for a token
        Slack refuses."""
        if self._many:
            await self._learn_home()
        else:
            identity = await self._checked("auth.test", "SLACK_BOT_TOKEN", self._client.auth_test)
            self._bot_user_id = identity.get("user_id")
            if self._homes is not None and identity.get("team_id"):
                await self._homes.note_home(PLATFORM, str(identity["team_id"]))
        if self._app_token is not None:
            await self._connect_socket(self._app_token)
            return
        assert self._verifier is not None, "HTTP mode has a signing secret (checked at init)"
        web_app = web.Application(middlewares=[self._verifier.middleware(EVENTS_PATH)])
        web_app.router.add_post(EVENTS_PATH, self._on_http)
        flow = self._app.oauth_flow
        if flow is not None:
            web_app.router.add_get(INSTALL_PATH, functools.partial(handle_install, flow))
            web_app.router.add_get(REDIRECT_PATH, functools.partial(handle_redirect, flow))
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._wanted_port).start()
        self._bound_port = int(self._runner.addresses[0][1])
        if flow is not None:
            log.info(
                "Slack: serving %s, %s and %s on port %s (many workspaces)",
                EVENTS_PATH,
                INSTALL_PATH,
                REDIRECT_PATH,
                self._bound_port,
            )
        else:
            log.info("Slack: serving %s on port %s", EVENTS_PATH, self._bound_port)

    async def _learn_home(self) -> None:
        """Many workspaces: the workspace a single-token run recorded keeps its bare channel
        ids (so what it stored keeps its meaning)."""
        if isinstance(self._workspaces, ManyWorkspaces) and isinstance(self._homes, Installations):
            self._workspaces.home = (await self._homes.homes()).get(PLATFORM)

    async def _connect_socket(self, app_token: str) -> None:
        """Socket Mode: ask for a WebSocket URL ourselves (the SDK's own loop would retry a
        refused app token forever), then let the SDK connect to it."""
        opened = await self._checked(
            "apps.connections.open",
            "SLACK_APP_TOKEN",
            lambda: self._client.apps_connections_open(app_token=app_token),
        )
        self._socket = AsyncSocketModeHandler(self._app, app_token, web_client=self._client)
        self._socket.client.wss_uri = str(opened["url"])
        await self._socket.connect_async()  # type: ignore[no-untyped-call]
        log.info("Slack: connected over Socket Mode as %s", self._bot_user_id)

    async def _checked(
        self, method: str, variable: str, call: Callable[[], Awaitable[AsyncSlackResponse]]
    ) -> AsyncSlackResponse:
        """A start-up call: `PlatformUnavailable` passes on (the start is tried again), a
        refusal names the token's variable."""
        try:
            return await self._call(method, call())
        except PlatformUnavailable:
            raise
        except PlatformError as exc:
            raise PlatformError(
                f"{exc}: check {variable} (a token Slack refuses cannot work until it is "
                "replaced; see docs/slack.md)"
            ) from None

    async def close(self, grace: float = CLOSE_GRACE) -> None:
        """Stop taking requests, give the work already acked `grace` seconds to finish (a
        digest being posted), then cancel what is left (at once if the close is cancelled)."""
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        # the answers under way, and bolt's dispatches of requests already acked (which end
        # within moments of their listener's ack)
        busy = {t for t in self._busy | self._dispatching if t is not asyncio.current_task()}
        if not busy:
            return
        late = busy
        try:
            _, late = await asyncio.wait(busy, timeout=grace)
        finally:  # also when the close itself is cut short: nothing may outlive the store
            late = {task for task in late if not task.done()}
            for task in late:
                task.cancel()
            answers = len(late - self._dispatching)
            if answers:
                log.warning("Slack: %d answers cancelled at shutdown", answers)
            if late:  # their clean-up (a lease given back) still needs the store: run it now
                await asyncio.wait(late, timeout=CANCEL_WAIT)

    async def _on_http(self, request: web.Request) -> web.Response:
        """A request the verifier let through (signed, a JSON object). A command, a button or
        an event is acknowledged at once and dispatched by bolt afterwards: every listener of
        ours acks with an empty body, so the answer is the same, and under fifty commands at
        once each ack no longer waits for bolt's work on the others. Anything else (the URL
        check) is dispatched first and answered with bolt's response. A signed body bolt
        still cannot use (fields of the wrong type) is a bad request, not a crash."""
        try:
            bolt_request = await to_bolt_request(request)
            if acked_at_once(bolt_request.body):
                task = asyncio.create_task(self._dispatch_acked(bolt_request.body, bolt_request))
                self._dispatching.add(task)
                task.add_done_callback(self._dispatching.discard)
                return web.Response(status=200)
            response = await self._app.async_dispatch(bolt_request)
        except Exception as exc:
            log.warning("Slack: a signed request could not be dispatched (%s)", type(exc).__name__)
            return web.Response(status=400, text="not a Slack payload this app can read")
        return await to_aiohttp_response(response)

    async def _dispatch_acked(self, body: dict[str, Any], bolt_request: AsyncBoltRequest) -> None:
        """bolt's dispatch of a request Slack already has its ack for. What bolt would have put
        in the ack (e.g. "install this app" for a workspace without an installation) goes to
        the request's response_url instead, so the user still sees it."""
        try:
            response = await self._app.async_dispatch(bolt_request)
        except Exception as exc:
            log.warning("Slack: a signed request could not be dispatched (%s)", type(exc).__name__)
            return
        url = body.get("response_url")
        if response.status != 200 or not response.body or not isinstance(url, str):
            return
        try:
            await AsyncRespond(response_url=url)(text=response.body, response_type="ephemeral")
        except Exception:  # best effort, like the apology
            log.warning("Slack: could not deliver bolt's answer to a request")

    # -- listeners ------------------------------------------------------------------------------

    def _register(self) -> None:
        app = self._app
        app.command("/arxiv")(self._on_command)
        app.action(EXPLAIN_ACTION)(self._on_explain)
        app.view(ZOTERO_VIEW)(self._on_zotero_key)
        app.action(re.compile(f"^{LINK_ACTION_PREFIX}"))(self._on_link)
        app.event("reaction_added")(self._on_reaction_added)
        app.event("app_mention")(self._on_mention)
        app.event("link_shared")(self._on_link_shared)
        app.action(UNFURL_EXPLAIN_ACTION)(self._on_unfurl_button)
        app.action(UNFURL_ASK_ACTION)(self._on_unfurl_button)
        app.event("reaction_removed")(self._on_reaction_removed)
        app.event("app_uninstalled")(self._on_uninstalled)
        app.event("tokens_revoked")(self._on_tokens_revoked)
        self._views.register(app)  # the Home tab and the modals
        app.error(self._on_error)

    def _manager(
        self, context: AsyncBoltContext, channel: str, user: str
    ) -> Callable[[], Awaitable[bool]]:
        """Asks Slack, when a change needs it, whether `user` manages `channel`."""
        client = context.client or self._client

        async def ask() -> bool:
            return await manages_channel(client, channel, user)

        return ask

    def _channel(self, context: AsyncBoltContext, channel: str) -> str:
        """The bot's id for a channel of this request's workspace."""
        workspace = workspace_key(
            context.enterprise_id, context.team_id, context.is_enterprise_install
        )
        return self._workspaces.channel_key(workspace, channel)

    async def _on_command(
        self,
        ack: AsyncAck,
        command: dict[str, Any],
        respond: AsyncRespond,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        await self._guarded(command, self._run_command(command, respond, context))

    async def _run_command(
        self, command: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
    ) -> None:
        channel = self._channel(context, command["channel_id"])
        user = str(command["user_id"])
        locale = await self._user_locale(context, user)
        caller = Caller(
            PLATFORM,
            channel,
            user,
            manager=self._manager(context, str(command["channel_id"]), user),
            managers=MANAGERS,
            locale=locale,
        )
        text = str(command.get("text") or "")
        library = zotero_library(text)
        if library is not None and command.get("trigger_id"):
            await self._ask_zotero_key(caller, command, library)
            return
        form = form_of(text)
        if form is not None:  # `criteria edit`, `settings edit`: a modal, not a reply
            await self._views.open_form(form, caller, str(command.get("trigger_id")), context)
            return
        await self._conversation.handle(caller, text, self._command_replies(caller, respond))

    async def _ask_zotero_key(self, caller: Caller, command: dict[str, Any], library: str) -> None:
        """`import zotero <library>`: a form asks for the key, so it is never typed where the
        channel, the command history or Slack's logs of slash commands could show it."""
        client, _, workspace = await self._workspaces.client_for(caller.channel_id)
        with using(await self._conversation.language(caller)):
            view = zotero_key_view(library, str(command["channel_id"]))
        await self._call(
            "views.open", client.views_open(trigger_id=command["trigger_id"], view=view), workspace
        )

    async def _on_zotero_key(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await ack()
        await self._guarded(body, self._zotero_import(body, context))

    async def _zotero_import(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        view = body.get("view") or {}
        meta = json.loads(str(view.get("private_metadata") or "{}"))
        values = (view.get("state") or {}).get("values") or {}
        typed = str(
            ((values.get(ZOTERO_KEY_INPUT) or {}).get(ZOTERO_KEY_INPUT) or {}).get("value") or ""
        )
        raw, user = str(meta.get("channel") or ""), str(body["user"]["id"])
        caller = Caller(
            PLATFORM,
            self._channel(context, raw),
            user,
            manager=self._manager(context, raw, user),
            managers=MANAGERS,
            locale=await self._user_locale(context, user),
        )
        await self._conversation.import_zotero(
            caller,
            str(meta.get("library") or ""),
            Secret(typed.strip()),
            self._thread_replies(caller, None),
        )

    async def _on_explain(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await ack()
        await self._guarded(body, self._explain(body, context))

    async def _explain(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        channel_id = self._channel(context, body["channel"]["id"])
        message = body.get("message") or {}
        thread_ts = message.get("thread_ts") or message.get("ts")
        user = str(body["user"]["id"])
        manager = self._manager(context, str(body["channel"]["id"]), user)
        locale = await self._user_locale(context, user)  # the private answer follows its reader
        caller = Caller(
            PLATFORM, channel_id, user, manager=manager, managers=MANAGERS, locale=locale
        )
        paper_id = str(body["actions"][0].get("value") or "")
        await self._conversation.handle(
            caller, f"explain {paper_id}", self._thread_replies(caller, thread_ts)
        )

    async def _on_mention(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await self._guarded(body, self._mention(body, context))

    async def _mention(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        """`@arxiv-bot 3 which datasets?` in a digest's thread: `ask`, answered in the
        thread."""
        event = body.get("event") or {}
        user = event.get("user")
        if not user or user in (self._bot_user_id, context.bot_user_id) or event.get("bot_id"):
            return
        if await self._seen(str(body.get("event_id") or "")):
            return
        thread_ts = str(event.get("thread_ts") or event.get("ts") or "")
        channel_id = self._channel(context, str(event.get("channel") or ""))
        raw_channel = str(event.get("channel") or "")
        manager = self._manager(context, raw_channel, user)
        caller = Caller(
            PLATFORM, channel_id, user, thread=thread_ts, manager=manager, managers=MANAGERS
        )
        files = event.get("files") or []
        if files and mention_command(str(event.get("text") or "")) == "ask import":
            await self._import_shared_file(caller, files[0])
            return
        await self._conversation.handle(
            caller, mention_command(str(event.get("text") or "")), self._in_thread(caller)
        )

    async def _import_shared_file(self, caller: Caller, file: dict[str, Any]) -> None:
        """`@arxiv-bot import` with a .bib file (or a list of ids) attached: the file is read
        with the workspace's token (`files:read`) from Slack's own file host only."""
        reply = self._in_thread(caller)
        url = str(file.get("url_private_download") or file.get("url_private") or "")
        language = await self._conversation.language(caller)
        if int(file.get("size") or 0) > MAX_IMPORT_FILE_BYTES:
            with using(language):
                await reply(Reply(i18n._("that file is over 5 MB: import it in parts")))
            return
        client, _, _ = await self._workspaces.client_for(caller.channel_id)
        if not _slack_file_host(url, client.base_url):
            with using(language):
                text = i18n._("that file is not on Slack's file host; paste its text instead")
            await reply(Reply(text))
            return
        timeout = aiohttp.ClientTimeout(total=30)
        headers = {"Authorization": f"Bearer {client.token}"}
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.get(url, headers=headers) as got,
        ):
            body = await got.content.read(MAX_IMPORT_FILE_BYTES + 1) if got.status == 200 else None
        if body is None:
            with using(language):
                text = i18n._("Slack would not give me that file (does the app have files:read?)")
            await reply(Reply(text))
            return
        await self._conversation.import_text(caller, body.decode("utf-8", "replace"), reply)

    def _in_thread(self, caller: Caller) -> Respond:
        """Replies to a mention: in its thread, for everyone (the question was public)."""

        async def reply(answer: Reply) -> None:
            note = await self._chart(caller, answer, caller.thread or None)
            text, blocks = text_message(with_reason(answer.text, note))
            await self._post(caller.channel_id, text, blocks, thread_ts=caller.thread or None)

        return reply

    async def _on_link_shared(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await self._guarded(body, self._unfurl(body, context))

    async def _unfurl(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        """Someone posted arXiv links: unfurl them with this channel's scores
        (`bot.conversation.unfurl`, `adapters.slack_unfurl`). Links in a message being
        composed have no channel to score for yet, and are left to Slack."""
        event = body.get("event") or {}
        channel, user = str(event.get("channel") or ""), str(event.get("user") or "")
        links = [str(x.get("url") or "") for x in event.get("links") or [] if isinstance(x, dict)]
        urls = linked_ids(links)
        if channel in ("", "COMPOSER") or not user or not urls or not event.get("message_ts"):
            return
        if user in (self._bot_user_id, context.bot_user_id):
            return
        if await self._seen(str(body.get("event_id") or "")):
            return
        caller = Caller(PLATFORM, self._channel(context, channel), user)
        views = await self._conversation.link_views(caller, list(urls.values()))
        with using(await self._conversation.language(caller)):  # for the channel, not the poster
            shown = unfurls(urls, views)
        client, slack_channel, workspace = await self._workspaces.client_for(caller.channel_id)
        await self._call(
            "chat.unfurl",
            client.chat_unfurl(channel=slack_channel, ts=str(event["message_ts"]), unfurls=shown),
            workspace,
        )

    async def _on_unfurl_button(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await ack()
        await self._guarded(body, self._unfurl_button(body, context))

    async def _unfurl_button(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        """Explain or Ask under an unfurled link: `explain` answers privately, `ask` (a
        summary) in the thread of the message that linked the paper."""
        container = body.get("container") or {}
        channel = str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
        message_ts = str(container.get("thread_ts") or container.get("message_ts") or "")
        action = body["actions"][0]
        command = "explain" if action.get("action_id") == UNFURL_EXPLAIN_ACTION else "ask"
        user = str(body["user"]["id"])
        caller = Caller(
            PLATFORM,
            self._channel(context, channel),
            user,
            thread=message_ts,
            locale=await self._user_locale(context, user),
        )
        paper_id = str(action.get("value") or "")
        await self._conversation.handle(
            caller, f"{command} {paper_id}", self._thread_replies(caller, message_ts or None)
        )

    async def _on_link(self, ack: AsyncAck) -> None:
        await ack()  # the arXiv/PDF buttons open their URL in the browser; nothing to do

    async def _on_reaction_added(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await self._on_reaction(body, context, added=True)

    async def _on_reaction_removed(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await self._on_reaction(body, context, added=False)

    async def _on_reaction(
        self, body: dict[str, Any], context: AsyncBoltContext, *, added: bool
    ) -> None:
        await self._guarded(body, self._react(body, context, added))

    async def _react(self, body: dict[str, Any], context: AsyncBoltContext, added: bool) -> None:
        event = body.get("event") or {}
        item = event.get("item") or {}
        user = event.get("user")
        if item.get("type") != "message" or not user:
            return
        if user in (self._bot_user_id, context.bot_user_id):
            return
        if await self._seen(str(body.get("event_id") or "")):
            return
        caller = Caller(PLATFORM, self._channel(context, item["channel"]), user)
        emoji = emoji_from_name(str(event.get("reaction") or ""))
        paper = await self._conversation.react(caller, item["ts"], emoji, added)
        if paper is not None:
            log.info("Slack: %s %s arXiv:%s", user, reaction_verb(emoji, added), paper)

    async def _on_uninstalled(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await self._guarded(body, self._uninstalled(body, context, "uninstalled"))

    async def _on_tokens_revoked(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        revoked = ((body.get("event") or {}).get("tokens") or {}).get("bot") or []
        if revoked:  # the app keeps no user tokens: only the bot's matter
            await self._guarded(body, self._uninstalled(body, context, "tokens revoked"))

    async def _uninstalled(self, body: dict[str, Any], context: AsyncBoltContext, why: str) -> None:
        """The workspace removed the app (or its token): forget the installation, pause its
        channels; their papers, likes and criteria stay (`arxiv-bot forget-workspace`)."""
        if self._installations is None:
            log.warning("Slack: the app was %s from workspace %s", why, context.team_id)
            return
        workspace = workspace_key(
            context.enterprise_id,
            context.team_id,
            bool(body.get("is_enterprise_install") or context.is_enterprise_install),
        )
        if await self._installations.remove(workspace, why):
            log.info(
                "Slack: workspace %s %s the app: installation removed, its channels paused "
                "(`arxiv-bot forget-workspace %s` deletes their data)",
                workspace,
                "uninstalled" if why == "uninstalled" else "revoked the token of",
                workspace,
            )

    async def _seen(self, event_id: str) -> bool:
        """Whether this event was handled already (Slack redelivers events it thinks were
        lost, to any replica): asked of the shared store when there is one, otherwise of the
        last few thousand ids this process saw."""
        if not event_id:
            return False
        if self._events is not None:
            return not await self._events.first_sight(event_id, time.time())
        if event_id in self._seen_events:
            return True
        self._seen_events[event_id] = None
        if len(self._seen_events) > SEEN_EVENTS:
            self._seen_events.popitem(last=False)
        return False

    async def _guarded(self, body: dict[str, Any], work: Awaitable[None]) -> None:
        """Run a listener's work after its ack; a failure goes to the one error handler (bolt
        would otherwise wait for an ack it already got, then answer 404)."""
        task = asyncio.current_task()
        assert task is not None, "bolt runs listeners in tasks"
        self._busy.add(task)
        try:
            await work
        except Exception as exc:
            await self._on_error(exc, body)
        finally:
            self._busy.discard(task)

    async def _on_error(self, error: Exception, body: dict[str, Any]) -> None:
        """The one error handler: the traceback to the log, a short apology to the user."""
        log.error("Slack: request failed: %s", type(error).__name__, exc_info=error)
        url = body.get("response_url") if isinstance(body, dict) else None
        if not url:
            return
        try:
            await AsyncRespond(response_url=url)(text=_(APOLOGY), response_type="ephemeral")
        except Exception:  # the apology is best effort; the failure is logged above
            log.warning("Slack: could not send the apology")

    # -- answers --------------------------------------------------------------------------------

    async def _user_locale(self, context: AsyncBoltContext, user_id: str) -> str:
        """The person's Slack locale (`de-DE`), asked once per person with `include_locale`,
        so a reply follows it when the channel chose no language; "" when Slack will not say."""
        key = (str(context.team_id or ""), user_id)
        if key not in self._locales:
            client = context.client or self._client
            try:
                reply = await client.users_info(user=user_id, include_locale=True)
                user = reply.get("user") or {}
                self._locales[key] = str(user.get("locale") or "")
            except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
                log.info("Slack: no locale for a user: %s", exc)
                self._locales[key] = ""
        return self._locales[key]

    def _command_replies(self, caller: Caller, respond: AsyncRespond) -> Respond:
        """Where a command's replies go: text through `respond`, a digest into the channel."""

        async def reply(answer: Reply) -> None:
            if answer.digest is not None:
                await self._post_requested_digest(caller, answer, answer.digest, respond)
                return
            note = await self._chart(caller, answer, None)
            link = await self._link(caller, answer.thread)
            text, blocks = text_message(with_reason(answer.text, note), link)
            await respond(
                text=text,
                blocks=blocks,
                response_type="ephemeral" if answer.ephemeral else "in_channel",
                replace_original=False,
                unfurl_links=False,
                unfurl_media=False,
            )

        return reply

    async def _chart(self, caller: Caller, answer: Reply, thread_ts: str | None) -> str | None:
        """Upload the reply's chart when charts are on; why none came, if none did."""
        if answer.chart is None or not self._charts:
            return None
        try:
            client, channel, _ = await self._workspaces.client_for(caller.channel_id)
        except PlatformError as exc:
            return str(exc)
        return await upload_chart(client, channel, answer.chart, thread_ts=thread_ts)

    async def _link(self, caller: Caller, message_ts: str | None) -> tuple[str, str] | None:
        """A link to a posted message (a reply pointing at a thread), or None if Slack cannot
        give one."""
        if message_ts is None:
            return None
        try:
            client, channel, workspace = await self._workspaces.client_for(caller.channel_id)
            found = await self._call(
                "chat.getPermalink",
                client.chat_getPermalink(channel=channel, message_ts=message_ts),
                workspace,
            )
        except PlatformError:
            return None
        permalink = found.get("permalink")
        return (permalink, _("Open the thread")) if isinstance(permalink, str) else None

    def _thread_replies(self, caller: Caller, thread_ts: str | None) -> Respond:
        """Replies in a card's thread: ephemeral ones to the caller only."""

        async def reply(answer: Reply) -> None:
            text, blocks = text_message(answer.text)
            if answer.ephemeral:
                client, channel, workspace = await self._workspaces.client_for(caller.channel_id)
                await self._call(
                    "chat.postEphemeral",
                    client.chat_postEphemeral(
                        channel=channel,
                        user=caller.user_id,
                        text=text,
                        blocks=blocks,
                        thread_ts=thread_ts,
                    ),
                    workspace,
                )
            else:
                await self._post(caller.channel_id, text, blocks, thread_ts=thread_ts)

        return reply

    async def _post_requested_digest(
        self, caller: Caller, answer: Reply, digest: Digest, respond: AsyncRespond
    ) -> None:
        """`/arxiv today`: the parent and its cards in the channel (in the channel's language,
        `Reply.language`), each recorded so reactions and `explain N` work on them; if the bot
        may not post there, say why privately (in the reader's)."""
        channel = caller.channel_id
        with using(answer.language or active()):
            text, blocks = parent_message(digest)
            cards = [
                card_message(n, entry, followed_reasons(digest, entry.paper.id))
                for n, entry in enumerate(digest.entries, 1)
            ]
        try:
            parent = await self._post(channel, text, blocks)
            await self._conversation.record_post(channel, digest.day, PARENT, parent)
            for entry, (text, blocks) in zip(digest.entries, cards, strict=True):
                ts = await self._post(channel, text, blocks, thread_ts=parent)
                await self._conversation.record_post(channel, digest.day, entry.paper.id, ts)
        except PlatformUnavailable as exc:
            await respond(
                text=_("Slack did not take the digest ({error}); try again in a minute.").format(
                    error=exc
                ),
                response_type="ephemeral",
            )
        except PlatformError as exc:
            advice = (
                _("Invite me with `/invite @arxiv-bot`, then run `/arxiv today` again.")
                if not_in_channel(exc)
                else _("Please tell whoever runs the bot.")
            )
            await respond(
                text=_("I can't post in this channel ({error}). {advice}").format(
                    error=exc, advice=advice
                ),
                response_type="ephemeral",
            )

    # -- the daily post (bot.platform.ChatPlatform) ---------------------------------------------

    def workspace_of(self, channel_id: str) -> str | None:
        """The workspace a channel key names (`TEAM:CHANNEL`), None for a bare channel id."""
        return channel_id.split(":", 1)[0] if ":" in channel_id else None

    @property
    def channels_at_once(self) -> int:
        """How many channels of one workspace post at their own pace within its tier."""
        return self._pacer.per_workspace

    async def post_parent(self, channel_id: str, digest: Digest) -> str:
        """The day's summary message, tagged for `recover`."""
        text, blocks = parent_message(digest)
        return await self._post(channel_id, text, blocks, meta=metadata(digest.day, PARENT))

    async def post_card(
        self, channel_id: str, parent_id: str, digest: Digest, entry: DigestEntry
    ) -> str:
        """One paper's card in the parent's thread, tagged for `recover`."""
        n = next((i for i, e in enumerate(digest.entries, 1) if e.paper.id == entry.paper.id), 0)
        text, blocks = card_message(n, entry, followed_reasons(digest, entry.paper.id))
        return await self._post(
            channel_id,
            text,
            blocks,
            thread_ts=parent_id,
            meta=metadata(digest.day, entry.paper.id),
        )

    async def post_notice(self, channel_id: str, text: str) -> str:
        """A short plain message in the channel."""
        fallback, blocks = text_message(text)
        return await self._post(channel_id, fallback, blocks)

    async def recover(self, channel_id: str, day: date, parent_id: str | None) -> dict[str, str]:
        """`day`'s daily messages found in Slack by their metadata, by slot."""
        parent = parent_id or await self._find_parent(channel_id, day)
        if parent is None:
            return {}
        found: dict[str, str] = {}
        async for message in self._pages(
            "conversations.replies", channel=channel_id, ts=parent, include_all_metadata=True
        ):
            slot = slot_of(message, day)
            if slot is not None:
                found.setdefault(slot, str(message["ts"]))
        return found

    async def _find_parent(self, channel_id: str, day: date) -> str | None:
        since = datetime.combine(day - timedelta(days=1), datetime.min.time(), UTC)
        async for message in self._pages(
            "conversations.history",
            channel=channel_id,
            oldest=f"{since.timestamp():.6f}",
            include_all_metadata=True,
        ):
            if slot_of(message, day) == PARENT:
                return str(message["ts"])
        return None

    async def _pages(
        self, method: str, channel: str, **params: Any
    ) -> AsyncIterator[dict[str, Any]]:
        client, slack_channel, workspace = await self._workspaces.client_for(channel)
        cursor: str | None = None
        for _page in range(HISTORY_PAGES):
            page = await self._call(
                method,
                client.api_call(
                    method,
                    http_verb="GET",
                    params={
                        **params,
                        "channel": slack_channel,
                        "limit": 200,
                        **({"cursor": cursor} if cursor else {}),
                    },
                ),
                workspace,
            )
            for message in page.get("messages") or []:
                yield message
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                return

    # -- Web API --------------------------------------------------------------------------------

    async def _post(
        self,
        channel_id: str,
        text: str,
        blocks: list[Block],
        *,
        thread_ts: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> str:
        """chat.postMessage with the token of the channel's workspace, paced per channel, no
        unfurling; returns the message ts."""
        client, channel, workspace = await self._workspaces.client_for(channel_id)
        for attempt in range(RETRIES + 1):
            await self._pacer.wait(channel_id, workspace)
            await about_to_send()  # a fenced delivery checks its fence after the wait
            try:
                response = await client.chat_postMessage(
                    channel=channel,
                    text=text,
                    blocks=blocks,
                    thread_ts=thread_ts,
                    metadata=meta,
                    unfurl_links=False,
                    unfurl_media=False,
                )
                return str(response["ts"])
            except SlackApiError as exc:
                wait = retry_after(exc)
                if wait is None or attempt == RETRIES:
                    await self._call("chat.postMessage", _raise(exc), workspace)
                    raise
                log.info("Slack: workspace %s rate limited for %.0f s", workspace or "-", wait)
                await self._pacer.hold(workspace, wait)
            except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
                await self._call("chat.postMessage", _raise(exc), workspace)
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _call(
        self,
        method: str,
        call: Awaitable[AsyncSlackResponse],
        workspace: str | None = None,
    ) -> AsyncSlackResponse:
        """Await a Web API call, turning Slack's failures into the bot's platform errors; a
        workspace whose token Slack refuses for good is paused."""
        try:
            return await call
        except SlackApiError as exc:
            status = exc.response.status_code
            code = str(exc.response.get("error") or f"HTTP {status}")
            if code in REFUSED_TOKEN and workspace is not None:
                await self._workspaces.refused(workspace, code)
            if status == 429 or status >= 500 or code in _UNAVAILABLE_CODES:
                raise PlatformUnavailable(f"Slack {method} failed: {code}") from exc
            raise PlatformError(f"Slack refused {method}: {code}") from exc
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            raise PlatformUnavailable(
                f"Slack could not be reached ({method}: {type(exc).__name__})"
            ) from exc


async def _raise(exc: BaseException) -> AsyncSlackResponse:
    """An awaitable failing with `exc`, so `_call` translates an error caught elsewhere."""
    raise exc


def retry_after(exc: SlackApiError) -> float | None:
    """The seconds of a 429's `Retry-After` (1 when absent); None for any other failure."""
    if exc.response.status_code != 429:
        return None
    headers = {k.lower(): v for k, v in (exc.response.headers or {}).items()}
    value = headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(float(value), 0.0) if value is not None else 1.0
    except ValueError:
        return 1.0


class _OtherRateLimits(AsyncRateLimitErrorRetryHandler):
    """Retries 429s after `Retry-After`, except chat.postMessage's: the adapter holds that
    workspace's pacing instead, so its other posts wait too."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if request.url.endswith("chat.postMessage"):
            return False
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


def acked_at_once(body: dict[str, Any]) -> bool:
    """Whether a request is a slash command, a button or an event: what this app acknowledges
    with an empty body before it does anything else."""
    return "command" in body or body.get("type") in ACKED_AT_ONCE


def not_in_channel(error: PlatformError) -> bool:
    """Whether Slack refused because the bot is not (or no longer) in the channel."""
    return any(code in str(error) for code in _NOT_IN_CHANNEL)


_MENTION = re.compile(r"^\s*(?:<@[A-Z0-9]+(?:\|[^>]*)?>\s*)+")


def _slack_file_host(url: str, api_base: str) -> bool:
    """Whether a file URL is Slack's file host (or the Web API's own host, for a fake)."""
    host = yarl.URL(url).host if url.startswith(("http://", "https://")) else None
    return host is not None and host in ("files.slack.com", yarl.URL(api_base).host)


def mention_command(text: str) -> str:
    """A mention's text as an `ask` command: the leading mentions and an `ask` word dropped."""
    rest = _MENTION.sub("", text).strip()
    if rest.lower().startswith("ask "):
        rest = rest[4:].strip()
    return f"ask {rest}" if rest else "help"


MANAGERS: Final = N_("this workspace's admins and owners and the channel's creator")
"""Who may change a channel on Slack unless ARXIV_BOT_ADMINS says otherwise (translated where
a refusal names them)."""


async def manages_channel(client: AsyncWebClient, channel: str, user: str) -> bool:
    """Whether Slack says `user` is a workspace admin or owner (`users.info`) or created
    `channel` (`conversations.info`); False, logged, when Slack cannot say (a scope the install
    lacks, say)."""
    try:
        person = (await client.users_info(user=user)).get("user") or {}
        if any(person.get(flag) for flag in ("is_admin", "is_owner", "is_primary_owner")):
            return True
        found = (await client.conversations_info(channel=channel)).get("channel") or {}
        return bool(found.get("creator") == user)
    except SlackApiError as exc:
        log.warning(
            "Slack: could not tell whether %s manages %s: %s (reinstall the app for the "
            "users:read and channels:read scopes)",
            user,
            channel,
            exc.response.get("error"),
        )
        return False
