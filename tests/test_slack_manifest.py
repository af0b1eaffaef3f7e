"""The Slack manifest asks for exactly what the adapter uses: its scopes, the `/arxiv` command,
the reaction events, interactivity for the Explain button."""

from __future__ import annotations

import re
from pathlib import Path

MANIFEST = Path(__file__).resolve().parents[1] / "slack-manifest.yml"


def items_after(text: str, key: str) -> set[str]:
    """The `- item` lines of the YAML list under `key:` (comments skipped)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"{key}:")
    found: set[str] = set()
    for line in lines[start + 1 :]:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not stripped.startswith("- "):
            break
        found.add(stripped[2:].strip())
    return found


def test_the_manifest_asks_for_exactly_what_the_adapter_uses() -> None:
    text = MANIFEST.read_text(encoding="utf-8")
    assert items_after(text, "bot") == {
        "commands",
        "chat:write",
        "reactions:read",
        "channels:history",
        "groups:history",
    }
    assert items_after(text, "bot_events") == {"reaction_added", "reaction_removed"}
    assert re.findall(r"- command: (\S+)", text) == ["/arxiv"]
    assert re.search(r"interactivity:\n\s+is_enabled: true", text)
    assert "socket_mode_enabled: true" in text
