"""The search query language: text → syntax tree.

    1girl long_hair -monochrome          space = AND, -x = NOT
    (blonde_hair OR red_hair) dress      OR (also |), parentheses
    *_hair  black_*                      wildcards
    "long hair"  "re:zero"               quoted tag names (spaces, colons)
    width:>=1000  ratio:1.5..2  size:>2mb  height:<800  tags:0  id:10..20
    format:png|jpeg  rating:general|sensitive  animated:yes  alpha:no
    folder:/abs/dir  path:*foo*  added:>=2024-01-01
    faces:1  heads:>=2  persons:0  class:illustration|comic   (what dataset models found)
    quality:>=0.7  quality:0.2..0.5   (the aesthetic score, `illudex quality`)
    sort:width  sort:-size  sort:random  sort:random:42  sort:added  sort:score   limit:100
    sort:-quality   (best first; unscored pictures last)
    similar:123  similar:"/pics/a b.png"~0.8  text:"a girl with a red umbrella"~0.25

AND binds tighter than OR: `a OR b c` is `a OR (b c)`; use parentheses for `(a OR b) c`.
Ranges: `N` (equal; size ±5 %, ratio ±1 %), `>N >=N <N <=N`, `A..B` (inclusive), `A..`,
`..B`. `~X` after a similarity value is its cut-off score in [0, 1] (required when negated).
A `(` opens a group at the start of a word; inside a group a word's unmatched trailing `)`
closes it, so `(saber_(fate) OR rin)` works. Tags that begin with `-` or `(`, or whose
prefix before `:` is a metatag name, are written quoted. Errors raise `QuerySyntaxError`
with the position, shown with a caret under the query.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime

from illudex.catalog.tagrows import normalise
from illudex.errors import InvalidInput

# Counts of what a dataset model step's detector found: metatag → detection kind.
DETECTION_KEYS = {"faces": "face", "heads": "head", "persons": "person"}
RANGE_KEYS = {"width", "height", "ratio", "size", "tags", "id", "added", "quality",
              *DETECTION_KEYS}
LIST_KEYS = {"format", "rating", "class"}
BOOL_KEYS = {"animated", "alpha"}
PATH_KEYS = {"folder", "path"}
SIMILARITY_KEYS = {"similar", "text"}
DIRECTIVE_KEYS = {"sort", "limit"}
METATAGS = RANGE_KEYS | LIST_KEYS | BOOL_KEYS | PATH_KEYS | SIMILARITY_KEYS | DIRECTIVE_KEYS
SORT_KEYS = ("id", "added", "width", "height", "size", "ratio", "path", "tags", "score",
             "quality", "random")
RATINGS = {"g": "general", "s": "sensitive", "q": "questionable", "e": "explicit",
           "safe": "general", "general": "general", "sensitive": "sensitive",
           "questionable": "questionable", "explicit": "explicit"}
FORMATS = {"jpg": "jpeg", "jpe": "jpeg", "jfif": "jpeg", "tif": "tiff", "heic": "heif"}
SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024**2, "mb": 1024**2,
              "mib": 1024**2, "g": 1024**3, "gb": 1024**3, "gib": 1024**3}
TRUE_WORDS, FALSE_WORDS = {"yes", "true", "1", "y"}, {"no", "false", "0", "n"}
# Parentheses and negations nest at most this deep: the parser and every tree walk
# recurse, and no real query comes near it.
MAX_NESTING = 64
MAX_ID = 2**63 - 1  # the catalog's ids are SQLite integers


class QuerySyntaxError(InvalidInput):
    """A query that cannot be read; `position` is the 0-based offset of the trouble."""

    def __init__(self, message: str, query: str, position: int) -> None:
        self.reason, self.query, self.position = message, query, position
        super().__init__(f"{message} (at {position + 1})\n  {query}\n  {' ' * position}^")


# -- the tree ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    """Bounds on a number; None is open. `inclusive` flags apply to lo and hi."""

    lo: float | None = None
    hi: float | None = None
    lo_inclusive: bool = True
    hi_inclusive: bool = True

    def contains(self, value: float | None) -> bool:
        if value is None:
            return False
        lo, hi = self.lo, self.hi
        if lo is not None and (value < lo or (value == lo and not self.lo_inclusive)):
            return False
        return hi is None or value < hi or (value == hi and self.hi_inclusive)


@dataclass(frozen=True)
class TagTerm:
    """A tag name in booru form; `*` in it is a wildcard."""

    name: str
    pos: int

    @property
    def wildcard(self) -> bool:
        return "*" in self.name


@dataclass(frozen=True)
class Meta:
    """A metatag filter: `key` with a numeric `range`, a `values` list, or a path/flag."""

    key: str
    raw: str
    pos: int
    range: Range | None = None
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Similar:
    """`similar:` (an image id or path) or `text:` (words), with an optional cut-off."""

    kind: str  # 'image' | 'text'
    target: str | int
    min_score: float | None
    pos: int


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


Node = TagTerm | Meta | Similar | Not | And | Or


@dataclass(frozen=True)
class _Directive:
    """sort: or limit: while parsing; taken out of the tree once checked to be top level."""

    token: _Token


@dataclass(frozen=True)
class Sort:
    key: str  # one of SORT_KEYS
    descending: bool = False
    seed: int | None = None  # for 'random'


@dataclass(frozen=True)
class Query:
    """A parsed query: the filter tree (None = everything) and its directives."""

    text: str
    root: Node | None
    sort: Sort | None = None
    limit: int | None = None


# -- lexing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # 'word' | 'quoted' | 'meta' | '(' | ')' | 'or' | 'not' | '-'
    text: str
    pos: int
    key: str = ""  # for 'meta'
    value: str = ""  # for 'meta'
    value_pos: int = 0
    quoted: bool = False
    suffix: str = ""  # for quoted 'meta': what follows the closing quote (a ~cut-off)


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """The string in quotes starting at `start` (a quote), and the offset after it."""
    out, i = [], start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if ch == '"':
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise QuerySyntaxError("unclosed quote: add a closing \"", text, start)


def _word_end(text: str, start: int, depth: int) -> tuple[int, int]:
    """End of a bare word, and where any group-closing `)` run after it ends."""
    end = start
    while end < len(text) and not text[end].isspace():
        end += 1
    word = text[start:end]
    closing = 0
    if depth > 0:  # unmatched trailing ')' close groups; balanced ones belong to the tag
        balance = 0
        for ch in word:
            balance += (ch == "(") - (ch == ")")
        while closing < depth and balance < 0 and word[: len(word) - closing].endswith(")"):
            closing += 1
            balance += 1
    return end - closing, end


def _lex(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, depth = 0, 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "(":
            tokens.append(_Token("(", ch, i))
            depth += 1
            i += 1
        elif ch == ")" and (depth > 0 or i + 1 == len(text) or text[i + 1].isspace()):
            tokens.append(_Token(")", ch, i))  # a lone ')' at depth 0 is an error later
            depth = max(0, depth - 1)
            i += 1
        elif ch == "-" and i + 1 < len(text) and not text[i + 1].isspace():
            tokens.append(_Token("-", ch, i))
            i += 1
        elif ch == '"':
            value, i = _read_quoted(text, i)
            tokens.append(_Token("quoted", value, i - len(value) - 2))
        else:
            i, depth = _lex_word(text, i, depth, tokens)
    return tokens


def _lex_word(text: str, i: int, depth: int, tokens: list[_Token]) -> tuple[int, int]:
    key_match = re.match(r"([a-z]+):", text[i:], flags=re.IGNORECASE)
    if key_match and key_match.group(1).lower() in METATAGS:
        value_start = i + key_match.end()
        suffix = ""
        if value_start < len(text) and text[value_start] == '"':
            value, after = _read_quoted(text, value_start)
            end = after
            while end < len(text) and not text[end].isspace() and text[end] != ")":
                end += 1  # a suffix such as ~0.8 after the quotes
            suffix, quoted, closers_end = text[after:end], True, end
        else:
            end, closers_end = _word_end(text, value_start, depth)
            value, quoted = text[value_start:end], False
        tokens.append(_Token("meta", text[i:end], i, key_match.group(1).lower(), value,
                             value_start, quoted, suffix))
    else:
        end, closers_end = _word_end(text, i, depth)
        word = text[i:end]
        kind = {"OR": "or", "or": "or", "|": "or", "NOT": "not", "AND": "and"}.get(word, "word")
        tokens.append(_Token(kind, word, i))
    for pos in range(end, closers_end):
        tokens.append(_Token(")", ")", pos))
        depth -= 1
    return closers_end, depth


# -- parsing ---------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _lex(text)
        self.at = 0
        self.sort: Sort | None = None
        self.limit: int | None = None
        self.depth = 0  # open parentheses and negations around the current term

    def error(self, message: str, pos: int | None = None) -> QuerySyntaxError:
        if pos is None:
            pos = self.tokens[self.at].pos if self.at < len(self.tokens) else len(self.text)
        return QuerySyntaxError(message, self.text, pos)

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def parse(self) -> Query:
        root = self.parse_or() if self.tokens else None
        if self.peek() is not None:
            tok = self.peek()
            raise self.error(f"unexpected {tok.text!r}: a ')' without its '('?")
        return Query(self.text, self.check_top_level(root), self.sort, self.limit)

    def check_top_level(self, root: Node | _Directive | None) -> Node | None:
        """Take out sort:/limit:, and keep them and similarity terms at the top level."""
        top = list(root.children) if isinstance(root, And) else [root]
        kept: list[Node] = []
        for node in top:
            if isinstance(node, _Directive):
                self.parse_directive(node.token)
                continue
            if node is not None:
                kept.append(node)
            inner = node.child if isinstance(node, Not) else node
            # (a double negation is nested too: `--sort:x` is refused, not planned)
            for deeper in walk(inner if isinstance(inner, And | Or | Not) else None):
                self.refuse_nested(deeper)
            if isinstance(inner, _Directive):
                self.refuse_nested(inner)
        if not kept:
            return None
        return kept[0] if len(kept) == 1 else And(tuple(kept))

    def refuse_nested(self, node: Node | _Directive) -> None:
        if isinstance(node, _Directive):
            raise self.error(f"{node.token.key}: applies to the whole query: put it at the "
                             "top level, not inside parentheses, OR or negation", node.token.pos)
        if isinstance(node, Similar):
            raise self.error("similar: and text: combine with the rest by AND only: put them "
                             "at the top level, not inside parentheses or OR", node.pos)

    def parse_or(self) -> Node | None:
        parts = [self.parse_and()]
        while (tok := self.peek()) is not None and tok.kind == "or":
            self.at += 1
            parts.append(self.parse_and())
        if len(parts) == 1:
            return parts[0]
        if any(p is None for p in parts):
            raise self.error("OR needs a term on each side")
        return Or(tuple(parts))

    def parse_and(self) -> Node | None:
        parts: list[Node] = []
        while (tok := self.peek()) is not None and tok.kind not in ("or", ")"):
            if tok.kind == "and":
                self.at += 1
                continue
            parts.append(self.parse_unary())
        if not parts:
            if self.at < len(self.tokens) or self.at > 0:
                raise self.error("expected a term here")
            return None
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def parse_unary(self) -> Node:
        tok = self.peek()
        if tok.kind not in ("-", "not", "("):
            return self.parse_term(tok)
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"too deeply nested: at most {MAX_NESTING} parentheses and "
                             "negations inside each other", tok.pos)
        try:
            return self.parse_nested(tok)
        finally:
            self.depth -= 1

    def parse_nested(self, tok: _Token) -> Node:
        if tok.kind in ("-", "not"):
            self.at += 1
            if self.peek() is None or self.peek().kind in ("or", ")", "and"):
                raise self.error("nothing to negate here", tok.pos)
            child = self.parse_unary()
            if isinstance(child, Similar) and child.min_score is None:
                raise self.error("a negated similarity term needs a cut-off, e.g. "
                                 "-similar:123~0.8", tok.pos)
            return Not(child)
        if tok.kind == "(":
            self.at += 1
            inner = self.parse_or()
            closing = self.peek()
            if closing is None or closing.kind != ")":
                raise self.error("unclosed '(': add a ')'", tok.pos)
            self.at += 1
            if inner is None:
                raise self.error("empty parentheses", tok.pos)
            return inner
        raise AssertionError(f"not a nesting token: {tok.kind}")

    def parse_term(self, tok: _Token) -> Node:
        self.at += 1
        if tok.kind == "meta":
            if not tok.value:
                raise self.error(f"{tok.key}: needs a value", tok.value_pos)
            if tok.key in DIRECTIVE_KEYS:
                return _Directive(tok)
            return parse_metatag(tok, self.text)
        name = normalise(tok.text)
        if not name:
            raise self.error("empty tag name in quotes", tok.pos)
        return TagTerm(name, tok.pos)

    def parse_directive(self, tok: _Token) -> None:
        if tok.key == "limit":
            if not _whole(tok.value) or not 0 < int(tok.value) <= MAX_ID:
                raise self.error("limit: needs a positive whole number", tok.value_pos)
            self.limit = int(tok.value)
            return
        value = tok.value.lower()
        descending = value.startswith("-")
        key, _, seed = value.lstrip("-").partition(":")
        if key not in SORT_KEYS:
            raise self.error(f"unknown sort {key!r}: use one of {', '.join(SORT_KEYS)}",
                             tok.value_pos)
        if seed and (key != "random" or not _whole(seed) or int(seed) >= 2**31):
            raise self.error("only sort:random takes a seed, a whole number below 2^31: "
                             "sort:random:42",
                             tok.value_pos)
        self.sort = Sort(key, descending, int(seed) if seed else None)


def parse_metatag(tok: _Token, text: str) -> Node:
    """One `key:value` term → Meta or Similar node."""
    key, value, raw, pos = tok.key, tok.value, tok.text, tok.pos

    def fail(message: str) -> QuerySyntaxError:
        return QuerySyntaxError(message, text, tok.value_pos)

    if key in SIMILARITY_KEYS:
        return _parse_similar(tok, fail)
    if key in RANGE_KEYS:
        return Meta(key, raw, pos, range=_parse_range(key, value, fail))
    if key in BOOL_KEYS:
        word = value.lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise fail(f"{key}: takes yes or no")
        return Meta(key, raw, pos, values=("1" if word in TRUE_WORDS else "0",))
    if key in LIST_KEYS:
        items = [v for v in re.split(r"[|,]", value.lower()) if v]
        if key == "rating":
            unknown = [v for v in items if v not in RATINGS]
            if unknown:
                raise fail(f"unknown rating {unknown[0]!r}: use general, sensitive, "
                           "questionable, explicit (or g, s, q, e)")
            items = [RATINGS[v] for v in items]
        elif key == "format":
            items = [FORMATS.get(v.lstrip("."), v.lstrip(".")) for v in items]
        if not items:
            raise fail(f"{key}: needs a value, e.g. class:illustration" if key == "class"
                       else f"{key}: needs a value")
        return Meta(key, raw, pos, values=tuple(dict.fromkeys(items)))
    return Meta(key, raw, pos, values=(value,))  # folder: / path:


def _parse_similar(tok: _Token, fail) -> Similar:
    target, cut_text = tok.value, tok.suffix
    if not tok.quoted:
        cut = re.search(r"~([0-9.]*)$", target)
        if cut:
            target, cut_text = target[: cut.start()], cut.group(0)
    min_score = None
    if cut_text:
        try:
            if not cut_text.startswith("~"):
                raise ValueError
            min_score = float(cut_text[1:])
        except ValueError:
            raise fail(f"bad cut-off {cut_text!r}: write ~0.8 after the value") from None
        if not 0.0 <= min_score <= 1.0:
            raise fail("a similarity cut-off is a score between 0 and 1, e.g. ~0.8")
    if not target.strip():
        raise fail("similar: needs an image id or path" if tok.key == "similar"
                   else "text: needs words")
    if tok.key == "similar":
        parsed: str | int = target
        if _whole(target) and not tok.quoted:
            parsed = int(target)
            if parsed > MAX_ID:
                raise fail(f"no picture has an id as large as {target}")
        return Similar("image", parsed, min_score, tok.pos)
    return Similar("text", target, min_score, tok.pos)


def _whole(text: str) -> bool:
    """Digits 0-9 only (`str.isdigit` also takes `²` and other digits `int` refuses)."""
    return text.isascii() and text.isdigit()


def _parse_range(key: str, value: str, fail) -> Range:
    op = re.match(r"^(>=|<=|>|<|=)", value)
    if op:
        number = _number(key, value[op.end():], fail)
        return {
            ">": Range(lo=number, lo_inclusive=False), ">=": Range(lo=number),
            "<": Range(hi=number, hi_inclusive=False), "<=": Range(hi=number),
            "=": _equal_range(key, number),
        }[op.group(1)]
    if ".." in value:
        lo_text, _, hi_text = value.partition("..")
        lo = _number(key, lo_text, fail) if lo_text else None
        hi = _number(key, hi_text, fail) if hi_text else None
        if lo is None and hi is None:
            raise fail(f"{key}: a range needs at least one end, e.g. 1..2")
        if lo is not None and hi is not None and lo > hi:
            raise fail(f"{key}: the range starts above its end")
        return Range(lo=lo, hi=hi)
    return _equal_range(key, _number(key, value, fail))


def _equal_range(key: str, number: float) -> Range:
    if key == "size":  # exact byte counts are never what is meant
        return Range(lo=math.floor(number * 0.95), hi=math.ceil(number * 1.05))
    if key == "ratio":
        return Range(lo=number * 0.99, hi=number * 1.01)
    if key == "quality":  # a score written to two places means that hundredth
        return Range(lo=number - 0.005, hi=number + 0.005, hi_inclusive=False)
    if key == "added":  # a date means that whole day
        return Range(lo=number, hi=number + 86400, hi_inclusive=False)
    return Range(lo=number, hi=number)


def _number(key: str, text: str, fail) -> float:
    text = text.strip().lower()
    try:
        if key == "size":
            match = re.fullmatch(r"([0-9]*\.?[0-9]+)\s*([a-z]*)", text)
            if not match or match.group(2) not in SIZE_UNITS:
                raise ValueError
            return float(match.group(1)) * SIZE_UNITS[match.group(2)]
        if key == "ratio" and ":" in text:
            width, height = text.split(":", 1)
            return float(width) / float(height)
        if key == "added":
            return datetime.fromisoformat(text).timestamp()
        number = float(text)
    except (ValueError, ZeroDivisionError):
        raise fail(_number_hint(key, text)) from None
    if key in ("width", "height", "tags", "id", *DETECTION_KEYS) and number != int(number):
        raise fail(f"{key}: takes whole numbers")
    return number


def _number_hint(key: str, text: str) -> str:
    examples = {"size": "size:>2mb, size:100kb..1mb", "ratio": "ratio:16:9, ratio:1.5..2",
                "added": "added:>=2024-01-31", "width": "width:>=1000",
                "height": "height:<800", "tags": "tags:>=10", "id": "id:100..200",
                "faces": "faces:1, faces:>=2", "heads": "heads:0, heads:1..3",
                "persons": "persons:>=2", "quality": "quality:>=0.7, quality:0.2..0.5"}
    return f"bad {key}: value {text!r}; write e.g. {examples[key]}"


def parse(text: str) -> Query:
    """Parse a query; raises QuerySyntaxError (with position and caret) when it cannot."""
    return _Parser(text).parse()


def walk(node: Node | None):
    """Every node of a tree, depth first."""
    if node is None:
        return
    yield node
    if isinstance(node, And | Or):
        for child in node.children:
            yield from walk(child)
    elif isinstance(node, Not):
        yield from walk(node.child)
