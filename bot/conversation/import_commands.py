"""The `import` commands: a warm start from the papers a team already reads.

`import <ids, links or BibTeX>` (pasted), `import file <path>` (the console; chat platforms send
an attached file to `import_text`), `import zotero user:<id>|group:<id> [collection KEY]` (the
key given privately: adapters call `import_zotero` with it; a key kept for the channel is used
otherwise) and `import undo` (the latest import, whole).

An import reads its input (`bot.arxiv.bibliography`, `bot.arxiv.zotero`), finds each paper:
the store first, then the arXiv API by id, then by title for entries without an id (at most
`MAX_TITLE_LOOKUPS`, arXiv asks for 3 s between requests), and stores what it found as the
channel's reading list in one transaction (`Store.imports`), under the channel's `import:`
unit of work so two imports of one channel take turns. Nothing is stored when reading or
finding fails: the reply says why, or how many it took and which it could not match.

The Zotero key is a `Secret`: never echoed, logged or audited; it is kept, sealed with
`ARXIV_BOT_TOKEN_KEY` (Fernet, as workspace tokens are), only when that key is set. This module
must not import a platform SDK or render platform markup.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from bot.arxiv import bibliography, zotero
from bot.arxiv.api import ArxivApi
from bot.arxiv.bibliography import Entry
from bot.arxiv.texclean import tex_to_unicode
from bot.conversation.context import Caller, Context, Handlers, Reply, Respond
from bot.errors import ArxivUnavailable, BotError, FeedError
from bot.i18n import _, ngettext, number
from bot.models import Paper
from bot.safety import clip, defuse
from bot.secret import Secret

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

log = logging.getLogger(__name__)

_Ask = Callable[[ArxivApi], Awaitable[dict[str, Paper]]]
"""A request to the arXiv API."""

MAX_PASTED_IDS = 500
"""Ids and links one pasted `import` takes ("a few hundred")."""
MAX_ENTRIES = 2000
"""BibTeX entries or Zotero items one import takes; more is refused before anything is read."""
MAX_FILE_BYTES = 5_000_000
MAX_TITLE_LOOKUPS = 25
"""Entries without an arXiv id matched by title, each one arXiv API request (3 s apart)."""
UNMATCHED_SHOWN = 15


@dataclass(frozen=True, slots=True)
class ImportConfig:
    """Where imports read from: the arXiv API (None: only papers already stored), Zotero's
    base URL, and the key that seals a kept Zotero key (None: keys are not kept)."""

    api: ArxivApi | None = None
    zotero_url: str = zotero.ZOTERO_URL
    token_key: Secret | None = None


class ImportCommands:
    """Answers `import`, `import file`, `import zotero` and `import undo` (see module
    docstring)."""

    def __init__(self, ctx: Context, config: ImportConfig) -> None:
        self._ctx = ctx
        self._store = ctx.store
        self._config = config

    def handlers(self) -> Handlers:
        return {
            "import": self._import,
            "import file": self._import_file,
            "import zotero": self._zotero_command,
            "import undo": self._undo,
        }

    # -- entry points -----------------------------------------------------------------------

    async def import_text(self, caller: Caller, text: str, respond: Respond) -> None:
        """Import pasted text or an attached file's: BibTeX, or arXiv ids and links."""
        if bibliography.looks_like_bibtex(text):
            entries = await self._bibtex(text)
            await self._import_entries(caller, "bibtex", entries, respond)
            return
        pasted = bibliography.pasted_ids(text)
        if len(pasted.ids) > MAX_PASTED_IDS:
            raise BotError(
                _(
                    "that is {count} arXiv ids; one import takes at most {limit} (paste them in "
                    "parts, or import a BibTeX file)"
                ).format(count=number(len(pasted.ids)), limit=number(MAX_PASTED_IDS))
            )
        if not pasted.ids:
            raise BotError(
                _(
                    "no arXiv id or link found: paste ids (`2505.00326`), links "
                    "(`https://arxiv.org/abs/2505.00326`) or BibTeX"
                )
            )
        entries = [Entry(pid, "", pid) for pid in pasted.ids]
        entries += [Entry(word, "", None) for word in pasted.unread]
        await self._import_entries(caller, "ids", entries, respond)

    async def import_zotero(
        self, caller: Caller, arg: str, key: Secret | None, respond: Respond
    ) -> None:
        """Import a Zotero library or collection with a key given privately (or none, for a
        public library); the key is kept sealed when the bot has a token key."""
        library = zotero.parse_library(arg)
        if key is not None and not len(key):
            key = None
        if key is None:
            key = await self._kept_key(caller, library)
        items = await zotero.read_library(
            library, key, base_url=self._config.zotero_url, limit=MAX_ENTRIES
        )
        entries = bibliography.zotero_entries(items)
        if not entries:
            raise BotError(_("{library} holds no papers to import").format(library=library.name))
        took = await self._import_entries(caller, "zotero", entries, respond)
        if took and key is not None:
            await self._keep_key(caller, library, key)

    # -- handlers ---------------------------------------------------------------------------

    async def _import(self, caller: Caller, arg: str, respond: Respond) -> None:
        await self.import_text(caller, arg, respond)

    async def _import_file(self, caller: Caller, arg: str, respond: Respond) -> None:
        if caller.platform != "console":
            raise BotError(_("attach the .bib file to `/arxiv import` (or paste its text) instead"))
        text = await asyncio.to_thread(_read_file, arg.strip())
        await self.import_text(caller, text, respond)

    async def _zotero_command(self, caller: Caller, arg: str, respond: Respond) -> None:
        await self.import_zotero(caller, arg, None, respond)

    async def _undo(self, caller: Caller, _arg: str, respond: Respond) -> None:
        async with self._ctx.service.work.exclusive(f"import:{caller.channel_id}"):
            undone = await self._store.imports.undo(caller.channel_id)
        if undone is None:
            raise BotError(_("nothing to undo: this channel has imported nothing"))
        await self._ctx.audit(caller, "import undo", f"import {undone.id} ({undone.source})")
        left = await self._store.imports.count(caller.channel_id)
        await respond(
            Reply(
                _(
                    "Took back the import of {papers} ({when}, from {source}); the reading list "
                    "now holds {left}."
                ).format(
                    papers=_papers(undone.papers),
                    when=undone.created_at[:10],
                    source=undone.source,
                    left=_papers(left),
                ),
                ephemeral=False,
            )
        )

    # -- the import itself ------------------------------------------------------------------

    async def _bibtex(self, text: str) -> list[Entry]:
        entries = await asyncio.to_thread(_read_bibtex, text)
        if not entries:
            raise BotError(_("no BibTeX entry could be read in that text: nothing was imported"))
        return entries

    async def _import_entries(
        self, caller: Caller, source: str, entries: Sequence[Entry], respond: Respond
    ) -> int:
        """Find the entries' papers and import them in one transaction; returns how many."""
        found, unmatched = await self._find(entries)
        if not found:
            if source == "bibtex" and all(e.arxiv_id is None for e in entries):
                detail = _("Nothing imported: none of its entries names an arXiv paper.")
            else:
                detail = _("Nothing imported: no paper could be found on arXiv.")
            raise BotError(detail + _unmatched_text(unmatched))
        async with self._ctx.service.work.exclusive(f"import:{caller.channel_id}"):
            record, already = await self._store.imports.add(
                caller.channel_id, caller.user_id, source, found
            )
        took = record.papers if record else 0
        if record is not None:
            await self._ctx.audit(caller, "import", f"import {record.id}: {took} from {source}")
        await respond(Reply(_reply(took, already, unmatched), ephemeral=False))
        return took

    async def _find(self, entries: Sequence[Entry]) -> tuple[list[Paper], list[str]]:
        """The papers the entries name (store, then arXiv by id, then by title), and the
        labels of those that matched none."""
        ids = list(dict.fromkeys(e.arxiv_id for e in entries if e.arxiv_id))
        papers = await self._store.papers.get(ids)
        missing = [pid for pid in ids if pid not in papers]
        if missing:
            papers.update(await self._from_arxiv(lambda api: api.fetch(missing)))
        titled = [e for e in entries if e.arxiv_id is None and e.title]
        by_title = await self._by_title(titled[:MAX_TITLE_LOOKUPS])
        found: dict[str, Paper] = {}
        unmatched: list[str] = []
        for entry in entries:
            paper = papers.get(entry.arxiv_id) if entry.arxiv_id else by_title.get(entry.label)
            if paper is None:
                unmatched.append(_label(entry))
            else:
                found.setdefault(paper.id, paper)
        return await asyncio.to_thread(_cleaned, list(found.values())), unmatched

    async def _by_title(self, entries: Sequence[Entry]) -> dict[str, Paper]:
        """Entry labels → the arXiv paper of exactly that title, for entries arXiv has."""
        matched: dict[str, Paper] = {}
        for entry in entries:
            hits = await self._from_arxiv(_title_search(entry.title))
            for paper in hits.values():
                if bibliography.titles_match(entry.title, paper.title):
                    matched[entry.label] = paper
                    break
        return matched

    async def _from_arxiv(self, ask: _Ask) -> dict[str, Paper]:
        api = self._config.api
        if api is None:
            return {}
        try:
            return await ask(api)
        except (ArxivUnavailable, FeedError) as exc:
            raise BotError(
                _("arXiv could not be asked ({problem}); nothing was imported").format(problem=exc)
            ) from None

    # -- the kept Zotero key ----------------------------------------------------------------

    async def _kept_key(self, caller: Caller, library: zotero.ZoteroLibrary) -> Secret | None:
        token_key = self._config.token_key
        kept = await self._store.imports.zotero_key(caller.channel_id)
        if token_key is None or kept is None or kept[0] != f"{library.kind}:{library.number}":
            return None
        from cryptography.fernet import InvalidToken  # the slack-oauth extra, as TOKEN_KEY needs

        try:
            return Secret(_box(token_key).decrypt(kept[1].encode()).decode())
        except InvalidToken:  # sealed under a key no longer in ARXIV_BOT_TOKEN_KEY
            log.warning("channel %s: its kept Zotero key no longer opens", caller.channel_id)
            return None

    async def _keep_key(self, caller: Caller, library: zotero.ZoteroLibrary, key: Secret) -> None:
        token_key = self._config.token_key
        if token_key is None:
            return
        sealed = _box(token_key).encrypt(key.get_secret_value().encode()).decode()
        await self._store.imports.save_zotero_key(
            caller.channel_id, f"{library.kind}:{library.number}", sealed
        )


