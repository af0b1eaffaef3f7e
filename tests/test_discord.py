"""The Discord adapter on the real discord.py client against a fake Discord REST API and gateway
on 127.0.0.1, with the fake arXiv and OpenAI servers behind the core: login and command sync,
slash commands answered through defer + follow-up, the daily post as a thread of cards, reactions
as likes, a 429 waited out, and a token that never shows."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date
from typing import Any

import discord
import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters import discord_render as render
from adapters.discord import APOLOGY, DiscordAdapter
from bot.__main__ import open_core
from bot.conversation import commands
from bot.conversation.dispatch import Caller, Reply
from bot.errors import PlatformError
from bot.models import Digest
from bot.platform import PARENT
from tests.fakes.discord_server import BOT_ID, CHANNEL_ID, GUILD_ID, USER_ID, FakeDiscord
from tests.fakes.openai_server import FakeOpenAI

DAY = "2025-05-02"
TOKEN = "discord-token-never-shown-5d1e8a"
CHANNEL = str(CHANNEL_ID)
GUILDS_MESSAGES_AND_REACTIONS = 1 | 1 << 9 | 1 << 10  # no message content (1 << 15)
BOOLEAN = 5  # the type of a true/false option of an application command


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(TOKEN) as server:
        yield server


@pytest.fixture
def discord_settings(make_settings: Any, fake: FakeDiscord) -> Callable[..., Any]:
    def build(**extra: str) -> Any:
        env = {
            "DISCORD_BOT_TOKEN": TOKEN,
            "ARXIV_BOT_DISCORD_API_URL": fake.api_url,
            "ARXIV_BOT_DISCORD_GATEWAY_URL": fake.gateway_url,
            "ARXIV_BOT_DISCORD_GUILDS": str(GUILD_ID),
            "ARXIV_BOT_ADMINS": "everyone",
        }
        return make_settings(**{**env, **extra})

    return build


def start_adapter(settings: Any, core: Any) -> DiscordAdapter:
    """The adapter as `arxiv-bot run` builds it; the fake sends its one server right after
    READY, so discord.py need not wait its default 2 s for more."""
    return DiscordAdapter.from_settings(settings, core.conversation, guild_ready_timeout=0.2)


@pytest.fixture
async def bot(core: Any, discord_settings: Callable[..., Any]) -> AsyncIterator[DiscordAdapter]:
    adapter = start_adapter(discord_settings(), core)
    await adapter.start()
    try:
        yield adapter
    finally:
        await adapter.close()


class AdapterLog(logging.Handler):
    """The adapter's log lines as they are written, to wait on the effect of a gateway event
    (which the fake server cannot observe)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self._written = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        self._written.set()

    async def wait_for(self, text: str, count: int = 1, seconds: float = 10.0) -> None:
        async with asyncio.timeout(seconds):
            while sum(text in line for line in self.lines) < count:
                self._written.clear()
                await self._written.wait()


@pytest.fixture
def adapter_log() -> Iterator[AdapterLog]:
    handler = AdapterLog()
    logger = logging.getLogger("adapters.discord")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


async def todays_digest(core: Any) -> Digest:
    """The digest the daily delivery would post to a subscribed channel."""
    caller = Caller("discord", CHANNEL, "scheduler")

    async def ignore(reply: Reply) -> None:
        pass

    await core.conversation.handle(caller, "subscribe", ignore)
    digest: Digest | None = await core.conversation.today_digest(caller)
    assert digest is not None
    assert digest.entries
    return digest


async def daily_post(bot: DiscordAdapter, core: Any, digest: Digest) -> dict[str, str]:
    """What the daily delivery does: parent, then one card per paper, each recorded."""
    ids = {PARENT: await bot.post_parent(CHANNEL, digest)}
    for entry in digest.entries:
        ids[entry.paper.id] = await bot.post_card(CHANNEL, ids[PARENT], digest, entry)
    for slot, message_id in ids.items():
        await core.conversation.record_post(CHANNEL, digest.day, slot, message_id, daily=True)
    return ids


# -- login and command sync --


