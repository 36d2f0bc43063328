"""Findings: what an agent reports, parsed from its result and normalised.

Structured output (``--json-schema``) is the first source; a JSON block in the result text
is the fallback; anything else is a parse error (the chunk keeps its log, docs/engine.md §4).
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from tui_orchestrator.engine.redact import redact
from tui_orchestrator.engine.text import printable


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for critical, 4 for info: sorts the worst first."""
        return _RANK[self]

    @classmethod
    def parse(cls, value: object) -> Severity:
        text = str(value).strip().lower()
        try:
            return cls(text)
        except ValueError:
            return _SYNONYMS.get(text, cls.INFO)


_RANK = {s: i for i, s in enumerate(Severity)}
_SYNONYMS = {
    "blocker": Severity.CRITICAL,
    "error": Severity.HIGH,
    "major": Severity.HIGH,
    "warning": Severity.MEDIUM,
    "warn": Severity.MEDIUM,
    "moderate": Severity.MEDIUM,
    "minor": Severity.LOW,
    "note": Severity.LOW,
    "style": Severity.INFO,
}


class Category(StrEnum):
    """What kind of problem a finding is (a short fixed taxonomy; its CWEs are in
    docs/findings.md)."""

    INJECTION = "injection"
    PATH_TRAVERSAL = "path-traversal"
    AUTH = "auth"
    CRYPTO = "crypto"
    SECRETS = "secrets"
    RACE_CONDITION = "race-condition"
    RESOURCE_LEAK = "resource-leak"
    ERROR_HANDLING = "error-handling"
    DATA_LOSS = "data-loss"
    LOGIC = "logic"
    PERFORMANCE = "performance"
    OTHER = "other"

    @classmethod
    def parse(cls, value: object) -> str:
        """The category a model wrote, as one of the taxonomy's ("" when it gave none;
        "other" when it gave one outside it)."""
        text = str(value or "").strip().lower().replace("_", "-").replace(" ", "-")
        if not text:
            return ""
        try:
            return cls(text).value
        except ValueError:
            return _CATEGORY_SYNONYMS.get(text, cls.OTHER).value


_CATEGORY_SYNONYMS = {
    "sql-injection": Category.INJECTION,
    "command-injection": Category.INJECTION,
    "xss": Category.INJECTION,
    "traversal": Category.PATH_TRAVERSAL,
    "authentication": Category.AUTH,
    "authorization": Category.AUTH,
    "access-control": Category.AUTH,
    "cryptography": Category.CRYPTO,
    "secret": Category.SECRETS,
    "hardcoded-secret": Category.SECRETS,
    "race": Category.RACE_CONDITION,
    "concurrency": Category.RACE_CONDITION,
    "leak": Category.RESOURCE_LEAK,
    "error": Category.ERROR_HANDLING,
    "bug": Category.LOGIC,
    "correctness": Category.LOGIC,
}

CONFIDENCES = ("low", "medium", "high")


def parse_confidence(value: object) -> str:
    """low, medium or high; "" when the model gave none or something else."""
    text = str(value or "").strip().lower()
    return text if text in CONFIDENCES else ""


FINDINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "findings": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "file": {"type": "string"},
                    "line": {"type": "integer"},
                    "severity": {"type": "string", "enum": [s.value for s in Severity]},
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "category": {"type": "string", "enum": [c.value for c in Category]},
                    "confidence": {"type": "string", "enum": list(CONFIDENCES)},
                    "evidence": {"type": "string"},
                },
                "required": ["file", "line", "severity", "title", "description"],
            },
        }
    },
    "required": ["findings"],
}


@dataclass(slots=True, frozen=True)
class Finding:
    """One issue at a repo-relative file and line; ``chunk`` names who reported it."""

    file: str
    line: int
    severity: Severity
    title: str
    description: str
    chunk: str = ""
    # What kind of problem (``Category``; "" when the model gave none), how sure the model
    # is (low, medium, high or ""), and the lines or calls that show it.
    category: str = ""
    confidence: str = ""
    evidence: str = ""
    # Of the finding's content, not its line (fingerprint.py); "" until it is accepted.
    fingerprint: str = ""
    # Every chunk that reported it, in plan order, once findings are merged (``merge``).
    chunks: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, int, str]:
        """Two chunks reporting the same file, line and title report one finding."""
        return (self.file, self.line, self.title)


def normalise_path(path: str, root: Path) -> str:
    """Repo-relative with ``/``: the CLI reports absolute paths, models sometimes ``./x``.

    A path that leads out of the repository stays absolute, or keeps its ``../``, so
    ``inside_repo`` can tell it apart.
    """
    text = str(path).strip().replace("\\", "/")
    root_text = str(root).replace("\\", "/").rstrip("/")
    if text.startswith(root_text + "/"):
        text = text[len(root_text) + 1 :]
    elif os.path.isabs(text):
        try:
            text = os.path.relpath(os.path.realpath(text), os.path.realpath(root)).replace(
                "\\", "/"
            )
        except ValueError:  # a NUL in the path, or another drive
            return str(path)
        if text == ".." or text.startswith("../"):
            return str(path)
    # ``src/../x`` is ``x``; ``src/../../x`` is outside, and keeps its ``../``.
    return posixpath.normpath(text) if text else text


def inside_repo(path: str) -> bool:
    """Is a normalised path (``normalise_path``) one of the repository's own?"""
    return bool(path) and not (
        path in (".", "..") or path.startswith(("../", "/")) or os.path.isabs(path)
    )


