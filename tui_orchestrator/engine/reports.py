"""Reports from a checkpoint: JSON, SARIF 2.1.0 and Markdown (docs/contracts.md §5).

Findings reported by several chunks appear once (``findings.merge``: the same file, line and
title, the same fingerprint, or the same file and category within 3 lines), attributed to
the first chunk in plan order, with every reporter in ``chunks``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui_orchestrator.engine.baseline import Baseline, BaselineState
from tui_orchestrator.engine.checkpoint import Checkpoint, ChunkStatus
from tui_orchestrator.engine.errors import ConfigError
from tui_orchestrator.engine.findings import Finding, Severity, inside_repo, merge
from tui_orchestrator.engine.fingerprint import repo_id
from tui_orchestrator.engine.sarif import sarif_log
from tui_orchestrator.engine.suppressions import Suppression
from tui_orchestrator.engine.text import printable
from tui_orchestrator.engine.verify import is_refuted, verdict_of
from tui_orchestrator.engine.wording import plural

FORMATS = ("json", "sarif", "markdown")
_EXTENSIONS = {".json": "json", ".sarif": "sarif", ".md": "markdown", ".markdown": "markdown"}


def resolve_format(fmt: str | None, out: str | None) -> str:
    """The format asked for, else the one the report's extension implies, else JSON."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise ConfigError(f"unknown report format {fmt!r} (use {', '.join(FORMATS)})")
        return fmt
    if out is None or out == "-":
        return "json"
    suffix = Path(out).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise ConfigError(
            f"cannot tell the report format from {out!r}: use a .json, .sarif or .md name, "
            "or --format"
        )
    return _EXTENSIONS[suffix]


# Which findings a report holds (the app's filter); None: all of them.
Keep = Callable[[Finding], bool] | None


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """What a report shows beyond the findings: refuted ones in SARIF and Markdown
    (``include_refuted``), and each finding's state against an earlier report
    (``baseline``, baseline.py)."""

    include_refuted: bool = False
    baseline: Baseline | None = None
    # The team's suppressions by fingerprint (suppressions.py): marked, and dismissed in SARIF.
    suppressions: Mapping[str, Suppression] = field(default_factory=dict)
    # A change review's reports keep only the findings on changed lines (--diff-only).
    diff_only: bool = False


def in_diff(finding: Finding, checkpoint: Checkpoint) -> bool:
    """Is the finding on a line the change review's change touched? (True outside one.)"""
    change = checkpoint.change
    return change is None or change.in_diff(finding.file, finding.line)


def gate_findings(checkpoint: Checkpoint, options: ReportOptions) -> list[Finding]:
    """The findings ``--fail-on`` counts (docs/contracts.md §5): not refuted, not
    suppressed, against a baseline new or updated, with ``--diff-only`` in the diff."""
    verdicts = checkpoint.verdicts
    baseline = options.baseline
    return [
        f
        for f in report_findings(checkpoint, _in_scope(checkpoint, None, options))
        if not is_refuted(f, verdicts)
        and f.fingerprint not in options.suppressions
        and (baseline is None or baseline.state(f) is not BaselineState.UNCHANGED)
    ]


def _in_scope(checkpoint: Checkpoint, keep: Keep, options: ReportOptions) -> Keep:
    """With ``--diff-only``, only findings on changed lines (and what ``keep`` keeps)."""
    if not options.diff_only or checkpoint.change is None:
        return keep
    return lambda f: in_diff(f, checkpoint) and (keep is None or keep(f))


def report_findings(checkpoint: Checkpoint, keep: Keep = None) -> list[Finding]:
    """Every finding once, in plan order (only those ``keep`` accepts, when given).

    A finding about a file outside the repository is never reported, even from a
    checkpoint written before such findings were dropped as they came in.
    """
    found = merge(f for f in checkpoint.findings() if inside_repo(f.file))
    return found if keep is None else [f for f in found if keep(f)]


def sorted_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.severity.rank, f.file, f.line, f.title))


