"""Serving a fake on 127.0.0.1 at a free port: the one way every fake server starts, and the
one way a fake goes unreachable and comes back (`stop_listening`, `listen_again`)."""

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


async def stop_listening(runner: web.AppRunner) -> None:
    """Close the listening port: connections to it are refused, as when the real service is
    unreachable. The runner, and all the fake has recorded, stay for `listen_again`."""
    for site in list(runner.sites):
        await site.stop()


async def listen_again(runner: web.AppRunner, port: int) -> None:
    """Listen on the same `port` again (nothing to do while it listens)."""
    if not runner.sites:
        await web.TCPSite(runner, "127.0.0.1", port).start()
