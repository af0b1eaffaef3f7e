"""The composition root and command line: `arxiv-bot digest`, `run`, `status`, `migrate-db`,
`forget-workspace`.

Settings are read once here; resources (database, HTTP session, OpenAI client) are opened with
`async with` and closed on the way out; the service is built from them. Nothing is created at
import time. Errors meant for users (BotError) are printed as one line; anything else is a bug
and is printed with its traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from bot import __version__
from bot.errors import BotError, LLMKeyMissing, PlatformUnavailable, SettingsError
from bot.models import Digest, LocalView, Thresholds
from bot.platform import ChatPlatform, start_backoff
from bot.progress import progress_display
from scoring.criteria import load_criteria
from scoring.pricing import PriceTable, format_usd

# The HTTP, OpenAI, database and scheduling libraries (and the modules built on them) take
# most of a second to import: `--help` and `status` must not wait for what they do not use, so
# these are imported where a command uses them.
if TYPE_CHECKING:
    import aiohttp
    from aiohttp import web
    from openai import AsyncOpenAI

    from adapters.console import ConsoleAdapter
    from bot.config.channels import ChannelSettings
    from bot.config.settings import Settings
    from bot.conversation.dispatch import Conversation
    from bot.daily.scheduler import DailyScheduler
    from bot.daily.status import SettingsOf
    from bot.digest.options import DigestOptions
    from bot.digest.service import DigestService
    from bot.secret import Secret
    from bot.store import ChannelRow, Store
    from scoring.scorer import Scorer

log = logging.getLogger("arxiv_bot")

CONSOLE_CHANNEL = "console"
# Printed before anything slow is imported or opened (so not in adapters/console.py).
CONSOLE_BANNER = (
    "arxiv-bot console: type `help`, `more` after a digest, or `:react N 👍` on card N; "
    "Ctrl-D quits."
)
CONSOLE_LOADING = "(loading today's papers in the background; you can type already)"
CONSOLE_PROMPT = "> "
SHARE_ZERO_NOTE = "ranked locally only, not sent to an LLM: ARXIV_BOT_LLM_SHARE is 0"
SHUTDOWN_GRACE = 25.0  # seconds from SIGTERM to exit, all included (supervisors allow ~30)
CLOSE_RESERVE = 5.0  # of which the adapters' closes get at least this much after the tick's
EXIT_RESERVE = 2.0  # and this much is left for closing the core and the interpreter's exit
START_CANCEL_WAIT = 1.0  # seconds an adapter still connecting gets to give up
USER_AGENT = f"arxiv-bot/{__version__} (+https://github.com/arxiv-bot/arxiv-bot)"


def digest_options(settings: Settings) -> DigestOptions:
    """The default channel options from settings."""
    from bot.digest.options import DigestOptions, LLMBudget

    return DigestOptions(
        categories=settings.categories,
        thresholds=Thresholds(settings.min_relevance, settings.min_novelty),
        cross_lists=settings.cross_lists,
        budget=LLMBudget(
            settings.llm_share, settings.llm_min_papers, warmup_cap=settings.warmup_share
        ),
        learning=settings.learning,
        prompt_examples=settings.prompt_examples,
    )


def _openai_client(settings: Settings) -> AsyncOpenAI | None:
    """The LLM client, or None when no OPENAI_API_KEY is set."""
    if settings.openai_api_key is None:
        return None
    from openai import AsyncOpenAI

    return AsyncOpenAI(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_retries,
    )


@dataclass(frozen=True, slots=True)
class Core:
    """The wired core: the store, the digest service and the conversation."""

    store: Store
    service: DigestService
    conversation: Conversation
    criteria_text: str


@asynccontextmanager
async def open_core(
    settings: Settings, *, need_llm: bool = True, limited: bool = True
) -> AsyncIterator[Core]:
    """Open every resource the bot needs and wire the core on them. Without an API key the
    core still ranks and shows stored days (`need_llm=False`), and refuses otherwise. Not
    `limited` (the console's one local user, who pays for what they run): no rate limits."""
    import aiohttp

    from bot.store import Store

    # building the client loads the CA bundle into an SSL context (tens of milliseconds of CPU)
    client = await asyncio.to_thread(_openai_client, settings)
    if client is None and need_llm:
        raise SettingsError(str(LLMKeyMissing()))
    async with (
        Store.open(settings.db) as store,
        aiohttp.ClientSession(headers={"User-Agent": USER_AGENT}) as http,
        client if client is not None else contextlib.nullcontext(),
    ):
        core = wire_core(settings, store, http, client, limited=limited)
        try:
            yield core
        finally:  # work a cancelled caller left running stops before its resources close
            await core.service.work.stop()


def wire_core(
    settings: Settings,
    store: Store,
    http: aiohttp.ClientSession,
    client: AsyncOpenAI | None,
    *,
    limited: bool = True,
) -> Core:
    """Build the core on open resources (the store, an HTTP session, the OpenAI client);
    `limited` as for `open_core`."""
    from bot.arxiv.api import ArxivApi
    from bot.arxiv.fetch import PaperFetcher
    from bot.arxiv.ingest import FeedClient, Ingestor
    from bot.config.channels import ChannelSettings
    from bot.conversation.dispatch import Conversation, ConversationConfig
    from bot.conversation.import_commands import ImportConfig
    from bot.digest.service import DigestService
    from bot.ratelimit import RateLimits
    from bot.work import Work
    from scoring.ask import Asker
    from scoring.batch import BatchScorer
    from scoring.explain import Explainer
    from scoring.scorer import LLMScorer, NoKeyScorer

    feed = FeedClient(
        http,
        settings.rss_url,
        timeout=settings.arxiv_timeout,
        attempts=settings.arxiv_attempts,
    )
    api = ArxivApi(
        settings.api_url,
        delay_seconds=settings.arxiv_delay,
        timeout=settings.arxiv_timeout,
        max_attempts=settings.arxiv_attempts,
    )
    ingestor = Ingestor(store, feed, api if settings.enrich else None)
    prices = PriceTable(settings.prices)
    if settings.daily_budget_usd is not None and prices.price(settings.model) is None:
        raise SettingsError(
            f"ARXIV_BOT_DAILY_BUDGET needs a price for model {settings.model!r}: "
            "add it to ARXIV_BOT_PRICES"
        )
    scorer: Scorer = NoKeyScorer(settings.model)
    if client is not None:
        scorer = LLMScorer(
            client,
            settings.model,
            prices,
            batch_size=settings.batch_size,
            concurrency=settings.concurrency,
            structured=settings.structured_output,
            round_pause=settings.llm_round_pause,
            unreachable_after=settings.llm_give_up,
        )
    batch = None
    if settings.batch == "auto" and client is not None:
        batch = BatchScorer(
            client,
            settings.model,
            prices,
            batch_size=settings.batch_size,
            structured=settings.structured_output != "off",
            poll_seconds=settings.batch_poll_seconds,
        )
    service = DigestService(
        store,
        ingestor,
        scorer,
        prices,
        daily_budget_usd=settings.daily_budget_usd,
        work=Work(store, ttl=settings.lease_seconds),
        adaptive_share=settings.adaptive_share,
        batch=batch,
    )
    config = ConversationConfig(
        defaults=ChannelSettings.defaults(settings),
        default_criteria=load_criteria(settings.criteria_file),
        admins=frozenset(settings.admins),
        like_emoji=frozenset(settings.like_emoji),
        limits=settings.rate_limits if limited else RateLimits(None, None, None, None, None),
        preview_confirm_usd=settings.preview_confirm_usd,
    )
    explainer = Explainer(client, settings.model, prices, account=service.account)
    fetcher = PaperFetcher(
        http, settings.arxiv_url, delay=settings.fulltext_delay, timeout=settings.arxiv_timeout
    )
    conversation = Conversation(
        store,
        service,
        explainer,
        config,
        asker=Asker(
            client, settings.model, prices, settings.ask_max_tokens, account=service.account
        ),
        fetcher=fetcher,
        daily_budget_usd=settings.daily_budget_usd,
        imports=ImportConfig(api, settings.zotero_url, settings.token_key),
        api=api,
    )
    return Core(store, service, conversation, config.default_criteria)


@asynccontextmanager
async def open_service(settings: Settings) -> AsyncIterator[DigestService]:
    """The digest service alone (what `arxiv-bot digest` needs)."""
    async with open_core(settings) as core:
        yield core.service


async def digest_command(settings: Settings, args: argparse.Namespace) -> int:
    """Build today's (or a stored day's) digest and write it out. Without an API key, show the
    day ranked locally (clearly labelled) unless the store already has it scored."""
    if args.day is not None and settings.llm_share > 0:
        shown = await stored_day(settings, args.day)
        if shown is not None:  # nothing left to do for that day: no client is loaded
            _write(_render(shown, args.format), args.output)
            _summary(shown, args.output)
            return 0
    from bot.digest.service import DayOutcome

    progress = progress_display()
    local: LocalView | None = None
    # an error (the LLM or arXiv unusable) is printed as one line by main(): clear the
    # progress line first so it does not share the terminal line with it
    try:
        async with open_core(settings, need_llm=False) as core:
            service = core.service
            await service.use_criteria(
                CONSOLE_CHANNEL, core.criteria_text, changed_by="criteria file"
            )
            options = digest_options(settings)
            day, replaced = args.day, 0
            if day is None:
                progress("fetching arXiv feed", 0, 1)
                ingest = await service.ingest(options.categories)
                day = ingest.day if ingest.announced else None
                replaced = ingest.replaced
            outcome = DayOutcome(digest=None)
            if day is not None and options.budget.share <= 0:
                local = await service.ranked_locally(CONSOLE_CHANNEL, day, options)
                local = replace(local, note=SHARE_ZERO_NOTE) if local is not None else None
            elif day is not None:
                try:
                    built = await service.build(CONSOLE_CHANNEL, day, options, progress, replaced)
                    outcome = DayOutcome(digest=built)
                except LLMKeyMissing:
                    local = await service.ranked_locally(CONSOLE_CHANNEL, day, options)
        progress.finish()
    finally:
        progress.clear()
    if local is not None:
        from adapters.markdown import render_local_json, render_local_markdown

        rendered = (render_local_json if args.format == "json" else render_local_markdown)(local)
        _write(rendered, args.output)
        why = (
            "ARXIV_BOT_LLM_SHARE is 0 (rank locally only; a share above 0 sends the top of "
            "the ranking to the LLM)."
            if local.note == SHARE_ZERO_NOTE
            else "OPENAI_API_KEY is not set (put it in .env to have the LLM score them)."
        )
        print(
            f"arxiv-bot: {local.day}: {local.considered} papers ranked locally, none scored: "
            + why,
            file=sys.stderr,
        )
        return 0
    if outcome.digest is None and args.day is not None:
        print(
            f"arxiv-bot: {args.day} is not in the store: `--day` shows days the bot fetched "
            "(run `arxiv-bot digest` on an announcement day to fetch it).",
            file=sys.stderr,
        )
        return 1
    if outcome.digest is None:
        print("arxiv-bot: no arXiv announcement today (weekend or holiday).", file=sys.stderr)
        return 0
    _write(_render(outcome.digest, args.format), args.output)
    _summary(outcome.digest, args.output)
    return 0


async def stored_day(settings: Settings, day: date) -> Digest | None:
    """A day `digest --day` can show from the store alone: decided under the criteria file as
    it is now, every paper sent to the LLM scored and every candidate enriched. None when a
    build has something left to do; the full build then does it."""
    from bot.digest.stored import StoredDays
    from bot.store import Store

    if isinstance(settings.db, Path) and not settings.db.exists():
        return None
    text = load_criteria(settings.criteria_file)
    async with Store.open(settings.db) as store:
        current = await store.channels.channel_criteria(CONSOLE_CHANNEL)
        if current is None or current[0].text != text:
            return None
        days = StoredDays(store, settings.model, daily_budget_usd=settings.daily_budget_usd)
        options = digest_options(settings)
        return await days.shown(CONSOLE_CHANNEL, day, options, enrich=settings.enrich)


def _render(digest: Digest, form: str) -> str:
    from adapters.markdown import render_json, render_markdown

    return (render_json if form == "json" else render_markdown)(digest)


def _write(rendered: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(rendered)
        sys.stdout.flush()
        return
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text(rendered, encoding="utf-8")
    tmp.replace(output)


def _summary(digest: Digest, output: Path | None) -> None:
    c, run = digest.counts, digest.run_usage
    where = f" → {output}" if output else ""
    print(
        f"arxiv-bot: {digest.day}: {c.announced} announced, {c.considered} considered, "
        f"{c.scored} scored, {c.selected} selected; this run: {run.calls} LLM calls, "
        f"{run.total_tokens} tokens, {format_usd(run.cost_usd, run.priced)}{where}",
        file=sys.stderr,
    )


async def console_command(settings: Settings, args: argparse.Namespace) -> int:
    """Talk to the bot from the terminal: one command per line, as on a chat platform. On a
    terminal the prompt shows at once, before the slow imports and the database; what is typed
    meanwhile waits in the terminal, and today's feed is fetched in the background meanwhile
    (`today` then finds it, or joins the fetch)."""
    interactive = sys.stdin.isatty()
    if interactive:
        print(f"{CONSOLE_BANNER}\n{CONSOLE_LOADING}\n{CONSOLE_PROMPT}", end="", flush=True)
    from adapters.console import ConsoleAdapter

    async with open_core(settings, need_llm=False, limited=False) as core:
        adapter = ConsoleAdapter(
            core.conversation,
            channel_id=args.channel,
            user_id=args.user,
            ask_secret=_ask_secret if interactive else _read_secret_line,
        )
        prefetch = asyncio.create_task(_prefetch_today(core, adapter)) if interactive else None
        try:
            while True:
                line = await asyncio.to_thread(sys.stdin.readline)
                if not line:
                    return 0
                await adapter.line(line)
                if interactive:
                    print(CONSOLE_PROMPT, end="", flush=True)
        finally:
            if prefetch is not None:
                prefetch.cancel()
                await asyncio.gather(prefetch, return_exceptions=True)


async def _ask_secret(prompt: str) -> str:
    """A secret typed at the terminal without echo (`import zotero`'s key)."""
    import getpass

    return str(await asyncio.to_thread(getpass.getpass, prompt))


async def _read_secret_line(prompt: str) -> str:
    """The next line of piped input as a secret (`import zotero`'s key), never echoed."""
    del prompt
    line: str = await asyncio.to_thread(sys.stdin.readline)
    return line.strip()


async def _prefetch_today(core: Core, adapter: ConsoleAdapter) -> None:
    """Fetch and store today's feed for the console's channel while the user types. Quiet: a
    failure here is `today`'s to report, when it is asked for."""
    try:
        s = await core.conversation.channel_settings(adapter.channel_id, adapter.caller.platform)
        await core.service.ingest(s.categories)
    except Exception as exc:  # a prefetch never speaks: `today` reports what went wrong
        log.info("console: fetching today's papers ahead failed: %s", exc)


class ChatAdapter(ChatPlatform, Protocol):
    """A chat platform adapter `arxiv-bot run` starts and stops."""

    async def start(self) -> None:
        """Connect; return once ready."""
        ...

    async def close(self) -> None:
        """Disconnect and release everything."""
        ...


def chat_adapters(
    settings: Settings, conversation: Conversation, store: Store | None = None
) -> list[ChatAdapter]:
    """The adapters whose tokens are set (imported only then: a platform SDK loads only when
    it is used). With a store, Slack's redelivered events are recognised and its posts paced
    across replicas."""
    adapters: list[ChatAdapter] = []
    if settings.slack_bot_token is not None or settings.slack_many_workspaces:
        from adapters.slack import SlackAdapter, bot_pacer

        adapters.append(
            SlackAdapter.from_settings(
                settings,
                conversation,
                store.installations if store is not None else None,
                events=store.work if store is not None else None,
                pacer=bot_pacer(store, settings.posts_per_second),
            )
        )
    if settings.discord_bot_token is not None:
        from adapters.discord import DiscordAdapter

        adapters.append(DiscordAdapter.from_settings(settings, conversation))
    return adapters


AdaptersOf = Callable[["Settings", "Conversation"], list[ChatAdapter]]


def settings_resolver(settings: Settings) -> SettingsOf:
    """A channel's effective settings from its stored overrides."""
    from bot.config.channels import ChannelSettings

    defaults = ChannelSettings.defaults(settings)

    def settings_of(row: ChannelRow) -> ChannelSettings:
        return defaults.with_overrides(row.overrides)

    return settings_of


async def run_bot(
    settings: Settings,
    stop: asyncio.Event | None = None,
    adapters_of: AdaptersOf | None = None,
    retry_in: Callable[[int], float] = start_backoff,
) -> int:
    """The long-running bot: chat adapters, the daily post and the health endpoint, until
    SIGTERM/SIGINT (or `stop`).

    Adapters connect in the background, each at its own pace, while the schedule runs: a
    platform that cannot be reached is tried again after `retry_in(attempt)` seconds (one log
    line per try) and stops no other; one that fails to start otherwise (a refused token) ends
    the run with its error. Whatever the adapters are doing, a stop exits within
    SHUTDOWN_GRACE."""
    from bot.daily.delivery import Delivery, ceiling
    from bot.daily.health import health_app, start_health
    from bot.daily.pacer import StoredPacing
    from bot.daily.runner import DailyRunner
    from bot.daily.scheduler import DailyScheduler

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if not await _store_ready(settings, stop):
        log.info("stopped before the database could be opened")
        return 0
    async with open_core(settings) as core:
        refused = await token_key_refusal(core.store, settings.token_key)
        if refused is not None:  # every Slack request would fail on it: refuse to start
            raise SettingsError(refused)
        adapters = (
            adapters_of(settings, core.conversation)
            if adapters_of is not None
            else chat_adapters(settings, core.conversation, core.store)
        )
        if not adapters:
            raise SettingsError(
                "no chat platform is configured: set SLACK_BOT_TOKEN or SLACK_CLIENT_ID (see "
                "docs/slack.md) "
                "and/or DISCORD_BOT_TOKEN (see docs/discord.md); `arxiv-bot digest` and "
                "`arxiv-bot console` need neither"
            )
        starts = {
            asyncio.create_task(start_until_up(a, retry_in), name=f"start {a.platform}"): a
            for a in adapters
        }
        settings_of = settings_resolver(settings)
        delivery = Delivery(
            core.store,
            {a.platform: a for a in adapters},
            ceiling(settings.posts_per_second, StoredPacing(core.store)),
        )
        runner = DailyRunner(
            core.store,
            core.service,
            delivery,
            settings_of,
            catch_up=timedelta(hours=settings.catch_up_hours),
            fetch_deadline=timedelta(hours=settings.fetch_deadline_hours),
            parallel=settings.channel_concurrency,
            keep_rankings=timedelta(days=settings.keep_rankings_days),
            batch_margin=timedelta(minutes=settings.batch_margin_minutes),
        )
        scheduler = DailyScheduler(runner, core.store, settings_of)
        health: web.AppRunner | None = None
        try:
            if settings.health_port is not None:
                app = health_app(runner, delivery.platforms)
                health = await start_health(app, settings.health_port)
                log.info("health endpoint on port %d: GET /healthz", settings.health_port)
            scheduler.start()
            log.info(
                "arxiv-bot %s running on %s; Ctrl-C or SIGTERM stops it",
                __version__,
                ", ".join(delivery.platforms),
            )
            await _serve_until(stop, starts)
            log.info("stopping: finishing the work in progress")
        finally:
            await _shut_down(scheduler, starts, health)
    log.info("stopped")
    return 0


STORE_RETRY = 5.0  # seconds between attempts to open a database that is locked or down at start


async def _store_ready(settings: Settings, stop: asyncio.Event) -> bool:
    """Wait until the database opens: a lock another process holds, or a server that does not
    answer yet, is waited out (one warning line per attempt, never a traceback) rather than
    ending the run; anything else (not a database, refused credentials) ends it with its
    error. False when `stop` came first."""
    from bot.store import Store, StoreUnavailable

    while not stop.is_set():
        try:
            async with Store.open(settings.db):
                return True
        except StoreUnavailable as exc:
            if not exc.transient:
                raise
            log.warning("%s; trying again in %gs", exc, STORE_RETRY)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), STORE_RETRY)
    return False


