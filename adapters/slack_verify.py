"""Checking that an HTTP request comes from Slack before anything reads its body as data.

This module owns `SlackVerifier`, an aiohttp middleware for the Slack events path. It checks the
`X-Slack-Request-Timestamp` and `X-Slack-Signature` headers against the raw body with slack_sdk's
`SignatureVerifier`, then checks that the signed body has a shape bolt can dispatch (a JSON
object, or a form whose `payload` is one), and only then passes the request on. Anything else is
answered at once, with a short fixed text:

- 401: unsigned (no signature or timestamp header), not signed with our signing secret, or
  signed more than five minutes ago;
- 400: a signed-looking request that is not well formed (timestamp not a Unix time, body not
  UTF-8, a signed body bolt could not parse).

Refusals are logged in one short line per source (client address) per minute at most, counting
the ones in between, so a flood of junk cannot flood the log.

This module must not parse a body before its signature is verified, log a body, a header value
or the signing secret, or know what a command means.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import Clock, SignatureVerifier

log = logging.getLogger(__name__)

TIMESTAMP_HEADER: Final = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER: Final = "X-Slack-Signature"
MAX_TIMESTAMP_DIGITS: Final = 12  # Unix time in seconds for the next 30,000 years
LOG_EVERY: Final = 60.0  # seconds between two log lines about one source
SOURCES_REMEMBERED: Final = 4_096


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request was refused: its HTTP status and a short reason (no input in it)."""

    status: int
    reason: str


BAD_TIMESTAMP: Final = Refusal(400, "timestamp is not a Unix time")
NOT_UTF8: Final = Refusal(400, "body is not UTF-8")
UNSIGNED: Final = Refusal(401, "no valid signature")
BAD_BODY: Final = Refusal(400, "signed body is not a Slack payload")


class _Clock(Clock):
    """slack_sdk's clock interface over an injected time function."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


class RefusalLog:
    """At most one log line per source per `every` seconds, counting the refusals between."""

    def __init__(self, every: float = LOG_EVERY, clock: Callable[[], float] = time.monotonic):
        self._every = every
        self._clock = clock
        self._last: OrderedDict[str, float] = OrderedDict()
        self._quiet: dict[str, int] = {}

    def refused(self, source: str, refusal: Refusal) -> None:
        """Note a refusal from `source`; log it unless this source was logged recently."""
        now = self._clock()
        last = self._last.get(source)
        if last is not None and now - last < self._every:
            self._quiet[source] = self._quiet.get(source, 0) + 1
            return
        also = self._quiet.pop(source, 0)
        more = f" (and {also} more refused since the last report)" if also else ""
        log.warning(
            "Slack: refused a request from %s: %s (HTTP %d)%s",
            source,
            refusal.reason,
            refusal.status,
            more,
        )
        self._last[source] = now
        self._last.move_to_end(source)
        while len(self._last) > SOURCES_REMEMBERED:
            forgotten, _ = self._last.popitem(last=False)
            self._quiet.pop(forgotten, None)


class SlackVerifier:
    """Verifies Slack's signature on the raw body before anything parses it."""

    def __init__(
        self,
        signing_secret: str,
        *,
        clock: Callable[[], float] = time.time,
        refusals: RefusalLog | None = None,
    ) -> None:
        self._signature = SignatureVerifier(signing_secret, clock=_Clock(clock))
        self._refusals = refusals or RefusalLog()

    def __repr__(self) -> str:
        return "SlackVerifier()"

    def middleware(self, path: str) -> Middleware:
        """An aiohttp middleware that guards POSTs to `path` and passes everything else on."""

        @web.middleware
        async def verify(request: web.Request, handler: Handler) -> web.StreamResponse:
            if request.method != "POST" or request.path != path:
                return await handler(request)
            refusal = await self.check(request)
            if refusal is not None:
                self._refusals.refused(request.remote or "unknown", refusal)
                return web.Response(status=refusal.status, text=refusal.reason)
            return await handler(request)

        return verify

    async def check(self, request: web.Request) -> Refusal | None:
        """Why `request` must be refused, or None when Slack signed a body bolt can read."""
        timestamp = request.headers.get(TIMESTAMP_HEADER, "")
        if not timestamp or not request.headers.get(SIGNATURE_HEADER):
            return UNSIGNED
        if not is_unix_time(timestamp):
            return BAD_TIMESTAMP
        raw = await request.read()
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return NOT_UTF8
        signature = request.headers.get(SIGNATURE_HEADER)
        if not self._signature.is_valid(body, timestamp, signature):
            return UNSIGNED
        if not is_slack_payload(body, request.headers.get("Content-Type")):
            return BAD_BODY
        return None


def is_unix_time(value: str) -> bool:
    """Whether a timestamp header is whole seconds in ASCII digits (not `1e999`, `٣`, ` 1`)."""
    return 0 < len(value) <= MAX_TIMESTAMP_DIGITS and value.isascii() and value.isdigit()


def is_slack_payload(body: str, content_type: str | None) -> bool:
    """Whether bolt parses `body` into a JSON object (bolt's own parser decides, so the check
    cannot drift from what bolt will do with it)."""
    kind = content_type.split(";")[0].strip() if content_type else None
    try:
        parsed = parse_body(body, kind)
    except (ValueError, RecursionError):
        return False
    return isinstance(parsed, dict)
