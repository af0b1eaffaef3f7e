"""Installing the Slack app in many workspaces: bolt's OAuth flow on the bot's own store.

This module owns what Slack's distribution needs:

- `BOT_SCOPES`, exactly the bot scopes of both manifests (a test compares them);
- `TokenBox`, which encrypts each installation (its bot token inside) with Fernet under
  `ARXIV_BOT_TOKEN_KEY` before it reaches the database, and decrypts it when a request needs it;
  `token_key_refused`, whether the key opens the installations kept (`run` refuses to start,
  and `status` says so, otherwise);
- `StoreInstallations` and `StoreStates`, slack_sdk's `AsyncInstallationStore` and
  `AsyncOAuthStateStore` on `bot.store.Installations` (SQLite or PostgreSQL, shared by
  replicas; a state is used once, whichever replica sees it). The install page is open to
  anyone, so a state is refused (a "try again later" page, 429) to a client that holds
  `STATES_PER_CLIENT` live states already, and to everyone once `LIVE_STATES` are live;
- `oauth_settings`: bolt's `AsyncOAuthSettings` with our client id, scopes, stores and pages,
  and `handle_install` / `handle_redirect`, the two aiohttp routes around bolt's `AsyncOAuthFlow`
  that turn every failure (bad or reused state, refused code, a user who cancels, Slack
  unreachable) into a clear page.

It must not log or show a token, a client secret or an authorization code, keep a token in the
clear anywhere but an SDK client, or decide which workspace a request belongs to (that is
`adapters.slack_workspaces`).
"""

from __future__ import annotations

import base64
import html
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackClientError
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.errors import BotError
from bot.secret import Secret
from bot.store import InstallationRow, Installations, Store

log = logging.getLogger(__name__)

PLATFORM: Final = "slack"
INSTALL_PATH: Final = "/slack/install"
REDIRECT_PATH: Final = "/slack/oauth_redirect"
STATE_SECONDS: Final = 600
STATES_PER_CLIENT: Final = 10
"""Install pages one client (address) may open per STATE_SECONDS (each holds a live state)."""
LIVE_STATES: Final = 1000
"""Live states in all, across replicas: the install page's rows cannot grow past this (PostgreSQL
replicas racing may each add one beyond it)."""

_CLIENT: ContextVar[str] = ContextVar("slack_install_client", default="")
"""Who asked for the install page being served (bolt's state store is not told)."""


class StateRefused(Exception):
    """No state for this install page: its client, or everyone, holds too many live ones."""


BOT_SCOPES: Final = (
    "commands",
    "chat:write",
    "reactions:read",
    "channels:history",
    "groups:history",
    "app_mentions:read",
    "files:read",
    "links:read",
    "links:write",
    "users:read",
    "channels:read",
    "groups:read",
)
"""Exactly the bot scopes of slack-manifest.yml and slack-manifest-distribution.yml."""


class _NoCodes(logging.Filter):
    """bolt logs a refused authorization code in full: keep the line, drop the code."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "with code:" in message:
            record.msg = "oauth.v2.access refused the authorization code" + (
                " - " + message.split(" - ", 1)[1] if " - " in message else ""
            )
            record.args = None
        return True


def quiet_oauth_logger() -> logging.Logger:
    """The logger bolt's OAuth flow writes to, without authorization codes."""
    logger = logging.getLogger(f"{__name__}.oauth")
    if not any(isinstance(f, _NoCodes) for f in logger.filters):
        logger.addFilter(_NoCodes())
    return logger


