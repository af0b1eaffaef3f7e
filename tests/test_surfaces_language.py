"""Slack's and Discord's own surfaces in the reader's language, through the real slack_bolt,
slack_sdk and discord.py clients against the fakes: a German channel's criteria form, its
answer to a submitted form and its link unfurls are German; the Home tab follows the person's
Slack locale (German for de-DE, English for ja-JP, which no catalog has), not the channel's;
Discord's settings form in a German channel is German, and its message commands carry German
and Chinese names."""

from __future__ import annotations

import json
from typing import Any

from adapters.discord import DiscordAdapter
from adapters.discord_forms import LABEL_CHARS
from adapters.discord_papers import ASK_MENU, SCORE_MENU
from adapters.slack import SlackAdapter
from bot.conversation.dispatch import Caller, Reply
from tests.fakes.discord_server import BOT_ID, CHANNEL_ID, GUILD_ID, FakeDiscord
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack_server import (
    FakeSlack,
    action_form,
    home_opened_event,
    link_shared_event,
    unfurl_action,
    view_submission,
)
from tests.fakes.synth import load_eval_day
from tests.test_discord import CHANNEL as DISCORD_CHANNEL
from tests.test_discord import (  # noqa: F401  (fixtures)
    adapter_log,
    bot,
    discord_settings,
    fake,
)
from tests.test_slack import (  # noqa: F401  (fixtures)
    CHANNEL,
    DAY,
    adapter,
    command,
    core,
    event,
    fake_time,
    post_today,
    send,
    slack,
)
from tests.test_slack_views import all_text, inputs, interact, opened

# the adapters on the fakes, as tests/test_slack.py and tests/test_discord.py build them


async def _ignore(_: Reply) -> None:
    return None


async def speak(core: Any, language: str, platform: str = "slack", channel: str = CHANNEL) -> None:
    """The channel chooses its language, as `/arxiv settings language <code>` does."""
    caller = Caller(platform, channel, "U0ADMIN")
    await core.conversation.handle(caller, f"settings language {language}", _ignore)


async def test_a_german_channels_criteria_form_and_the_answer_to_it_are_german(
    adapter: SlackAdapter, slack: FakeSlack, core: Any
) -> None:
    await speak(core, "de")
    assert await command(adapter, slack, "criteria edit") == 200
    shown = await opened(slack)
    assert shown.view["title"]["text"] == "Kriterien bearbeiten"
    assert (shown.view["submit"]["text"], shown.view["close"]["text"]) == ("Speichern", "Abbrechen")
    text = all_text(shown.view)
    assert "Version 1 der Kriterien dieses Kanals" in text
    assert "Höchstens 20.000 Zeichen insgesamt" in text  # the number as German writes it
    assert "Kriterien, Teil 1 von" in text

    parts = dict.fromkeys(inputs(shown.view), "")
    parts["criteria_0"] = "Sparse mixture-of-experts routing."
    assert await interact(adapter, view_submission(shown, parts)) == (200, "")
    await slack.wait_until(lambda: bool(slack.channel_messages(CHANNEL)))
    (said,) = slack.channel_messages(CHANNEL)
    assert "Kriterien von U0ALICE auf Version 2 aktualisiert" in said.text


async def test_a_german_channels_settings_form_refuses_in_german_on_the_field(
    adapter: SlackAdapter, slack: FakeSlack, core: Any
) -> None:
    await speak(core, "de")
    assert await command(adapter, slack, "settings edit") == 200
    shown = await opened(slack)
    assert shown.view["title"]["text"] == "Kanaleinstellungen"
    labels = [b["label"]["text"] for b in shown.view["blocks"] if b["type"] == "input"]
    assert "Schwellen: Relevanz, dann Neuheit (1–10)" in labels
    status, body = await interact(adapter, view_submission(shown, {"setting_thresholds": "9 x"}))
    assert status == 200
    refused = json.loads(body)["errors"]["setting_thresholds"]
    assert refused.startswith("gib zwei ganze Zahlen von 1 bis 10 an")