def _read_bibtex(text: str) -> list[Entry]:
    """The entries of a BibTeX text, refused above `MAX_ENTRIES` before it is parsed (CPU work:
    run in a thread)."""
    count = bibliography.count_bibtex_entries(text)
    if count > MAX_ENTRIES:
        raise BotError(
            _(
                "that BibTeX holds {count} entries; one import takes at most {limit}: import it "
                "in parts (nothing was imported)"
            ).format(count=number(count), limit=number(MAX_ENTRIES))
        )
    return bibliography.bibtex_entries(text)


def _title_search(title: str) -> _Ask:
    async def ask(api: ArxivApi) -> dict[str, Paper]:
        return {p.id: p for p in await api.search_title(title)}

    return ask


def _box(token_key: Secret) -> MultiFernet:
    from cryptography.fernet import Fernet, MultiFernet  # loaded only where a key is kept

    keys = token_key.get_secret_value().split(",")
    return MultiFernet([Fernet(k.strip().encode()) for k in keys])


def _read_file(name: str) -> str:
    path = Path(name).expanduser()
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise BotError(
                _("{file} is {size} bytes; an import file may have 5 MB").format(
                    file=clip(path.name, 80), size=number(size)
                )
            )
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise BotError(
            _("cannot read {file}: {reason}").format(file=clip(name, 80), reason=reason)
        ) from None
    except ValueError:  # a NUL in the path
        raise BotError(_("{file} is not a file name").format(file=repr(clip(name, 80)))) from None


