"""A health endpoint for supervisors: `GET /healthz` on ARXIV_BOT_HEALTH_PORT.

200 with a small JSON body while the daily runner ticks on schedule, 503 when its last tick is
older than `stale_after` (the scheduler or the loop is stuck). It shows no secret and no
channel content.

This module must not import a platform SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from aiohttp import web

from bot import __version__
from bot.daily.runner import DailyRunner


def health_app(
    runner: DailyRunner,
    platforms: Sequence[str],
    *,
    stale_after: timedelta = timedelta(minutes=15),
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> web.Application:
    """The aiohttp application serving `/healthz`."""

    async def healthz(_: web.Request) -> web.Response:
        last = runner.last_tick
        fresh = last is not None and clock() - last <= stale_after
        body = {
            "status": "ok" if fresh else "stale",
            "version": __version__,
            "last_tick": last.isoformat(timespec="seconds") if last else None,
            "platforms": list(platforms),
        }
        return web.json_response(body, status=200 if fresh else 503)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    return app


async def start_health(app: web.Application, port: int) -> web.AppRunner:
    """Serve the app on every interface at `port` (0 picks a free one); the caller cleans up."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", port).start()  # supervisors probe it from outside
    return runner
