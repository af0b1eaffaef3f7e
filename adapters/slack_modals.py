"""Slack modals: the criteria form, the settings form and a card's Ask form as Block Kit views,
and what a submitted view says (its values, and where each refusal is shown).

A Slack text input holds at most 3,000 characters while criteria may hold 20,000, so the
criteria form splits the current text at line ends into as many inputs as it needs, plus an
empty one to write more in; the submission joins them again. The settings form has one input
per field of `bot.config.settings_form` (a select for the on/off ones). Which channel (and for
Ask, which paper and thread) a view is about travels in its `private_metadata`. The Zotero key
form (`import zotero <library>`) is here too. Every word goes through the catalogs: a form is
built under the channel's language (`Conversation.language`).

Pure: this module must not do I/O, import an SDK, or decide whether a submission is valid (the
conversation does, and its refusals come back through `field_errors`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from adapters.slack_blocks import ZOTERO_KEY_INPUT, ZOTERO_VIEW, Block, context_block, escape
from bot.config.settings_form import SETTINGS_FIELDS
from bot.conversation.ask_commands import MAX_QUESTION_CHARS
from bot.i18n import _, number
from bot.safety import clip
from scoring.criteria import MAX_CRITERIA_CHARS

CRITERIA_CALLBACK: Final = "arxiv_criteria_form"
SETTINGS_CALLBACK: Final = "arxiv_settings_form"
ASK_CALLBACK: Final = "arxiv_ask_form"
PART_CHARS: Final = 3_000  # what one plain_text_input holds
ERROR_CHARS: Final = 300
INPUT: Final = "value"  # the action id of every input element
ASK_BLOCK: Final = "question"


@dataclass(frozen=True, slots=True)
class ViewAbout:
    """What a modal is about: the channel (the bot's key), and for Ask the paper and thread."""

    channel: str
    paper: str = ""
    thread: str = ""


def about_metadata(about: ViewAbout) -> str:
    """`private_metadata` carrying `about`."""
    return json.dumps({"c": about.channel, "p": about.paper, "t": about.thread})


def about_of(view: Mapping[str, Any]) -> ViewAbout | None:
    """What a submitted view is about, or None when its metadata is not ours."""
    try:
        data = json.loads(str(view.get("private_metadata") or ""))
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("c"), str) or not data["c"]:
        return None
    return ViewAbout(data["c"], str(data.get("p") or ""), str(data.get("t") or ""))


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def _modal(
    callback: str, title: str, submit: str, about: ViewAbout, blocks: list[Block]
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback,
        "title": _plain(title, 24),
        "submit": _plain(submit, 24),
        "close": _plain(_("Cancel"), 24),
        "private_metadata": about_metadata(about),
        "blocks": blocks,
    }


def _text_input(
    block_id: str,
    label: str,
    value: str,
    *,
    multiline: bool = False,
    optional: bool = False,
    max_length: int = PART_CHARS,
    placeholder: str = "",
) -> Block:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": INPUT,
        "multiline": multiline,
        "max_length": max_length,
    }
    if value:
        element["initial_value"] = value
    if placeholder:
        element["placeholder"] = _plain(placeholder, 150)
    return {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label, 2000),
        "optional": optional,
        "element": element,
    }


# -- criteria -------------------------------------------------------------------------------


def criteria_parts(text: str, limit: int = PART_CHARS) -> list[str]:
    """`text` in pieces of at most `limit` characters, each cut at a line end (the newline
    dropped, so joining with newlines gives the text back); a longer line is cut where it
    must be."""
    parts: list[str] = []
    text = text.rstrip("\n")
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit + 1)
        at, skip = (cut, 1) if cut > 0 else (limit, 0)
        parts.append(text[:at])
        text = text[at + skip :]
    parts.append(text)
    return parts


def criteria_block(n: int) -> str:
    """The block id of the criteria form's `n`-th input (0-based)."""
    return f"criteria_{n}"


def criteria_modal(channel: str, text: str, version: int) -> dict[str, Any]:
    """The criteria form: the current text in as many inputs as it takes, and one more."""
    parts = criteria_parts(text)
    spare = len(text) < MAX_CRITERIA_CHARS
    count = len(parts) + int(spare)
    blocks: list[Block] = [
        context_block(
            _(
                "Version {version} of this channel's criteria: plain English, one topic per "
                "line. Saving makes a new version (`/arxiv criteria history` keeps every one), "
                "which the next digest uses. At most {limit} characters in all."
            ).format(version=version, limit=number(MAX_CRITERIA_CHARS))
        )
    ]
    for n, part in enumerate(parts):
        label = (
            _("Criteria")
            if count == 1
            else _("Criteria, part {n} of {count}").format(n=n + 1, count=count)
        )
        blocks.append(_text_input(criteria_block(n), label, part, multiline=True, optional=n > 0))
    if spare:
        blocks.append(
            _text_input(
                criteria_block(len(parts)),
                _("Criteria, part {n} of {count} (more, if you need it)").format(
                    n=count, count=count
                ),
                "",
                multiline=True,
                optional=True,
            )
        )
    return _modal(CRITERIA_CALLBACK, _("Edit criteria"), _("Save"), ViewAbout(channel), blocks)


