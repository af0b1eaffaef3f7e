"""The console adapter: every `/arxiv` command and reaction from a terminal, no chat tokens needed.

Lines are commands (`/arxiv today`, or just `today`); `:react N 👍` / `:unreact N 👍` react to
card N of the last digest shown; `:user NAME` switches who is speaking. A digest prints as a
page: its counts, cost and notes, then the first `PAGE_CARDS` cards compactly (title, scores,
link, the model's reason), then the best few followed papers, and `more` shows the next page
(`more all` the rest), so `today` does not scroll a whole report past. Each card counts as a
posted message so reactions and `explain N` work as they do on a chat platform. It is also the
tests' stand-in for a platform.
`import zotero <library>` asks for the Zotero key with `ask_secret` (no echo on a terminal),
so the key never appears in the command line, the history or the log.

Every line ends in a printed answer: a user error is shown as it is, anything else is logged and
answered with a short apology, so no input can end the console with a traceback. It must not
parse numbers itself (`bot.safety.whole_number` does) or decide what a command means.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Final, TextIO

from bot.conversation.dispatch import Caller, Conversation, Reply
from bot.digest.selection import (
    FOLLOWED_NOTE,
    FOLLOWED_TITLE,
    LOCAL_TITLE,
    LOCAL_TITLE_NOTE,
    MORE_LIKE_TITLE,
    cost_text,
    day_text,
    followed_detail,
    followed_part,
    local_line,
    note_text,
    share_line,
)
from bot.errors import BotError
from bot.i18n import N_, _, active, ngettext, number, using
from bot.models import Digest, DigestEntry
from bot.safety import clip, defuse, excerpt, whole_number
from bot.secret import Secret

log = logging.getLogger(__name__)

PLATFORM = "console"
APOLOGY = N_("(sorry, that went wrong on my side; the details are in the log)")
FOLLOWED_SHOWN: Final = 5  # followed papers after the first page of picks (`digest` lists more)
PAGE_CARDS: Final = 5  # cards a digest shows at once; `more` shows the next as many
TITLE_CHARS: Final = 200
REASON_CHARS: Final = 300
MORE_WORDS: Final = frozenset({"more", ":more"})
ZOTERO_PROMPT: Final = "Zotero API key (not shown; Enter for a public library or the kept key): "


@dataclass(slots=True)
class ConsoleAdapter:
    """Runs the conversation over lines of text."""

    conversation: Conversation
    channel_id: str = "console"
    user_id: str = "me"
    out: TextIO = field(default_factory=lambda: sys.stdout)
    cards: dict[int, str] = field(default_factory=dict)
    shown: Digest | None = None  # the last digest shown, and how many of its cards
    shown_cards: int = 0
    shown_language: str = ""  # the language the shown digest is written in (`more` keeps it)
    ask_secret: Callable[[str], Awaitable[str]] | None = None  # `import zotero`'s key

    @property
    def caller(self) -> Caller:
        """Who is speaking now."""
        return Caller(PLATFORM, self.channel_id, self.user_id)

    async def respond(self, reply: Reply) -> None:
        """Print a reply; a digest is 'posted': its cards get message ids (no parent message is
        recorded: a terminal shows the digest again each time it is asked for), and its first
        page is shown."""
        if reply.digest is None:
            self.out.write(reply.text + "\n")
            return
        digest = reply.digest
        self.cards = {}
        for n, entry in enumerate(digest.entries, 1):
            message_id = f"{digest.day}:{n}"
            await self.conversation.record_post(
                self.channel_id, digest.day, entry.paper.id, message_id
            )
            self.cards[n] = message_id
        self.shown, self.shown_cards = digest, 0
        self.shown_language = reply.language or active()
        with using(self.shown_language):  # the channel's, as a posted digest is
            self.out.write(digest_head(digest))
            self._next_page(PAGE_CARDS)
            self.out.write(followed_text(digest))

    def _next_page(self, size: int) -> None:
        digest = self.shown
        if digest is None:
            self.out.write(_("(no digest shown yet: `today` shows one)") + "\n")
            return
        start = self.shown_cards
        self.shown_cards = min(start + size, len(digest.entries))
        with using(self.shown_language or active()):
            self.out.write(digest_page(digest, start, self.shown_cards))

    async def line(self, text: str) -> None:
        """Handle one line typed by the user."""
        text = text.strip()
        if not text:
            return
        try:
            words = text.lower().split()
            if words[0] in MORE_WORDS and len(words) <= 2:
                all_left = words[1:] == ["all"]
                self._next_page(len(self.shown.entries) if all_left and self.shown else PAGE_CARDS)
                return
            if text.startswith(":"):
                await self._meta(text[1:].split())
                return
            command = text.removeprefix("/arxiv").strip() if text.startswith("/arxiv") else text
            if command.lower().split()[:2] == ["import", "zotero"] and self.ask_secret:
                key = await self.ask_secret(ZOTERO_PROMPT)
                library = command.split(maxsplit=2)[2] if len(command.split()) > 2 else ""
                secret = Secret(key.strip()) if key.strip() else None
                await self.conversation.import_zotero(self.caller, library, secret, self.respond)
                return
            await self.conversation.handle(self.caller, command, self.respond)
        except BotError as exc:
            self.out.write(defuse(str(exc)) + "\n")
        except Exception:
            log.exception("console: the line %r failed", clip(text, 80))
            self.out.write(_(APOLOGY) + "\n")

    async def _meta(self, words: list[str]) -> None:
        card = whole_number(words[1]) if len(words) == 3 else None
        if len(words) == 2 and words[0] == "user":
            self.user_id = words[1]
            self.out.write(f"(now speaking as {defuse(self.user_id)})\n")
        elif card is not None and words[0] in ("react", "unreact"):
            message_id = self.cards.get(card)
            if message_id is None:
                self.out.write(f"(no card {card} in the last digest shown)\n")
                return
            changed = await self.conversation.react(
                self.caller, message_id, words[2], added=words[0] == "react"
            )
            if changed:
                self.out.write(f"({words[0]}ed: {changed})\n")
            else:
                self.out.write(
                    f"(no change) {words[2]} is not a like or 👎 here, or it was already "
                    "recorded; ARXIV_BOT_LIKE_EMOJI sets the likes\n"
                )
        else:
            self.out.write(
                "(console: `more [all]`, `:user NAME`, `:react N EMOJI`, `:unreact N EMOJI`)\n"
            )

    async def run(self, lines: Iterable[str]) -> None:
        """Handle lines until they run out."""
        for text in lines:
            await self.line(text)


def digest_head(digest: Digest) -> str:
    """What a digest is, in a few lines: day, counts, cost, notes."""
    c, u = digest.counts, digest.usage
    t = digest.thresholds
    lines = [
        _("arXiv digest for {day}: {selected} selected of {announced} announced").format(
            day=day_text(digest.day), selected=number(c.selected), announced=number(c.announced)
        ),
        _(
            "{considered} considered · {sent} sent to the LLM ({ranked_out} ranked out "
            "locally) · {scored} scored · relevance ≥ {relevance}, novelty ≥ {novelty}, "
            "criteria v{version}"
        ).format(
            considered=number(c.considered),
            sent=number(c.sent),
            ranked_out=number(c.ranked_out),
            scored=number(c.scored),
            relevance=t.relevance,
            novelty=t.novelty,
            version=digest.criteria_version,
        ),
        _("{model} · {calls} LLM calls · {tokens} tokens · {cost}").format(
            model=defuse(digest.model),
            calls=number(u.calls),
            tokens=number(u.total_tokens),
            cost=cost_text(u.cost_usd, u.priced),
        ),
    ]
    share = share_line(digest)
    notes = [note_text(note) for note in digest.notes] + ([share] if share else [])
    lines += [f"({excerpt(note, 500)})" for note in notes]
    if digest.ranked_locally:
        lines += local_lines(digest)
    elif not digest.entries:
        lines.append(_("No paper met the thresholds today."))
    return "\n".join(lines) + "\n"


def followed_text(digest: Digest) -> str:
    """The "Followed" part, after the first page of picks: the best-scored `FOLLOWED_SHOWN`
    followed papers the cards do not show, then how many more there are (a broad follow must
    not push the picks off the screen)."""
    followed = followed_part(digest)
    if not followed:
        return ""
    lines = [f"## {_(FOLLOWED_TITLE)} ({_(FOLLOWED_NOTE)})"]
    lines += [
        f"  - {defuse(excerpt(f.paper.title, TITLE_CHARS))} (arXiv:{f.paper.id}): "
        f"{defuse(followed_detail(f))}"
        for f in followed[:FOLLOWED_SHOWN]
    ]
    if len(followed) > FOLLOWED_SHOWN:
        left = len(followed) - FOLLOWED_SHOWN
        lines.append(
            "  "
            + ngettext(
                "… and {n} more followed paper (`arxiv-bot digest` lists them)",
                "… and {n} more followed papers (`arxiv-bot digest` lists them)",
                left,
            ).format(n=number(left))
        )
    return "\n".join([*lines, "---"]) + "\n"


def local_lines(digest: Digest) -> list[str]:
    """A day ranked locally only: the local ranking's best papers, labelled so, with their
    place and similarity (there are no LLM scores to show)."""
    lines = [f"## {_(LOCAL_TITLE)} ({_(LOCAL_TITLE_NOTE)})"]
    for n, (p, score) in enumerate(digest.ranked_locally, 1):
        lines += [
            f"{n:>2}. {defuse(excerpt(p.title, TITLE_CHARS))}",
            f"    arXiv:{p.id} · {local_line(n, score)} · {p.abs_url}",
        ]
    return [*lines, "---"]


def digest_page(digest: Digest, start: int, stop: int) -> str:
    """Cards `start`+1 … `stop` (1-based numbers, as `explain N` and `:react N` use), then
    how many are left, or the "more like what you liked" titles after the last card."""
    entries = digest.entries
    if start >= len(entries):
        return _("(that was every card of this digest)") + "\n" if entries else ""
    parts = [card_text(n, entries[n - 1]) for n in range(start + 1, stop + 1)]
    left = len(entries) - stop
    if left:
        parts.append(_("… {left} more: type `more` (or `more all`)").format(left=number(left)))
    elif digest.more_like:
        titles = [f"  - {excerpt(e.paper.title, TITLE_CHARS)}" for e in digest.more_like]
        parts.append(f"{_(MORE_LIKE_TITLE)}:\n" + "\n".join(titles))
    return "\n".join(parts) + "\n"


def card_text(n: int, entry: DigestEntry) -> str:
    """One paper in three lines (four with a TL;DR): number and title; id, scores and link;
    the model's one-line TL;DR; its reason."""
    p, s = entry.paper, entry.score
    tldr = f"    {_('TL;DR:')} {defuse(excerpt(s.tldr, REASON_CHARS))}\n" if s.tldr else ""
    scores = _("relevance {relevance} · novelty {novelty}").format(
        relevance=s.relevance, novelty=s.novelty
    )
    return (
        f"{n:>2}. {defuse(excerpt(p.title, TITLE_CHARS))}\n"
        f"    arXiv:{p.id} · {scores} · {p.abs_url}\n"
        f"{tldr}    {defuse(excerpt(s.comment, REASON_CHARS))}"
    )