def _cleaned(papers: list[Paper]) -> list[Paper]:
    """The arXiv API's titles and abstracts with their TeX made readable, as the feed's are."""
    return [
        replace(p, title=tex_to_unicode(p.title), abstract=tex_to_unicode(p.abstract))
        for p in papers
    ]


def _label(entry: Entry) -> str:
    if entry.title and entry.title != entry.label:
        return f"{entry.label} ({clip(entry.title, 80)})"
    return clip(entry.label, 80)


def _unmatched_text(unmatched: Sequence[str]) -> str:
    if not unmatched:
        return ""
    shown = ", ".join(f"`{defuse(u)}`" for u in unmatched[:UNMATCHED_SHOWN])
    more = len(unmatched) - UNMATCHED_SHOWN
    if more > 0:
        return "\n" + _("Could not match {count}: {shown} and {more} more.").format(
            count=number(len(unmatched)), shown=shown, more=number(more)
        )
    return "\n" + _("Could not match {count}: {shown}.").format(
        count=number(len(unmatched)), shown=shown
    )


def _reply(took: int, already: int, unmatched: Sequence[str]) -> str:
    head = (
        _(
            "Imported {papers} into this channel's reading list: the ranking learns from them "
            "as it does from likes (`likes` lists them, `import undo` takes them back)."
        ).format(papers=_papers(took))
        if took
        else _("Nothing new imported.")
    )
    if already:
        head += " " + ngettext(
            "{count} paper was imported already.", "{count} papers were imported already.", already
        ).format(count=number(already))
    return head + _unmatched_text(unmatched)


def _papers(n: int) -> str:
    return ngettext("{count} paper", "{count} papers", n).format(count=number(n))