def split_outside(findings: Iterable[Finding]) -> tuple[list[Finding], list[Finding]]:
    """The findings about files of the repository, and those about files outside it."""
    inside: list[Finding] = []
    outside: list[Finding] = []
    for finding in findings:
        (inside if inside_repo(finding.file) else outside).append(finding)
    return inside, outside


# A line number past this is no line of a real file (and would not fit SARIF's integer).
MAX_LINE = 2**31 - 1


def _line(value: object) -> int:
    if isinstance(value, bool):
        return 0
    try:
        line = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):  # OverflowError: inf
        return 0
    return line if 0 <= line <= MAX_LINE else 0


def _finding(raw: Mapping[str, Any], root: Path, chunk: str) -> Finding | None:
    file = raw.get("file") or raw.get("path") or raw.get("file_path")
    title = raw.get("title") or raw.get("message") or raw.get("summary")
    if not isinstance(file, str) or not file or not title:
        return None
    # Model text is shown on terminals and written to reports: no control character of
    # it survives (the path stays as the repository spells it; its displays escape it).
    # Secret values the model quotes go no further (redact.py).
    title_text = redact(printable(str(title)).strip())
    if not title_text:
        return None
    return Finding(
        file=normalise_path(file, root),
        line=_line(raw.get("line")),
        severity=Severity.parse(raw.get("severity", "info")),
        title=title_text,
        description=_text(raw.get("description")),
        chunk=chunk,
        category=Category.parse(raw.get("category")),
        confidence=parse_confidence(raw.get("confidence")),
        evidence=_text(raw.get("evidence")),
    )


def _text(value: object) -> str:
    return redact(printable(str(value or ""), lines=True, tabs=True).strip())


def findings_from(payload: object, root: Path, chunk: str = "") -> list[Finding] | None:
    """Findings from a parsed object (``{"findings": [...]}`` or a bare list); None if neither."""
    if isinstance(payload, Mapping):
        items = payload.get("findings", payload.get("issues"))
    else:
        items = payload
    if not isinstance(items, list):
        return None
    found = []
    for item in items:
        if isinstance(item, Mapping):
            finding = _finding(item, root, chunk)
            if finding is not None:
                found.append(finding)
    return found


_FENCE = re.compile(r"```(?:json)?\s*\n(.*?)```", re.DOTALL)


def json_payloads(text: str) -> Iterator[object]:
    """The JSON objects a result text may hold, most likely first: fenced blocks, the
    whole text, and what lies between its first and last brace."""
    candidates = [m.group(1) for m in _FENCE.finditer(text or "")]
    candidates.append(text or "")
    brace = (text or "").find("{")
    if brace > 0:
        candidates.append(text[brace : text.rfind("}") + 1])
    for candidate in candidates:
        try:
            yield json.loads(candidate)
        except (json.JSONDecodeError, TypeError):
            continue


def findings_from_text(text: str, root: Path, chunk: str = "") -> list[Finding] | None:
    """The fallback: a fenced JSON block, or the text itself, holding findings."""
    for payload in json_payloads(text):
        found = findings_from(payload, root, chunk)
        if found is not None:
            return found
    return None


def parse_result_findings(
    structured_output: object, result_text: str, root: Path, chunk: str = ""
) -> list[Finding] | None:
    """Structured output first, then a JSON block in the text; None is a parse error."""
    if structured_output is not None:
        found = findings_from(structured_output, root, chunk)
        if found is not None:
            return found
    return findings_from_text(result_text, root, chunk)


# Two findings of one category in one file this close are one problem (docs/findings.md §4).
NEAR_LINES = 3


def merge(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per problem, in plan order: two findings are one when they share the
    file, line and title, or the fingerprint, or the file and category within
    ``NEAR_LINES`` lines. The merged finding is the first one's, reported by every chunk
    (``chunks``), at the highest severity and with the longest evidence."""
    out: list[Finding] = []
    by_key: dict[tuple[str, int, str], int] = {}
    by_print: dict[str, int] = {}
    by_kind: dict[tuple[str, str], list[int]] = {}
    for finding in findings:
        index = _same(finding, out, by_key, by_print, by_kind)
        if index is None:
            index = len(out)
            out.append(replace(finding, chunks=(finding.chunk,) if finding.chunk else ()))
        else:
            out[index] = _joined(out[index], finding)
        by_key.setdefault(finding.key, index)
        if finding.fingerprint:
            by_print.setdefault(finding.fingerprint, index)
        if finding.category:
            by_kind.setdefault((finding.file, finding.category), []).append(index)
    return out


def _same(
    finding: Finding,
    out: list[Finding],
    by_key: dict[tuple[str, int, str], int],
    by_print: dict[str, int],
    by_kind: dict[tuple[str, str], list[int]],
) -> int | None:
    if finding.key in by_key:
        return by_key[finding.key]
    if finding.fingerprint and finding.fingerprint in by_print:
        return by_print[finding.fingerprint]
    if finding.category:
        for index in by_kind.get((finding.file, finding.category), ()):
            if abs(out[index].line - finding.line) <= NEAR_LINES:
                return index
    return None


def _joined(kept: Finding, other: Finding) -> Finding:
    chunks = kept.chunks
    if other.chunk and other.chunk not in chunks:
        chunks = (*chunks, other.chunk)
    severity = min(kept.severity, other.severity, key=lambda s: s.rank)
    evidence = max(kept.evidence, other.evidence, key=len)
    return replace(kept, chunks=chunks, severity=severity, evidence=evidence)
