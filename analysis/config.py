"""A reader for the subset of libconfig that study configs use.

Study files carry the config text they were started with (attribute `config`).
The plots read it for their titles (which study, which shared train flags) and
the Gram bounds read `gram_points` from it, so only the data model is needed:
settings `key = value;` (or `key : value`), groups `{}`, arrays `[]` and lists
`()`, strings (adjacent ones concatenated), numbers, booleans and the three
comment styles.
"""
from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(r"""
    (?P<space>\s+|\#[^\n]*|//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>[-+]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)L{0,2})
  | (?P<name>[A-Za-z*][-A-Za-z0-9_*]*)
  | (?P<punct>[=:;,{}\[\]()])
""", re.VERBOSE | re.DOTALL)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "\\": "\\", '"': '"'}


class ConfigError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ConfigError(f"unexpected character {text[pos]!r} at offset {pos}")
        pos = m.end()
        kind = m.lastgroup
        assert kind is not None  # every alternative of _TOKEN is a named group
        if kind != "space":
            out.append((kind, m.group()))
    return out


def _unquote(token: str) -> str:
    body = token[1:-1]
    return re.sub(r"\\(x[0-9a-fA-F]{2}|.)",
                  lambda m: chr(int(m.group(1)[1:], 16)) if m.group(1)[0] == "x"
                  else _ESCAPES.get(m.group(1), m.group(1)), body)


def _number(token: str) -> int | float:
    token = token.rstrip("L")
    if token.lower().lstrip("+-").startswith("0x"):
        return int(token, 16)
    if re.fullmatch(r"[-+]?\d+", token):
        return int(token)
    return float(token)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise ConfigError(f"expected {value or 'more input'}, found "
                              f"{token[1] if token else 'end of text'}")
        self.i += 1
        return token

    def settings(self, closing: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        while (token := self.peek()) is not None and token[1] != closing:
            kind, name = self.take()
            if kind != "name":
                raise ConfigError(f"expected a setting name, found {name}")
            if self.take()[1] not in "=:":
                raise ConfigError(f"expected = after {name}")
            out[name] = self.value()
            if (token := self.peek()) is not None and token[1] in ";,":
                self.take()
        return out

    def value(self) -> Any:
        kind, text = self.take()
        if kind == "string":
            parts = [_unquote(text)]
            while (token := self.peek()) is not None and token[0] == "string":
                parts.append(_unquote(self.take()[1]))
            return "".join(parts)
        if kind == "number":
            return _number(text)
        if kind == "name" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if text == "{":
            group = self.settings("}")
            self.take("}")
            return group
        if text in "[(":
            closing = "]" if text == "[" else ")"
            items = []
            while (token := self.peek()) is not None and token[1] != closing:
                items.append(self.value())
                if (token := self.peek()) is not None and token[1] == ",":
                    self.take()
            self.take(closing)
            return items
        raise ConfigError(f"unexpected {text}")


def parse_config(text: str) -> dict[str, Any]:
    """The settings of a libconfig text as nested dicts and lists."""
    parser = _Parser(text)
    out = parser.settings(None)
    if (token := parser.peek()) is not None:
        raise ConfigError(f"unexpected {token[1]}")
    return out


def leading_comment(text: str) -> str:
    """The comment block at the top of a config (the claim a paper study tests)."""
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith(("#", "//")):
            break
        lines.append(stripped.lstrip("#/").strip())
    return " ".join(line for line in lines if line)
