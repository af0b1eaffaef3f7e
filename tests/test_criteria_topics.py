"""Criteria as a team manages them: numbered topics (the ones the ranking matches papers
against), any version shown or compared, and a history that says what each version changed."""

from __future__ import annotations

import re
from typing import Any

from adapters.console import ConsoleAdapter
from bot.config.channels import ChannelSettings
from bot.conversation.criteria_topics import topics
from bot.conversation.dispatch import Conversation, ConversationConfig
from scoring.criteria import default_criteria_text
from scoring.explain import Explainer
from scoring.pricing import PriceTable
from scoring.ranking import criteria_topics
from tests.test_conversation import Session, session


def test_the_numbered_topics_are_the_rankings_topics_without_section_headings() -> None:
    text = default_criteria_text()
    assert [t.text for t in topics(text)] == list(criteria_topics(text).wanted)


async def test_the_first_numbered_topic_is_the_first_listed_and_the_preamble_is_context(
    core: Any,
) -> None:
    s = session(core)
    lines = (await s.say("criteria")).splitlines()
    assert lines[0].startswith("Criteria version 1, 7 topics")
    assert lines[1].startswith("(context) Use the following relevance criteria")
    assert lines[2].startswith("1. Representation Learning - Relevant: Insights")
    assert lines[-1].startswith("7. Relevant: Mixture of Experts")
    await s.say("criteria remove 1")
    shown = await s.say("criteria")
    assert "Representation Learning - " not in shown
    assert "\n1. Model Architecture" in shown
    assert "(context) Use the following relevance criteria" in shown


async def test_criteria_of_one_topic_say_one_topic(core: Any) -> None:
    s = session(core)
    await s.say("criteria set Sparse mixture-of-experts models.")
    assert (await s.say("criteria")).startswith("Criteria version 2, 1 topic (")


async def test_criteria_numbers_the_six_default_topics_in_at_most_twelve_lines(core: Any) -> None:
    shown = await session(core).say("criteria")
    numbered = [line for line in shown.splitlines() if re.match(r"^\d+\. ", line)]
    assert len(numbered) <= 12
    for topic in ("Representation Learning", "Model Architecture", "Model Compression",
                  "Large Language Models", "AI for Science", "Emerging Trends"):  # fmt: skip
        assert any(topic in line for line in numbered), topic


async def test_criteria_remove_removes_a_topic_and_history_says_which(core: Any) -> None:
    s = session(core)
    await s.say("criteria remove 2")
    assert "Model Architecture" not in await s.say("criteria")
    await s.say("criteria add Diffusion models for protein design")
    shown = await s.say("criteria")
    assert "Diffusion models for protein design" in shown
    history = (await s.say("criteria history")).splitlines()
    assert history[1].startswith("v3")
    assert "+1 topic: Diffusion models for protein design" in history[1]
    assert history[2].startswith("v2")
    assert "−1 topic: Model Architecture" in history[2]
    assert history[3].startswith("v1")
    assert "first version: 7 topics" in history[3]
    await s.say("criteria set Sparse mixture-of-experts and model compression.")
    await s.say("criteria revert 1")
    history = (await s.say("criteria history")).splitlines()
    assert "same as v1" in history[1]
    assert "rewritten" in history[2]


async def test_criteria_show_prints_an_old_versions_text(core: Any) -> None:
    s = session(core)
    await s.say("criteria set Sparse models only.")
    out = await s.say("criteria show 1")
    assert out.startswith("Criteria version 1 (now 2):")
    assert "Scoring Criteria" in out
    assert "Representation Learning" in out
    assert "there is no criteria version '9'" in await s.say("criteria show 9")


async def test_criteria_diff_is_a_clipped_unified_diff(core: Any) -> None:
    s = session(core)
    await s.say("criteria remove 1")
    out = await s.say("criteria diff 1 2")
    assert out.startswith("Version 1 → 2: −1 topic: Representation Learning")
    assert "--- version 1" in out
    assert "+++ version 2" in out
    assert "-1. Representation Learning" in out
    await s.say("criteria set Something else entirely, with one topic.")
    long = await s.say("criteria diff 1 3")
    assert "more lines" in long
    assert "give two versions" in await s.say("criteria diff 1")


async def test_a_preview_cheaper_than_the_confirmation_amount_runs_at_once(
    core: Any, make_settings: Any
) -> None:
    config = ConversationConfig(
        ChannelSettings.defaults(make_settings()),
        default_criteria_text(),
        frozenset(),
        frozenset({"👍"}),
        preview_confirm_usd=1.0,
    )
    explainer = Explainer(None, make_settings().model, PriceTable())
    generous = Conversation(core.store, core.service, explainer, config)
    s = Session(ConsoleAdapter(generous, channel_id="team-a", user_id="alice"))
    await s.say("today")
    await s.say("criteria set Reinforcement learning for robots.")
    out = await s.say("criteria preview")
    assert "Re-scoring May 2, 2025 under criteria version 2 (206 papers" in out
    assert "about $0." in out
    assert "the digest of May 2, 2025 would" in out
    assert "say `/arxiv criteria preview` or" in await s.say("criteria preview please")
