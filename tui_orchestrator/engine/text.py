"""Text from a worker or a repository made safe to show and to write.

A model's answer, a tool call's pattern or a file name can hold anything: a terminal
escape (``\\x1b[2J`` clears the screen, ``\\x1b]0;…\\x07`` retitles the window), a NUL, a
C1 control (``\\x9b`` is an escape on its own), a right-to-left override that makes
``exe.txt`` read as ``txt.exe``, or a lone surrogate no file can hold. Every such character
is replaced by a visible stand-in, so the text still says that something odd was there,
and no sequence of it can reach a terminal or a report: with the escape character gone, the
rest of an escape sequence is plain text.
"""

from __future__ import annotations

import math
import re

# C0 controls, DEL, C1 controls, the bidirectional formatting characters, the line and
# paragraph separators (a line break to some renderers), and lone surrogates.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_BREAKS = re.compile(r"\r\n?|\n")


def _stand_in(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        # The Unicode control pictures: ESC shows as ␛, NUL as ␀.
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"  # ␡
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    return f"<U+{code:04X}>"


def printable(text: str, *, lines: bool = False, tabs: bool = False) -> str:
    """``text`` with every control and formatting character made visible.

    ``lines`` keeps line breaks (a carriage return, alone or before a newline, becomes a
    newline); without it every break is a space, for text shown on one line. ``tabs`` keeps
    tabs (else a space). Text that needs nothing comes back as it is, for one regex search.
    """
    if not _UNSAFE.search(text):
        return text
    text = _BREAKS.sub("\n" if lines else " ", text)
    keep = ("\n" if lines else "") + ("\t" if tabs else "")

    def replace(match: re.Match[str]) -> str:
        char = match.group()
        if char in keep:
            return char
        return " " if char == "\t" else _stand_in(char)

    return _UNSAFE.sub(replace, text)


def has_unsafe(text: str, allow: str = "") -> bool:
    """Does ``text`` hold a character ``printable`` replaces (other than those in ``allow``)?"""
    return any(char not in allow for char in _UNSAFE.findall(text))


def finite_number(value: object) -> float | None:
    """``value`` as a float when it is a real, finite, non-negative number; else None.

    A bool is not a number here (JSON's ``true`` is not a token count), nor is a string.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return number