async def test_login_uses_minimal_intents_and_syncs_commands_only_when_they_change(
    core: Any, fake: FakeDiscord, bot: DiscordAdapter, discord_settings: Callable[..., Any]
) -> None:
    assert fake.identifies[0]["intents"] == GUILDS_MESSAGES_AND_REACTIONS
    assert fake.gateway_queries[0]["v"] == "10"
    assert fake.gateway_queries[0]["encoding"] == "json"
    puts = fake.requests_of("PUT", rf"/applications/{BOT_ID}/guilds/{GUILD_ID}/commands")
    assert len(puts) == 1
    group, *menus = puts[0].body
    assert group["name"] == "arxiv"
    assert [(m["name"], m["type"]) for m in menus] == [
        ("Score for this channel", 3),  # message context-menu commands
        ("Ask about this paper", 3),
    ]
    assert {o["name"] for o in group["options"]} == {
        "today",
        "explain",
        "ask",
        "criteria",
        "settings",
        "likes",
        "follow",
        "following",
        "unfollow",
        "stats",
        "subscribe",
        "unsubscribe",
        "help",
        "search",
        "day",
        "similar",
        "import",
    }
    explain = next(o for o in group["options"] if o["name"] == "explain")
    assert explain["options"][0]["autocomplete"] is True
    assert not fake.requests_of("PUT", rf"/applications/{BOT_ID}/commands")  # guild only

    await bot.close()
    again = start_adapter(discord_settings(), core)
    await again.start()
    try:
        assert len(fake.requests_of("PUT", r"/applications/.*")) == 1  # unchanged: no sync
        assert len(fake.identifies) == 2
    finally:
        await again.close()
    assert Route.BASE == "https://discord.com/api/v10"
    assert str(DiscordWebSocket.DEFAULT_GATEWAY) == "wss://gateway.discord.gg/"


