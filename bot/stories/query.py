"""The topic query language users type in chat and config.

    words            all must appear (implicit AND), case- and accent-insensitive, lightly stemmed
    "a phrase"       the words in this order
    a OR b, a | b    either
    NOT a, -a        must not appear
    ( ... )          grouping; AND may be written out
    source:reuters   only articles from a source whose name contains the value ("quoted" for spaces)
    re:/pattern/     a regular expression over the title and text, case- and accent-insensitive, run by
                     RE2 within bounds (see bot.stories.patterns)

A bad query raises QueryError naming the position (1-based) of the problem.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.stories.patterns import MAX_SCAN_CHARS, PatternError, compile_pattern
from bot.stories.text import Token, fold, tokenize

MAX_QUERY_CHARS = 2000
MAX_DEPTH = 32
_OPERATORS = {"OR", "AND", "NOT", "|"}


class QueryError(ValueError):
    """A query that cannot be parsed; `position` is 1-based."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"position {position}: {message}")
        self.position = position
        self.reason = message


@dataclass(frozen=True, slots=True)
class QueryText:
    """An article as the query language sees it."""

    title: tuple[Token, ...]
    body: tuple[Token, ...]
    source: str
    folded: str
    stems: frozenset[str] = field(default=frozenset())
    # Where each leaf was found (by id: a topic's query asks `matches` and then `hits` of the same leaves).
    found: dict[int, Hit | None] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def of(cls, title: list[Token], body: list[Token], source: str, raw: str) -> QueryText:
        stems = frozenset([t.stem for t in title]) | frozenset([t.stem for t in body])
        # Regular expressions read at most MAX_SCAN_CHARS: their cost per article stays bounded.
        return cls(tuple(title), tuple(body), fold(source), fold(raw[:MAX_SCAN_CHARS]), stems)


@dataclass(frozen=True, slots=True)
class Hit:
    """A positive leaf of the query found in an article: which leaf and where."""

    leaf: Leaf
    in_title: bool
    tokens: tuple[Token, ...]


@dataclass(frozen=True, slots=True)
class Leaf:
    """A word or phrase (a sequence of stems), a source filter or a regular expression."""

    kind: str
    text: str
    stems: tuple[str, ...] = ()
    pattern: Any = None

    def find(self, doc: QueryText) -> Hit | None:
        key = id(self)
        if key in doc.found:
            return doc.found[key]
        hit = doc.found[key] = self._find(doc)
        return hit

    def _find(self, doc: QueryText) -> Hit | None:
        if self.kind == "source":
            return Hit(self, False, ()) if self.text in doc.source else None
        if self.kind == "regex":
            return Hit(self, False, ()) if self.pattern.search(doc.folded) else None
        if not self.stems or self.stems[0] not in doc.stems:
            return None
        for in_title, tokens in ((True, doc.title), (False, doc.body)):
            found = _find_sequence(tokens, self.stems)
            if found is not None:
                return Hit(self, in_title, found)
        return None


@dataclass(frozen=True, slots=True)
class Node:
    op: str  # "and", "or", "not", "leaf"
    children: tuple[Node, ...] = ()
    leaf: Leaf | None = None

    def matches(self, doc: QueryText) -> bool:
        if self.leaf is not None:
            return self.leaf.find(doc) is not None
        if self.op == "and":
            return all(c.matches(doc) for c in self.children)
        if self.op == "or":
            return any(c.matches(doc) for c in self.children)
        return not self.children[0].matches(doc)

    def hits(self, doc: QueryText) -> list[Hit]:
        """The positive words and phrases that matched (not those under NOT)."""
        if self.leaf is not None:
            hit = self.leaf.find(doc)
            return [hit] if hit is not None else []
        if self.op == "not":
            return []
        return [h for c in self.children for h in c.hits(doc)]

    def leaves(self) -> Iterator[Leaf]:
        if self.leaf is not None:
            yield self.leaf
        for child in self.children:
            if child.op != "not":
                yield from child.leaves()


def _find_sequence(tokens: tuple[Token, ...], stems: tuple[str, ...]) -> tuple[Token, ...] | None:
    n = len(stems)
    for i in range(len(tokens) - n + 1):
        if all(tokens[i + k].stem == stems[k] for k in range(n)):
            return tokens[i : i + n]
    return None


@dataclass
class _Lexeme:
    kind: str  # word, phrase, regex, source, lparen, rparen, or, and, not, minus
    value: str
    pos: int


