"""The conversation dispatches each command of the grammar to exactly one command module, and
the command modules never import the dispatcher back."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from bot.conversation import commands
from bot.conversation.context import Caller, Reply, Respond
from bot.conversation.dispatch import handler_table

REPO = Path(__file__).resolve().parents[1]
COMMAND_MODULES = sorted(
    [
        *(REPO / "bot" / "conversation").glob("*_commands.py"),
        REPO / "bot" / "conversation" / "context.py",
        REPO / "bot" / "conversation" / "criteria_preview.py",
        REPO / "bot" / "conversation" / "reactions.py",
    ]
)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_every_command_of_the_grammar_has_a_handler_and_nothing_else_does(core: Any) -> None:
    grammar = {spec.name for spec in commands.COMMANDS}
    assert core.conversation.commands_answered == grammar


async def _answer(caller: Caller, arg: str, respond: Respond) -> None:
    await respond(Reply(arg))


def test_a_command_two_modules_answer_is_refused() -> None:
    with pytest.raises(ValueError, match="two handlers answer `stats`"):
        handler_table([{"stats": _answer}, {"likes": _answer, "stats": _answer}])


@pytest.mark.parametrize("path", COMMAND_MODULES, ids=lambda p: p.name)
def test_command_modules_do_not_import_the_dispatcher(path: Path) -> None:
    assert "bot.conversation.dispatch" not in imported_modules(path)
