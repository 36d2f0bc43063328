"""Verification: a second, fresh read-only session judges findings before anyone acts.

After a chunk's review (and after merging, so a finding several chunks reported is judged
once) the findings the ``verify`` setting asks for are grouped by file; each group is one
task in the same pool as the reviews. Its prompt lists each finding as
``- [ID] path:line title`` with the description and evidence indented under it, and its
answer follows ``VERDICTS_SCHEMA``. Verdicts are kept by fingerprint, so a finding a later
review reports again keeps its verdict, and nothing answered is asked again
(docs/verification.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from tui_orchestrator.engine.findings import Finding, Severity, json_payloads
from tui_orchestrator.engine.text import printable

# The contract (docs/contracts.md): exactly this schema, so other tools can rely on it.
VERDICTS_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {
        "verdicts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "verdict": {"type": "string", "enum": ["confirmed", "refuted", "uncertain"]},
                    "reason": {"type": "string"},
                },
                "required": ["id", "verdict", "reason"],
            },
        }
    },
    "required": ["verdicts"],
}

# A verification task's name: "verify: web src/a.py" for the findings of one file that
# chunk web reported, "verify: web +2 files" for three files (``batch_name``).
VERIFY_PREFIX = "verify: "
REASON_MAX = 600
# One session judges the findings of several files (a session costs a start and a few
# requests whatever it reads): at most this many files and findings.
MAX_VERIFY_FILES = 8
MAX_VERIFY_FINDINGS = 20


class VerifyMode(StrEnum):
    OFF = "off"
    HIGH = "high"  # critical and high findings
    ALL = "all"


class VerdictKind(StrEnum):
    CONFIRMED = "confirmed"
    REFUTED = "refuted"
    UNCERTAIN = "uncertain"
    # Not (yet) judged: only reports say it; the checkpoint keeps no such verdict.
    UNVERIFIED = "unverified"


# The verdicts in the order they are told ("2 confirmed, 1 refuted, 1 uncertain").
VERDICT_WORDS = ("confirmed", "refuted", "uncertain")


@dataclass(frozen=True, slots=True)
class FindingVerdict:
    verdict: VerdictKind
    reason: str = ""


def wants_verifying(finding: Finding, mode: VerifyMode) -> bool:
    if mode is VerifyMode.OFF or not finding.fingerprint:
        return False
    return mode is VerifyMode.ALL or finding.severity.rank <= Severity.HIGH.rank


def verdict_of(finding: Finding, verdicts: Mapping[str, FindingVerdict]) -> VerdictKind:
    found = verdicts.get(finding.fingerprint)
    return found.verdict if found is not None else VerdictKind.UNVERIFIED


def is_refuted(finding: Finding, verdicts: Mapping[str, FindingVerdict]) -> bool:
    return verdict_of(finding, verdicts) is VerdictKind.REFUTED


@dataclass(frozen=True, slots=True)
class VerifyUnit:
    """The findings of one file still to judge: they always go to one session together."""

    file: str
    findings: tuple[Finding, ...]
    chunk: str  # who reported the first of them (a session is named after it)


@dataclass(frozen=True, slots=True)
class VerifyGroup:
    """The findings one session judges (whole files), each under its prompt id."""

    name: str
    files: tuple[str, ...]
    ids: dict[str, Finding]

    @property
    def fingerprints(self) -> list[str]:
        return [f.fingerprint for f in self.ids.values()]


def short_ids(findings: Sequence[Finding]) -> dict[str, Finding]:
    """Each finding under the first 8 characters of its fingerprint (more when two share
    them), unique within one prompt."""
    width = 8
    while True:
        ids = {f.fingerprint[:width]: f for f in findings}
        if len(ids) == len(findings):
            return ids
        if width >= max(len(f.fingerprint) for f in findings):
            return {f"{f.fingerprint[:8]}-{i}": f for i, f in enumerate(findings, 1)}
        width += 4


def units_to_verify(
    findings: Iterable[Finding],
    verdicts: Mapping[str, FindingVerdict],
    mode: VerifyMode,
    busy: set[str],
) -> list[VerifyUnit]:
    """The findings still to judge (no verdict, not being judged), one unit per file, in
    the order the findings come (worst first within a file)."""
    by_file: dict[str, list[Finding]] = {}
    for finding in findings:
        fp = finding.fingerprint
        if fp in verdicts or fp in busy or not wants_verifying(finding, mode):
            continue
        by_file.setdefault(finding.file, []).append(finding)
    units = []
    for file, found in by_file.items():
        found.sort(key=lambda f: (f.severity.rank, f.line))
        units.append(VerifyUnit(file, tuple(found), found[0].chunk))
    return units


def take_batch(units: Sequence[VerifyUnit], sessions: int) -> int:
    """How many of ``units`` (from the front) one session judges: whole files, at most
    MAX_VERIFY_FILES files and MAX_VERIFY_FINDINGS findings, and no more than its share when
    ``sessions`` can start now (so idle workers split what waits). At least one."""
    share = min(MAX_VERIFY_FILES, max(1, -(-len(units) // max(1, sessions))))
    taken = findings = 0
    for unit in units:
        if taken and (taken >= share or findings + len(unit.findings) > MAX_VERIFY_FINDINGS):
            break
        taken += 1
        findings += len(unit.findings)
    return taken


def group_of(name: str, units: Sequence[VerifyUnit]) -> VerifyGroup:
    findings = [f for unit in units for f in unit.findings]
    return VerifyGroup(name, tuple(u.file for u in units), short_ids(findings))


def batch_name(units: Sequence[VerifyUnit]) -> str:
    """ "verify: web src/a.py" for one file, "verify: web +2 files" for three."""
    first = units[0]
    if len(units) == 1:
        return f"{VERIFY_PREFIX}{first.chunk} {first.file}"
    return f"{VERIFY_PREFIX}{first.chunk} +{len(units) - 1} files"


VERIFY_INSTRUCTIONS = """\
You are verifying findings another reviewer reported in a code repository. For each
finding below, read the code it names with the Read tool (use Grep or Glob to follow a
call or a definition) and judge whether the problem is real: "confirmed" when the code
shows it, "refuted" when the code shows it is not there (the line does something else,
the input is checked, the path cannot be reached), "uncertain" when you cannot tell. Give
a short reason that names what you saw. Do not try to change any file: you have
read-only tools."""

VERIFY_OUTPUT_NOTE = """\
Answer through the structured output tool as {"verdicts": [{"id", "verdict", "reason"}]},
one entry per finding, with the id in brackets from its line."""


def verify_prompt(root: Path, group: VerifyGroup) -> str:
    """The verifier's prompt: the findings as ``- [ID] path:line title`` lines, with the
    description and evidence indented under each (a stable format; test servers read it)."""
    lines = []
    for short, f in group.ids.items():
        lines.append(f"- [{short}] {f.file}:{f.line} {_one_line(f.title)}")
        for text in (f.description, f.evidence):
            for part in text.splitlines():
                if part.strip():
                    lines.append(f"    {printable(part)}")
    listing = "\n".join(lines)
    return (
        f"{VERIFY_INSTRUCTIONS}\n\n"
        f"Repository root: {root}\n"
        f"Findings to verify ({len(group.ids)}):\n{listing}\n\n"
        f"{VERIFY_OUTPUT_NOTE}\n"
    )


def verify_resume_prompt(root: Path, group: VerifyGroup) -> str:
    return "You were interrupted. Finish judging the findings.\n\n" + verify_prompt(root, group)


def _one_line(text: str) -> str:
    return " ".join(printable(text).split())


def verdicts_from(payload: object) -> dict[str, FindingVerdict] | None:
    """The verdicts of an answer by id; None when it is no ``{"verdicts": [...]}`` at all
    (a parse error: the task runs again). Entries that are not well formed are skipped
    (their findings stay ``uncertain``)."""
    if not isinstance(payload, Mapping):
        return None
    items = payload.get("verdicts")
    if not isinstance(items, list):
        return None
    out: dict[str, FindingVerdict] = {}
    for item in items:
        if not isinstance(item, Mapping):
            continue
        short = item.get("id")
        try:
            kind = VerdictKind(str(item.get("verdict", "")).strip().lower())
        except ValueError:
            continue
        if not isinstance(short, str) or kind is VerdictKind.UNVERIFIED:
            continue
        reason = " ".join(printable(str(item.get("reason") or "")).split())[:REASON_MAX]
        out[short.strip().strip("[]")] = FindingVerdict(kind, reason)
    return out


def parse_result_verdicts(
    structured_output: object, result_text: str
) -> dict[str, FindingVerdict] | None:
    """Structured output first, then a JSON block in the text; None is a parse error."""
    if structured_output is not None:
        found = verdicts_from(structured_output)
        if found is not None:
            return found
    for payload in json_payloads(result_text):
        found = verdicts_from(payload)
        if found is not None:
            return found
    return None


def verdicts_for(
    group: VerifyGroup, answered: Mapping[str, FindingVerdict]
) -> dict[str, FindingVerdict]:
    """Each finding of the group by fingerprint: its verdict, or ``uncertain`` when the
    answer left it out."""
    missing = FindingVerdict(VerdictKind.UNCERTAIN, "the verifier gave no verdict")
    return {f.fingerprint: answered.get(short, missing) for short, f in group.ids.items()}
