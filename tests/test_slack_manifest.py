"""The Slack manifest asks for exactly what the adapter uses: its scopes, the `/arxiv` command,
the reaction, mention and Home tab events, the Home tab, interactivity for the buttons and
forms."""

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
        "app_mentions:read",
        "files:read",
        "links:read",
        "links:write",
        "users:read",  # who is a workspace admin (users.info), for changes only
        "channels:read",  # who created the channel (conversations.info)
        "groups:read",
    }
    assert items_after(text, "bot_events") == {
        "reaction_added",
        "reaction_removed",
        "app_mention",
        "app_home_opened",
        "link_shared",
    }
    assert re.search(r"app_home:\n\s+home_tab_enabled: true", text)
    assert re.findall(r"- command: (\S+)", text) == ["/arxiv"]
    assert re.search(r"interactivity:\n\s+is_enabled: true", text)
    assert "socket_mode_enabled: true" in text


DISTRIBUTION = MANIFEST.with_name("slack-manifest-distribution.yml")


def test_the_install_link_asks_for_exactly_the_bot_scopes_of_both_manifests() -> None:
    from adapters.slack_install import BOT_SCOPES

    for manifest in (MANIFEST, DISTRIBUTION):
        text = manifest.read_text(encoding="utf-8")
        assert items_after(text, "bot") == set(BOT_SCOPES), manifest.name
    assert len(BOT_SCOPES) == len(set(BOT_SCOPES))


def test_the_distribution_manifest_is_http_with_a_redirect_url_and_hears_uninstalls() -> None:
    text = DISTRIBUTION.read_text(encoding="utf-8")
    assert "socket_mode_enabled: false" in text
    assert items_after(text, "redirect_urls") == {"https://YOUR-HOST/slack/oauth_redirect"}
    assert items_after(text, "bot_events") == {
        "reaction_added",
        "reaction_removed",
        "app_mention",
        "app_home_opened",
        "link_shared",
        "app_uninstalled",
        "tokens_revoked",
    }
    assert re.findall(r"- command: (\S+)", text) == ["/arxiv"]
    # every Slack request goes to the one verified endpoint
    urls = re.findall(r"(?:url|request_url): (\S+)", text)
    assert urls == ["https://YOUR-HOST/slack/events"] * 3
    # user scopes would make bolt store user tokens the bot never uses
    assert not re.search(r"^\s+user:", text, re.MULTILINE)


def test_both_manifests_unfurl_arxiv_links() -> None:
    for manifest in (MANIFEST, DISTRIBUTION):
        text = manifest.read_text(encoding="utf-8")
        assert items_after(text, "unfurl_domains") == {"arxiv.org"}, manifest.name
        assert {"links:read", "links:write"} <= items_after(text, "bot"), manifest.name
        assert "link_shared" in items_after(text, "bot_events"), manifest.name