def report_data(
    checkpoint: Checkpoint,
    keep: Keep = None,
    filtered: str = "",
    options: ReportOptions = ReportOptions(),
) -> dict[str, Any]:
    """The JSON report as a dict (docs/contracts.md §5); extra keys are additions, never renames."""
    findings = report_findings(checkpoint, keep)
    unfinished = [c.name for c in checkpoint.chunks if c.status is not ChunkStatus.DONE]
    by_severity = Counter(f.severity.value for f in findings)
    return {
        "version": 1,
        "repo": checkpoint.repo,
        "repo_id": repo_id(Path(checkpoint.repo)),
        "backend": checkpoint.backend,
        "issues": [
            {
                "file": f.file,
                "line": f.line,
                "severity": f.severity.value,
                "title": f.title,
                "description": f.description,
                "chunk": f.chunk,
                "category": f.category,
                "confidence": f.confidence,
                "evidence": f.evidence,
                "fingerprint": f.fingerprint,
                "chunks": list(f.chunks or ((f.chunk,) if f.chunk else ())),
                "verdict": verdict_of(f, checkpoint.verdicts).value,
                "verdict_reason": _reason(f, checkpoint),
                **_baseline_state(f, options.baseline),
                **({} if checkpoint.change is None else {"in_diff": in_diff(f, checkpoint)}),
                **_suppressed(f, options.suppressions),
            }
            for f in findings
        ],
        "chunks": [
            {
                "name": c.name,
                "status": c.status.value,
                "files": list(c.files),
                "session_id": c.session_id,
                "attempts": c.attempts,
                "cost_usd": round(c.cost_usd, 6),
                "error": c.error,
                "tokens": c.tokens,
            }
            for c in checkpoint.chunks
        ],
        "totals": {
            "files": sum(len(c.files) for c in checkpoint.chunks),
            "chunks": len(checkpoint.chunks),
            "issues": len(findings),
            "cost_usd": round(checkpoint.cost_usd, 6),
            "wall_s": round(checkpoint.wall_s, 3),
            "done": sum(c.status is ChunkStatus.DONE for c in checkpoint.chunks),
            "by_severity": {s.value: by_severity.get(s.value, 0) for s in Severity},
            "max_budget_usd": checkpoint.max_budget_usd,
            "by_verdict": dict(Counter(verdict_of(f, checkpoint.verdicts).value for f in findings)),
            "verify_cost_usd": round(checkpoint.verify_cost_usd, 6),
        },
        "unfinished": unfinished,
        **_filter_note(checkpoint, findings, filtered),
        **_absent(checkpoint, findings, options.baseline),
        **_change_note(checkpoint, options),
    }


def _change_note(checkpoint: Checkpoint, options: ReportOptions) -> dict[str, Any]:
    """A change review's report says what change it reviewed."""
    change = checkpoint.change
    if change is None:
        return {}
    return {
        "change": {
            "since": change.ref,
            "base": change.base,
            "files_changed": len(change.files),
            "diff_only": options.diff_only,
        }
    }


def _suppressed(finding: Finding, suppressions: Mapping[str, Suppression]) -> dict[str, Any]:
    found = suppressions.get(finding.fingerprint)
    if found is None:
        return {"suppressed": False}
    return {"suppressed": True, "suppression": {"reason": found.reason, "by": found.by}}


def _baseline_state(finding: Finding, baseline: Baseline | None) -> dict[str, str]:
    return {} if baseline is None else {"baseline_state": baseline.state(finding).value}


def _absent(
    checkpoint: Checkpoint, findings: list[Finding], baseline: Baseline | None
) -> dict[str, Any]:
    """The baseline's findings in files this run reviewed that it no longer reports."""
    if baseline is None:
        return {}
    reviewed = {f for c in checkpoint.chunks if c.status is ChunkStatus.DONE for f in c.files}
    gone = baseline.absent(report_findings(checkpoint), reviewed)
    return {"absent": [{**issue, "baseline_state": "absent"} for issue in gone]}


def _reason(finding: Finding, checkpoint: Checkpoint) -> str:
    verdict = checkpoint.verdicts.get(finding.fingerprint)
    return verdict.reason if verdict is not None else ""


def _acted_on(checkpoint: Checkpoint, keep: Keep, include_refuted: bool) -> Keep:
    """What SARIF and Markdown show: refuted findings only when asked for."""
    if include_refuted:
        return keep
    verdicts = checkpoint.verdicts
    return lambda f: not is_refuted(f, verdicts) and (keep is None or keep(f))


def _filter_note(checkpoint: Checkpoint, findings: list[Finding], filtered: str) -> dict[str, Any]:
    """A report of the rows a filter kept names the filter, and how many it left out."""
    if not filtered:
        return {}
    every = len(report_findings(checkpoint))
    return {"filter": {"query": filtered, "issues": len(findings), "of": every}}