async def test_a_wrong_token_is_a_clear_error_that_never_shows_the_token(
    core: Any, discord_settings: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "discord-wrong-token-also-secret-77"
    adapter = start_adapter(discord_settings(DISCORD_BOT_TOKEN=wrong), core)
    with pytest.raises(PlatformError, match="refused DISCORD_BOT_TOKEN") as info:
        await adapter.start()
    assert wrong not in str(info.value) + repr(adapter) + caplog.text
    assert Route.BASE == "https://discord.com/api/v10"


# -- slash commands --


async def test_a_command_is_deferred_then_answered_privately_in_a_follow_up(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    token = await fake.slash_command("help")
    await fake.wait_for(lambda: any(f["token"] == token for f in fake.followups))
    (defer,) = [c for c in fake.callbacks if c["token"] == token]
    assert defer["type"] == 5  # deferred: "arxiv-bot is thinking…"
    assert defer["data"]["flags"] & 64  # ephemeral: the help is for the one who asked
    (answer,) = [f for f in fake.followups if f["token"] == token]
    assert "/arxiv today" in answer["content"]
    assert answer["allowed_mentions"] == {"parse": []}


async def test_by_default_only_members_who_manage_the_server_or_channel_change_it(
    core: Any, fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    fake.member_permissions = str(1024 | 2048)  # view the channel and send messages only
    token = await fake.slash_command("subscribe")
    await fake.wait_for(lambda: any(f["token"] == token for f in fake.followups))
    (refused,) = [f["content"] for f in fake.followups if f["token"] == token]
    assert refused.startswith(
        "only members with the Manage Server or Manage Channels permission may change this "
        "channel's criteria"
    )
    assert await core.store.channels.subscribed() == []
    fake.member_permissions = str(1 << 4)  # Manage Channels
    token = await fake.slash_command("subscribe")
    await fake.wait_for(lambda: any(f["token"] == token for f in fake.followups))
    assert [c.id for c in await core.store.channels.subscribed()] == [CHANNEL]


async def test_help_on_discord_shows_the_options_discords_command_box_takes(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    token = await fake.slash_command("help")
    await fake.wait_for(lambda: any(f["token"] == token for f in fake.followups))
    text = "\n".join(f["content"] for f in fake.followups if f["token"] == token)
    assert "/arxiv follow kind:author|keyword value:… — " in text
    assert "/arxiv today [repost:True|False] — Today's digest for this channel" in text
    assert (
        "/arxiv criteria [action:list|edit|set|add|remove|show|diff|history|revert|preview]" in text
    )
    assert "criteria set <" not in text  # not the typed grammar, which the box cannot take
    (put,) = fake.requests_of("PUT", rf"/applications/{BOT_ID}/guilds/{GUILD_ID}/commands")
    for sub in put.body[0]["options"]:  # every command Discord shows, and nothing else
        assert f"/arxiv {sub['name']}" in text


async def test_today_posts_a_parent_a_thread_and_one_card_per_paper(
    core: Any, fake: FakeDiscord, bot: DiscordAdapter, adapter_log: AdapterLog
) -> None:
    token = await fake.slash_command("today")
    await fake.wait_for(lambda: len(fake.channels) == 2, seconds=20)
    thread_id = next(i for i in fake.channels if i != CHANNEL_ID)
    digest = await todays_digest(core)
    await fake.wait_for(lambda: len(fake.bot_messages(thread_id)) == len(digest.entries))
    defer = next(c for c in fake.callbacks if c["token"] == token)
    assert not (defer.get("data") or {}).get("flags", 0) & 64  # the digest is for everyone
    parent = next(f for f in fake.followups if f["embeds"])
    assert str(thread_id) == parent["id"]
    assert fake.channels[thread_id]["parent_id"] == CHANNEL
    cards = fake.bot_messages(thread_id)
    assert [c["embeds"][0]["url"] for c in cards] == [e.paper.abs_url for e in digest.entries]
    buttons = cards[0]["components"][0]["components"]
    assert buttons[0]["custom_id"] == f"arxiv:explain:{digest.entries[0].paper.id}"
    assert [b.get("url") for b in buttons[1:]] == [
        digest.entries[0].paper.abs_url,
        digest.entries[0].paper.pdf_url,
    ]

    # a reaction on a card posted for /arxiv today is a like too: the cards were recorded
    await fake.reaction("MESSAGE_REACTION_ADD", thread_id, int(cards[1]["id"]), "👍")
    await adapter_log.wait_for(f"liked arXiv:{digest.entries[1].paper.id}")
    assert len(await core.store.likes.recent(CHANNEL, None, 15)) == 1


async def test_a_channel_ranked_locally_only_sees_the_local_top_on_discord(
    discord_settings: Callable[..., Any], fake: FakeDiscord, day_feed: Any, llm: FakeOpenAI
) -> None:
    settings = discord_settings(ARXIV_BOT_LLM_SHARE="0")
    async with open_core(settings) as core:
        adapter = start_adapter(settings, core)
        await adapter.start()
        try:
            await fake.slash_command("today")
            await fake.wait_for(lambda: len(fake.channels) == 2, seconds=20)  # and its thread
            ranked = await core.store.rankings.ranking(CHANNEL, date(2025, 5, 2))
        finally:
            await adapter.close()
    parent = next(f for f in fake.followups if f["embeds"])
    shown = parent["embeds"][0]["description"]
    assert "**Ranked locally** (best by similarity to the criteria, not scored by an LLM)" in shown
    assert f"](https://arxiv.org/abs/{ranked[0].paper_id}) — local rank 1 · similarity" in shown
    assert "local rank 15 · similarity" in shown
    assert "No paper met the thresholds today." not in shown
    assert llm.requests == []


async def test_buttons_and_reactions_on_a_digest_posted_before_a_restart_still_work(
    core: Any,
    fake: FakeDiscord,
    bot: DiscordAdapter,
    discord_settings: Callable[..., Any],
    adapter_log: AdapterLog,
) -> None:
    digest = await todays_digest(core)
    ids = await daily_post(bot, core, digest)
    paper_id = digest.entries[0].paper.id
    await bot.close()
    restarted = start_adapter(discord_settings(), core)
    await restarted.start()
    try:
        token = await fake.interaction(
            3,
            {"custom_id": f"arxiv:explain:{paper_id}", "component_type": 2},
            channel_id=int(ids[PARENT]),
            message=fake.bot_messages(int(ids[PARENT]))[0],
        )
        await fake.wait_for(lambda: any(f["token"] == token for f in fake.followups))
        # the thread is not in the new client's cache: its channel is looked up over REST
        await fake.reaction("MESSAGE_REACTION_ADD", int(ids[PARENT]), int(ids[paper_id]), "👍")
        await adapter_log.wait_for(f"liked arXiv:{paper_id} in {CHANNEL}")
    finally:
        await restarted.close()
    assert fake.requests_of("GET", rf"/channels/{ids[PARENT]}")
    answer = next(f for f in fake.followups if f["token"] == token)
    assert f"(arXiv:{paper_id})" in answer["content"]
    assert answer["flags"] & 64


# -- the daily post through the platform contract --


async def test_daily_post_is_a_parent_a_thread_and_cards_that_recover_finds(
    core: Any, fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    digest = await todays_digest(core)
    ids = await daily_post(bot, core, digest)
    parent_id = int(ids[PARENT])
    assert [m["id"] for m in fake.bot_messages(CHANNEL_ID)] == [ids[PARENT]]
    assert len(fake.requests_of("POST", rf"/channels/{CHANNEL_ID}/messages/\d+/threads")) == 1
    assert fake.channels[parent_id]["name"] == f"arXiv {DAY} · {len(digest.entries)} papers"
    cards = fake.bot_messages(parent_id)
    assert [c["id"] for c in cards] == [ids[e.paper.id] for e in digest.entries]
    assert {(r[1], r[2]) for r in fake.reactions} >= {(int(c["id"]), "👍") for c in cards}

    assert await bot.recover(CHANNEL, digest.day, None) == ids
    assert await bot.recover(CHANNEL, digest.day, ids[PARENT]) == ids
    assert await bot.recover(CHANNEL, date(2025, 5, 5), None) == {}


async def test_a_card_after_a_crash_before_the_thread_starts_the_thread(
    core: Any, fake: FakeDiscord, bot: DiscordAdapter, discord_settings: Callable[..., Any]
) -> None:
    digest = await todays_digest(core)
    parent_id = await bot.post_parent(CHANNEL, digest)
    assert await bot.recover(CHANNEL, digest.day, None) == {PARENT: parent_id}
    await bot.close()
    restarted = start_adapter(discord_settings(), core)
    await restarted.start()
    try:
        first = digest.entries[0]
        card_id = await restarted.post_card(CHANNEL, parent_id, digest, first)
    finally:
        await restarted.close()
    assert [m["id"] for m in fake.bot_messages(int(parent_id))] == [card_id]


async def test_refusals_and_missing_channels_are_platform_errors(bot: DiscordAdapter) -> None:
    with pytest.raises(PlatformError, match="Discord refused to post a notice"):
        await bot.post_notice("999", "hello")


async def test_a_rate_limited_post_is_waited_out_and_posted_once(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    fake.rate_limit_next("POST", rf"/channels/{CHANNEL_ID}/messages", retry_after=0.2)
    message_id = await bot.post_notice(CHANNEL, "arXiv did not announce anything today @everyone")
    assert len(fake.requests_of("POST", rf"/channels/{CHANNEL_ID}/messages")) == 2
    (posted,) = fake.bot_messages(CHANNEL_ID)
    assert posted["id"] == message_id
    assert "@everyone" not in posted["content"]
    assert posted["allowed_mentions"] == {"parse": []}


# -- reactions --


async def test_reactions_on_a_card_like_and_unlike_and_the_bots_own_do_not_count(
    core: Any, fake: FakeDiscord, bot: DiscordAdapter, adapter_log: AdapterLog
) -> None:
    digest = await todays_digest(core)
    ids = await daily_post(bot, core, digest)
    paper_id = digest.entries[2].paper.id
    thread, card = int(ids[PARENT]), int(ids[paper_id])
    await fake.reaction("MESSAGE_REACTION_ADD", thread, card, "👍", user_id=BOT_ID)
    await fake.reaction("MESSAGE_REACTION_ADD", thread, card, "👍", user_id=USER_ID)
    await adapter_log.wait_for(f"{USER_ID} liked arXiv:{paper_id}")
    (like,) = await core.store.likes.recent(CHANNEL, None, 15)
    assert like.paper.id == paper_id
    await fake.reaction("MESSAGE_REACTION_REMOVE", thread, card, "👍", user_id=USER_ID)
    await adapter_log.wait_for(f"{USER_ID} unliked arXiv:{paper_id}")
    assert await core.store.likes.recent(CHANNEL, None, 15) == []  # the bot's own never counted


# -- the one error path --


class Exploding:
    """A conversation whose every command fails with a bug."""

    async def handle(self, caller: Caller, text: str, respond: Callable[[Reply], Any]) -> None:
        raise RuntimeError("a bug in a command")


async def test_a_failing_command_apologises_and_logs_the_traceback_without_the_token(
    fake: FakeDiscord, bot: DiscordAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bot._conversation = Exploding()  # type: ignore[assignment]
    token = await fake.slash_command("stats")
    await fake.wait_for(lambda: any(f["token"] == token for f in fake.followups))
    answer = next(f for f in fake.followups if f["token"] == token)
    assert answer["content"] == APOLOGY
    assert "RuntimeError: a bug in a command" in caplog.text
    assert "Traceback" in caplog.text
    assert TOKEN not in caplog.text


# -- the criteria form and autocomplete --


def _text_inputs(component: Any) -> list[dict[str, Any]]:
    """Every text input of a modal payload, however deeply it is nested."""
    if isinstance(component, list):
        return [found for c in component for found in _text_inputs(c)]
    if not isinstance(component, dict):
        return []
    own = [component] if component.get("type") == 4 else []
    return (
        own + _text_inputs(component.get("components")) + _text_inputs(component.get("component"))
    )


async def test_criteria_edit_opens_a_form_whose_text_becomes_the_criteria(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    token = await fake.slash_command("criteria", [{"name": "action", "type": 3, "value": "edit"}])
    await fake.wait_for(lambda: any(c["token"] == token for c in fake.callbacks))
    (modal,) = [c for c in fake.callbacks if c["token"] == token]
    assert modal["type"] == 9  # a modal, the only answer that cannot be deferred
    (text_input,) = _text_inputs(modal["data"]["components"])
    submitted = {**text_input, "value": "Sparse experts.\nModel compression."}
    components = [
        {"type": 18, "component": submitted}
        if "component" in row
        else {"type": 1, "components": [submitted]}
        for row in modal["data"]["components"]
    ]
    submit = await fake.interaction(
        5, {"custom_id": modal["data"]["custom_id"], "components": components}
    )
    await fake.wait_for(lambda: any(f["token"] == submit for f in fake.followups))
    answer = next(f for f in fake.followups if f["token"] == submit)
    assert "Criteria updated to version 2" in answer["content"]


async def test_explain_autocompletes_the_papers_of_the_latest_digest(
    core: Any, fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    digest = await todays_digest(core)
    await daily_post(bot, core, digest)
    wanted = digest.entries[0].paper
    typed = {"type": 3, "name": "paper", "value": wanted.id[-4:], "focused": True}
    token = await fake.slash_command("explain", [typed], type_=4)
    await fake.wait_for(lambda: any(c["token"] == token for c in fake.callbacks))
    (answer,) = [c for c in fake.callbacks if c["token"] == token]
    assert answer["type"] == 8
    first = answer["data"]["choices"][0]
    assert first["value"] == wanted.id
    assert first["name"].startswith("1. ")
    assert len(first["name"]) <= 100


def invocations(sub: dict[str, Any], example: str) -> Iterator[dict[str, object]]:
    """Every way to fill a synced subcommand's options: each choice or boolean, and for text
    options each tail or word of `example`."""
    words = example.split()
    texts = {" ".join(words[i:]) for i in range(1, len(words))} | set(words[1:])
    per_option: list[list[tuple[str, object]]] = []
    for option in sub.get("options", []):
        values: list[object]
        if option.get("choices"):
            values = [c["value"] for c in option["choices"]]
        elif option["type"] == BOOLEAN:
            values = [True, False]
        else:
            values = [*sorted(texts)]
        if not option.get("required"):
            values.append(None)
        per_option.append([(option["name"], v) for v in values])
    for combo in itertools.product(*per_option):
        yield {name: value for name, value in combo if value is not None}


@pytest.mark.parametrize("spec", commands.COMMANDS, ids=lambda s: s.name)
async def test_every_command_of_the_grammar_can_be_run_from_discords_command_tree(
    fake: FakeDiscord, bot: DiscordAdapter, spec: commands.CommandSpec
) -> None:
    """What Discord was given to show users reaches every command and every help example."""
    (put,) = fake.requests_of("PUT", rf"/applications/{BOT_ID}/guilds/{GUILD_ID}/commands")
    subcommands = {o["name"]: o for o in put.body[0]["options"]}
    chat_input = discord.AppCommandType.chat_input  # the context menus are the other commands
    (group,) = bot.client.tree.get_commands(type=chat_input)  # type: ignore[attr-defined]
    local = {c.name for c in group.commands}
    assert spec.name.split()[0] in subcommands.keys() & local
    for example in spec.examples:
        sub = subcommands[example.split()[0]]
        reachable = {render.command_text(sub["name"], o) for o in invocations(sub, example)}
        assert example in reachable, f"Discord cannot send `{example}`"
