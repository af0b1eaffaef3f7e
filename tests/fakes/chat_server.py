"""A chat platform over HTTP for tests that kill the bot process: the platform lives in the test
process, so what was posted survives the bot's death, and the server can SIGKILL the bot right
after it accepted a message (before the bot could record the id).

`ChatServer` is the platform (aiohttp on 127.0.0.1, port 0); `HttpChat` is the bot side, a
`bot.platform.ChatPlatform` that posts to it.
"""

from __future__ import annotations

import itertools
import os
import signal
from datetime import date
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from bot.errors import PlatformUnavailable
from bot.models import Digest, DigestEntry
from bot.platform import PARENT
from tests.fakes.chat import Message
from tests.fakes.loopback import serve


class ChatServer:
    """Keeps every message; `kill(pid, after=n)` SIGKILLs `pid` once n more posts arrived."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._ids = itertools.count(1)
        self._kill: tuple[int, int] | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    def kill(self, pid: int, after: int) -> None:
        self._kill = (pid, after)

    async def __aenter__(self) -> ChatServer:
        app = web.Application()
        app.router.add_post("/messages", self._post)
        app.router.add_get("/messages", self._list)
        self._runner, port = await serve(app, shutdown_timeout=0.05)
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _post(self, request: web.Request) -> web.Response:
        body = await request.json()
        day = date.fromisoformat(body["day"]) if body.get("day") else None
        message = Message(
            f"m{next(self._ids)}",
            body["channel"],
            body["kind"],
            body["text"],
            day,
            body.get("thread"),
            body.get("paper_id"),
        )
        self.messages.append(message)
        if self._kill is not None:
            pid, after = self._kill
            if after <= 1:
                self._kill = None
                os.kill(pid, signal.SIGKILL)
            else:
                self._kill = (pid, after - 1)
        return web.json_response({"id": message.id})

    async def _list(self, request: web.Request) -> web.Response:
        channel, day = request.query["channel"], request.query["day"]
        found: dict[str, str] = {}
        for m in self.messages:
            if m.channel_id == channel and m.day is not None and m.day.isoformat() == day:
                found[PARENT if m.kind == "parent" else m.paper_id or m.id] = m.id
        return web.json_response(found)

    def of(self, channel: str, kind: str) -> list[Message]:
        return [m for m in self.messages if m.channel_id == channel and m.kind == kind]


class HttpChat:
    """The bot's side: posts to a `ChatServer`."""

    platform = "fake"

    def __init__(self, url: str, http: aiohttp.ClientSession) -> None:
        self._url = url
        self._http = http

    async def _send(self, **body: Any) -> str:
        try:
            async with self._http.post(f"{self._url}/messages", json=body) as resp:
                return str((await resp.json())["id"])
        except aiohttp.ClientError as exc:
            raise PlatformUnavailable(f"chat server unreachable ({type(exc).__name__})") from None

    async def post_parent(self, channel_id: str, digest: Digest) -> str:
        text = f"arXiv digest {digest.day}: {len(digest.entries)} papers"
        return await self._send(
            channel=channel_id, kind="parent", day=digest.day.isoformat(), text=text
        )

    async def post_card(
        self, channel_id: str, parent_id: str, digest: Digest, entry: DigestEntry
    ) -> str:
        return await self._send(
            channel=channel_id,
            kind="card",
            day=digest.day.isoformat(),
            thread=parent_id,
            paper_id=entry.paper.id,
            text=entry.paper.title,
        )

    async def post_notice(self, channel_id: str, text: str) -> str:
        return await self._send(channel=channel_id, kind="notice", text=text)

    async def recover(self, channel_id: str, day: date, parent_id: str | None) -> dict[str, str]:
        params = {"channel": channel_id, "day": day.isoformat()}
        async with self._http.get(f"{self._url}/messages", params=params) as resp:
            found: dict[str, str] = await resp.json()
            return found