async def start_until_up(
    adapter: ChatAdapter,
    retry_in: Callable[[int], float],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Start `adapter`, trying again while its platform cannot be reached: one warning line
    per try, no traceback (the adapter has closed what the failed try opened)."""
    attempt = 0
    while True:
        try:
            await adapter.start()
            return
        except PlatformUnavailable as exc:
            pause = retry_in(attempt)
            log.warning(
                "%s: %s; trying again in %g s (the other platforms keep running)",
                adapter.platform.capitalize(),
                exc,
                pause,
            )
        await sleep(pause)
        attempt += 1


async def _serve_until(stop: asyncio.Event, starts: dict[asyncio.Task[None], ChatAdapter]) -> None:
    """Wait for `stop`, logging each adapter once it is connected; the first adapter whose
    start fails ends the wait with that error."""
    stopping = asyncio.create_task(stop.wait(), name="stop")
    pending: set[asyncio.Task[None]] = set(starts)
    try:
        while pending and not stop.is_set():
            done, _ = await asyncio.wait({*pending, stopping}, return_when=asyncio.FIRST_COMPLETED)
            for task in [t for t in pending if t in done]:
                pending.discard(task)
                task.result()  # a start that failed raises its error here
                log.info("%s adapter connected", starts[task].platform)
        await stopping
    finally:
        stopping.cancel()


async def _shut_down(
    scheduler: DailyScheduler,
    starts: dict[asyncio.Task[None], ChatAdapter],
    health: web.AppRunner | None,
) -> None:
    """Stop everything within SHUTDOWN_GRACE (less what closing the core takes): the tick in
    progress gets most of it, each adapter's close and the health endpoint the rest; a step
    that overruns is left behind, not waited for."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SHUTDOWN_GRACE - EXIT_RESERVE
    for task in starts:
        task.cancel()  # an adapter still connecting stops trying
    await asyncio.wait(starts, timeout=START_CANCEL_WAIT)
    for task in starts:
        if task.done() and not task.cancelled():
            task.exception()  # reported already, or superseded by the first failure
    tick_grace = deadline - CLOSE_RESERVE - loop.time()
    await _bounded("the daily tick", scheduler.shutdown(grace=tick_grace), tick_grace + 1)
    steps = {f"the {a.platform} adapter": a.close() for a in starts.values()}
    if health is not None:
        steps["the health endpoint"] = health.cleanup()
    await _bounded_all(steps, deadline - loop.time())


async def _bounded(what: str, step: Awaitable[None], seconds: float) -> None:
    await _bounded_all({what: step}, seconds)


async def _bounded_all(steps: Mapping[str, Awaitable[None]], seconds: float) -> None:
    """Run shutdown steps side by side for at most `seconds`; one that fails or overruns is
    logged in one line and left behind."""
    tasks = {asyncio.ensure_future(step): what for what, step in steps.items()}
    if not tasks:
        return
    done, late = await asyncio.wait(tasks, timeout=max(seconds, 0.0))
    for task in late:
        task.cancel()
        log.warning("stopping: %s did not finish within %.0f s; left behind", tasks[task], seconds)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            log.warning("stopping: %s failed (%s)", tasks[task], type(error).__name__)


async def token_key_refusal(store: Store, token_key: Secret | None) -> str | None:
    """Why ARXIV_BOT_TOKEN_KEY cannot open the installations kept, or None; the Slack side
    that decrypts them is imported only when a key is set."""
    if token_key is None:
        return None
    from adapters.slack_install import token_key_refused

    return await token_key_refused(store, token_key)


async def status_command(settings: Settings, args: argparse.Namespace) -> int:
    """Each subscribed channel's next post time and last outcome, from the database alone."""
    from bot.daily.status import budget_line, channel_statuses, status_notes
    from bot.store import Store, describe

    if isinstance(settings.db, Path) and not settings.db.exists():
        print(f"No database at {settings.db} yet: the bot has not run here.")
        return 0
    print(f"database: {describe(settings.db)}")
    async with Store.open(settings.db) as store:
        statuses = await channel_statuses(store, settings_resolver(settings), datetime.now(UTC))
        leases = await store.work.leases()
        notes = await status_notes(store, settings_resolver(settings))
        today = datetime.now(UTC).date()
        spent, held = await store.budget.state(today)
        refused = await token_key_refusal(store, settings.token_key)
    if settings.daily_budget_usd is not None:
        print(budget_line(today, settings.daily_budget_usd, spent, held))
    for lease in leases:
        until = datetime.fromtimestamp(lease.expires_at, UTC)
        state = "expired, free to take over" if until < datetime.now(UTC) else "held"
        print(
            f"work {lease.key}: {state} by {lease.owner} "
            f"(until {until.isoformat(timespec='seconds')})"
        )
    for note in notes:  # paused workspaces, weekly posts
        print(note)
    if not statuses:
        print("No subscribed channel: use `/arxiv subscribe` in a channel.")
    for s in statuses:
        zone = ZoneInfo(s.settings.timezone)
        when = s.next_post.astimezone(zone).strftime("%a %Y-%m-%d %H:%M")
        last = f"{s.last_day} {s.last_state}" if s.last_day else "no digest yet"
        line = f"{s.platform}:{s.channel_id}  next post {when} {s.settings.timezone}  last: {last}"
        if s.attempts and s.last_state != "posted":
            line += f" ({s.attempts} failed attempts: {s.last_error})"
        print(line)
    if refused is not None:
        print(f"arxiv-bot: error: {refused}", file=sys.stderr)
        return 1
    return 0


async def migrate_db_command(args: argparse.Namespace) -> int:
    """Copy every table of one database into another, empty one, and verify the counts."""
    from bot.store import describe, parse_database
    from bot.store.copy import copy_database

    source, target = parse_database(args.source), parse_database(args.target)
    if isinstance(source, Path) and not source.exists():
        print(f"arxiv-bot: error: no database at {source}", file=sys.stderr)
        return 1
    print(f"copying {describe(source)} to {describe(target)}")
    for table in await copy_database(source, target, redo=args.redo):
        print(f"{table.table}: {table.source_rows} rows copied, {table.target_rows} in TO: ok")
    return 0


async def forget_workspace_command(settings: Settings, args: argparse.Namespace) -> int:
    """Delete what the bot keeps for a Slack workspace that uninstalled it: its channels'
    criteria, digests, posts, likes, audit log and learning. Refused while it is installed
    (its data would come back with its next command)."""
    from bot.store import Store

    workspace = args.workspace
    if isinstance(settings.db, Path) and not settings.db.exists():
        print(f"No database at {settings.db}: nothing to forget.")
        return 0
    async with Store.open(settings.db) as store:
        if await store.installations.find("slack", workspace) is not None:
            print(
                f"arxiv-bot: error: workspace {workspace} still has the app installed: remove "
                "the app from that workspace first (its data would come back with its next "
                "command)",
                file=sys.stderr,
            )
            return 1
        forgotten = await store.installations.forget("slack", workspace)
    if forgotten.total == 0:
        print(f"Nothing is kept for workspace {workspace}.")
        return 0
    kept = ", ".join(f"{n} {table}" for table, n in forgotten.rows.items() if n)
    print(f"Forgot workspace {workspace}: deleted {kept}. Shared papers and scores stay.")
    return 0


def _workspace(value: str) -> str:
    from bot.store.installations import WORKSPACE_RE

    if not WORKSPACE_RE.match(value):
        raise argparse.ArgumentTypeError(
            f"not a Slack workspace id (T… or E…, capital letters and digits): {value[:40]!r}"
        )
    return value


def _database(value: str) -> str:
    from bot.store import parse_database

    try:
        parse_database(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar."""
    parser = argparse.ArgumentParser(
        prog="arxiv-bot",
        description="Score each day's new arXiv papers against your team's criteria.",
    )
    parser.add_argument("--version", action="version", version=f"arxiv-bot {__version__}")
    parser.add_argument(
        "--env-file",
        type=Path,
        default=Path(".env"),
        help="settings file read under the environment (default: .env)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log the bot's own debug lines to stderr; -vv adds the libraries' (HTTP, SDKs)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    dig = sub.add_parser("digest", help="print today's digest")
    dig.add_argument("--format", choices=("markdown", "json"), default="markdown")
    dig.add_argument("--output", type=Path, help="write the digest to FILE instead of stdout")
    dig.add_argument(
        "--day",
        type=_day,
        help="rebuild a stored announcement day (YYYY-MM-DD) instead of fetching",
    )
    sub.add_parser("run", help="start the long-running bot (chat adapters and the daily post)")
    sub.add_parser("status", help="each channel's next post time and last outcome")
    mig = sub.add_parser(
        "migrate-db",
        help="copy everything from one database to another, empty one (e.g. SQLite to PostgreSQL)",
    )
    mig.add_argument("source", metavar="FROM", type=_database, help="a SQLite path or URL")
    mig.add_argument("target", metavar="TO", type=_database, help="e.g. postgresql://u:p@h/db")
    mig.add_argument(
        "--redo",
        action="store_true",
        help="TO holds a copy that stopped before the end: empty it and copy again",
    )
    forget = sub.add_parser(
        "forget-workspace",
        help="delete the channels' data of a Slack workspace that uninstalled the app",
    )
    forget.add_argument("workspace", metavar="TEAM_ID", type=_workspace, help="e.g. T0123ABCD")
    con = sub.add_parser("console", help="talk to the bot from the terminal (/arxiv commands)")
    con.add_argument("--channel", default=CONSOLE_CHANNEL, help="channel to speak in")
    con.add_argument("--user", default="me", help="who is speaking")
    return parser


OWN_LOGGERS = ("arxiv_bot", "bot", "scoring", "adapters")
LIBRARY_LOGGERS = (
    "openai",
    "httpx",
    "httpx2",
    "aiohttp",
    "slack_sdk",
    "slack_bolt",
    "discord",
    "pylatexenc",
    "apscheduler",
    "asyncio",
)


def library_level(usual: str, verbose: int) -> str:
    """The libraries' log level: DEBUG with -vv, otherwise WARNING at the least (at INFO the
    scheduler logs every job run and httpx every LLM call, which drowns the bot's own lines)."""
    if verbose >= 2:
        return "DEBUG"
    return usual if logging.getLevelName(usual) > logging.WARNING else "WARNING"


def configure_logging(*, own: str, libraries: str) -> None:
    """One format on stderr; the bot's own loggers at `own`, everyone else's (one line per HTTP
    request, the TeX parser's complaints) at `libraries`."""
    logging.basicConfig(
        level=libraries,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(own)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(libraries)


def preload_command(settings: Settings, command: str, *, day_given: bool = False) -> None:
    """Import what `command` will need on its event loop before the loop starts."""
    from bot.preload import modules_for, preload
    from bot.store.url import PostgresURL

    llm = settings.openai_api_key is not None
    driver = "postgresql" if isinstance(settings.db, PostgresURL) else "sqlite"
    preload(modules_for(command, llm=llm, driver=driver, day_given=day_given), llm=llm)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `arxiv-bot` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "migrate-db":
        logging.basicConfig(level="WARNING", stream=sys.stderr)
        try:
            return asyncio.run(migrate_db_command(args))
        except BotError as exc:
            print(f"arxiv-bot: error: {exc}", file=sys.stderr)
            return 1
    from bot.config.settings import load_settings

    try:
        settings = load_settings(args.env_file)
    except SettingsError as exc:
        print(f"arxiv-bot: {exc}", file=sys.stderr)
        return 2
    # `run` logs at ARXIV_BOT_LOG_LEVEL (the scheduler's job lines too); other commands only warn
    usual = settings.log_level if args.command == "run" else "WARNING"
    configure_logging(
        own="DEBUG" if args.verbose else usual, libraries=library_level(usual, args.verbose)
    )
    preload_command(settings, args.command, day_given=getattr(args, "day", None) is not None)
    try:
        if args.command == "digest":
            return asyncio.run(digest_command(settings, args))
        if args.command == "console":
            return asyncio.run(console_command(settings, args))
        if args.command == "status":
            return asyncio.run(status_command(settings, args))
        if args.command == "forget-workspace":
            return asyncio.run(forget_workspace_command(settings, args))
        return asyncio.run(run_bot(settings))
    except BotError as exc:
        print(f"arxiv-bot: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, SettingsError) else 1
    except KeyboardInterrupt:
        print("arxiv-bot: interrupted; everything scored so far is kept.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
