"""The commands that read and edit a channel's criteria: `criteria`, `criteria set`, `criteria
edit` (where an adapter has no form), `criteria add`, `criteria remove`, `criteria show <n>`,
`criteria diff <a> <b>`, `criteria history` and `criteria revert <n>`.

Every edit goes through `DigestService.use_criteria`, which keeps the numbered versions, and is
written to the channel's audit log; topics, diffs and history summaries are
`bot.conversation.criteria_topics`'s. `criteria preview` is `bot.conversation.criteria_preview`'s.
Permissions and rate limits are `bot.conversation.dispatch`'s. A change by someone who is not
an admin, in a channel with a budget, says what the first day under the new criteria costs
(`bot.conversation.criteria_preview.first_day_note`).

It must not score papers, import a platform SDK or render platform markup.
"""

from __future__ import annotations

import difflib

from bot.conversation.context import Caller, Context, Handlers, Reply, Respond
from bot.conversation.criteria_preview import first_day_note
from bot.conversation.criteria_topics import (
    add_topic,
    change_summary,
    context,
    remove_topic,
    topics,
)
from bot.errors import BotError
from bot.i18n import _, ngettext, number
from bot.safety import clip, defuse, whole_number
from scoring.criteria import validate_criteria

MAX_DIFF_LINES = 60


