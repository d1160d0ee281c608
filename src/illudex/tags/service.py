"""A library's tags, as the CLI and the web use them: `lib.tags` (tags on pictures,
whole-tag edits, caption files) and `lib.vocabulary` (aliases, implications,
translations, and the vocabulary as files).

Every change a person can take back goes through the journal (`Journal.tag_edit`), so
`illudex undo` reverses it like a file action; the tag modules below do the work.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from illudex.catalog import imagetags
from illudex.catalog.images import ImageRow, row_by_path, rows_by_ids, set_sidecar_mtime
from illudex.errors import LibraryError
from illudex.journal import Journal
from illudex.paths import sidecar_path
from illudex.progress import ProgressCallback, notify
from illudex.tags import edits, vocabulary
from illudex.tags.sidecar import format_sidecar

if TYPE_CHECKING:
    from illudex.analysers.wd_tagger import TagResult
    from illudex.tags.captions import CaptionOptions
    from illudex.tags.exchange import ImportReport
    from illudex.tags.lookup import TagMatch


@dataclass(frozen=True)
class ImageTag:
    name: str
    category: str
    source: str
    score: float | None


class TagService:
    """Tags on pictures and whole tags; each change one undoable journal action (its id
    returned, None when nothing changed)."""

    def __init__(self, conn: sqlite3.Connection, journal: Journal) -> None:
        self.conn = conn
        self.journal = journal

    def listing(
        self, *, prefix: str | None = None, category: str | None = None, limit: int = 200,
        offset: int = 0, contains: str | None = None,
    ) -> list[vocabulary.Tag]:
        """Tags by count (or those starting with `prefix`, aliases resolved, or whose name
        holds `contains`)."""
        if contains:
            return vocabulary.list_tags(self.conn, category=category, contains=contains,
                                        limit=limit, offset=offset)
        if prefix:
            matches = self.find(prefix, limit=limit, category=category)
            return [m.tag for m in matches if m.reason in ("exact", "prefix")]
        return vocabulary.list_tags(self.conn, category=category, limit=limit, offset=offset)

    def find(self, text: str, limit: int = 10, category: str | None = None) -> list[TagMatch]:
        """Fuzzy lookup: prefix, substring, typos, aliases and other languages."""
        from illudex.tags import lookup  # numpy: loaded when a lookup is asked for

        return lookup.find(self.conn, text, limit=limit, category=category)

    def detail(self, name: str) -> vocabulary.TagDetail | None:
        return vocabulary.get_tag(self.conn, name)

    def of_image(self, image_id: int) -> list[ImageTag]:
        return [ImageTag(*row) for row in imagetags.of_image(self.conn, image_id)]

    def pictures_with(self, name: str) -> list[int]:
        """Ids of the pictures that carry the tag `name` means (from any source)."""
        return vocabulary.tagged_images(self.conn, name)

    def add(self, image_ids: Sequence[int], names: Sequence[str]) -> int | None:
        return self.journal.tag_edit(f"add {', '.join(names)}",
                                     lambda: edits.add_tags(self.conn, image_ids, names))

    def remove(self, image_ids: Sequence[int], names: Sequence[str]) -> int | None:
        return self.journal.tag_edit(f"remove {', '.join(names)}",
                                     lambda: edits.remove_tags(self.conn, image_ids, names))

    def replace(self, image_ids: Sequence[int], old: str, new: str) -> int | None:
        return self.journal.tag_edit(f"replace {old} by {new}",
                                     lambda: edits.replace_tag(self.conn, image_ids, old, new))

    def merge(self, keep: str, gone: str) -> int | None:
        return self.journal.tag_edit(f"merge {gone} into {keep}",
                                     lambda: edits.merge_tags(self.conn, keep, gone))

    def rename(self, old: str, new: str) -> int | None:
        """Rename a tag (the old name stays an alias)."""
        return self.journal.tag_edit(f"rename tag {old} to {new}",
                                     lambda: vocabulary.rename_tag(self.conn, old, new))

    def delete(self, name: str) -> int | None:
        """Take a tag off every picture and forget it."""
        return self.journal.tag_edit(f"delete tag {name}",
                                     lambda: vocabulary.delete_tag(self.conn, name))

    def set_category(self, tag: str, category: str) -> vocabulary.Tag:
        return vocabulary.set_category(self.conn, tag, category)

    def apply_implications(self, image_ids: Sequence[int] | None = None) -> int | None:
        return self.journal.tag_edit("write implied tags",
                                     lambda: edits.apply_implications(self.conn, image_ids))

    def write_sidecars(
        self, image_ids: Sequence[int], *, progress: ProgressCallback | None = None
    ) -> int | None:
        """Write each picture's catalog tags to its `.txt` caption file, undoably."""
        wanted = {i: names for i, names in edits.tags_for_sidecar(self.conn, image_ids)
                  .items() if names}  # no tags: nothing to write, never an empty file
        if not wanted:
            return None
        rows = rows_by_ids(self.conn, list(wanted))
        with self.journal.action("write-txt", f"write {len(wanted)} caption file(s)") as action:
            for n, (image_id, names) in enumerate(sorted(wanted.items()), start=1):
                self.journal.write_text(
                    action, sidecar_path(rows[image_id].path), format_sidecar(names)
                )
                notify(progress, "sidecars", n, len(wanted))
        self._sidecars_written(rows.values())
        return action

    def write_captions(
        self, results: Sequence[TagResult], options: CaptionOptions, policy: str = "merge"
    ) -> int | None:
        """Write tagging results to same-name `.txt` files, undoably. `policy` for files
        that exist: merge (keep the user's tags, add the new), replace, or skip."""
        from illudex.tags.captions import format_caption, merge_caption

        with self.journal.action("write-txt", f"captions for {len(results)} picture(s)") as a:
            for result in results:
                txt = sidecar_path(result.path)
                text = merge_caption(
                    _read_text(txt),
                    format_caption(result.general, result.character, options, result.top_rating),
                    policy, first=options.trigger_words,  # type: ignore[arg-type]
                )
                if text is not None:
                    self.journal.write_text(a, txt, text)
        self._sidecars_written(
            r for r in (row_by_path(self.conn, res.path) for res in results) if r is not None
        )
        return a

    def _sidecars_written(self, rows: Iterable[ImageRow]) -> None:
        """The files we wrote are the catalog's own view: note their mtimes so the next
        scan does not read them back as new sidecar tags."""
        for row in rows:
            with contextlib.suppress(OSError):
                set_sidecar_mtime(self.conn, row.id, os.stat(sidecar_path(row.path)).st_mtime_ns)


