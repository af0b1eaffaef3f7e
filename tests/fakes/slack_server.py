"""A stand-in Slack for tests and benchmarks, on 127.0.0.1, port 0.

This module owns `FakeSlack`: an aiohttp server that speaks enough of Slack for the real
`AsyncWebClient`, bolt's `AsyncRespond` and the aiohttp `SocketModeClient` to work against it
unchanged: the Web API methods the adapter uses (`auth.test`, `chat.postMessage`,
`chat.postEphemeral`, `conversations.history`/`replies`, `chat.unfurl`, `apps.connections.open`, and
`views.publish`/`views.open`/`views.update`, whose views it keeps in `views` after checking them
with slack_sdk's `View` model), response URLs,
and a Socket Mode WebSocket that delivers envelopes and collects their acks. It keeps the
messages it was sent per channel (threads and metadata included), checks Block Kit limits as
Slack does (`invalid_blocks`) and runs every message's blocks (posted, ephemeral, or sent to a
response URL) through slack_sdk's own block models (`tests/fakes/block_kit.py`): a message
they refuse is refused here too, and the test fails when the fake closes, naming the problem.
It can be told to answer the next calls with 429 + Retry-After or a 5xx (of one method, of
one workspace's token), to pace `chat.postMessage` as Slack does (`pace`: a token bucket per
channel and one per workspace token; a post beyond either is answered 429 with `Retry-After`
and kept in `limited`), or stop listening for a while (`go_offline`, `go_online`). It also
builds the signed requests Slack would send to an app in HTTP mode.

For an app distributed to many workspaces it plays Slack's side of OAuth: `add_workspace` makes a
workspace with its own bot token; `GET /oauth/v2/authorize` is the page a user approves on
(`approve_as` picks who approves next, `deny_next` makes them cancel) and sends the browser back
to the app's redirect URL with a one-use code (or `error=access_denied`); `oauth.v2.access`
exchanges that code, checking the client id and secret, and `auth.test` answers for each token's
own workspace. `revoke` makes a token fail with `token_revoked`, as after an uninstall.

Each call records which workspace's token it used (`Call.token`, a test token the fake made
itself); the fake must not reach the internet.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import math
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit

from aiohttp import WSMsgType, web

from tests.fakes.block_kit import block_kit_problems, view_problems
from tests.fakes.loopback import listen_again, serve, stop_listening

BOT_USER: Final = "UBOTARXIV"
BOT_ID: Final = "BBOTARXIV"
TEAM: Final = "T0TEAM"
CLIENT_ID: Final = "1111.2222"
CLIENT_SECRET: Final = "fake-client-secret-never-shown"
SCOPES_GRANTED: Final = (
    "commands",
    "chat:write",
    "reactions:read",
    "channels:history",
    "groups:history",
)
MAX_BLOCKS: Final = 50
SECTION_LIMIT: Final = 3_000
HEADER_LIMIT: Final = 150
BUTTON_LIMIT: Final = 75


@dataclass(frozen=True, slots=True)
class RateLimited:
    """429 `ratelimited` with `Retry-After` seconds (the SDK sleeps that long, plus < 1 s)."""

    retry_after: int = 0


@dataclass(frozen=True, slots=True)
class Limited(RateLimited):
    """A 429 the fake's own pacing answered (the caller went over a limit)."""


@dataclass(frozen=True, slots=True)
class Bucket:
    """Slack's pacing of one key: `size` messages at once, refilled at one per `interval` s;
    `slack` seconds of timing noise are forgiven."""

    interval: float
    size: int = 1
    slack: float = 0.05

    def level(self, tokens: float, at: float, now: float) -> float:
        return min(float(self.size), tokens + (now - at) / self.interval)

    def wait(self, level: float) -> float:
        missing = 1.0 - self.slack / self.interval - level
        return 0.0 if missing <= 0 else missing * self.interval


@dataclass(frozen=True, slots=True)
class ServerError:
    """A 5xx with an error body."""

    status: int = 500


Fault = RateLimited | ServerError


@dataclass(slots=True)
class Message:
    """A message the fake holds in a channel."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    ephemeral_to: str | None = None
    unfurl_links: Any = None
    unfurl_media: Any = None

    def as_api(self, with_metadata: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text}
        out["blocks"] = self.blocks
        out["bot_id"] = BOT_ID
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if with_metadata and self.metadata:
            out["metadata"] = self.metadata
        return out


@dataclass(frozen=True, slots=True)
class ShownView:
    """A view the app published (a Home tab, for `user_id`) or opened (a modal)."""

    method: str
    view: dict[str, Any]
    user_id: str = ""
    trigger_id: str = ""
    view_id: str = ""


@dataclass(slots=True)
class Unfurl:
    """One accepted `chat.unfurl`: the message and each link's blocks."""

    channel: str
    ts: str
    unfurls: dict[str, Any]

    def text(self) -> str:
        """Every text of every link's blocks, for assertions about what people see."""
        return json.dumps(self.unfurls, ensure_ascii=False)


