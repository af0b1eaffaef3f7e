"""Which workspace a Slack channel belongs to, and which token answers it.

With one `SLACK_BOT_TOKEN` (`OneWorkspace`) every channel id is Slack's own (`C0123`) and every
call uses that token. For many workspaces (`ManyWorkspaces`) a channel's id in the bot includes
its workspace, `T0TEAM:C0123` (the organisation's id for an org-wide Enterprise Grid install),
so a Slack Connect channel shared by two installing workspaces is two channels to the bot, each
with its own subscription, criteria and likes; ids stored by a single-token deployment stay
without prefix and keep meaning its workspace (the *home* one, recorded at its start). The
daily post, which knows only a channel id, gets the client of that channel's workspace here,
its token looked up in the installation store when it is needed.

A workspace whose token Slack refuses (`invalid_auth`, `account_inactive`, `token_revoked`) or
that has no installation any more is paused in the store, with one log line; its channels are
left out of the daily post until it installs the app again.

This module must not keep a token anywhere but the SDK clients it hands out, log one, or
build messages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final, Protocol

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_install import PLATFORM, StoreInstallations
from bot.errors import PlatformError
from bot.store import Installations, workspace_of

log = logging.getLogger(__name__)

REFUSED_TOKEN: Final = frozenset({"invalid_auth", "account_inactive", "token_revoked"})
"""Slack's answers meaning this workspace's token will not work again."""


class Workspaces(Protocol):
    """Where a channel lives and which client speaks for it."""

    def channel_key(self, workspace: str | None, channel: str) -> str:
        """The bot's id for a Slack channel seen in a request from `workspace`."""
        ...

    async def client_for(self, channel_key: str) -> tuple[AsyncWebClient, str, str | None]:
        """The client for a channel, Slack's own channel id, and its workspace (None with
        one token); PlatformError when the workspace is not installed."""
        ...

    async def refused(self, workspace: str | None, code: str) -> None:
        """Slack refused the token of `workspace` for good."""
        ...


class OneWorkspace:
    """One bot token for every channel (SLACK_BOT_TOKEN)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    def channel_key(self, workspace: str | None, channel: str) -> str:
        return channel

    async def client_for(self, channel_key: str) -> tuple[AsyncWebClient, str, str | None]:
        return self._client, channel_key, None

    async def refused(self, workspace: str | None, code: str) -> None:
        return None  # start-up checks this token; a refusal later is an ordinary PlatformError


def channel_key(workspace: str | None, channel: str, home: str | None) -> str:
    """`WORKSPACE:CHANNEL`, or the bare channel id in the home workspace."""
    if workspace is None or workspace == home:
        return channel
    return f"{workspace}:{channel}"


def split_key(key: str, home: str | None) -> tuple[str | None, str]:
    """The workspace and Slack channel id of a channel key (the inverse of `channel_key`)."""
    return workspace_of(key, home), key.rpartition(":")[2]


class ManyWorkspaces:
    """Each workspace's own token, from the installation store, for every call."""

    def __init__(
        self,
        installations: Installations,
        store: StoreInstallations,
        make_client: Callable[[str], AsyncWebClient],
        home: str | None = None,
    ) -> None:
        self._rows = installations
        self._store = store
        self._make_client = make_client
        self.home = home
        self._clients: dict[str, AsyncWebClient] = {}

    def channel_key(self, workspace: str | None, channel: str) -> str:
        return channel_key(workspace, channel, self.home)

    async def client_for(self, channel_key: str) -> tuple[AsyncWebClient, str, str | None]:
        workspace, channel = split_key(channel_key, self.home)
        if workspace is None:
            raise PlatformError(
                f"Slack channel {channel} has no workspace (it was stored before the bot "
                "served many workspaces, and the single-token workspace was never recorded)"
            )
        client = self._clients.get(workspace)
        if client is None:
            enterprise, team = _ids(workspace)
            bot = await self._store.async_find_bot(
                enterprise_id=enterprise, team_id=team, is_enterprise_install=team is None
            )
            if bot is None:
                await self._pause(workspace, "not installed")
                raise PlatformError(f"Slack workspace {workspace} has not installed the app")
            client = self._clients[workspace] = self._make_client(bot.bot_token)
        return client, channel, workspace

    async def refused(self, workspace: str | None, code: str) -> None:
        if workspace is not None:
            await self._pause(workspace, code)

    def forget_client(self, workspace: str) -> None:
        """Drop a workspace's cached client (it was installed again, or removed)."""
        self._clients.pop(workspace, None)

    async def changed(self, workspace: str) -> None:
        """The installation store's hook: a workspace was installed or removed."""
        self.forget_client(workspace)

    async def _pause(self, workspace: str, reason: str) -> None:
        self.forget_client(workspace)
        if await self._rows.pause(PLATFORM, workspace, reason):
            log.warning(
                "Slack: workspace %s is paused (%s): its channels get no daily post until it "
                "installs the app again",
                workspace,
                reason,
            )


def _ids(workspace: str) -> tuple[str | None, str | None]:
    """(enterprise id, team id) to look a workspace up by: Slack's E… ids are organisations."""
    return (workspace, None) if workspace.startswith("E") else (None, workspace)
