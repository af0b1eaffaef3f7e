"""Installations and OAuth states in the bot's own database, SQLite and PostgreSQL alike: bolt's
installation-store interface on it, states used once, sealed tokens, paused workspaces, the
home workspace's bare channel ids, and `forget` deleting one workspace's channels only."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store import Installation

from adapters.slack_install import (
    StateRefused,
    StoreInstallations,
    StoreStates,
    TokenBox,
    TokenKeyError,
    workspace_key,
)
from adapters.slack_workspaces import ManyWorkspaces, channel_key, split_key
from bot.store import Store, workspace_of
from bot.store.installations import active

KEY = Fernet.generate_key().decode()
TOKEN_A = "xoxb-team-a-token-never-stored-in-clear"


def installation(team: str = "T0AAAA", token: str = TOKEN_A, **extra: Any) -> Installation:
    return Installation(
        app_id="A0ARXIV",
        team_id=team,
        team_name=f"Team {team}",
        bot_token=token,
        bot_id="B1",
        bot_user_id="UBOT",
        bot_scopes="commands,chat:write",
        user_id="U0INSTALLER",
        **extra,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_a_state_is_accepted_once_and_not_after_it_expires(database: str) -> None:
    clock = Clock()
    async with Store.open(database) as store:
        states = StoreStates(store.installations, expiration_seconds=600, clock=clock)
        first, second = await states.async_issue(), await states.async_issue()
        assert first != second
        assert await states.async_consume(first)
        assert not await states.async_consume(first)  # reused
        assert not await states.async_consume("never-issued")
        assert not await states.async_consume("")
        clock.now += 601
        assert not await states.async_consume(second)  # expired


async def test_two_replicas_sharing_the_database_accept_a_state_once(database: str) -> None:
    async with Store.open(database) as one, Store.open(database) as two:
        state = await StoreStates(one.installations).async_issue()
        assert await StoreStates(two.installations).async_consume(state)
        assert not await StoreStates(one.installations).async_consume(state)


async def test_an_installation_is_saved_sealed_and_found_by_its_workspace(database: str) -> None:
    async with Store.open(database) as store:
        installs = StoreInstallations(store.installations, TokenBox(KEY))
        await installs.async_save(installation())
        found = await installs.async_find_installation(enterprise_id=None, team_id="T0AAAA")
        assert found is not None
        assert found.bot_token == TOKEN_A
        assert found.bot_scopes == ["commands", "chat:write"]
        bot = await installs.async_find_bot(enterprise_id=None, team_id="T0AAAA")
        assert bot is not None
        assert bot.bot_token == TOKEN_A
        assert await installs.async_find_bot(enterprise_id=None, team_id="T0OTHER") is None
        row = await store.installations.find("slack", "T0AAAA")
        assert row is not None
        assert TOKEN_A not in row.sealed
        assert TOKEN_A not in repr(row)
        assert "sealed" not in repr(row)
        # installing again replaces the token
        await installs.async_save(installation(token="xoxb-team-a-second-token"))
        again = await installs.async_find_bot(enterprise_id=None, team_id="T0AAAA")
        assert again is not None
        assert again.bot_token == "xoxb-team-a-second-token"
        await installs.async_delete_installation(enterprise_id=None, team_id="T0AAAA")
        assert await installs.async_find_bot(enterprise_id=None, team_id="T0AAAA") is None


async def test_an_org_wide_install_serves_every_team_of_its_organisation(database: str) -> None:
    async with Store.open(database) as store:
        installs = StoreInstallations(store.installations, TokenBox(KEY))
        await installs.async_save(
            installation(team=None, enterprise_id="E0ORG", is_enterprise_install=True)  # type: ignore[arg-type]
        )
        assert await store.installations.workspaces("slack") == ["E0ORG"]
        org = await installs.async_find_bot(
            enterprise_id="E0ORG", team_id=None, is_enterprise_install=True
        )
        assert org is not None
        # a team of the organisation without an install of its own is served by the org's
        team = await installs.async_find_bot(enterprise_id="E0ORG", team_id="T0INORG")
        assert team is not None
        assert team.bot_token == TOKEN_A
    assert workspace_key("E0ORG", "T0INORG", True) == "E0ORG"
    assert workspace_key("E0ORG", "T0INORG", False) == "T0INORG"


async def test_a_changed_key_is_said_plainly_and_an_old_key_after_the_new_still_opens(
    database: str,
) -> None:
    new = Fernet.generate_key().decode()
    async with Store.open(database) as store:
        await StoreInstallations(store.installations, TokenBox(KEY)).async_save(installation())
        with pytest.raises(TokenKeyError, match="ARXIV_BOT_TOKEN_KEY"):
            await StoreInstallations(store.installations, TokenBox(new)).async_find_bot(
                enterprise_id=None, team_id="T0AAAA"
            )
        rotated = StoreInstallations(store.installations, TokenBox(f"{new},{KEY}"))
        found = await rotated.async_find_bot(enterprise_id=None, team_id="T0AAAA")
        assert found is not None
        assert found.bot_token == TOKEN_A
    assert KEY not in repr(TokenBox(KEY))


async def test_a_paused_workspace_leaves_the_daily_post_until_it_installs_again(
    database: str,
) -> None:
    async with Store.open(database) as store:
        installs = StoreInstallations(store.installations, TokenBox(KEY))
        await installs.async_save(installation("T0AAAA"))
        for channel in ("T0AAAA:C1", "T0BBBB:C1", "C0HOME"):
            await store.channels.get(channel, "slack")
            await store.channels.set_subscribed(channel, True)
        assert await store.installations.pause("slack", "T0AAAA", "token_revoked")
        assert not await store.installations.pause("slack", "T0AAAA", "token_revoked")
        assert [r.id for r in await store.channels.subscribed()] == ["C0HOME", "T0BBBB:C1"]
        await installs.async_save(installation("T0AAAA"))
        assert len(await store.channels.subscribed()) == 3
        # the home workspace's channels carry no prefix
        assert await store.installations.note_home("slack", "T0HOME") == "T0HOME"
        assert await store.installations.note_home("slack", "T0LATER") == "T0HOME"
        await store.installations.remove("slack", "T0HOME", "uninstalled")
        assert [r.id for r in await store.channels.subscribed()] == ["T0AAAA:C1", "T0BBBB:C1"]


async def test_forget_deletes_one_workspaces_channels_and_nothing_else(database: str) -> None:
    async with Store.open(database) as store:
        await StoreInstallations(store.installations, TokenBox(KEY)).async_save(installation())
        for channel in ("T0AAAA:C1", "T0AAAA:C2", "T0BBBB:C1"):
            await store.channels.get(channel, "slack")
            await store.channels.record_event(channel, "U1", "subscribe", "")
        await store.installations.remove("slack", "T0AAAA", "uninstalled")
        forgotten = await store.installations.forget("slack", "T0AAAA")
        assert forgotten.rows["channels"] == 2
        assert forgotten.rows["channel_events"] == 2
        assert forgotten.rows["paused_workspaces"] == 1
        assert await store.channels.last_event("T0BBBB:C1", ["subscribe"]) is not None
        assert await store.channels.last_event("T0AAAA:C1", ["subscribe"]) is None
        again = await store.installations.forget("slack", "T0AAAA")
        assert again.total == 0


def test_channel_ids_carry_their_workspace_except_the_home_ones() -> None:
    assert channel_key("T0AAAA", "C1", home=None) == "T0AAAA:C1"
    assert channel_key("T0HOME", "C1", home="T0HOME") == "C1"
    assert channel_key(None, "C1", home=None) == "C1"
    assert split_key("T0AAAA:C1", home="T0HOME") == ("T0AAAA", "C1")
    assert split_key("C1", home="T0HOME") == ("T0HOME", "C1")
    assert split_key("C1", home=None) == (None, "C1")
    assert workspace_of("123456789", None) is None  # a Discord channel: no workspace
    paused = {("slack", "T0AAAA"): "uninstalled"}
    channels = [("slack", "T0AAAA:C1"), ("discord", "T0AAAA"), ("slack", "C1")]
    assert active(channels, paused, {"slack": "T0AAAA"}) == [False, True, False]


async def test_a_channel_of_no_known_workspace_is_refused_plainly(database: str) -> None:
    async with Store.open(database) as store:
        installs = StoreInstallations(store.installations, TokenBox(KEY))
        workspaces = ManyWorkspaces(store.installations, installs, lambda token: None)  # type: ignore[arg-type,return-value]
        from bot.errors import PlatformError

        with pytest.raises(PlatformError, match="no workspace"):
            await workspaces.client_for("C0LEGACY")


def test_many_workspaces_need_their_credentials_and_a_key_and_say_how_to_make_one() -> None:
    from bot.config.settings import Settings
    from bot.errors import SettingsError

    with pytest.raises(SettingsError) as missing:
        Settings.from_env({"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "client-secret-x"})
    message = str(missing.value)
    assert "SLACK_SIGNING_SECRET" in message
    assert "ARXIV_BOT_TOKEN_KEY" in message
    assert "Fernet.generate_key()" in message
    assert "client-secret-x" not in message
    full = {
        "SLACK_CLIENT_ID": "1.2",
        "SLACK_CLIENT_SECRET": "client-secret-x",
        "SLACK_SIGNING_SECRET": "signing-secret-x",
        "ARXIV_BOT_TOKEN_KEY": KEY,
    }
    settings = Settings.from_env(full)
    assert settings.slack_many_workspaces
    for secret in ("client-secret-x", "signing-secret-x", KEY):
        assert secret not in repr(settings)
        assert secret not in str(dataclasses.asdict(settings))
    with pytest.raises(SettingsError, match="not both"):
        Settings.from_env({**full, "SLACK_BOT_TOKEN": "xoxb-1"})
    with pytest.raises(SettingsError, match="unset SLACK_APP_TOKEN"):
        Settings.from_env({**full, "SLACK_APP_TOKEN": "xapp-1"})
    with pytest.raises(SettingsError, match="must be a Fernet key") as bad:
        Settings.from_env({**full, "ARXIV_BOT_TOKEN_KEY": "hunter2-not-a-key"})
    assert "hunter2" not in str(bad.value)
    rotated = Settings.from_env({**full, "ARXIV_BOT_TOKEN_KEY": f"{KEY}, {KEY}"})
    assert rotated.token_key is not None


async def test_live_states_are_capped_across_replicas_until_they_expire(database: str) -> None:
    clock = Clock()
    async with Store.open(database) as one, Store.open(database) as two:
        first = StoreStates(one.installations, 600, clock, per_client=100, live=3)
        second = StoreStates(two.installations, 600, clock, per_client=100, live=3)
        await first.async_issue()
        await second.async_issue()
        await first.async_issue()
        with pytest.raises(StateRefused):
            await second.async_issue()  # three are live in all: the install page says wait
        clock.now += 601
        assert await second.async_issue()  # the expired ones are dropped
