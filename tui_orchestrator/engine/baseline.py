"""A baseline: an earlier JSON report of the same repository, to tell what is new.

Findings are matched by fingerprint, wherever their line moved (docs/findings.md §2):

- ``new``: no baseline finding has its fingerprint;
- ``unchanged``: one has, with the same severity and title;
- ``updated``: one has, but the severity or the title changed.

Baseline findings in files this run reviewed that it did not report again are ``absent``
(fixed, or no longer seen): reports list them apart, outside the totals. The same matching
compares any two reports (``claude-tui report --compare OLD NEW``). docs/baseline.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from tui_orchestrator.engine.errors import ConfigError
from tui_orchestrator.engine.findings import Finding
from tui_orchestrator.engine.text import printable


class BaselineState(StrEnum):
    NEW = "new"
    UNCHANGED = "unchanged"
    UPDATED = "updated"
    ABSENT = "absent"


@dataclass(frozen=True, slots=True)
class Baseline:
    """The findings of an earlier report, by fingerprint (each as the report wrote it)."""

    path: str
    repo_id: str
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)

    def state(self, finding: Finding) -> BaselineState:
        before = self.issues.get(finding.fingerprint)
        if before is None:
            return BaselineState.NEW
        same = before.get("severity") == finding.severity.value and (
            before.get("title") == finding.title
        )
        return BaselineState.UNCHANGED if same else BaselineState.UPDATED

    def absent(self, findings: Iterable[Finding], reviewed: set[str]) -> list[dict[str, Any]]:
        """The baseline's findings in ``reviewed`` files that ``findings`` lack."""
        now = {f.fingerprint for f in findings}
        return [
            issue for fp, issue in self.issues.items()
            if fp not in now and issue.get("file") in reviewed
        ]  # fmt: skip


def load_baseline(path: Path, repo_id: str) -> Baseline:
    """An earlier JSON report of this repository (``repo_id``: its first commit). Anything
    else is a ConfigError, one line: not JSON, not a report, another repository's, or
    findings without fingerprints (a report from before they existed)."""
    data, issues = _read_report(path, "--baseline")
    theirs = str(data.get("repo_id", ""))
    if theirs != repo_id:
        raise ConfigError(
            f"--baseline {path}: a report of another repository (its first commit "
            f"{theirs[:12] or 'unknown'}, this one's {repo_id[:12] or 'unknown'})"
        )
    return Baseline(str(path), theirs, issues)


def _read_report(path: Path, flag: str) -> tuple[Mapping[str, Any], dict[str, dict[str, Any]]]:
    """A JSON report, and its issues by fingerprint, checked."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{flag} {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{flag} {path}: cannot be read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{flag} {path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, Mapping) or data.get("version") != 1:
        raise ConfigError(f"{flag} {path}: not a claude-tui JSON report")
    raw = data.get("issues")
    if not isinstance(raw, list) or not all(isinstance(i, Mapping) for i in raw):
        raise ConfigError(f"{flag} {path}: not a claude-tui JSON report (no issues list)")
    issues: dict[str, dict[str, Any]] = {}
    for issue in raw:
        fp = issue.get("fingerprint")
        if not isinstance(fp, str) or not fp:
            raise ConfigError(
                f"{flag} {path}: its findings have no fingerprints (a report written before "
                "claude-tui had them): write it again with `claude-tui report`"
            )
        issues[fp] = dict(issue)
    return data, issues


@dataclass(frozen=True, slots=True)
class Comparison:
    new: list[dict[str, Any]]
    updated: list[dict[str, Any]]
    unchanged: list[dict[str, Any]]
    absent: list[dict[str, Any]]


def compare(old_path: Path, new_path: Path) -> Comparison:
    """Two reports, finding by finding (``report --compare``)."""
    _, old = _read_report(old_path, "--compare")
    _, new = _read_report(new_path, "--compare")
    out = Comparison([], [], [], [])
    for fp, issue in new.items():
        before = old.get(fp)
        if before is None:
            out.new.append(issue)
        elif (before.get("severity"), before.get("title")) == (
            issue.get("severity"),
            issue.get("title"),
        ):
            out.unchanged.append(issue)
        else:
            out.updated.append(issue)
    out.absent.extend(issue for fp, issue in old.items() if fp not in new)
    return out


def comparison_lines(result: Comparison) -> list[str]:
    """The comparison as text: a heading per state, a line per finding."""
    lines = []
    for name in ("new", "updated", "unchanged", "absent"):
        issues = getattr(result, name)
        lines.append(f"{name}: {len(issues)}")
        for issue in issues:
            where = f"{issue.get('file', '?')}:{issue.get('line', '?')}"
            lines.append(
                printable(f"  {issue.get('severity', '?')}  {where}  {issue.get('title', '')}")
            )
    return lines