# JSON escapes C0 controls itself; these it writes as they are when not asked for ASCII.
_JSON_UNSAFE = re.compile(
    "[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _dumps(data: object) -> str:
    """JSON that is valid (a NaN raises instead of writing ``NaN``) and that a terminal can
    show: DEL, C1 and bidirectional controls are written as ``\\uXXXX`` escapes (they can
    only be inside strings, where the escape means the same character)."""
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def render_json(
    checkpoint: Checkpoint,
    keep: Keep = None,
    filtered: str = "",
    options: ReportOptions = ReportOptions(),
) -> str:
    return _dumps(report_data(checkpoint, keep, filtered, options))


def render_sarif(
    checkpoint: Checkpoint,
    keep: Keep = None,
    filtered: str = "",
    options: ReportOptions = ReportOptions(),
) -> str:
    """SARIF for code scanning (``sarif.py``): rules by category, fingerprints kept."""
    findings = report_findings(checkpoint, _acted_on(checkpoint, keep, options.include_refuted))
    verdicts = {f.fingerprint: verdict_of(f, checkpoint.verdicts).value for f in findings}
    baseline = options.baseline
    states = {f.fingerprint: baseline.state(f).value for f in findings} if baseline else {}
    extra = {**_filter_note(checkpoint, findings, filtered), **_change_note(checkpoint, options)}
    log = sarif_log(
        findings, checkpoint.repo, checkpoint.backend, verdicts, extra, states,
        {fp: s.reason for fp, s in options.suppressions.items()},
        None if checkpoint.change is None else lambda f: in_diff(f, checkpoint),
    )  # fmt: skip
    return _dumps(log)


def _md_cell(text: str) -> str:
    return printable(text).replace("|", "\\|")


def render_markdown(
    checkpoint: Checkpoint,
    keep: Keep = None,
    filtered: str = "",
    options: ReportOptions = ReportOptions(),
) -> str:
    include_refuted = options.include_refuted
    keep = _acted_on(checkpoint, keep, include_refuted)
    findings = sorted_findings(report_findings(checkpoint, keep))
    data = report_data(checkpoint, keep, filtered, options)
    totals = data["totals"]
    lines = [
        f"# claude-tui report: {printable(Path(checkpoint.repo).name)}",
        "",
        f"- Backend: {'DEMO (simulated agents)' if checkpoint.backend == 'demo' else printable(checkpoint.backend)}",
        f"- Chunks: {totals['done']}/{totals['chunks']} done, {plural(totals['files'], 'file')}",
        f"- Issues: {totals['issues']}",
        f"- Cost: ${totals['cost_usd']:.2f}",
        f"- Wall time: {totals['wall_s']:.1f} s",
    ]
    if data["unfinished"]:
        lines.append(f"- Unfinished chunks: {printable(', '.join(data['unfinished']))}")
    if checkpoint.change is not None:
        change = checkpoint.change
        scope = "findings on changed lines only" if options.diff_only else "every finding"
        lines.append(
            f"- Change review: files changed since `{_md_cell(change.ref)}` "
            f"(merge-base {change.base[:12]}), {scope}"
        )
    if checkpoint.verdicts:
        refuted = sum(is_refuted(f, checkpoint.verdicts) for f in report_findings(checkpoint))
        shown = "shown" if include_refuted else "left out"
        lines.append(f"- Verified: {plural(refuted, 'finding')} refuted ({shown})")
    if options.baseline is not None:
        states = Counter(i["baseline_state"] for i in data["issues"])
        said = ", ".join(f"{states.get(k, 0)} {k}" for k in ("new", "updated", "unchanged"))
        lines.append(f"- Against the baseline: {said}, {len(data['absent'])} absent")
    suppressed = sum(i["suppressed"] for i in data["issues"])
    if suppressed:
        lines.append(f"- Suppressed by the team: {suppressed} (marked below)")
    if "filter" in data:
        note = data["filter"]
        lines.append(
            f"- Filter: `{_md_cell(note['query'])}` ({note['issues']} of "
            f"{plural(note['of'], 'finding')})"
        )
    for severity in Severity:
        group = [f for f in findings if f.severity is severity]
        if not group:
            continue
        lines += ["", f"## {severity.value.capitalize()} ({len(group)})", ""]
        lines += [
            "| File | Line | Title | Category | Confidence | Verdict | Chunk |",
            "|---|---:|---|---|---|---|---|",
        ]
        for f in group:
            lines.append(
                f"| `{_md_cell(f.file)}` | {f.line} | {_md_cell(f.title)} | "
                f"{_md_cell(f.category)} | {_md_cell(f.confidence)} | "
                f"{verdict_of(f, checkpoint.verdicts).value} | "
                f"{_md_cell(', '.join(f.chunks) or f.chunk)} |"
            )
        for f in group:
            if f.description or f.evidence:
                description = printable(f.description, lines=True, tabs=True)
                where = f"`{printable(f.file)}:{f.line}`"
                lines += ["", f"**{_md_cell(f.title)}** ({where}): {description}"]
                reason = _reason(f, checkpoint)
                if reason:
                    verdict = verdict_of(f, checkpoint.verdicts).value
                    lines += ["", f"Verifier ({verdict}): {printable(reason)}"]
                if f.evidence:
                    evidence = printable(f.evidence, lines=True, tabs=True)
                    # A fence longer than any run of backticks the evidence holds.
                    fence = "`" * max(3, 1 + max(map(len, re.findall("`+", evidence)), default=0))
                    lines += ["", "Evidence:", "", fence, evidence, fence]
    if not findings:
        lines += ["", "No issues found."]
    return "\n".join(lines) + "\n"


def render(
    checkpoint: Checkpoint,
    fmt: str,
    keep: Keep = None,
    filtered: str = "",
    options: ReportOptions = ReportOptions(),
) -> str:
    """The report in ``fmt``; ``keep`` narrows its findings (the chunks are all there), and
    ``filtered``, the filter as the user typed it, is named in the report. SARIF and
    Markdown leave refuted findings out unless ``options.include_refuted``; JSON has every
    finding with its verdict."""
    renderers = {"json": render_json, "sarif": render_sarif, "markdown": render_markdown}
    return renderers[fmt](checkpoint, _in_scope(checkpoint, keep, options), filtered, options)
