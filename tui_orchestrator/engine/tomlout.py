"""A small TOML emitter for claude-tui's own two schemas (plan and checkpoint).

tomli-w is correct but takes about 90 ms for a 1,000-chunk checkpoint and holds the
interpreter lock meanwhile; these few functions write the same TOML several times faster.
Every output is checked against ``tomllib`` by round-trip tests.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


# Control characters must be escaped; lone surrogates (undecodable file names) cannot be
# written at all, so they become U+FFFD. One table: str.translate does it in C.
_TRANSLATE: dict[int, str] = {ord(ch): escaped for ch, escaped in _ESCAPES.items()}
for _code in (*range(0x20), 0x7F):
    _TRANSLATE.setdefault(_code, f"\\u{_code:04x}")
_TRANSLATE.update(dict.fromkeys(range(0xD800, 0xE000), "\ufffd"))


def toml_str(value: str) -> str:
    """A TOML basic string."""
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return '"' + value.translate(_TRANSLATE) + '"'


def toml_float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(float(value))


def toml_array(values: Iterable[str]) -> str:
    """An array of strings, one a line when long, so diffs of plan files stay readable."""
    items = [toml_str(v) for v in values]
    if not items:
        return "[]"
    if len(items) <= 3 and sum(len(i) for i in items) < 80:
        return "[" + ", ".join(items) + "]"
    return "[\n    " + ",\n    ".join(items) + ",\n]"