async def test_an_unfurl_in_a_german_channel_is_german(
    adapter: SlackAdapter, slack: FakeSlack, core: Any
) -> None:
    await speak(core, "de")
    paper_id = load_eval_day(DAY)[0]["id"]
    url = f"https://arxiv.org/abs/{paper_id}"
    assert await event(adapter, link_shared_event([url], "1700000999.000100")) == 200
    await slack.wait_until(lambda: len(slack.unfurled) == 1, within=10)
    text = slack.unfurled[0].text()
    assert "Für diesen Kanal (Kriterien Version 1): Relevanz *" in text
    assert "· Neuheit *" in text
    (unfurl,) = slack.unfurled[0].unfurls.values()
    buttons = [
        e["text"]["text"] for b in unfurl["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons == ["Erklären", "Fragen"]
    assert "For this channel" not in text


async def test_an_unfurl_without_a_channel_language_is_english_but_its_explain_follows_the_reader(
    adapter: SlackAdapter, slack: FakeSlack
) -> None:
    slack.user_locales["U0ALICE"] = "de-DE"
    paper_id = load_eval_day(DAY)[0]["id"]
    ts = "1700000999.000100"
    assert await event(adapter, link_shared_event([f"https://arxiv.org/abs/{paper_id}"], ts)) == 200
    await slack.wait_until(lambda: len(slack.unfurled) == 1, within=10)
    assert "For this channel (criteria version 1): relevance *" in slack.unfurled[0].text()

    click = unfurl_action("arxiv_unfurl_explain", paper_id, ts)
    assert (await send(adapter, action_form(click))).status == 200
    await slack.wait_until(lambda: bool(slack.ephemeral()), within=10)
    (explained,) = slack.ephemeral()
    assert f"(arXiv:{paper_id}) — Relevanz" in explained.text  # private: the reader's language


async def test_the_home_tab_follows_the_persons_slack_locale_not_the_channels(
    adapter: SlackAdapter, slack: FakeSlack, core: Any
) -> None:
    slack.user_locales |= {"U0ALICE": "de-DE", "U0BOB": "ja-JP"}  # asked once, then kept
    await post_today(adapter, slack)
    await speak(core, "zh_CN")  # the channel's language is not the page's
    assert await event(adapter, home_opened_event("U0ALICE")) == 200
    assert await event(adapter, home_opened_event("U0BOB", event_id="EvHome2")) == 200
    await slack.wait_until(lambda: len(slack.views_of("views.publish")) == 2)
    pages = {v.user_id: all_text(v.view) for v in slack.views_of("views.publish")}

    german = pages["U0ALICE"]
    assert "arXiv-Paper für deine Kanäle" in german
    assert "*Top-Paper vom 02.05.2025* (12 ausgewählt)" in german
    assert "Relevanz ≥ 8, Neuheit ≥ 7" in german
    assert "Kriterien bearbeiten" in german
    assert "Deine Likes" in german

    english = pages["U0BOB"]  # no catalog has Japanese: English, numbers and dates too
    assert "arXiv papers for your channels" in english
    assert "*Top papers of May 2, 2025* (12 selected)" in english
    assert "Your likes" in english
    assert not any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in english)
    asked = [c for c in slack.calls if c.method == "users.info" and c.args.get("include_locale")]
    assert sorted(str(c.args["user"]) for c in asked) == ["U0ALICE", "U0BOB"]


async def test_a_german_channels_settings_form_on_discord_is_german(
    core: Any, fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    await speak(core, "de", "discord", DISCORD_CHANNEL)
    token = await fake.slash_command("settings", [{"name": "action", "type": 3, "value": "edit"}])
    await fake.wait_for(lambda: any(c["token"] == token for c in fake.callbacks))
    (modal,) = [c for c in fake.callbacks if c["token"] == token]
    assert modal["data"]["title"] == "Einstellungen dieses Kanals"
    shown = json.dumps(modal["data"]["components"], ensure_ascii=False)
    assert "Tägliche Post: Uhrzeit und Zeitzone" in shown
    assert "z. B. 08:30 Europe/Berlin" in shown
    labels = [i["label"] for i in _inputs(modal["data"]["components"])]
    assert len(labels) == 5
    assert all(len(label) <= LABEL_CHARS and "…" not in label for label in labels)  # none cut


def _inputs(component: Any) -> list[dict[str, Any]]:
    if isinstance(component, dict):
        found = [component] if component.get("type") == 4 else []
        return found + [i for v in component.values() for i in _inputs(v)]
    if isinstance(component, list):
        return [i for item in component for i in _inputs(item)]
    return []


async def test_discords_message_commands_have_german_and_chinese_names(
    fake: FakeDiscord, bot: DiscordAdapter
) -> None:
    (put,) = fake.requests_of("PUT", rf"/applications/{BOT_ID}/guilds/{GUILD_ID}/commands")
    _group, score, ask = put.body
    assert score["name"] == "Score for this channel"  # the name stays, translated alongside
    assert score["name_localizations"]["de"] == "Für diesen Kanal bewerten"
    assert ask["name_localizations"]["zh-CN"] == "询问这篇论文"
    names = [n for menu in (score, ask) for n in menu["name_localizations"].values()]
    assert all(1 <= len(n) <= 32 for n in names)  # what Discord accepts for a command name


async def test_a_german_channels_score_answer_and_ask_form_on_discord_are_german(
    core: Any,
    fake: FakeDiscord,
    bot: DiscordAdapter,
    llm: FakeOpenAI,
    day_feed: list[dict[str, Any]],
) -> None:
    """In a `de` channel, "Score for this channel" answers with German scores around the
    paper's own title, "Ask about this paper" opens a German form, and a message without a
    paper is told so in German."""
    await speak(core, "de", "discord", DISCORD_CHANNEL)
    paper = day_feed[0]
    message = await fake.user_message(
        CHANNEL_ID, f"https://arxiv.org/abs/{paper['id']}", mentions_bot=False
    )
    token = await fake.message_command(SCORE_MENU, message)
    await fake.wait_for(lambda: any(f["token"] == token for f in fake.followups), seconds=20)
    (answer,) = [f for f in fake.followups if f["token"] == token]
    assert "Relevanz **" in answer["content"]
    assert "für diesen Kanal (Kriterien-Version 1):" in answer["content"]
    assert "Relevance" not in answer["content"]
    assert "novelty" not in answer["content"]
    assert f"(arXiv:{paper['id']})" in answer["content"]

    asked = await fake.message_command(ASK_MENU, message)
    await fake.wait_for(lambda: any(c["token"] == asked for c in fake.callbacks))
    (form,) = [c for c in fake.callbacks if c["token"] == asked]
    assert form["data"]["title"] == "Zu diesem Paper fragen"
    (field,) = _inputs(form["data"]["components"])
    assert field["label"] == "Deine Frage (leer: eine Zusammenfassung)"

    plain = await fake.user_message(CHANNEL_ID, "Mittagessen?", mentions_bot=False)
    none = await fake.message_command(ASK_MENU, plain)
    await fake.wait_for(lambda: any(c["token"] == none for c in fake.callbacks))
    (said,) = [c for c in fake.callbacks if c["token"] == none]
    assert said["data"]["content"].startswith("Diese Nachricht verlinkt kein arXiv-Paper")