def _lex(query: str) -> list[_Lexeme]:
    out: list[_Lexeme] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            out.append(_Lexeme("lparen" if ch == "(" else "rparen", ch, i + 1))
            i += 1
        elif ch == "|":
            out.append(_Lexeme("or", ch, i + 1))
            i += 1
        elif ch == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise QueryError("unterminated quote", i + 1)
            out.append(_Lexeme("phrase", query[i + 1 : end], i + 1))
            i = end + 1
        elif (
            ch == "-"
            and i + 1 < n
            and not query[i + 1].isspace()
            and (not out or query[i - 1].isspace() or query[i - 1] == "(")
        ):
            out.append(_Lexeme("not", ch, i + 1))
            i += 1
        elif query.startswith("re:/", i):
            end = i + 4
            while end < n and query[end] != "/":
                end += 2 if query[end] == "\\" else 1
            if end >= n:
                raise QueryError("unterminated regular expression (re:/.../)", i + 1)
            out.append(_Lexeme("regex", query[i + 4 : end], i + 1))
            i = end + 1
        elif query.startswith("source:", i):
            start = i + len("source:")
            if start < n and query[start] == '"':
                end = query.find('"', start + 1)
                if end < 0:
                    raise QueryError("unterminated quote", start + 1)
                value, i = query[start + 1 : end], end + 1
            else:
                end = start
                while end < n and not query[end].isspace() and query[end] not in "()":
                    end += 1
                value, i = query[start:end], end
            if not value.strip():
                raise QueryError("source: needs a name", start + 1)
            out.append(_Lexeme("source", value, start + 1))
        else:
            end = i
            while end < n and not query[end].isspace() and query[end] not in '()"|':
                end += 1
            word = query[i:end]
            kind = word.lower() if word in _OPERATORS else "word"
            out.append(_Lexeme(kind, word, i + 1))
            i = end
    return out


class _Parser:
    def __init__(self, lexemes: list[_Lexeme], length: int) -> None:
        self.lx = lexemes
        self.i = 0
        self.end = length + 1

    def peek(self) -> _Lexeme | None:
        return self.lx[self.i] if self.i < len(self.lx) else None

    def parse(self) -> Node:
        if not self.lx:
            raise QueryError("empty query", 1)
        node = self.or_expr(0)
        extra = self.peek()
        if extra is not None:
            reason = (
                "unbalanced parenthesis: ')' without '('"
                if extra.kind == "rparen"
                else f"unexpected {extra.value!r}"
            )
            raise QueryError(reason, extra.pos)
        return node

    def or_expr(self, depth: int) -> Node:
        parts = [self.and_expr(depth)]
        while (lx := self.peek()) is not None and lx.kind == "or":
            self.i += 1
            if self.peek() is None or self.peek().kind in ("rparen", "or", "and"):  # type: ignore[union-attr]
                raise QueryError("OR needs something on both sides", lx.pos)
            parts.append(self.and_expr(depth))
        return parts[0] if len(parts) == 1 else Node("or", tuple(parts))

    def and_expr(self, depth: int) -> Node:
        parts = [self.unary(depth)]
        while (lx := self.peek()) is not None and lx.kind not in ("or", "rparen"):
            if lx.kind == "and":
                self.i += 1
                if self.peek() is None:
                    raise QueryError("AND needs something on both sides", lx.pos)
            parts.append(self.unary(depth))
        if all(p.op == "not" for p in parts):
            raise QueryError(
                "a query needs at least one word that must appear, not only exclusions", self.lx[0].pos
            )
        return parts[0] if len(parts) == 1 else Node("and", tuple(parts))

    def unary(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise QueryError("too deeply nested", self.peek().pos if self.peek() else self.end)  # type: ignore[union-attr]
        lx = self.peek()
        if lx is None:
            raise QueryError("query ends too early", self.end)
        self.i += 1
        if lx.kind == "not":
            if self.peek() is None:
                raise QueryError("NOT needs something to exclude", lx.pos)
            return Node("not", (self.unary(depth + 1),))
        if lx.kind == "lparen":
            if (nxt := self.peek()) is not None and nxt.kind == "rparen":
                raise QueryError("empty parentheses", lx.pos)
            node = self.or_expr(depth + 1)
            close = self.peek()
            if close is None or close.kind != "rparen":
                raise QueryError("unbalanced parenthesis: '(' is never closed", lx.pos)
            self.i += 1
            return node
        if lx.kind == "rparen":
            raise QueryError("unbalanced parenthesis: ')' without '('", lx.pos)
        if lx.kind in ("or", "and"):
            raise QueryError(f"{lx.value} needs something on both sides", lx.pos)
        return Node("leaf", leaf=_leaf(lx))


def _leaf(lx: _Lexeme) -> Leaf:
    if lx.kind == "source":
        return Leaf("source", fold(lx.value.strip()))
    if lx.kind == "regex":
        try:
            return Leaf("regex", lx.value, pattern=compile_pattern(lx.value))
        except PatternError as exc:
            raise QueryError(str(exc), lx.pos) from None
    stems = tuple(t.stem for t in tokenize(lx.value))
    if not stems:
        raise QueryError(f"{lx.value!r} has no letters or digits to match", lx.pos)
    return Leaf("phrase" if lx.kind == "phrase" or len(stems) > 1 else "word", lx.value, stems)


def parse_query(query: str) -> Node:
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"query longer than {MAX_QUERY_CHARS} characters", MAX_QUERY_CHARS + 1)
    return _Parser(_lex(query), len(query)).parse()


def keywords_query(keywords: list[str]) -> str:
    """A topics.json keyword list as a query: any keyword (multi-word ones as phrases)."""
    parts = []
    for keyword in keywords:
        clean = keyword.replace('"', " ").strip()
        if clean:
            parts.append(f'"{clean}"' if any(c.isspace() or c in "()|-" for c in clean) else clean)
    return " OR ".join(parts)
