"""Import, before the event loop starts, what a long command would otherwise import on it.

The bot imports its heavy libraries lazily so that `--help` and `status` start quickly. The
price is paid by the first caller that needs one: importing the OpenAI client's chat resources,
`requests` (under the `arxiv` client) or the store's driver holds the event loop for tens of
milliseconds each, and a Slack command acknowledged meanwhile waits. `preload` pays that price
once, up front, for the commands that serve or fetch (`run`, and `digest` of today), and warms
the one platform query the OpenAI client makes on its first request (`platform.platform()`,
which forks `uname -p` from a worker thread while holding the interpreter lock). Then it moves
everything imported out of the garbage collector's reach (`gc.freeze`), so a full collection
during the day walks only the day's own objects, and shortens the interpreter's switch interval
(`SWITCH_INTERVAL`), so a thread doing CPU work beside the loop holds the interpreter lock in
short slices.

It must not open connections, read the store or start threads: it only imports (and builds
one OpenAI client that is never used).
"""

from __future__ import annotations

import gc
import importlib
import platform
import sys
from collections.abc import Iterable

# what wiring the core and a day's work import (bot.__main__.wire_core and what it reaches)
CORE_MODULES = (
    "aiohttp",
    "bot.arxiv.api",
    "bot.conversation.dispatch",
    "bot.digest.deciding",
    "bot.arxiv.feed",
    "bot.arxiv.ingest",
    "bot.digest.service",
    "bot.work",
    "scoring.batch",
    "scoring.explain",
    "scoring.scorer",
    "adapters.markdown",
    "scoring.worker",  # the ranking worker (a child process over pipes)
)
# the OpenAI client's transport asks anyio for its asyncio backend on its first request
LLM_MODULES = ("openai", "anyio._backends._asyncio")
RUN_MODULES = ("bot.daily.runner", "bot.daily.delivery", "bot.daily.health", "bot.daily.scheduler")
_NOWHERE = "http://127.0.0.1:9/"  # the discard port: the warm-up client never sends anything
DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}
# A thread doing CPU work (reading an arXiv API answer, parsing the feed, a store driver) keeps
# the interpreter lock for a whole switch interval whenever the loop asks for it back, and the
# loop gives it up at every socket call: at Python's 5 ms a loop step waited 70-170 ms while an
# API answer was read in its thread. 1 ms slices cost the working thread little.
SWITCH_INTERVAL = 0.001


def modules_for(command: str, *, llm: bool, driver: str, day_given: bool) -> tuple[str, ...]:
    """The modules `command` will import on its event loop. Empty for the quick commands, and
    for `digest --day` (a stored day rebuilds without most of them)."""
    if command == "run" or (command == "digest" and not day_given):
        extra = RUN_MODULES if command == "run" else ()
        return (*CORE_MODULES, DRIVERS.get(driver, ""), *(LLM_MODULES if llm else ()), *extra)
    return ()


def preload(modules: Iterable[str], *, llm: bool) -> None:
    """Import `modules` now (a name that is empty or not installed is skipped: the command
    reports a missing driver itself, in its own words)."""
    wanted = [name for name in modules if name]
    if not wanted:
        return  # a quick command: it imports what it needs as it goes
    for name in wanted:
        try:
            importlib.import_module(name)
        except ImportError:
            continue
    if llm:
        _warm_openai()
    from bot import i18n  # compiling a catalog is a few ms the first reply should not wait

    i18n.preload()
    # what the imports made lives as long as the process: keep it out of the collector's full
    # passes, which otherwise walk ~100k objects (85 ms) from whichever thread triggers them,
    # holding the interpreter lock, and so the event loop, all the while
    gc.freeze()
    sys.setswitchinterval(SWITCH_INTERVAL)


def _warm_openai() -> None:
    """Make the OpenAI client do its lazy work now: building a client imports its transport,
    asking for `chat.completions` imports the chat resources, and `platform.platform()` is
    cached by the interpreter, so the client's own first call returns at once. The client is
    never used and opens nothing."""
    try:
        import openai
    except ImportError:
        return
    unverified = openai.DefaultAsyncHttpxClient(verify=False)  # spares loading the CA bundle
    client = openai.AsyncOpenAI(api_key="unused", base_url=_NOWHERE, http_client=unverified)
    client.chat.completions  # noqa: B018
    platform.platform()
