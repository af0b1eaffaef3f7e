"""The settings form: each field shows the current value as the grammar writes it, a form left
as it was changes nothing, what was changed is read as its command reads it, and every field's
problem is reported at once before anything changes."""

from __future__ import annotations

from datetime import time

import pytest

from bot.config.channels import ChannelSettings
from bot.config.settings_form import (
    SETTINGS_FIELDS,
    FormErrors,
    form_change,
    form_values,
    thresholds_change,
)
from bot.models import Thresholds

CURRENT = ChannelSettings(("cs.LG", "cs.AI"), Thresholds(8, 7), False, time(8, 30), "UTC")


def test_the_form_shows_each_setting_as_the_grammar_writes_it() -> None:
    assert form_values(CURRENT) == {
        "time": "08:30 UTC",
        "thresholds": "8 7",
        "categories": "cs.LG, cs.AI",
        "cross_lists": "off",
        "llm_share": "30% $none",
        "learning": "on",
        "weekly": "off",
    }
    assert {f.name for f in SETTINGS_FIELDS} == set(form_values(CURRENT))


def test_a_form_left_as_it_was_changes_nothing() -> None:
    assert form_change(form_values(CURRENT), CURRENT) == {}
    assert form_change({"categories": " CS.lg,  cs.ai "}, CURRENT) == {}


def test_changed_fields_are_read_as_their_commands_read_them() -> None:
    change = form_change(
        {
            **form_values(CURRENT),
            "time": "09:15 Europe/Berlin",
            "llm_share": "20% $0.05",
            "weekly": "friday 16:00",
            "cross_lists": "on",
        },
        CURRENT,
    )
    assert change == {
        "post_time": "09:15",
        "timezone": "Europe/Berlin",
        "llm_share": 0.2,
        "llm_dollars": 0.05,
        "weekly_day": 4,
        "weekly_time": "16:00",
        "weekly_kept_day": None,
        "cross_lists": True,
    }
    assert thresholds_change("relevance 9 novelty 6") == {"relevance": 9, "novelty": 6}


def test_every_bad_field_is_named_and_nothing_is_read_from_the_others() -> None:
    with pytest.raises(FormErrors) as refused:
        form_change({"time": "25:00", "thresholds": "9", "categories": ""}, CURRENT)
    assert set(refused.value.errors) == {"time", "thresholds", "categories"}
    assert "24-hour time" in refused.value.errors["time"]
    assert "two whole numbers from 1 to 10" in refused.value.errors["thresholds"]
    assert "cannot be empty" in refused.value.errors["categories"]