class OAuthClient(AsyncWebClient):
    """The Web API client of the OAuth exchange. It sends the client credentials as a ready
    Authorization header (which slack_sdk redacts when it logs requests) rather than through
    aiohttp's deprecated BasicAuth, and logs through a logger that never goes below INFO, so
    `-vv` cannot print the token in `oauth.v2.access`'s answer."""

    def __init__(self, base_url: str | None = None) -> None:
        quiet = logging.getLogger(f"{__name__}.web")
        quiet.setLevel(logging.INFO)
        super().__init__(base_url=base_url or AsyncWebClient.BASE_URL, timeout=30, logger=quiet)

    async def oauth_v2_access(
        self,
        *,
        client_id: str,
        client_secret: str,
        code: str | None = None,
        redirect_uri: str | None = None,
        **kwargs: Any,
    ) -> AsyncSlackResponse:
        credentials = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        fields = {"code": code, "redirect_uri": redirect_uri, **kwargs}
        return await self.api_call(
            "oauth.v2.access",
            data={k: v for k, v in fields.items() if v is not None},
            headers={"Authorization": f"Basic {credentials}"},
        )


class TokenKeyError(BotError):
    """A stored installation cannot be decrypted with ARXIV_BOT_TOKEN_KEY."""


class TokenBox:
    """Encrypts and decrypts installations with the keys of ARXIV_BOT_TOKEN_KEY (comma
    separated: the first encrypts, any decrypts, so a key can be rotated). Its repr shows no
    key."""

    def __init__(self, keys: str) -> None:
        from cryptography.fernet import Fernet, MultiFernet  # the slack-oauth extra

        self._fernet = MultiFernet([Fernet(k.strip().encode()) for k in keys.split(",")])

    def __repr__(self) -> str:
        return "TokenBox(***)"

    def seal(self, data: dict[str, Any]) -> str:
        """`data` as JSON, encrypted and authenticated."""
        return self._fernet.encrypt(json.dumps(data).encode()).decode()

    def open(self, sealed: str) -> dict[str, Any]:
        """What `seal` sealed; TokenKeyError if no key opens it."""
        from cryptography.fernet import InvalidToken

        try:
            opened: dict[str, Any] = json.loads(self._fernet.decrypt(sealed.encode()))
        except InvalidToken:
            raise TokenKeyError(
                "a Slack installation cannot be decrypted with ARXIV_BOT_TOKEN_KEY: was the "
                "key changed? Put the old key after the new one (comma separated)"
            ) from None
        return opened


def workspace_key(
    enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
) -> str | None:
    """The workspace an installation serves: the organisation for an org-wide install, the
    team otherwise."""
    if is_enterprise_install and enterprise_id:
        return enterprise_id
    return team_id or enterprise_id


TOKEN_KEY_REFUSED = (
    "ARXIV_BOT_TOKEN_KEY does not decrypt the Slack installation of workspace {workspace} kept "
    "in the database: set the key its tokens were encrypted with (to change keys, put the new "
    "key first and the old one after it, comma separated)"
)


async def token_key_refused(store: Store, token_key: Secret | None) -> str | None:
    """Why ARXIV_BOT_TOKEN_KEY cannot serve the installed workspaces: one stored installation
    is decrypted with it (a wrong but well-formed key would otherwise start a bot on which
    every command fails). None when it opens, or when nothing is kept encrypted."""
    if token_key is None:
        return None
    workspaces = await store.installations.workspaces("slack")
    row = await store.installations.find("slack", workspaces[0]) if workspaces else None
    if row is None:
        return None
    from cryptography.fernet import Fernet, InvalidToken, MultiFernet  # the slack-oauth extra

    keys = [Fernet(k.strip().encode()) for k in token_key.get_secret_value().split(",")]
    try:
        MultiFernet(keys).decrypt(row.sealed.encode())
    except InvalidToken:
        return TOKEN_KEY_REFUSED.format(workspace=row.workspace)
    return None


