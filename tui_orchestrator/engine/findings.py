"""Findings: what an agent reports, parsed from its result and normalised.

Structured output (``--json-schema``) is the first source; a JSON block in the result text
is the fallback; anything else is a parse error (the chunk keeps its log, SPEC §4).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any


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

    @property
    def key(self) -> tuple[str, int, str]:
        """Two chunks reporting the same file, line and title report one finding."""
        return (self.file, self.line, self.title)


def normalise_path(path: str, root: Path) -> str:
    """Repo-relative with ``/``: the CLI reports absolute paths, models sometimes ``./x``."""
    text = str(path).strip().replace("\\", "/")
    root_text = str(root).replace("\\", "/").rstrip("/")
    if text.startswith(root_text + "/"):
        text = text[len(root_text) + 1 :]
    elif os.path.isabs(text):
        try:
            text = os.path.relpath(os.path.realpath(text), os.path.realpath(root)).replace(
                "\\", "/"
            )
        except ValueError:
            return text
        if text.startswith("../"):
            return str(path)
    while text.startswith("./"):
        text = text[2:]
    return text


def _finding(raw: Mapping[str, Any], root: Path, chunk: str) -> Finding | None:
    file = raw.get("file") or raw.get("path") or raw.get("file_path")
    title = raw.get("title") or raw.get("message") or raw.get("summary")
    if not isinstance(file, str) or not file or not title:
        return None
    try:
        line = max(0, int(raw.get("line") or 0))
    except (TypeError, ValueError):
        line = 0
    return Finding(
        file=normalise_path(file, root),
        line=line,
        severity=Severity.parse(raw.get("severity", "info")),
        title=str(title).strip(),
        description=str(raw.get("description") or "").strip(),
        chunk=chunk,
    )


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


def findings_from_text(text: str, root: Path, chunk: str = "") -> list[Finding] | None:
    """The fallback: a fenced JSON block, or the text itself, holding findings."""
    candidates = [m.group(1) for m in _FENCE.finditer(text or "")]
    candidates.append(text or "")
    brace = (text or "").find("{")
    if brace > 0:
        candidates.append(text[brace : text.rfind("}") + 1])
    for candidate in candidates:
        try:
            payload = json.loads(candidate)
        except (json.JSONDecodeError, TypeError):
            continue
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


def dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """Keep the first finding for each (file, line, title): plan order decides the chunk."""
    seen: set[tuple[str, int, str]] = set()
    out = []
    for finding in findings:
        if finding.key not in seen:
            seen.add(finding.key)
            out.append(finding)
    return out
