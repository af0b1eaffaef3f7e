"""The `/arxiv` command grammar, shared by every platform, and its help text, defined once.

`parse(text)` turns what a user typed after `/arxiv` into a `Command`, or raises `CommandError`
with the closest valid command and its help line. Every example in `COMMANDS` is parsed by a
test, so the help can never advertise something the parser refuses. Numbers in what
people type are read by `bot.safety.whole_number`.

Pure: no I/O, no knowledge of channels or platforms.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from bot.errors import BotError
from bot.i18n import N_, _, number

MAX_COMMAND_CHARS = 40_000  # above the criteria limit, so long criteria get their own message


class CommandError(BotError):
    """The text is not a valid command; the message says what would be."""


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command: its name (e.g. `criteria add`) and its argument text."""

    name: str
    arg: str = ""


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One command of the grammar: usage, a one-line summary, examples, and whether it changes
    the channel (and so needs permission)."""

    name: str
    usage: str
    summary: str
    examples: tuple[str, ...]
    takes_arg: bool = False
    arg_required: bool = False
    changes_channel: bool = False


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("today", "today", N_("today's digest for this channel"), ("today",)),
    CommandSpec(
        "today repost",
        "today repost",
        N_("post today's digest here again, even if it was already posted"),
        ("today repost",),
    ),
    CommandSpec(
        "subscribe",
        "subscribe",
        N_("post the digest here every announcement day"),
        ("subscribe",),
        changes_channel=True,
    ),
    CommandSpec(
        "unsubscribe",
        "unsubscribe",
        N_("stop the daily post here"),
        ("unsubscribe",),
        changes_channel=True,
    ),
    CommandSpec(
        "criteria",
        "criteria",
        N_("this channel's criteria topics, numbered, and version"),
        ("criteria",),
    ),
    CommandSpec(
        "criteria set",
        "criteria set <text>",
        N_("replace the criteria"),
        ("criteria set Sparse mixture-of-experts and model compression.",),
        takes_arg=True,
        arg_required=True,
        changes_channel=True,
    ),
    CommandSpec(
        "criteria edit",
        "criteria edit",
        "the criteria in a form, to change them there (Slack and Discord)",
        ("criteria edit",),
    ),
    CommandSpec(
        "criteria add",
        "criteria add <topic>",
        N_("add a topic to the criteria"),
        ("criteria add Diffusion models for protein design",),
        takes_arg=True,
        arg_required=True,
        changes_channel=True,
    ),
    CommandSpec(
        "criteria remove",
        "criteria remove <n>",
        N_("remove topic n (see `criteria`)"),
        ("criteria remove 2",),
        takes_arg=True,
        arg_required=True,
        changes_channel=True,
    ),
    CommandSpec(
        "criteria show",
        "criteria show <version>",
        N_("the full text of a criteria version"),
        ("criteria show 1",),
        takes_arg=True,
        arg_required=True,
    ),
    CommandSpec(
        "criteria diff",
        "criteria diff <version> <version>",
        N_("what changed between two criteria versions"),
        ("criteria diff 1 2",),
        takes_arg=True,
        arg_required=True,
    ),
    CommandSpec(
        "criteria history",
        "criteria history",
        N_("every criteria version: who, when and what changed"),
        ("criteria history",),
    ),
    CommandSpec(
        "criteria revert",
        "criteria revert <version>",
        N_("bring back an earlier version"),
        ("criteria revert 1",),
        takes_arg=True,
        arg_required=True,
        changes_channel=True,
    ),
    CommandSpec(
        "criteria preview",
        "criteria preview [confirm]",
        N_(
            "re-score today under the current criteria and show which papers enter or leave; says "
            "what it will cost first, and waits for `confirm` above a small amount"
        ),
        ("criteria preview", "criteria preview confirm"),
        takes_arg=True,
    ),
    CommandSpec(
        "explain",
        "explain <arXiv id | link | card number> [fresh]",
        N_(
            "why a paper got its relevance and novelty here, or where the local ranking put it; "
            "`fresh` asks again under the current criteria"
        ),
        ("explain 2505.00326", "explain 3", "explain https://arxiv.org/abs/2505.00326v2 fresh"),
        takes_arg=True,
        arg_required=True,
    ),
    CommandSpec(
        "ask",
        "ask <card number | arXiv id | link> [question]",
        N_(
            "answer a question about a paper from its full text, naming the sections used; with no "
            "question, a summary (problem, method, results, limitations)"
        ),
        ("ask 3 which datasets do they use?", "ask 2505.00326", "ask 2505.00326 how is it tested?"),
        takes_arg=True,
        arg_required=True,
    ),
    CommandSpec(
        "likes",
        "likes [me]",
        N_("what the channel (or you) liked recently"),
        ("likes", "likes me"),
        takes_arg=True,
    ),
    # -- a warm start from the team's own papers (bot/conversation/import_commands.py) --
    CommandSpec(
        "import",
        "import <arXiv ids | links | BibTeX>",
        "add papers the team already reads to this channel's reading list: the ranking learns "
        "from them as from likes (entries without an arXiv id are matched by title)",
        (
            "import 2505.00326 https://arxiv.org/abs/2505.00327v1",
            "import @misc{k, eprint={2505.00326}}",
        ),
        takes_arg=True,
        arg_required=True,
        changes_channel=True,
    ),
    CommandSpec(
        "import file",
        "import file <path>",
        "import a BibTeX file or a list of ids (console; in chat, attach the file to `import`)",
        ("import file ~/papers.bib",),
        takes_arg=True,
        arg_required=True,
        changes_channel=True,
    ),
    CommandSpec(
        "import zotero",
        "import zotero user:<id> | group:<id> [collection <KEY>]",
        "import a Zotero library or collection; the API key is asked privately (a form in "
        "Slack, the `key` option in Discord, a prompt in the console), never shown",
        ("import zotero user:123456", "import zotero group:4711 collection ABCD2345"),
        takes_arg=True,
        arg_required=True,
        changes_channel=True,
    ),
    CommandSpec(
        "import undo",
        "import undo",
        "take back the latest import, whole",
        ("import undo",),
        changes_channel=True,
    ),
    # -- following authors and keywords (bot/conversation/follow_commands.py) --
    CommandSpec(
        "follow author",
        "follow author <name>",
        N_("always send this author's papers to the LLM and show them under Followed"),
        ("follow author Jane Doe", "follow author J. Doe"),
        takes_arg=True,
        arg_required=True,
        changes_channel=True,
    ),
    CommandSpec(
        "follow keyword",
        'follow keyword <words | "a phrase">',
        N_("the same for papers whose title or abstract has these words (or this phrase)"),
        ('follow keyword "diffusion model"', "follow keyword protein folding"),
        takes_arg=True,
        arg_required=True,
        changes_channel=True,
    ),
    CommandSpec(
        "following",
        "following [history]",
        N_(
            "the authors and keywords this channel follows, numbered; `history`: who added or "
            "removed each, and when"
        ),
        ("following", "following history"),
        takes_arg=True,
    ),
    CommandSpec(
        "unfollow",
        "unfollow <n>",
        N_("stop following number n (see `following`)"),
        ("unfollow 2",),
        takes_arg=True,
        arg_required=True,
        changes_channel=True,
    ),
    CommandSpec("settings", "settings", N_("show this channel's settings"), ("settings",)),
    CommandSpec(
        "settings threshold",
        "settings threshold relevance|novelty <1-10>",
        N_("the minimum score to enter the digest"),
        ("settings threshold relevance 7", "settings threshold novelty 6"),
        takes_arg=True,
        arg_required=True,
        changes_channel=True,
    ),
    CommandSpec(
        "settings time",
        "settings time <HH:MM> [time zone]",
        N_("when the daily digest is posted"),
        ("settings time 08:30 Europe/Berlin", "settings time 9:00"),
        takes_arg=True,
        arg_required=True,
        changes_channel=True,
    ),
    CommandSpec(
        "settings categories",
        "settings categories <cat,cat,...>",
        N_("the arXiv categories read for this channel"),
        ("settings categories cs.CL,cs.LG",),
        takes_arg=True,
        arg_required=True,
        changes_channel=True,
    ),
    CommandSpec(
        "settings cross-lists",
        "settings cross-lists on|off",
        N_("also consider papers cross-listed into the categories"),
        ("settings cross-lists off",),
        takes_arg=True,
        arg_required=True,
        changes_channel=True,
    ),
    CommandSpec(
        "settings llm-share",
        "settings llm-share <percent> [$dollars]",
        N_(
            "how much of the local ranking goes to the LLM: a share of the day (0: rank locally "
            "only), a daily dollar cap"
        ),
        (
            "settings llm-share 30%",
            "settings llm-share 20% $0.05",
            "settings llm-share $none",
            "settings llm-share 0",
        ),
        takes_arg=True,
        arg_required=True,
        changes_channel=True,
    ),
    CommandSpec(
        "settings learning",
        "settings learning on|off|reset",
        N_("learn the ranking from this channel's likes, stop, or forget what was learned"),
        ("settings learning off", "settings learning reset"),
        takes_arg=True,
        arg_required=True,
        changes_channel=True,
    ),
    CommandSpec(
        "settings weekly",
        "settings weekly on [day HH:MM] | off",
        N_(
            "post the week's most-liked and best unnoticed papers here once a week (in the "
            "channel's time zone)"
        ),
        ("settings weekly on friday 16:00", "settings weekly on", "settings weekly off"),
        takes_arg=True,
        arg_required=True,
        changes_channel=True,
    ),
    CommandSpec(
        "settings edit",
        "settings edit",
        N_("the settings in a form, to change them there (Slack and Discord)"),
        ("settings edit",),
    ),
    CommandSpec(
        "settings language",
        "settings language <code>",
        N_(
            "the language the LLM writes in for this channel (reasons, TL;DRs, explain, ask, the "
            "weekly notes) and the bot's own words; `en` by default"
        ),
        ("settings language de", "settings language zh_CN", "settings language en"),
        takes_arg=True,
        arg_required=True,
        changes_channel=True,
    ),
    CommandSpec(
        "settings reset",
        "settings reset",
        N_("back to the bot's default settings"),
        ("settings reset",),
        changes_channel=True,
    ),
    CommandSpec(
        "search",
        "search <words>",
        N_(
            "stored papers with all these words in title, abstract or authors, best first, with "
            "this channel's scores"
        ),
        ("search sparse mixture of experts", "search Lovelace diffusion"),
        takes_arg=True,
        arg_required=True,
    ),
    CommandSpec(
        "day",
        "day <YYYY-MM-DD>",
        N_("a stored day's digest shown again, from the store (no LLM, no arXiv)"),
        ("day 2025-05-02",),
        takes_arg=True,
        arg_required=True,
    ),
    CommandSpec(
        "similar",
        "similar <arXiv id | link | card number>",
        N_("the closest papers of the last 7 stored days, by the local ranking's text model"),
        ("similar 2505.00326", "similar 3"),
        takes_arg=True,
        arg_required=True,
    ),
    CommandSpec(
        "stats",
        "stats",
        N_("papers seen, scored, posted, likes, LLM cost, and what the ranking learned"),
        ("stats",),
    ),
    CommandSpec("help", "help", N_("this list"), ("help",)),
)

_BY_NAME = {spec.name: spec for spec in COMMANDS}
_GROUPS = {
    head: tuple(s.name for s in COMMANDS if s.name.split()[0] == head)
    for head in {s.name.split()[0] for s in COMMANDS if " " in s.name}
    if head not in _BY_NAME
}
_WORD = re.compile(r"\S+")


def spec(name: str) -> CommandSpec:
    """The spec of a command by name."""
    return _BY_NAME[name]


def help_text(prefix: str = "/arxiv") -> str:
    """Every command with its usage and summary, one line each (no padded columns: they line
    up only in a monospace font, which Slack and Discord do not use)."""
    return _("Commands:") + "\n" + "\n".join(help_line(s.name, prefix) for s in COMMANDS)


def help_line(name: str, prefix: str = "/arxiv") -> str:
    """One command's usage line."""
    s = _BY_NAME[name]
    return f"{prefix} {s.usage} — {_(s.summary)}"