class CriteriaCommands:
    """Answers the criteria commands but `criteria preview` (see module docstring)."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._store = ctx.store
        self._service = ctx.service

    def handlers(self) -> Handlers:
        return {
            "criteria": self._criteria_show,
            "criteria set": self._criteria_set,
            "criteria edit": self._criteria_edit,
            "criteria add": self._criteria_add,
            "criteria remove": self._criteria_remove,
            "criteria show": self._criteria_show_version,
            "criteria diff": self._criteria_diff,
            "criteria history": self._criteria_history,
            "criteria revert": self._criteria_revert,
        }

    async def _current(self, channel_id: str) -> tuple[str, int]:
        current = await self._store.channels.channel_criteria(channel_id)
        assert current is not None, "channels get default criteria on first contact"
        return current[0].text, current[1]

    async def _criteria_show(self, caller: Caller, _arg: str, respond: Respond) -> None:
        text, version = await self._current(caller.channel_id)
        found = topics(text)
        mark = _("(context)")
        lines = [f"{mark} {defuse(t.label)}" for t in context(text)]
        lines += [f"{n}. {defuse(t.label)}" for n, t in enumerate(found, 1)]
        head = ngettext(
            "Criteria version {version}, {count} topic (`/arxiv criteria show {version}` for "
            "the full text):",
            "Criteria version {version}, {count} topics (`/arxiv criteria show {version}` for "
            "the full text):",
            len(found),
        ).format(version=version, count=number(len(found)))
        await respond(Reply(head + "\n" + "\n".join(lines)))

    async def _set_criteria(self, caller: Caller, text: str, action: str, respond: Respond) -> None:
        text = validate_criteria(text)
        _old, old_version = await self._current(caller.channel_id)
        _new, version = await self._service.use_criteria(caller.channel_id, text, caller.user_id)
        if version == old_version:
            await respond(
                Reply(
                    _("The criteria are unchanged (still version {version}).").format(
                        version=version
                    )
                )
            )
            return
        await self._ctx.audit(caller, action, f"version {version}")
        cost = None if self._is_admin(caller) else await first_day_note(self._ctx, caller, text)
        await respond(
            Reply(
                _(
                    "Criteria updated to version {version} by {user}. It takes effect for the "
                    "next digest. Run `/arxiv criteria preview` to re-score today's papers and "
                    "see which would enter or leave."
                ).format(version=version, user=defuse(caller.user_id))
                + (f"\n{cost}" if cost else ""),
                ephemeral=False,
            )
        )

    def _is_admin(self, caller: Caller) -> bool:
        """Whether the caller is one of the bot's admins (with none named, nobody is)."""
        admins = self._ctx.config.admins
        return caller.user_id in admins or any(f"role:{r}" in admins for r in caller.roles)

    async def _criteria_set(self, caller: Caller, arg: str, respond: Respond) -> None:
        await self._set_criteria(caller, arg, "criteria set", respond)

    async def _criteria_edit(self, caller: Caller, _arg: str, respond: Respond) -> None:
        """The form itself is the adapter's (Slack, Discord); where there is none, the way."""
        _text, version = await self._current(caller.channel_id)
        await respond(
            Reply(
                _(
                    "`criteria edit` opens a form on Slack and Discord. Here, `/arxiv criteria "
                    "show {version}` prints the current text and `/arxiv criteria set <text>` "
                    "replaces it."
                ).format(version=version)
            )
        )

    async def _criteria_add(self, caller: Caller, arg: str, respond: Respond) -> None:
        topic = " ".join(arg.split())
        text, _version = await self._current(caller.channel_id)
        await self._set_criteria(caller, add_topic(text, topic), "criteria add", respond)

    async def _criteria_remove(self, caller: Caller, arg: str, respond: Respond) -> None:
        text, _version = await self._current(caller.channel_id)
        found = topics(text)
        wanted = whole_number(arg)
        if wanted is None or not 1 <= wanted <= len(found):
            raise BotError(
                _("give a topic number from 1 to {last} (see `/arxiv criteria`)").format(
                    last=len(found)
                )
            )
        if len(found) == 1:
            raise BotError(_("that is the last topic; use `criteria set` to replace the criteria"))
        kept = remove_topic(text, found[wanted - 1])
        await self._set_criteria(caller, kept, "criteria remove", respond)

    async def _criteria_history(self, caller: Caller, _arg: str, respond: Respond) -> None:
        history = await self._store.channels.criteria_history(caller.channel_id)
        rows = []
        for n, h in enumerate(history[:20]):
            earlier = history[n + 1].criteria.text if n + 1 < len(history) else None
            same = [o.version for o in history[n + 1 :] if o.criteria.text == h.criteria.text]
            what = (
                _("same as v{version}").format(version=same[0])
                if same
                else change_summary(earlier, h.criteria.text)
            )
            rows.append(
                _("v{version} — {when} by {user} — {what}").format(
                    version=h.version,
                    when=h.changed_at,
                    user=defuse(h.changed_by),
                    what=defuse(clip(what, 160)),
                )
            )
        await respond(Reply(_("Criteria history (newest first):") + "\n" + "\n".join(rows)))

    async def _criteria_version(self, caller: Caller, arg: str) -> tuple[int, str]:
        """A stored version of this channel's criteria by number (`3` or `v3`)."""
        history = await self._store.channels.criteria_history(caller.channel_id)
        wanted = whole_number(arg.strip().lower().removeprefix("v"))
        for h in history:
            if h.version == wanted:
                return h.version, h.criteria.text
        raise BotError(
            _(
                "there is no criteria version {version} (versions 1 to {last}); see "
                "`/arxiv criteria history`"
            ).format(version=repr(clip(arg, 20)), last=history[0].version if history else 0)
        )

    async def _criteria_show_version(self, caller: Caller, arg: str, respond: Respond) -> None:
        version, text = await self._criteria_version(caller, arg)
        _text, current = await self._current(caller.channel_id)
        head = (
            _("Criteria version {version} (the current one):")
            if version == current
            else _("Criteria version {version} (now {current}):")
        ).format(version=version, current=current)
        await respond(Reply(f"{head}\n{defuse(text.strip())}"))

    async def _criteria_diff(self, caller: Caller, arg: str, respond: Respond) -> None:
        words = arg.split()
        if len(words) != 2:
            raise BotError(_("give two versions, e.g. `/arxiv criteria diff 1 2`"))
        a, old = await self._criteria_version(caller, words[0])
        b, new = await self._criteria_version(caller, words[1])
        await respond(Reply(version_diff_text(a, old, b, new)))

    async def _criteria_revert(self, caller: Caller, arg: str, respond: Respond) -> None:
        history = await self._store.channels.criteria_history(caller.channel_id)
        wanted = arg.strip().lstrip("v")
        match = [h for h in history if str(h.version) == wanted]
        if not match:
            raise BotError(
                _("there is no criteria version {version}; see `/arxiv criteria history`").format(
                    version=repr(clip(arg, 20))
                )
            )
        await self._set_criteria(caller, match[0].criteria.text, "criteria revert", respond)


def version_diff_text(a: int, old: str, b: int, new: str) -> str:
    """The reply to `criteria diff a b`: a one-line summary and a clipped unified diff."""
    diff = list(
        difflib.unified_diff(
            old.strip().splitlines(),
            new.strip().splitlines(),
            _("version {version}").format(version=a),
            _("version {version}").format(version=b),
            n=1,
            lineterm="",
        )
    )
    if not diff:
        return _("Versions {a} and {b} have the same text.").format(a=a, b=b)
    shown = [clip(line, 200) for line in diff[:MAX_DIFF_LINES]]
    if len(diff) > MAX_DIFF_LINES:
        more = len(diff) - MAX_DIFF_LINES
        shown.append(
            ngettext("… {count} more line", "… {count} more lines", more).format(count=number(more))
        )
    summary = _("Version {a} → {b}: {summary}").format(
        a=a, b=b, summary=defuse(change_summary(old, new))
    )
    return f"{summary}\n```\n" + defuse("\n".join(shown)) + "\n```"
