"""Sidecar `.txt` files: booru tags next to an image, `tag, tag, tag` (one line).

Reading is tolerant: commas with or without spaces (full-width and ideographic commas
too: `1girl， solo、 yellow eyes`), newlines, escaped parentheses
(`\\(` as written for prompts), spaces or underscores. Names come back in the catalog's
canonical form: lower case, underscores, unescaped, duplicates dropped, order kept.
Kaomoji such as `^_^` keep their underscores whichever way a caption is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from illudex import paths
from illudex.catalog.tagrows import normalise

MAX_SIDECAR_BYTES = 1 << 20  # a tag file is small; refuse to slurp a mislabeled huge file

# The kaomoji among the WD tags: their underscores are part of the face, not word breaks.
KAOMOJI = frozenset({
    "0_0", "(o)_(o)", "+_+", "+_-", "._.", "<o>_<o>", "<|>_<|>", "=_=", ">_<", "3_3", "6_9",
    ">_o", "@_@", "^_^", "o_o", "u_u", "x_x", "|_|", "||_||",
})

# Tags are separated by commas, also those of CJK text: full-width `，` (U+FF0C), the
# ideographic `、` (U+3001), its half-width form (U+FF64) and the small forms (U+FE50/51).
_SPLIT = re.compile("[,\n\r\uff0c\u3001\uff64\ufe50\ufe51]+")
_ESCAPED = re.compile(r"\\([()\[\]])")


def sidecar_path(image_path: str | Path) -> Path:
    """The same-name `.txt` next to an image: `a/b.png` → `a/b.txt`."""
    return Path(paths.sidecar_path(str(image_path)))


def read_sidecar(path: str | Path) -> list[str]:
    """Tag names from a `.txt` sidecar, canonical form; [] for an empty file.

    Raises OSError (missing, unreadable) for the caller to report.
    """
    with open(path, "rb") as f:
        data = f.read(MAX_SIDECAR_BYTES)
    return parse_tags(data.decode("utf-8-sig", errors="replace"))


def parse_tags(text: str) -> list[str]:
    """Caption text → canonical tag names (order kept, duplicates dropped)."""
    names = (normalise_tag(token) for token in _SPLIT.split(text))
    return list(dict.fromkeys(n for n in names if n))


def normalise_tag(token: str) -> str:
    """One written tag → canonical name: unescaped, trimmed, lower case, spaces → `_`."""
    return normalise(_ESCAPED.sub(r"\1", token))


def tag_text(name: str, *, spaces: bool = True, escape_parens: bool = True) -> str:
    """A canonical name as written in a caption: `_` → space (not in kaomoji), `(` → `\\(`."""
    text = name
    if spaces and name not in KAOMOJI:
        text = text.replace("_", " ")
    if escape_parens:
        text = text.replace("(", "\\(").replace(")", "\\)")
    return text


def format_sidecar(
    names: Iterable[str], *, spaces: bool = True, escape_parens: bool = True
) -> str:
    """Canonical names → one `tag, tag` line (no trailing newline, as booru tools write)."""
    return ", ".join(tag_text(n, spaces=spaces, escape_parens=escape_parens) for n in names)