class StoreInstallations(AsyncInstallationStore):
    """slack_sdk's installation store on the bot's database, one bot installation per
    workspace (the app asks for no user scopes), sealed by a `TokenBox`."""

    def __init__(
        self,
        installations: Installations,
        box: TokenBox,
        on_change: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._rows = installations
        self._box = box
        self._on_change = on_change

    def on_change(self, hook: Callable[[str], Awaitable[None]]) -> None:
        """Call `hook(workspace)` after a workspace is installed or removed."""
        self._on_change = hook

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        workspace = workspace_key(
            installation.enterprise_id,
            installation.team_id,
            installation.is_enterprise_install,
        )
        if workspace is None:
            raise ValueError("an installation names neither a team nor an enterprise")
        await self._rows.save(
            InstallationRow(
                platform=PLATFORM,
                workspace=workspace,
                enterprise_id=installation.enterprise_id,
                team_id=installation.team_id,
                sealed=self._box.seal(vars(installation)),
                installed_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
        )
        log.info("Slack: installed in workspace %s", workspace)
        if self._on_change is not None:
            await self._on_change(workspace)

    async def async_save_bot(self, bot: Bot) -> None:
        raise NotImplementedError("bots are saved with their installation")

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        for workspace in _candidates(enterprise_id, team_id, is_enterprise_install):
            row = await self._rows.find(PLATFORM, workspace)
            if row is not None:
                return Installation(**self._box.open(row.sealed))
        return None

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = await self.async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return found.to_bot() if found is not None and found.bot_token else None

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
    ) -> None:
        await self.remove(workspace_key(enterprise_id, team_id, team_id is None), "uninstalled")

    async def remove(self, workspace: str | None, reason: str) -> bool:
        """Forget a workspace's installation and pause its channels; True if it had one."""
        if workspace is None:
            return False
        removed = await self._rows.remove(PLATFORM, workspace, reason)
        if self._on_change is not None:
            await self._on_change(workspace)
        return removed


def _candidates(
    enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
) -> list[str]:
    """Where an installation for these ids may be kept: the team's own, then its
    organisation's org-wide install."""
    if is_enterprise_install:
        return [enterprise_id] if enterprise_id else []
    return [w for w in (team_id, enterprise_id) if w]


class StoreStates(AsyncOAuthStateStore):
    """OAuth states in the bot's database: issued by the install page, each accepted once
    within STATE_SECONDS, by whichever replica the browser comes back to."""

    def __init__(
        self,
        installations: Installations,
        expiration_seconds: int = STATE_SECONDS,
        clock: Callable[[], float] = time.time,
        *,
        per_client: int = STATES_PER_CLIENT,
        live: int = LIVE_STATES,
    ) -> None:
        self._rows = installations
        self._seconds = expiration_seconds
        self._clock = clock
        self._per_client = per_client
        self._live = live

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(24)
        now = self._clock()
        refused = await self._rows.issue_state(
            state,
            now + self._seconds,
            now,
            client=_CLIENT.get(),
            per_client=self._per_client,
            live=self._live,
        )
        if refused is not None:
            raise StateRefused(refused)
        return state

    async def async_consume(self, state: str) -> bool:
        return bool(state) and await self._rows.consume_state(state, self._clock())


# -- pages -----------------------------------------------------------------------------------

_FAILURES: Final = {
    "access_denied": (
        "Installation cancelled",
        "You chose not to add arxiv-bot to your workspace; nothing was installed. Changed your "
        "mind? Start again from the install page.",
    ),
    "invalid_browser": (
        "Please finish in the same browser",
        "This installation was started in another browser (or your browser refused its "
        "cookie). Start again from the install page, in this browser.",
    ),
    "busy": (
        "Too many installations at once",
        "Too many install pages were opened from here (or in all) in the last few minutes. "
        "Please try again in ten minutes.",
    ),
    "invalid_state": (
        "This install link has expired or was used already",
        "Each link from the install page works once, for ten minutes. Start again from the "
        "install page.",
    ),
    "missing_code": (
        "Slack sent no authorization",
        "The link back from Slack carried no authorization code. Start again from the install "
        "page.",
    ),
    "invalid_code": (
        "Slack did not accept the installation",
        "Slack refused the authorization code (it may have expired or been used already). "
        "Start again from the install page; if it keeps failing, tell whoever runs the bot.",
    ),
    "storage_error": (
        "The installation could not be saved",
        "Slack accepted it, but the bot could not save it. Please try again in a minute.",
    ),
    "unreachable": (
        "Slack could not be reached",
        "The bot could not reach Slack to finish the installation. Please try again in a "
        "minute from the install page.",
    ),
}


def page(title: str, text: str, link: tuple[str, str] | None = None) -> str:
    """A small, self-contained HTML page (every value escaped)."""
    anchor = ""
    if link is not None:
        href, label = link
        anchor = f'<p><a href="{html.escape(href)}">{html.escape(label)}</a></p>'
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} · arxiv-bot</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<style>body{font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;"
        "padding:0 1em;line-height:1.5}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{anchor}</body></html>"
    )


