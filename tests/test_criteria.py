"""Criteria files: the default, a custom file, and every way a file can be unusable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import CriteriaError
from scoring.criteria import MAX_CRITERIA_CHARS, load_criteria


def test_default_criteria_are_the_reference_topics_and_rubric() -> None:
    text = load_criteria(None)
    assert "Mixture-of-Experts (MoE)" in text
    assert "Relevance 9-10" in text
    assert "Novelty 1-2" in text


def test_custom_file_is_used_as_is(tmp_path: Path) -> None:
    f = tmp_path / "c.md"
    f.write_text("\ufeffGraph neural networks.\n\n", encoding="utf-8")
    assert load_criteria(f) == "Graph neural networks.\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"   \n\t\n", "empty"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
        (("x" * (MAX_CRITERIA_CHARS + 1)).encode(), "the limit is 20,000"),
    ],
)
def test_unusable_files_get_one_clear_message(tmp_path: Path, content: bytes, message: str) -> None:
    f = tmp_path / "c.md"
    f.write_bytes(content)
    with pytest.raises(CriteriaError, match=message) as info:
        load_criteria(f)
    assert str(f) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CriteriaError, match="not found"):
        load_criteria(tmp_path / "nope.md")


def test_control_characters_are_removed(tmp_path: Path) -> None:
    f = tmp_path / "c.md"
    f.write_text("Sparse\x00 models\x1b[31m\n")
    assert load_criteria(f) == "Sparse models[31m\n"
