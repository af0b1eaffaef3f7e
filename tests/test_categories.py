"""arXiv categories: a channel or the bot can only read categories arXiv has; a typo is refused
with the closest real one and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest

from bot.arxiv.categories import CATEGORIES, canonical, check_categories
from bot.config.settings import Settings
from bot.errors import SettingsError
from tests.test_conversation import session


def test_the_shipped_taxonomy_has_every_archive() -> None:
    archives = {c.split(".")[0] for c in CATEGORIES}
    assert {
        "cs", "math", "physics", "astro-ph", "cond-mat", "q-bio", "q-fin", "stat", "eess",
        "econ", "nlin", "hep-th", "hep-ph", "hep-ex", "hep-lat", "nucl-th", "nucl-ex",
        "gr-qc", "quant-ph", "math-ph",
    } <= archives  # fmt: skip
    assert {"cs.LG", "cs.CL", "stat.ML", "cond-mat.stat-mech", "astro-ph.CO"} <= CATEGORIES


def test_categories_are_spelled_as_arxiv_spells_them() -> None:
    assert check_categories(["cs.lg", "CS.CL", "cs.LG", "math"]) == ("cs.LG", "cs.CL", "math")
    assert canonical("cs.FOO") is None


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [("cs.LGG", "cs.LG"), ("mat.CO", "math.CO"), ("stat.MLL", "stat.ML"), ("hep-tx", "hep-th")],
)
def test_an_unknown_category_names_the_closest(typed: str, suggested: str) -> None:
    with pytest.raises(ValueError, match=f"did you mean {suggested}"):
        check_categories([typed])


def test_the_bots_categories_setting_refuses_an_unknown_category() -> None:
    with pytest.raises(SettingsError, match=r"cs\.FOO"):
        Settings.from_env({"ARXIV_BOT_CATEGORIES": "cs.LG,cs.FOO"})
    assert Settings.from_env({"ARXIV_BOT_CATEGORIES": "cs.lg"}).categories == ("cs.LG",)


async def test_settings_categories_cs_foo_leaves_the_categories_unchanged(core: Any) -> None:
    s = session(core)
    before = await s.say("settings")
    out = await s.say("settings categories cs.FOO")
    assert "not an arXiv category" in out
    assert "did you mean" in out
    assert "unchanged" in out
    assert await s.say("settings") == before
    assert "categories: cs.CL, cs.LG" in await s.say("settings categories cs.cl, cs.LG")