def failure_page(reason: str) -> tuple[str, str]:
    """The title and text shown for a failed installation (Slack's own error codes are named,
    never echoed as markup)."""
    return _FAILURES.get(
        reason,
        (
            "The installation did not finish",
            f"Slack reported “{reason[:60]}”. Start again from the install page.",
        ),
    )


async def _success(args: AsyncSuccessArgs) -> BoltResponse:
    installation = args.installation
    where = installation.team_name or installation.enterprise_name or "your workspace"
    body = page(
        "arxiv-bot is installed",
        f"arxiv-bot can now post in {where}. In a channel, type /invite @arxiv-bot, then "
        "/arxiv subscribe for the daily digest (or /arxiv today to see today's).",
    )
    return _html(200, body)


async def _failure(args: AsyncFailureArgs) -> BoltResponse:
    title, text = failure_page(args.reason)
    log.info("Slack: an installation failed: %s", args.reason)
    status = 400 if args.suggested_status_code in (200, 401) else args.suggested_status_code
    return _html(status, page(title, text, (INSTALL_PATH, "Start again")))


def _html(status: int, body: str) -> BoltResponse:
    return BoltResponse(
        status=status,
        body=body,
        headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"},
    )


def oauth_settings(
    *,
    client_id: str,
    client_secret: str,
    installations: StoreInstallations,
    states: StoreStates,
    authorize_url: str,
    redirect_url: str | None = None,
) -> AsyncOAuthSettings:
    """bolt's OAuth settings for the bot: our scopes, stores, routes and pages."""
    return AsyncOAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        redirect_uri=redirect_url,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        callback_options=AsyncCallbackOptions(success=_success, failure=_failure),
        installation_store=installations,
        installation_store_bot_only=True,
        state_store=states,
        state_expiration_seconds=STATE_SECONDS,
        authorization_url=authorize_url,
        install_page_rendering_enabled=True,
    )


async def handle_install(flow: AsyncOAuthFlow, request: web.Request) -> web.Response:
    """GET /slack/install: the "Add to Slack" page with a fresh one-use state."""
    _CLIENT.set(request.remote or "")
    try:
        response = await flow.handle_installation(await to_bolt_request(request))
    except StateRefused as refused:
        log.warning("Slack: an install page refused: too many live states (%s)", refused)
        title, text = failure_page("busy")
        return web.Response(status=429, text=page(title, text), content_type="text/html")
    except Exception as exc:  # the store is down: a page, not a traceback
        log.warning("Slack: the install page failed (%s)", type(exc).__name__)
        title, text = failure_page("storage_error")
        return web.Response(status=503, text=page(title, text), content_type="text/html")
    return await to_aiohttp_response(response)


async def handle_redirect(flow: AsyncOAuthFlow, request: web.Request) -> web.Response:
    """GET /slack/oauth_redirect: check the state, exchange the code, save the installation;
    every way it can fail ends on a page saying what to do."""
    try:
        response = await flow.handle_callback(await to_bolt_request(request))
    except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("Slack: the installation could not reach Slack (%s)", type(exc).__name__)
        title, text = failure_page("unreachable")
        body = page(title, text, (INSTALL_PATH, "Start again"))
        return web.Response(status=502, text=body, content_type="text/html")
    except Exception as exc:  # a bug or the store down: the traceback to the log only
        log.error("Slack: the installation failed (%s)", type(exc).__name__, exc_info=exc)
        title, text = failure_page("storage_error")
        body = page(title, text, (INSTALL_PATH, "Start again"))
        return web.Response(status=500, text=body, content_type="text/html")
    return await to_aiohttp_response(response)
