"""Serving a fake on 127.0.0.1 at a free port: the one way every fake server starts."""

from __future__ import annotations

from typing import Any

from aiohttp import web


async def serve(app: web.Application, **options: Any) -> tuple[web.AppRunner, int]:
    """Start `app` on 127.0.0.1, port 0; returns its runner (to clean up) and the port the
    system chose. `options` go to `web.AppRunner` (e.g. `shutdown_timeout`)."""
    runner = web.AppRunner(app, access_log=None, **options)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, int(runner.addresses[0][1])
