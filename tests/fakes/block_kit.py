"""Slack's own Block Kit models as a check on every message the bot renders for Slack.

This module owns `block_kit_problems`: each block goes through `slack_sdk`'s models
(`Block.parse`, then `to_dict()`, which runs `validate_json()` on the block and every element
in it), so a limit Slack's SDK knows (3,000 characters of section text, 10 context elements,
150 of a header, ...) fails a test when the SDK learns it, not a post. A block the SDK cannot
read, or one whose round trip through the models changes it (a field Slack does not know), is
a problem too. The fake Slack server runs it on everything it is sent; render tests call it
directly; `view_problems` does the same for a whole view (`View`'s own limits, then its
blocks). It must not change what it checks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View


def block_kit_problems(blocks: Sequence[dict[str, Any]]) -> list[str]:
    """What slack_sdk's block models find wrong with `blocks`, one line each (none: valid)."""
    problems: list[str] = []
    for n, raw in enumerate(blocks, 1):
        where = f"block {n} ({raw.get('type')!r})"
        try:
            parsed = Block.parse(raw)
        except TypeError as exc:  # a field the block cannot do without, or one it cannot take
            problems.append(f"{where}: {exc}")
            continue
        if parsed is None:
            problems.append(f"{where}: not a block type slack_sdk knows")
            continue
        try:
            parsed.validate_json()
            again = parsed.to_dict()  # validates every nested element too
        except SlackObjectFormationError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if again != raw:
            problems.append(
                f"{where}: changed by slack_sdk's models: {json.dumps(raw)[:300]} became "
                f"{json.dumps(again)[:300]}"
            )
    return problems


def view_problems(view: dict[str, Any]) -> list[str]:
    """What slack_sdk's `View` model (title, submit and close of at most 24 characters, 1 to
    100 blocks, 3,000 characters of private metadata, ...) and its blocks' models find wrong
    with a home view or a modal."""
    if view.get("type") not in ("home", "modal"):
        return [f"not a home view or a modal: {view.get('type')!r}"]
    try:
        View(**view).validate_json()
    except (SlackObjectFormationError, TypeError) as exc:
        return [f"view: {exc}"]
    return block_kit_problems(view.get("blocks") or [])