def parse(text: str) -> Command:
    """Parse what followed `/arxiv`; empty text means `help`."""
    text = text.strip()
    if len(text) > MAX_COMMAND_CHARS:
        raise CommandError(
            _("that command is {length} characters long; the limit is {limit}").format(
                length=number(len(text)), limit=number(MAX_COMMAND_CHARS)
            )
        )
    words = text.split(maxsplit=2)
    if not words:
        return Command("help")
    head = words[0].lower()
    if len(words) > 1 and f"{head} {words[1].lower()}" in _BY_NAME:
        name, rest = f"{head} {words[1].lower()}", words[2] if len(words) > 2 else ""
    elif head in _BY_NAME:
        name, rest = head, text[len(words[0]) :].strip()
    elif head in _GROUPS:  # `follow Jane Doe`: the word that starts several commands
        lines = "\n".join(help_line(n) for n in _GROUPS[head])
        raise CommandError(_("`{command}` needs one of:").format(command=head) + "\n" + lines)
    else:
        raise CommandError(_unknown(text))
    return _check(_BY_NAME[name], rest)


def _check(s: CommandSpec, arg: str) -> Command:
    if arg and not s.takes_arg:
        # the extra words are what is wrong, not the command they follow
        extra = " ".join(arg.split())
        extra = extra if len(extra) <= 40 else extra[:39] + "…"
        sub = f"{s.name} {arg.split()[0].lower()}"
        close = difflib.get_close_matches(sub, list(_BY_NAME), n=1, cutoff=0.6)
        if close:
            raise CommandError(
                _("`{command}` takes no {extra}; did you mean:").format(
                    command=s.name, extra=repr(extra)
                )
                + "\n"
                + help_line(close[0])
            )
        raise CommandError(
            _("`{command}` takes nothing after it, not {extra}:").format(
                command=s.name, extra=repr(extra)
            )
            + "\n"
            + help_line(s.name)
        )
    if s.arg_required and not arg:
        raise CommandError(
            _("`{command}` needs an argument:").format(command=s.name) + "\n" + help_line(s.name)
        )
    return Command(s.name, arg)


def _unknown(text: str) -> str:
    words = text.split()
    guess = " ".join(words[:2]).lower()
    close = difflib.get_close_matches(
        guess, list(_BY_NAME), n=1, cutoff=0.5
    ) or difflib.get_close_matches(words[0].lower(), list(_BY_NAME), n=1, cutoff=0.5)
    shown = words[0][:40]
    if close:
        return (
            _("unknown command `{command}`; did you mean:").format(command=shown)
            + "\n"
            + help_line(close[0])
        )
    return _("unknown command `{command}`; try:").format(command=shown) + "\n" + help_line("help")