@dataclass(slots=True)
class Call:
    """One Web API call as received (arguments only, never credentials)."""

    method: str
    args: dict[str, Any]
    status: int = 200
    at: float = field(default_factory=time.monotonic)
    token: str = ""


@dataclass(frozen=True, slots=True)
class Upload:
    """A file uploaded and shared (files.getUploadURLExternal, its bytes, then
    files.completeUploadExternal)."""

    file_id: str
    filename: str
    body: bytes
    channel: str
    thread_ts: str | None
    initial_comment: str


@dataclass(frozen=True, slots=True)
class Workspace:
    """A workspace that can install the app: its ids, its bot token once installed."""

    team_id: str
    name: str
    bot_token: str
    bot_user: str = BOT_USER
    enterprise_id: str | None = None
    installer: str = "U0INSTALLER"
    org_wide: bool = False  # an Enterprise Grid organisation installing for all its workspaces


class Stall:
    """A post that reaches Slack (it is in the channel) whose answer waits until the test lets
    it go: the poster is paused right after Slack accepted its message (`FakeSlack.stall`)."""

    def __init__(self, after: int) -> None:
        self.after = after  # posts to answer at once before the stalled one
        self.reached = asyncio.Event()  # the stalled post is in the channel, unanswered
        self.go = asyncio.Event()  # set by the test: answer it