class VocabularyService:
    """Aliases, implications and translations; the `*_impact` methods say what a change
    would do to pictures, so a caller can ask before making it."""

    def __init__(self, conn: sqlite3.Connection, journal: Journal) -> None:
        self.conn = conn
        self.journal = journal

    def aliases(self) -> list[tuple[str, str]]:
        return vocabulary.list_aliases(self.conn)

    def add_alias(self, alias: str, tag: str) -> int | None:
        """Point `alias` at `tag`, undoably (pictures tagged `alias` are retagged)."""
        return self.journal.tag_edit(f"alias {alias} → {tag}",
                                     lambda: vocabulary.add_alias(self.conn, alias, tag))

    def remove_alias(self, alias: str) -> bool:
        """Forget an alias; False when there was none."""
        return vocabulary.remove_alias(self.conn, alias)

    def alias_impact(self, alias: str, tag: str) -> vocabulary.Impact:
        """Pictures `add_alias` would retag, and the alias it would replace."""
        return vocabulary.alias_impact(self.conn, alias, tag)

    def implications(self) -> list[tuple[str, str]]:
        return vocabulary.list_implications(self.conn)

    def add_implication(self, tag: str, implied: str) -> None:
        vocabulary.add_implication(self.conn, tag, implied)

    def remove_implication(self, tag: str, implied: str) -> bool:
        return vocabulary.remove_implication(self.conn, tag, implied)

    def implication_impact(self, tag: str, implied: str) -> vocabulary.Impact:
        """Pictures `add_implication` would newly make match `implied`."""
        return vocabulary.implication_impact(self.conn, tag, implied)

    def translations(self) -> list[tuple[str, str, str]]:
        return vocabulary.list_translations(self.conn)

    def add_translation(self, tag: str, lang: str, name: str) -> None:
        vocabulary.add_translation(self.conn, tag, lang, name)

    def remove_translation(self, tag: str, lang: str, name: str) -> bool:
        return vocabulary.remove_translation(self.conn, tag, lang, name)

    def import_file(self, path: str | Path, kind: str | None = None) -> dict[str, ImportReport]:
        """Import a CSV of one `kind` (tags, aliases, implications, translations), or a
        `.json` file holding the whole vocabulary; a report per kind."""
        from illudex.tags import exchange

        try:
            if Path(path).suffix.lower() == ".json":
                return exchange.import_json(self.conn, path)
            if kind is None:
                raise LibraryError(f"{path}: say which kind of CSV it is: one of {exchange.KINDS}")
            return {kind: exchange.import_csv(self.conn, path, kind)}
        except (OSError, ValueError) as e:
            raise LibraryError(str(e)) from None

    def export_file(self, path: str | Path, kind: str | None = None) -> dict[str, int]:
        """Write a CSV of one `kind`, or the whole vocabulary to a `.json` file; rows per kind."""
        from illudex.tags import exchange

        try:
            if Path(path).suffix.lower() == ".json":
                data = exchange.export_json(self.conn, path)
                return {name: len(rows) for name, rows in data.items()}
            if kind is None:
                raise LibraryError(f"{path}: say which kind to export: one of {exchange.KINDS}")
            return {kind: exchange.export_csv(self.conn, path, kind)}
        except (OSError, ValueError) as e:
            raise LibraryError(str(e)) from None


def _read_text(path: str | Path) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return None
