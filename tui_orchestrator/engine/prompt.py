"""The prompts workers get: the first one names every file of the chunk; a resumed session
is told what is left; a custom prompt (``--prompt-file``) replaces the instructions.

The lines ``Repository root: …`` and ``Files to review (N):`` / ``Files left to review (N):``
followed by ``- path`` lines are a stable format (the test servers read them). A change
review's first prompt then names the changed lines, after a blank line
(docs/change-review.md §2).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

from tui_orchestrator.engine.errors import ConfigError

DEFAULT_INSTRUCTIONS = """\
You are reviewing part of a code repository for real problems: bugs, security
vulnerabilities, data loss, race conditions, resource leaks, and error handling that hides
failures. Read every file listed below with the Read tool (use Grep or Glob only to follow
a reference), and report each problem you are confident about with the file, the line, a
severity (critical, high, medium, low or info), a short title and a description of why it
matters. Do not report style nits. Do not try to change any file: you have read-only tools."""

OUTPUT_NOTE = """\
Report your findings through the structured output tool as {"findings": [...]}; if you
find nothing, report an empty list. Paths may be absolute or relative to the repository root.
For each finding also give its category (injection, path-traversal, auth, crypto, secrets,
race-condition, resource-leak, error-handling, data-loss, logic, performance or other), your
confidence (low, medium or high) and the evidence: the lines or calls that show the problem
(never quote a secret's value)."""


def load_instructions(prompt_file: str) -> str:
    """The custom instructions of ``--prompt-file``, or the default ones."""
    if not prompt_file:
        return DEFAULT_INSTRUCTIONS
    path = Path(prompt_file)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ConfigError(f"prompt file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read prompt file {path}: {exc}") from None
    if not text:
        raise ConfigError(f"prompt file is empty: {path}")
    return text


def fingerprint(instructions: str) -> str:
    """Changing the instructions makes every finished chunk stale (docs/decisions.md §3)."""
    return hashlib.blake2b(instructions.encode("utf-8"), digest_size=8).hexdigest()


def _file_list(files: Sequence[str]) -> str:
    return "\n".join(f"- {path}" for path in files)


def first_prompt(
    instructions: str, root: Path, files: Sequence[str], changed: str = "", since: str = ""
) -> str:
    """``changed``: a change review's changed lines of these files (``- path: 5-6, 30``
    lines), since the ref ``since``."""
    focus = ""
    if changed:
        focus = (
            f"This is a review of a change (since {since}). The lines that changed:\n"
            f"{changed}\n"
            "Focus on these lines and on what they affect; read around them as far as you "
            "need to judge them. A serious problem elsewhere in these files is still worth "
            "reporting.\n\n"
        )
    return (
        f"{instructions}\n\n"
        f"Repository root: {root}\n"
        f"Files to review ({len(files)}):\n{_file_list(files)}\n\n"
        f"{focus}"
        f"{OUTPUT_NOTE}\n"
    )


def resume_prompt(root: Path, left: Sequence[str]) -> str:
    """For a session that was paused or interrupted: continue with the files left.

    With nothing left (every file was read before the interruption), the list is empty
    and the agent goes straight to reporting.
    """
    if left:
        todo = f"Files left to review ({len(left)}):\n{_file_list(left)}\n\n"
    else:
        todo = (
            "Files left to review (0):\n\n"
            "You have read every file of this review already: report the findings now.\n"
        )
    return (
        "You were interrupted. Continue the same review where you stopped.\n\n"
        f"Repository root: {root}\n"
        f"{todo}"
        "Report the findings for ALL files of this review, including those you reviewed "
        "before the interruption. If this conversation does not hold the contents of a "
        "file of this review (the interruption can cut off the last read), read it again.\n"
        f"{OUTPUT_NOTE}\n"
    )


_ROOT_LINE = re.compile(r"^Repository root: .*$", re.MULTILINE)


def with_root(prompt: str, root: str | Path) -> str:
    """The same prompt with its ``Repository root:`` line naming ``root`` (a remote copy).

    The engine's line is the last one (custom instructions come before it).
    """
    matches = list(_ROOT_LINE.finditer(prompt))
    if not matches:
        return prompt
    last = matches[-1]
    return f"{prompt[: last.start()]}Repository root: {root}{prompt[last.end() :]}"


def ask_prompt(question: str) -> str:
    return (
        f"{question.strip()}\n\n(A follow-up question about the review you did; answer in "
        "plain text. You still have read-only tools.)"
    )