class FakeSlack:
    """Slack on 127.0.0.1; use as `async with FakeSlack() as slack`."""

    def __init__(self, *, outside: set[str] | None = None) -> None:
        self.calls: list[Call] = []
        self._files: dict[str, bytes] = {}
        self.user_locales: dict[str, str] = {}  # user id -> what users.info says of them
        self.messages: list[Message] = []
        self.responses: list[tuple[str, dict[str, Any], float]] = []
        self.socket_acks: list[dict[str, Any]] = []
        self.outside: set[str] = set(outside or ())
        self.refused_blocks: list[str] = []  # why each refused message was refused
        self.views: list[ShownView] = []  # views published, opened or updated, oldest first
        self.unfurled: list[Unfurl] = []  # every accepted chat.unfurl, in order
        self._faults: deque[tuple[str | None, str | None, Fault]] = deque()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._pacing: tuple[Bucket, Bucket] | None = None
        self.limited: list[Call] = []  # posts refused because a channel or workspace was over
        self._ts = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._changed = asyncio.Event()
        self.workspaces: dict[str, Workspace] = {}
        self.authorizations: list[dict[str, str]] = []
        self.revoked: set[str] = set()
        self._codes: dict[str, Workspace] = {}
        self._approver: Workspace | None = None
        self._deny = False
        self._stall: Stall | None = None
        self.admins: set[str] = set()  # users.info says is_admin
        self.creators: dict[str, str] = {}  # channel -> the user conversations.info names
        self.files_write = True  # False: the app was installed without files:write
        self._pending: dict[str, tuple[str, bytes | None]] = {}  # file id -> (filename, bytes)
        self.uploads: list[Upload] = []  # files shared by files.completeUploadExternal

    # -- addresses ------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeSlack is not running; use it with `async with`")
        return self._port

    @property
    def api_url(self) -> str:
        """The Web API base URL (ARXIV_BOT_SLACK_API_URL)."""
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def authorize_url(self) -> str:
        """Slack's authorize page (ARXIV_BOT_SLACK_AUTHORIZE_URL)."""
        return f"http://127.0.0.1:{self.port}/oauth/v2/authorize"

    # -- workspaces and OAuth -------------------------------------------------------------------

    def add_workspace(self, team_id: str, name: str = "", **options: Any) -> Workspace:
        """A workspace whose users may install the app; its bot token is made here."""
        token = f"xoxb-{team_id.lower()}-fake-bot-token"
        workspace = Workspace(team_id, name or team_id, token, **options)
        self.workspaces[team_id] = workspace
        return workspace

    def approve_as(self, team_id: str) -> None:
        """The next visit to the authorize page approves the install for this workspace."""
        self._approver = self.workspaces[team_id]
        self._deny = False

    def deny_next(self) -> None:
        """The next visitor of the authorize page clicks Cancel."""
        self._deny = True

    def revoke(self, token: str) -> None:
        """The token stops working (`token_revoked`), as after an uninstall."""
        self.revoked.add(token)

    def calls_with(self, token: str) -> list[Call]:
        """Web API calls made with this token."""
        return [c for c in self.calls if c.token == token]

    def add_file(self, name: str, body: bytes) -> dict[str, Any]:
        """A file shared in Slack: served at its `url_private_download` to the bot's token; the
        file object as an event carries it."""
        self._files[name] = body
        url = f"http://127.0.0.1:{self.port}/files/{name}"
        return {"id": f"F{name}", "name": name, "size": len(body), "url_private_download": url}

    async def _file(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        self.calls.append(Call("files.download", {"name": request.match_info["name"]}, token=token))
        body = self._files.get(request.match_info["name"])
        if not token.startswith("xoxb-") or body is None:
            return web.Response(status=404, text="not found")
        return web.Response(body=body, content_type="text/plain")

    def response_url(self, name: str = "r") -> str:
        """A response_url for a slash command or an interaction."""
        return f"http://127.0.0.1:{self.port}/respond/{name}"

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_get("/files/{name}", self._file)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket", self._socket)
        app.router.add_get("/oauth/v2/authorize", self._authorize)
        self._runner, self._port = await serve(app)
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
        if exc_type is None and self.refused_blocks:
            raise AssertionError(
                "Slack would refuse these blocks (slack_sdk's models say so):\n"
                + "\n".join(self.refused_blocks)
            )

    # -- reachability ---------------------------------------------------------------------------

    async def go_offline(self) -> None:
        """Stop listening: connections to the port are refused, as when Slack is unreachable."""
        assert self._runner is not None
        await stop_listening(self._runner)

    async def go_online(self) -> None:
        """Listen again on the same port."""
        assert self._runner is not None
        await listen_again(self._runner, self.port)

    # -- faults and queries ---------------------------------------------------------------------

    def enqueue(self, *faults: Fault, method: str | None = None, token: str | None = None) -> None:
        """Spoil the next calls (of `method`, or any; with `token`, or any), one fault each."""
        self._faults.extend((method, token, f) for f in faults)

    def stall(self, after: int) -> Stall:
        """Answer `after` more chat.postMessage calls at once; keep the next one's message but
        hold its answer until the returned `Stall.go` is set."""
        self._stall = Stall(after)
        return self._stall

    def pace(self, channel: Bucket, workspace: Bucket) -> None:
        """From now on chat.postMessage is limited per channel and per workspace token."""
        self._pacing = (channel, workspace)

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def channel_messages(self, channel: str) -> list[Message]:
        """Messages posted in a channel (ephemeral ones excluded), oldest first."""
        return [m for m in self.messages if m.channel == channel and m.ephemeral_to is None]

    def thread(self, channel: str, parent_ts: str) -> list[Message]:
        return [m for m in self.channel_messages(channel) if m.thread_ts == parent_ts]

    def ephemeral(self) -> list[Message]:
        return [m for m in self.messages if m.ephemeral_to is not None]

    async def wait_until(self, ready: Callable[[], bool], within: float = 5.0) -> None:
        """Return once `ready()` holds, re-checked after every request the fake serves."""
        async with asyncio.timeout(within):
            while not ready():
                self._changed.clear()
                await self._changed.wait()

    # -- Socket Mode ----------------------------------------------------------------------------

    async def send_envelope(
        self, kind: str, payload: Mapping[str, Any], within: float = 5.0
    ) -> dict[str, Any]:
        """Deliver an envelope over the open WebSocket; returns the app's ack."""
        await self.wait_until(lambda: bool(self._sockets), within)
        envelope_id = f"env-{next(self._ts)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = future
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": dict(payload),
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        await self._sockets[-1].send_str(json.dumps(envelope))
        return await asyncio.wait_for(future, within)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        self._changed.set()
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                ack = json.loads(msg.data)
                self.socket_acks.append(ack)
                future = self._acks.pop(str(ack.get("envelope_id")), None)
                if future is not None and not future.done():
                    future.set_result(ack)
        finally:
            self._sockets.remove(ws)
        return ws

    # -- HTTP handlers --------------------------------------------------------------------------

    async def _respond(self, request: web.Request) -> web.Response:
        payload = await request.json()
        if not self._blocks_accepted(payload.get("blocks") or [], "response_url"):
            return web.Response(status=400, text="invalid_blocks")
        self.responses.append((request.match_info["name"], payload, time.monotonic()))
        self._changed.set()
        return web.Response(text="ok")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _arguments(request)
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        fault = self._take_fault(method, token)
        if fault is None and method == "chat.postMessage" and self._pacing is not None:
            fault = self._over_limit(str(args.get("channel") or ""), token)
        status = 429 if isinstance(fault, RateLimited) else fault.status if fault else 200
        self.calls.append(Call(method, args, status, token=token))
        if isinstance(fault, Limited):
            self.limited.append(self.calls[-1])
        self._changed.set()
        if isinstance(fault, RateLimited):
            return _error("ratelimited", 429, {"Retry-After": str(fault.retry_after)})
        if isinstance(fault, ServerError):
            return _error("internal_error", fault.status)
        if method == "oauth.v2.access":
            return self._oauth_access(request, args)
        wanted = "xapp-" if method == "apps.connections.open" else "xoxb-"
        if not token.startswith(wanted):
            return _error("invalid_auth")
        if token in self.revoked:
            return _error("token_revoked")
        if method == "auth.test":
            return self._auth_test(token)
        handler = {
            "apps.connections.open": self._connections_open,
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.getPermalink": self._permalink,
            "chat.unfurl": self._unfurl,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
            "users.info": self._user_info,
            "conversations.info": self._conversation_info,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }.get(method)
        if method in ("views.publish", "views.open", "views.update"):
            return self._view(method, args)
        if handler is None:
            return _error("unknown_method", 404)
        answer = handler(args)
        stall = self._stall
        if method == "chat.postMessage" and stall is not None:
            if stall.after > 0:
                stall.after -= 1
            else:
                self._stall = None
                stall.reached.set()
                await stall.go.wait()
        return answer

    def _upload_url(self, args: dict[str, Any]) -> web.Response:
        if not self.files_write:
            return web.json_response(
                {"ok": False, "error": "missing_scope", "needed": "files:write"}
            )
        file_id = f"F{len(self._pending) + 1:04d}"
        self._pending[file_id] = (str(args.get("filename") or ""), None)
        url = f"http://127.0.0.1:{self.port}/upload/{file_id}"
        return _ok(upload_url=url, file_id=file_id)

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if file_id not in self._pending:
            return web.Response(status=404, text="not found")
        self._pending[file_id] = (self._pending[file_id][0], await request.read())
        return web.Response(text=f"OK - {len(self._pending[file_id][1] or b'')}")

    def _complete_upload(self, args: dict[str, Any]) -> web.Response:
        shared = []
        for entry in _as_json(args.get("files")) or []:
            filename, body = self._pending.get(str(entry.get("id")), ("", None))
            if body is None:
                return _error("file_not_found")
            upload = Upload(
                str(entry["id"]),
                filename,
                body,
                str(args.get("channel_id") or ""),
                str(args["thread_ts"]) if args.get("thread_ts") else None,
                str(args.get("initial_comment") or ""),
            )
            self.uploads.append(upload)
            shared.append({"id": upload.file_id, "name": filename, "title": entry.get("title")})
        self._changed.set()
        return _ok(files=shared)

    def _conversation_info(self, args: dict[str, Any]) -> web.Response:
        channel = str(args.get("channel") or "")
        return _ok(channel={"id": channel, "creator": self.creators.get(channel, "U0CREATOR")})

    def _take_fault(self, method: str, token: str) -> Fault | None:
        for i, (wanted, owner, fault) in enumerate(self._faults):
            if wanted in (None, method) and owner in (None, token):
                del self._faults[i]
                return fault
        return None

    def _over_limit(self, channel: str, token: str) -> Fault | None:
        """Take a token from the channel's and the workspace's buckets, or say how long to wait."""
        assert self._pacing is not None
        now = time.monotonic()
        pairs = ((f"c:{token}:{channel}", self._pacing[0]), (f"w:{token}", self._pacing[1]))
        levels = [
            (key, bucket, bucket.level(*self._buckets.get(key, (bucket.size, now)), now))
            for key, bucket in pairs
        ]
        waits = [bucket.wait(level) for _, bucket, level in levels]
        if max(waits) > 0:
            return Limited(retry_after=max(1, math.ceil(max(waits))))
        for key, _, level in levels:
            self._buckets[key] = (level - 1.0, now)
        return None

    def _user_info(self, args: dict[str, Any]) -> web.Response:
        """A user: whether they are a workspace admin, and their locale only when
        `include_locale` asks for it (as Slack does)."""
        uid = str(args.get("user") or "")
        user: dict[str, Any] = {
            "id": uid,
            "is_admin": uid in self.admins,
            "is_owner": False,
            "is_bot": False,
        }
        if str(args.get("include_locale", "")).lower() in ("true", "1"):
            user["locale"] = self.user_locales.get(uid, "en-US")
        return _ok(user=user)

    def _auth_test(self, token: str) -> web.Response:
        own = next((w for w in self.workspaces.values() if w.bot_token == token), None)
        if own is None:  # a token of the single-workspace tests
            return _ok(user_id=BOT_USER, bot_id=BOT_ID, team_id=TEAM, user="arxiv-bot", team="Team")
        if own.org_wide:  # an organisation's token speaks for the organisation
            return _ok(
                user_id=own.bot_user,
                bot_id=f"B{own.enterprise_id}",
                team_id=own.enterprise_id,
                enterprise_id=own.enterprise_id,
                is_enterprise_install=True,
                user="arxiv-bot",
                team="Org",
            )
        return _ok(
            user_id=own.bot_user,
            bot_id=f"B{own.team_id}",
            team_id=own.team_id,
            enterprise_id=own.enterprise_id,
            user="arxiv-bot",
            team=own.name,
        )

    async def _authorize(self, request: web.Request) -> web.Response:
        """The page a user approves the install on: back to the app with a code (or a
        cancellation), and the state it was given."""
        query = dict(request.query)
        self.authorizations.append(query)
        self._changed.set()
        if query.get("client_id") != CLIENT_ID:
            return web.Response(status=400, text="invalid_client_id")
        back = query.get("redirect_uri") or ""
        if urlsplit(back).hostname != "127.0.0.1":
            return web.Response(status=400, text="bad_redirect_uri")
        if self._deny:
            self._deny = False
            answer = {"error": "access_denied", "state": query.get("state", "")}
        else:
            if self._approver is None:
                return web.Response(status=400, text="nobody approves: call approve_as()")
            code = f"code-{next(self._ts)}"
            self._codes[code] = self._approver
            answer = {"code": code, "state": query.get("state", "")}
        raise web.HTTPFound(f"{back}?{urlencode(answer)}")

    def _oauth_access(self, request: web.Request, args: dict[str, Any]) -> web.Response:
        """oauth.v2.access: the client's credentials (HTTP Basic) and a code used once."""
        auth = request.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if not hmac.compare_digest(auth, expected):
            return _error("invalid_client")
        workspace = self._codes.pop(str(args.get("code") or ""), None)
        if workspace is None:
            return _error("invalid_code")
        self.revoked.discard(workspace.bot_token)
        enterprise = (
            {"id": workspace.enterprise_id, "name": "Org"} if workspace.enterprise_id else None
        )
        return _ok(
            app_id="A0ARXIV",
            authed_user={"id": workspace.installer},
            scope=",".join(SCOPES_GRANTED),
            token_type="bot",
            access_token=workspace.bot_token,
            bot_user_id=workspace.bot_user,
            team=None if workspace.org_wide else {"id": workspace.team_id, "name": workspace.name},
            enterprise=enterprise,
            is_enterprise_install=workspace.org_wide,
        )

    def _connections_open(self, _: dict[str, Any]) -> web.Response:
        return _ok(url=f"ws://127.0.0.1:{self.port}/socket")

    def _new_message(self, args: dict[str, Any], ephemeral_to: str | None) -> Message | str:
        channel = str(args.get("channel") or "")
        if not channel:
            return "channel_not_found"
        if channel in self.outside:
            return "not_in_channel"
        blocks = _as_json(args.get("blocks")) or []
        if not args.get("text") and not blocks:
            return "no_text"
        if not blocks_valid(blocks) or not self._blocks_accepted(blocks, "chat message"):
            return "invalid_blocks"
        return Message(
            channel=channel,
            ts=f"1700000000.{next(self._ts):06d}",
            text=str(args.get("text") or ""),
            blocks=blocks,
            thread_ts=args.get("thread_ts") or None,
            metadata=_as_json(args.get("metadata")),
            ephemeral_to=ephemeral_to,
            unfurl_links=args.get("unfurl_links"),
            unfurl_media=args.get("unfurl_media"),
        )

    def _blocks_accepted(self, blocks: list[dict[str, Any]], where: str) -> bool:
        problems = block_kit_problems(blocks)
        self.refused_blocks += [f"{where}: {p}" for p in problems]
        return not problems

    def _post_message(self, args: dict[str, Any]) -> web.Response:
        message = self._new_message(args, None)
        if isinstance(message, str):
            return _error(message)
        self.messages.append(message)
        return _ok(channel=message.channel, ts=message.ts, message=message.as_api(True))

    def _post_ephemeral(self, args: dict[str, Any]) -> web.Response:
        message = self._new_message(args, str(args.get("user") or ""))
        if isinstance(message, str):
            return _error(message)
        self.messages.append(message)
        return _ok(message_ts=message.ts)

    def _view(self, method: str, args: dict[str, Any]) -> web.Response:
        """views.publish (needs `user_id`), views.open (needs `trigger_id`), views.update (needs
        `view_id`): the view is checked by slack_sdk's models and kept in `views`."""
        view = _as_json(args.get("view"))
        if not isinstance(view, dict):
            return _error("invalid_arguments")
        needed = {"views.publish": "user_id", "views.open": "trigger_id"}.get(method, "view_id")
        if not args.get(needed):
            return _error("invalid_trigger_id" if needed == "trigger_id" else "invalid_arguments")
        problems = view_problems(view)
        if problems:
            self.refused_blocks += [f"{method}: {p}" for p in problems]
            return _error("invalid_arguments")
        view_id = str(args.get("view_id") or f"V{next(self._ts):08d}")
        self.views.append(
            ShownView(
                method,
                view,
                str(args.get("user_id") or ""),
                str(args.get("trigger_id") or ""),
                view_id,
            )
        )
        return _ok(view={**view, "id": view_id})

    def views_of(self, method: str) -> list[ShownView]:
        """The views a method was sent, oldest first."""
        return [v for v in self.views if v.method == method]

    def _unfurl(self, args: dict[str, Any]) -> web.Response:
        """`chat.unfurl`: each link's blocks go through the same checks as a message's."""
        channel, ts = str(args.get("channel") or ""), str(args.get("ts") or "")
        unfurls = _as_json(args.get("unfurls"))
        if not channel or not ts or not isinstance(unfurls, dict) or not unfurls:
            return _error("invalid_arguments")
        for url, unfurl in unfurls.items():
            blocks = unfurl.get("blocks") if isinstance(unfurl, dict) else None
            if not isinstance(blocks, list) or not blocks:
                return _error("invalid_unfurls")
            if not blocks_valid(blocks) or not self._blocks_accepted(blocks, f"unfurl of {url}"):
                return _error("invalid_blocks")
        self.unfurled.append(Unfurl(channel, ts, unfurls))
        return _ok()

    def _permalink(self, args: dict[str, Any]) -> web.Response:
        channel, ts = str(args.get("channel") or ""), str(args.get("message_ts") or "")
        if not any(m.channel == channel and m.ts == ts for m in self.messages):
            return _error("message_not_found")
        return _ok(permalink=f"https://team.slack.test/archives/{channel}/p{ts.replace('.', '')}")

    def _history(self, args: dict[str, Any]) -> web.Response:
        channel = str(args.get("channel") or "")
        top = [
            m for m in self.channel_messages(channel) if m.thread_ts is None or m.thread_ts == m.ts
        ]
        return self._page(list(reversed(top)), args)

    def _replies(self, args: dict[str, Any]) -> web.Response:
        channel, ts = str(args.get("channel") or ""), str(args.get("ts") or "")
        parent = [m for m in self.channel_messages(channel) if m.ts == ts]
        if not parent:
            return _error("thread_not_found")
        return self._page(parent + self.thread(channel, ts), args)

    def _page(self, messages: list[Message], args: dict[str, Any]) -> web.Response:
        start = int(args.get("cursor") or 0)
        limit = int(args.get("limit") or 100)
        with_metadata = str(args.get("include_all_metadata")).lower() in ("1", "true")
        page = messages[start : start + limit]
        more = start + limit < len(messages)
        return _ok(
            messages=[m.as_api(with_metadata) for m in page],
            has_more=more,
            response_metadata={"next_cursor": str(start + limit) if more else ""},
        )


def blocks_valid(blocks: list[dict[str, Any]]) -> bool:
    """The Block Kit limits Slack enforces on what the adapter sends."""
    if len(blocks) > MAX_BLOCKS:
        return False
    for block in blocks:
        text = (block.get("text") or {}).get("text", "")
        if block["type"] == "header" and len(text) > HEADER_LIMIT:
            return False
        if block["type"] == "section" and not 0 < len(text) <= SECTION_LIMIT:
            return False
        for element in block.get("elements", []):
            label = element.get("text")
            if isinstance(label, dict) and element.get("type") == "button":
                if len(label["text"]) > BUTTON_LIMIT:
                    return False
            elif isinstance(label, str) and len(label) > SECTION_LIMIT:
                return False
    return True


async def _arguments(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            args.update(await request.json())
        else:
            args.update(dict(parse_qsl(await request.text())))
    return args


def _as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) and value else value


def _ok(**data: Any) -> web.Response:
    return web.json_response({"ok": True, **data})


def _error(code: str, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.json_response({"ok": False, "error": code}, status=status, headers=headers)


# -- what Slack sends to an app in HTTP mode --------------------------------------------------


def signed_headers(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """The X-Slack-Signature headers Slack sends with `body`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = f"v0:{ts}:{body}".encode()
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def command_payload(
    text: str,
    *,
    channel: str = "C0TEAM",
    user: str = "U0ALICE",
    response_url: str = "",
    team: str = TEAM,
    enterprise: str | None = None,
) -> dict[str, str]:
    """A `/arxiv` slash command's fields; with `enterprise`, from a workspace of that
    organisation, which installed the app for all its workspaces."""
    org = {"enterprise_id": enterprise, "is_enterprise_install": "true"} if enterprise else {}
    return {
        **org,
        "command": "/arxiv",
        "text": text,
        "channel_id": channel,
        "channel_name": channel.lower(),
        "user_id": user,
        "user_name": user.lower(),
        "team_id": team,
        "trigger_id": "1.2.3",
        "response_url": response_url,
        "api_app_id": "A0ARXIV",
    }


def command_form(text: str, **fields: str) -> str:
    """The form body of a slash command request."""
    return urlencode(command_payload(text, **fields))


def reaction_event(
    kind: str,
    reaction: str,
    message_ts: str,
    *,
    channel: str = "C0TEAM",
    user: str = "U0ALICE",
    event_id: str = "Ev1",
    team: str = TEAM,
) -> dict[str, Any]:
    """A `reaction_added`/`reaction_removed` Events API callback."""
    return {
        "token": "legacy-verification-token",
        "team_id": team,
        "api_app_id": "A0ARXIV",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"team_id": team, "user_id": BOT_USER, "is_bot": True}],
        "event": {
            "type": kind,
            "user": user,
            "reaction": reaction,
            "item_user": BOT_USER,
            "item": {"type": "message", "channel": channel, "ts": message_ts},
            "event_ts": f"{time.time():.6f}",
        },
    }


def mention_event(
    text: str,
    thread_ts: str,
    *,
    channel: str = "C0TEAM",
    user: str = "U0ALICE",
    event_id: str = "EvM1",
    team: str = TEAM,
) -> dict[str, Any]:
    """An `app_mention` Events API callback: `text` posted in the thread `thread_ts`."""
    return {
        "token": "legacy-verification-token",
        "team_id": team,
        "api_app_id": "A0ARXIV",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"team_id": team, "user_id": BOT_USER, "is_bot": True}],
        "event": {
            "type": "app_mention",
            "user": user,
            "text": f"<@{BOT_USER}> {text}",
            "channel": channel,
            "ts": f"{time.time():.6f}",
            "thread_ts": thread_ts,
            "event_ts": f"{time.time():.6f}",
        },
    }


def explain_action(
    paper_id: str,
    message_ts: str,
    thread_ts: str,
    *,
    channel: str = "C0TEAM",
    user: str = "U0ALICE",
    response_url: str = "",
    team: str = TEAM,
) -> dict[str, Any]:
    """The block_actions payload of a click on a card's Explain button."""
    return {
        "type": "block_actions",
        "team": {"id": team},
        "user": {"id": user},
        "api_app_id": "A0ARXIV",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "channel": {"id": channel},
        "message": {"ts": message_ts, "thread_ts": thread_ts, "text": "card"},
        "response_url": response_url,
        "trigger_id": "1.2.3",
        "actions": [
            {
                "type": "button",
                "action_id": "arxiv_explain",
                "block_id": "b",
                "value": paper_id,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def app_event(team: str, event: Mapping[str, Any], *, event_id: str = "EvApp") -> dict[str, Any]:
    """An Events API callback about the app itself (`app_uninstalled`, `tokens_revoked`)."""
    return {
        "token": "legacy-verification-token",
        "team_id": team,
        "api_app_id": "A0ARXIV",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "is_enterprise_install": False,
        "event": {**event, "event_ts": f"{time.time():.6f}"},
    }


def uninstalled_event(
    team: str, *, event_id: str = "EvUninstall", enterprise: str | None = None
) -> dict[str, Any]:
    """`app_uninstalled`: the workspace (or, with `enterprise`, the organisation that installed
    it for all its workspaces) removed the app."""
    payload = app_event(team, {"type": "app_uninstalled"}, event_id=event_id)
    if enterprise is not None:
        payload |= {"enterprise_id": enterprise, "is_enterprise_install": True}
    return payload


def tokens_revoked_event(
    team: str, bot_users: Sequence[str] = (BOT_USER,), *, event_id: str = "EvRevoked"
) -> dict[str, Any]:
    """`tokens_revoked`: the workspace revoked the bot's token (and no user tokens)."""
    tokens = {"oauth": [], "bot": list(bot_users)}
    return app_event(team, {"type": "tokens_revoked", "tokens": tokens}, event_id=event_id)


def action_form(payload: Mapping[str, Any]) -> str:
    """The form body of an interaction request."""
    return urlencode({"payload": json.dumps(payload)})


def home_opened_event(
    user: str = "U0ALICE", *, team: str = TEAM, event_id: str = "EvHome", tab: str = "home"
) -> dict[str, Any]:
    """`app_home_opened`: `user` opened the app's Home tab (or its Messages tab)."""
    return {
        "token": "legacy-verification-token",
        "team_id": team,
        "api_app_id": "A0ARXIV",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"team_id": team, "user_id": BOT_USER, "is_bot": True}],
        "event": {
            "type": "app_home_opened",
            "user": user,
            "channel": "D0HOME",
            "tab": tab,
            "event_ts": f"{time.time():.6f}",
        },
    }


def link_shared_event(
    urls: Sequence[str],
    message_ts: str = "1700000001.000100",
    *,
    channel: str = "C0TEAM",
    user: str = "U0ALICE",
    event_id: str = "EvL1",
    team: str = TEAM,
) -> dict[str, Any]:
    """A `link_shared` Events API callback: `user` posted a message linking `urls`."""
    return {
        "token": "legacy-verification-token",
        "team_id": team,
        "api_app_id": "A0ARXIV",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"team_id": team, "user_id": BOT_USER, "is_bot": True}],
        "event": {
            "type": "link_shared",
            "channel": channel,
            "is_bot_user_member": True,
            "user": user,
            "message_ts": message_ts,
            "unfurl_id": f"U{message_ts}",
            "source": "conversations_history",
            "links": [{"domain": "arxiv.org", "url": url} for url in urls],
            "event_ts": f"{time.time():.6f}",
        },
    }


def button_action(
    action_id: str,
    value: str,
    *,
    channel: str | None = None,
    message_ts: str = "",
    thread_ts: str = "",
    user: str = "U0ALICE",
    team: str = TEAM,
    trigger_id: str = "2.3.4",
) -> dict[str, Any]:
    """The block_actions payload of a button click: on a message in `channel`, or (without
    one) on the Home tab."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": team},
        "user": {"id": user, "team_id": team},
        "api_app_id": "A0ARXIV",
        "trigger_id": trigger_id,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b",
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    if channel is None:
        payload["container"] = {"type": "view", "view_id": "VHOME"}
        payload["view"] = {"id": "VHOME", "type": "home"}
    else:
        payload["container"] = {"type": "message", "message_ts": message_ts, "channel_id": channel}
        payload["channel"] = {"id": channel}
        payload["message"] = {"ts": message_ts, "thread_ts": thread_ts, "text": "card"}
    return payload


def view_submission(
    shown: ShownView,
    values: Mapping[str, str],
    *,
    user: str = "U0ALICE",
    team: str = TEAM,
) -> dict[str, Any]:
    """The view_submission payload of a modal the app opened, as Slack sends it: every input's
    state, `values` (by block id) typed over what the input showed."""
    state: dict[str, dict[str, Any]] = {}
    for block in shown.view.get("blocks") or []:
        if block.get("type") != "input":
            continue
        element = block["element"]
        block_id, action_id = block["block_id"], element["action_id"]
        if element["type"] == "static_select":
            chosen = values.get(block_id, (element.get("initial_option") or {}).get("value"))
            option = next((o for o in element["options"] if o["value"] == chosen), None)
            state[block_id] = {action_id: {"type": "static_select", "selected_option": option}}
        else:
            typed = values.get(block_id, element.get("initial_value"))
            state[block_id] = {action_id: {"type": element["type"], "value": typed or None}}
    return {
        "type": "view_submission",
        "team": {"id": team, "domain": "team"},
        "user": {"id": user, "team_id": team},
        "api_app_id": "A0ARXIV",
        "token": "legacy-verification-token",
        "trigger_id": "3.4.5",
        "view": {
            **shown.view,
            "id": shown.view_id,
            "team_id": team,
            "app_id": "A0ARXIV",
            "bot_id": BOT_ID,
            "state": {"values": state},
        },
    }


def unfurl_action(
    action_id: str,
    paper_id: str,
    message_ts: str,
    *,
    channel: str = "C0TEAM",
    user: str = "U0ALICE",
    team: str = TEAM,
) -> dict[str, Any]:
    """The block_actions payload of a click on a button of an unfurl (an attachment of the
    message that linked the paper)."""
    payload = explain_action(
        paper_id, message_ts, message_ts, channel=channel, user=user, team=team
    )
    payload["container"] = {
        "type": "message_attachment",
        "message_ts": message_ts,
        "channel_id": channel,
        "is_app_unfurl": True,
    }
    payload["actions"][0]["action_id"] = action_id
    return payload