def _input_value(state: Mapping[str, Any], block_id: str) -> str | None:
    """What a submitted input holds (a select's chosen value), None when it is absent."""
    element = (state.get(block_id) or {}).get(INPUT) or {}
    if not isinstance(element, Mapping):
        return None
    chosen = element.get("selected_option")
    if isinstance(chosen, Mapping):
        return str(chosen.get("value") or "")
    value = element.get("value")
    return value if isinstance(value, str) else "" if block_id in state else None


def _state(view: Mapping[str, Any]) -> Mapping[str, Any]:
    values = (view.get("state") or {}).get("values") or {}
    return values if isinstance(values, Mapping) else {}


def submitted_criteria(view: Mapping[str, Any]) -> str:
    """The criteria text of a submitted criteria form: its parts joined in order."""
    state = _state(view)
    parts = []
    n = 0
    while criteria_block(n) in state:
        parts.append(_input_value(state, criteria_block(n)) or "")
        n += 1
    while parts and not parts[-1].strip():
        parts.pop()
    return "\n".join(parts)


# -- settings -------------------------------------------------------------------------------


def setting_block(name: str) -> str:
    """The block id of a settings field's input."""
    return f"setting_{name}"


def _select(block_id: str, label: str, choices: tuple[str, ...], value: str) -> Block:
    options = [{"text": _plain(_(c), 75), "value": c} for c in choices]
    element: dict[str, Any] = {"type": "static_select", "action_id": INPUT, "options": options}
    chosen = next((o for o in options if o["value"] == value), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return {"type": "input", "block_id": block_id, "label": _plain(label, 2000), "element": element}


def settings_modal(channel_mention: str, channel: str, values: Mapping[str, str]) -> dict[str, Any]:
    """The settings form: each field with its current value."""
    blocks: list[Block] = [
        context_block(
            _(
                "Settings of {channel}, written as `/arxiv settings` takes them. Only what you "
                "change is changed, and every change goes to the channel's audit log."
            ).format(channel=channel_mention)
        )
    ]
    for field in SETTINGS_FIELDS:
        value = values.get(field.name, "")
        if field.choices:
            blocks.append(_select(setting_block(field.name), _(field.label), field.choices, value))
        else:
            blocks.append(
                _text_input(
                    setting_block(field.name),
                    _(field.label),
                    value,
                    max_length=200,
                    placeholder=_("e.g. {example}").format(example=field.example),
                )
            )
    return _modal(SETTINGS_CALLBACK, _("Channel settings"), _("Save"), ViewAbout(channel), blocks)


def submitted_settings(view: Mapping[str, Any]) -> dict[str, str]:
    """A submitted settings form's values by field name (the fields it holds)."""
    state = _state(view)
    out: dict[str, str] = {}
    for field in SETTINGS_FIELDS:
        value = _input_value(state, setting_block(field.name))
        if value is not None:
            out[field.name] = value
    return out


def field_errors(
    errors: Mapping[str, str], blocks: Mapping[str, str], first: str
) -> dict[str, str]:
    """The conversation's refusals by field as Slack's `errors` by block id; a refusal that
    is no field's goes on `first`."""
    out: dict[str, str] = {}
    for name, why in errors.items():
        block = blocks.get(name, first)
        text = clip(why, ERROR_CHARS)
        out[block] = f"{out[block]} {text}" if block in out else text
    return out


def settings_blocks() -> dict[str, str]:
    """Each settings field's block id, by field name."""
    return {f.name: setting_block(f.name) for f in SETTINGS_FIELDS}


# -- ask ------------------------------------------------------------------------------------


def ask_modal(about: ViewAbout) -> dict[str, Any]:
    """A card's Ask form: one question about the paper, answered in the digest's thread."""
    blocks: list[Block] = [
        context_block(
            f"*arXiv:{escape(about.paper)}*. "
            + _(
                "The answer, from the paper's full text, is posted in the digest's thread for "
                "everyone there."
            )
        ),
        _text_input(
            ASK_BLOCK,
            _("Your question (empty: a summary of problem, method, results, limitations)"),
            "",
            multiline=True,
            optional=True,
            max_length=MAX_QUESTION_CHARS,
            placeholder=_("e.g. which datasets do they use?"),
        ),
    ]
    return _modal(ASK_CALLBACK, _("Ask about this paper"), _("Ask"), about, blocks)


def submitted_question(view: Mapping[str, Any]) -> str:
    """The question of a submitted Ask form, on one line ("" for a summary)."""
    return " ".join((_input_value(_state(view), ASK_BLOCK) or "").split())


# -- the Zotero key (`/arxiv import zotero <library>`) ----------------------------------------


def zotero_key_view(library: str, channel: str) -> dict[str, Any]:
    """The modal asking for a Zotero API key; the library and channel ride in its metadata
    (as `adapters.slack` reads them back)."""
    shown = escape(library[:200])
    return {
        "type": "modal",
        "callback_id": ZOTERO_VIEW,
        "title": _plain(_("Import from Zotero"), 24),
        "submit": _plain(_("Import"), 24),
        "close": _plain(_("Cancel"), 24),
        "private_metadata": json.dumps({"library": library[:200], "channel": channel}),
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": _(
                        "Import `{library}` into this channel's reading list. The key is sent "
                        "to Zotero only, kept encrypted, and never shown."
                    ).format(library=shown),
                },
            },
            {
                "type": "input",
                "block_id": ZOTERO_KEY_INPUT,
                "optional": True,
                "label": _plain(_("Zotero API key (empty: a public library)"), 2000),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ZOTERO_KEY_INPUT,
                    "max_length": 100,
                },
            },
        ],
    }
