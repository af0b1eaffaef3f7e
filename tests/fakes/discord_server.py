"""A stand-in Discord (REST API v10 and gateway) for tests, on 127.0.0.1, port 0.

This module owns `FakeDiscord`: an aiohttp server speaking enough of Discord's HTTP API and
gateway protocol for the real discord.py client to log in, sync application commands, receive
interactions (slash commands, message context menus, buttons, forms), user messages and
reactions, answer through interaction callbacks and webhook follow-ups, post
messages, start threads and add reactions. The gateway says HELLO, answers HEARTBEAT with
HEARTBEAT_ACK, answers IDENTIFY with READY and one GUILD_CREATE, and dispatches events tests
ask for. Frames are plain JSON text: discord.py only inflates binary frames, so compression is
simply not used. `rate_limit_next` makes one upcoming request answer 429 the way Discord does.

It must not reach the internet or keep secrets: the `Authorization` header is checked against
the expected token and never stored or logged.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final

from aiohttp import WSMsgType, web

from tests.fakes.loopback import listen_again, serve, stop_listening

BOT_ID: Final = 1_100_000_000_000_000_001
GUILD_ID: Final = 1_200_000_000_000_000_001
CHANNEL_ID: Final = 1_300_000_000_000_000_001
USER_ID: Final = 1_400_000_000_000_000_001
ROLE_ID: Final = 1_500_000_000_000_000_001
EVERYONE_ROLE: Final = GUILD_ID  # Discord's @everyone role has the guild's id
API_PREFIX: Final = "/api/v10"

BOT_USER: Final = {
    "id": str(BOT_ID),
    "username": "arxiv-bot",
    "discriminator": "0",
    "global_name": None,
    "avatar": None,
    "bot": True,
}
HUMAN: Final = {
    "id": str(USER_ID),
    "username": "alice",
    "discriminator": "0",
    "global_name": "Alice",
    "avatar": None,
}


@dataclass(slots=True)
class Recorded:
    """One REST request as the fake saw it (no headers)."""

    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass(slots=True)
class _RateLimit:
    method: str
    path: re.Pattern[str]
    retry_after: float


@dataclass(slots=True)
class _Interaction:
    channel_id: int
    original_deleted: bool = False


@dataclass(slots=True)
class FakeDiscord:
    """Discord's REST API and gateway for one guild with one text channel."""

    token: str
    requests: list[Recorded] = field(default_factory=list)
    identifies: list[dict[str, Any]] = field(default_factory=list)
    gateway_queries: list[dict[str, str]] = field(default_factory=list)
    messages: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    channels: dict[int, dict[str, Any]] = field(default_factory=dict)
    commands: dict[int | None, list[dict[str, Any]]] = field(default_factory=dict)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)
    reactions: list[tuple[int, int, str]] = field(default_factory=list)
    _interactions: dict[str, _Interaction] = field(default_factory=dict)
    _rate_limits: list[_RateLimit] = field(default_factory=list)
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_600_000_000))
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None
    port: int = 0
    member_permissions: str = "2251799813685247"  # an interaction's member, in the channel: all

    def __post_init__(self) -> None:
        self.channels[CHANNEL_ID] = {
            "id": str(CHANNEL_ID),
            "type": 0,
            "guild_id": str(GUILD_ID),
            "name": "papers",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
        }
        self.messages[CHANNEL_ID] = []

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", API_PREFIX + "/{path:.*}", self._rest)
        self._runner, self.port = await serve(app)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def go_offline(self) -> None:
        """Stop listening: connections to the port are refused, as when Discord is unreachable."""
        assert self._runner is not None
        await stop_listening(self._runner)

    async def go_online(self) -> None:
        """Listen again on the same port."""
        assert self._runner is not None
        await listen_again(self._runner, self.port)

    @property
    def api_url(self) -> str:
        """The REST base for ARXIV_BOT_DISCORD_API_URL."""
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """The gateway for ARXIV_BOT_DISCORD_GATEWAY_URL."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    # -- what tests use -------------------------------------------------------------------------

    def rate_limit_next(self, method: str, path: str, retry_after: float = 0.2) -> None:
        """The next request of `method` whose path matches the regex `path` answers 429."""
        self._rate_limits.append(_RateLimit(method, re.compile(path), retry_after))

    def requests_of(self, method: str, path: str) -> list[Recorded]:
        """The recorded requests of `method` whose path matches the regex `path`."""
        pattern = re.compile(path)
        return [r for r in self.requests if r.method == method and pattern.fullmatch(r.path)]

    async def wait_for(self, predicate: Callable[[], bool], seconds: float = 10.0) -> None:
        """Wait until `predicate()` holds after some request or gateway message."""
        async with asyncio.timeout(seconds), self._changed:
            await self._changed.wait_for(predicate)

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH of `event` to every identified gateway connection."""
        frame = {"op": 0, "t": event, "s": next(self._seq), "d": data}
        for ws in list(self._sockets):
            if not ws.closed:
                await ws.send_str(json.dumps(frame))

    async def slash_command(
        self,
        subcommand: str,
        options: list[dict[str, Any]] | None = None,
        *,
        channel_id: int = CHANNEL_ID,
        type_: int = 2,
    ) -> str:
        """Dispatch `/arxiv <subcommand>` as a user would run it; returns the interaction token."""
        data = {
            "id": "1",
            "name": "arxiv",
            "type": 1,
            "options": [{"type": 1, "name": subcommand, "options": options or []}],
        }
        return await self.interaction(type_, data, channel_id=channel_id)

    async def interaction(
        self,
        type_: int,
        data: dict[str, Any],
        *,
        channel_id: int = CHANNEL_ID,
        message: dict[str, Any] | None = None,
    ) -> str:
        """Dispatch an INTERACTION_CREATE (a component interaction carries its `message`);
        returns its token."""
        interaction_id = next(self._ids)
        token = f"itoken-{interaction_id}"
        self._interactions[token] = _Interaction(channel_id)
        extra = {"message": message} if message is not None else {}
        await self.dispatch(
            "INTERACTION_CREATE",
            extra
            | {
                "id": str(interaction_id),
                "application_id": str(BOT_ID),
                "type": type_,
                "data": data,
                "guild_id": str(GUILD_ID),
                "channel_id": str(channel_id),
                "channel": self.channels[channel_id],
                "member": self.member(),
                "token": token,
                "version": 1,
                "app_permissions": "2251799813685247",
                "locale": "en-US",
                "guild_locale": "en-US",
                "entitlements": [],
                "authorizing_integration_owners": {"0": str(GUILD_ID)},
                "context": 0,
                "attachment_size_limit": 10_485_760,
            },
        )
        return token

    async def message_command(
        self, name: str, message: dict[str, Any], *, channel_id: int = CHANNEL_ID
    ) -> str:
        """Dispatch a message context-menu command (`name`) run on `message`; returns the
        interaction token."""
        data = {
            "id": "2",
            "name": name,
            "type": 3,
            "target_id": message["id"],
            "resolved": {"messages": {message["id"]: message}},
        }
        return await self.interaction(2, data, channel_id=channel_id)

    async def user_message(
        self,
        channel_id: int,
        content: str,
        *,
        mentions_bot: bool = True,
        reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Dispatch MESSAGE_CREATE for a message the user posts (mentioning the bot, as
        Discord only sends the text of those to a bot without the Message Content intent)."""
        message: dict[str, Any] = self._message(channel_id, {"content": content}, {**HUMAN})
        message["member"] = {k: v for k, v in self.member().items() if k != "user"}
        message["mentions"] = [BOT_USER] if mentions_bot else []
        if reply_to is not None:
            message["type"] = 19
            message["message_reference"] = {
                "type": 0,
                "message_id": reply_to["id"],
                "channel_id": reply_to["channel_id"],
                "guild_id": str(GUILD_ID),
            }
            message["referenced_message"] = reply_to
        self.messages.setdefault(channel_id, []).append(message)
        await self.dispatch("MESSAGE_CREATE", message)
        return message

    async def reaction(
        self, event: str, channel_id: int, message_id: int, emoji: str, user_id: int = USER_ID
    ) -> None:
        """Dispatch MESSAGE_REACTION_ADD or MESSAGE_REACTION_REMOVE by `user_id`."""
        data: dict[str, Any] = {
            "user_id": str(user_id),
            "channel_id": str(channel_id),
            "message_id": str(message_id),
            "guild_id": str(GUILD_ID),
            "emoji": {"id": None, "name": emoji},
            "burst": False,
            "type": 0,
        }
        if event == "MESSAGE_REACTION_ADD":
            data["member"] = self.member(user_id)
            data["message_author_id"] = str(BOT_ID)
        await self.dispatch(event, data)

    def member(self, user_id: int = USER_ID) -> dict[str, Any]:
        """A guild member payload for `user_id` with one role."""
        user = BOT_USER if user_id == BOT_ID else {**HUMAN, "id": str(user_id)}
        return {
            "user": user,
            "roles": [str(ROLE_ID)],
            "joined_at": "2025-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": self.member_permissions,
        }

    def bot_messages(self, channel_id: int) -> list[dict[str, Any]]:
        """Messages the bot posted in a channel or thread, oldest first."""
        return [m for m in self.messages.get(channel_id, []) if m["author"]["id"] == str(BOT_ID)]

    # -- gateway --------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.gateway_queries.append(dict(request.query))
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 45_000}}))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                if frame["op"] == 1:
                    await ws.send_str(json.dumps({"op": 11}))
                elif frame["op"] == 2:
                    await self._identified(ws, frame["d"])
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
        return ws

    async def _identified(self, ws: web.WebSocketResponse, identify: dict[str, Any]) -> None:
        if identify.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        self.identifies.append({k: v for k, v in identify.items() if k != "token"})
        self._sockets.append(ws)
        await self.dispatch(
            "READY",
            {
                "v": 10,
                "user": BOT_USER,
                "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
                "session_id": "fake-session",
                "resume_gateway_url": self.gateway_url,
                "application": {"id": str(BOT_ID), "flags": 0},
            },
        )
        await self.dispatch("GUILD_CREATE", self._guild())
        await self._notify()

    def _guild(self) -> dict[str, Any]:
        return {
            "id": str(GUILD_ID),
            "name": "Lab",
            "unavailable": False,
            "member_count": 2,
            "owner_id": str(USER_ID),
            "roles": [
                _role(EVERYONE_ROLE, "@everyone", 0, "1024"),
                _role(ROLE_ID, "reviewers", 1, "0"),
            ],
            "channels": [c for c in self.channels.values() if c["type"] == 0],
            "threads": [],
            "members": [],
            "emojis": [],
            "stickers": [],
            "features": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "joined_at": "2025-01-01T00:00:00+00:00",
            "large": False,
            "premium_tier": 0,
            "preferred_locale": "en-US",
        }

    # -- REST -----------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        body = await request.json() if request.can_read_body else None
        self.requests.append(Recorded(request.method, path, dict(request.query), body))
        try:
            if request.headers.get("Authorization") != f"Bot {self.token}" and not (
                path.startswith(("/webhooks/", "/interactions/"))
            ):
                return _error(401, 0, "401: Unauthorized")
            limited = self._take_rate_limit(request.method, path)
            if limited is not None:
                return _rate_limited(limited.retry_after)
            return await self._route(request.method, path, body)
        finally:
            await self._notify()

    def _take_rate_limit(self, method: str, path: str) -> _RateLimit | None:
        for limit in self._rate_limits:
            if limit.method == method and limit.path.fullmatch(path):
                self._rate_limits.remove(limit)
                return limit
        return None

    async def _route(self, method: str, path: str, body: Any) -> web.StreamResponse:
        parts = path.strip("/").split("/")
        match method, parts:
            case "GET", ["users", "@me"]:
                return _json(BOT_USER)
            case "GET", ["oauth2", "applications", "@me"]:
                return _json(_application())
            case "GET", ["gateway", "bot"]:
                return _json(
                    {
                        "url": self.gateway_url,
                        "shards": 1,
                        "session_start_limit": {
                            "total": 1000,
                            "remaining": 999,
                            "reset_after": 0,
                            "max_concurrency": 1,
                        },
                    }
                )
            case "GET", ["applications", _, "commands"]:
                return _json(self.commands.get(None, []))
            case "GET", ["applications", _, "guilds", guild, "commands"]:
                return _json(self.commands.get(int(guild), []))
            case "PUT", ["applications", _, "commands"]:
                return _json(self._store_commands(None, body))
            case "PUT", ["applications", _, "guilds", guild, "commands"]:
                return _json(self._store_commands(int(guild), body))
            case "GET", ["channels", channel]:
                found = self.channels.get(int(channel))
                return _json(found) if found else _unknown_channel()
            case "POST", ["channels", channel, "messages"]:
                if int(channel) not in self.channels:
                    return _unknown_channel()
                return _json(self._post(int(channel), body))
            case "GET", ["channels", channel, "messages"]:
                if int(channel) not in self.channels:
                    return _unknown_channel()
                newest_first = list(reversed(self.messages[int(channel)]))
                return _json(newest_first[:100])
            case "POST", ["channels", channel, "messages", message, "threads"]:
                return await self._start_thread(int(channel), int(message), body)
            case "PUT", ["channels", channel, "messages", message, "reactions", emoji, "@me"]:
                self.reactions.append((int(channel), int(message), emoji))
                return web.Response(status=204)
            case "POST", ["interactions", interaction_id, token, "callback"]:
                return self._callback(interaction_id, token, body)
            case "POST", ["webhooks", _, token]:
                return _json(self._followup(token, body))
            case "PATCH", ["webhooks", _, token, "messages", _]:
                return _json(self._followup(token, body))
            case "DELETE", ["webhooks", _, token, "messages", "@original"]:
                self._interactions[token].original_deleted = True
                return web.Response(status=204)
        return _error(404, 0, f"404: Not Found ({method} {path})")

    def _store_commands(self, guild: int | None, payload: list[dict[str, Any]]) -> Any:
        stored = [
            # Discord gives context menus an empty description
            {"description": "", **c}
            | {"id": str(next(self._ids)), "application_id": str(BOT_ID), "version": "1"}
            | ({"guild_id": str(guild)} if guild else {})
            for c in payload
        ]
        self.commands[guild] = stored
        return stored

    def _message(self, channel_id: int, body: dict[str, Any], author: dict[str, Any]) -> Any:
        return {
            "id": str(next(self._ids)),
            "channel_id": str(channel_id),
            "guild_id": str(GUILD_ID),
            "author": author,
            "content": body.get("content") or "",
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "attachments": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "type": 0,
            "flags": body.get("flags") or 0,
            "timestamp": datetime.now(UTC).isoformat(),
            "edited_timestamp": None,
            "allowed_mentions": body.get("allowed_mentions"),
        }

    def _post(self, channel_id: int, body: dict[str, Any]) -> Any:
        message = self._message(channel_id, body, BOT_USER)
        if body.get("message_reference"):  # a reply: it points at the message it answers
            message["message_reference"] = body["message_reference"]
        self.messages[channel_id].append(message)
        return message

    async def _start_thread(
        self, channel_id: int, message_id: int, body: dict[str, Any]
    ) -> web.StreamResponse:
        if not any(m["id"] == str(message_id) for m in self.messages.get(channel_id, [])):
            return _error(404, 10008, "Unknown Message")
        if message_id in self.channels:
            return _error(400, 160004, "A thread has already been created for this message")
        thread = {
            "id": str(message_id),
            "type": 11,
            "guild_id": str(GUILD_ID),
            "parent_id": str(channel_id),
            "owner_id": str(BOT_ID),
            "name": body["name"],
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": body.get("auto_archive_duration", 1440),
                "archive_timestamp": datetime.now(UTC).isoformat(),
                "locked": False,
            },
        }
        self.channels[message_id] = thread
        self.messages[message_id] = []
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return _json(thread)

    def _callback(self, interaction_id: str, token: str, body: dict[str, Any]) -> web.Response:
        self.callbacks.append({"token": token, **body})
        flags = (body.get("data") or {}).get("flags") or 0
        return _json(
            {
                "interaction": {
                    "id": interaction_id,
                    "type": 2,
                    "response_message_id": str(next(self._ids)),
                    "response_message_loading": body["type"] == 5,
                    "response_message_ephemeral": bool(flags & 64),
                },
                "resource": {"type": body["type"]},
            }
        )

    def _followup(self, token: str, body: dict[str, Any]) -> Any:
        interaction = self._interactions[token]
        author = {**BOT_USER}
        message = self._message(interaction.channel_id, body, author)
        message["webhook_id"] = str(BOT_ID)
        message["application_id"] = str(BOT_ID)
        self.followups.append({"token": token, **message})
        if not message["flags"] & 64:
            self.messages[interaction.channel_id].append(message)
        return message

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()


def _application() -> dict[str, Any]:
    return {
        "id": str(BOT_ID),
        "name": "arxiv-bot",
        "description": "",
        "icon": None,
        "bot_public": False,
        "bot_require_code_grant": False,
        "owner": HUMAN,
        "verify_key": "0" * 64,
        "flags": 0,
        "team": None,
        "summary": "",
        "interactions_endpoint_url": None,
    }


def _role(role_id: int, name: str, position: int, permissions: str) -> dict[str, Any]:
    return {
        "id": str(role_id),
        "name": name,
        "color": 0,
        "hoist": False,
        "position": position,
        "permissions": permissions,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON as Discord sends it: discord.py only decodes an exact `application/json`."""
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"message": message, "code": code}, status=status)


def _unknown_channel() -> web.Response:
    return _error(404, 10003, "Unknown Channel")


def _rate_limited(retry_after: float) -> web.Response:
    return _json(
        {"message": "You are being rate limited.", "retry_after": retry_after, "global": False},
        status=429,
        headers={
            "Retry-After": str(max(1, round(retry_after))),
            "Via": "1.1 google",  # discord.py reads a 429 without it as a Cloudflare ban
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": str(retry_after),
            "X-RateLimit-Bucket": "fake-bucket",
            "X-RateLimit-Scope": "user",
        },
    )
