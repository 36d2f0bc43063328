"""SARIF 2.1.0 for code scanning: rules that stay, fingerprints GitHub keeps (docs/sarif.md).

One rule per finding category (``claude-tui/injection``, …): the id names the kind of
problem, never a position in this run's list, so the same problem keeps its rule from run
to run. Each result carries the finding's content fingerprint as
``partialFingerprints["claude-tui/v1"]``, which code scanning uses to follow an alert as
lines move. The output passes ``sarif-multitool validate --rule-kind "Gh;Sarif"`` with no
error (the test tier checks every SARIF the tests write).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tui_orchestrator import __version__
from tui_orchestrator.engine.findings import Category, Finding, Severity
from tui_orchestrator.engine.git import git_output
from tui_orchestrator.engine.text import printable

FINGERPRINT_KEY = "claude-tui/v1"
RULE_PREFIX = "claude-tui/"
INFORMATION_URI = "https://github.com/anthropics/claude-code"
# (the tool's page: claude-tui drives Claude Code)
LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}


@dataclass(frozen=True, slots=True)
class RuleText:
    """A rule's fixed text. ``security`` (GitHub's 0-10 ``security-severity``, "" for a
    rule that is not about security) is the category's, not its findings': an alert keeps
    its severity from run to run."""

    name: str  # PascalCase, as SARIF rule names are
    short: str
    full: str
    cwes: tuple[str, ...] = ()
    security: str = ""


# The taxonomy's rules (docs/findings.md §1 has the CWEs and why).
RULES: dict[str, RuleText] = {
    Category.INJECTION: RuleText(
        "Injection", "Untrusted input reaches an interpreter",
        "Input an attacker controls reaches SQL, a shell, a template or another "
        "interpreter without being escaped or parameterised.",
        ("CWE-74", "CWE-89", "CWE-78", "CWE-79"), "8.8",
    ),
    Category.PATH_TRAVERSAL: RuleText(
        "PathTraversal", "A path from input leaves its folder",
        "A file path built from input can name files outside the folder it is meant for.",
        ("CWE-22",), "7.5",
    ),
    Category.AUTH: RuleText(
        "Authentication", "Missing or broken authentication or authorization",
        "A caller is not authenticated, or may do what it is not allowed to do.",
        ("CWE-287", "CWE-862"), "8.1",
    ),
    Category.CRYPTO: RuleText(
        "Cryptography", "Broken or risky cryptography",
        "A weak algorithm, a predictable random number, or cryptography used wrongly.",
        ("CWE-327",), "7.4",
    ),
    Category.SECRETS: RuleText(
        "HardCodedSecret", "A secret in the code",
        "A password, key or token is written in the code or its configuration.",
        ("CWE-798",), "7.5",
    ),
    Category.RACE_CONDITION: RuleText(
        "RaceCondition", "Shared state without synchronisation",
        "Concurrent code reads and writes shared state without a lock or another guarantee.",
        ("CWE-362",), "5.9",
    ),
    Category.RESOURCE_LEAK: RuleText(
        "ResourceLeak", "A resource is not released",
        "A file, connection, lock or other resource is not released on every path.",
        ("CWE-772",),
    ),
    Category.ERROR_HANDLING: RuleText(
        "ErrorHandling", "An error is hidden or mishandled",
        "A failure is swallowed, ignored or reported as success, so callers act on bad state.",
        ("CWE-755",),
    ),
    Category.DATA_LOSS: RuleText(
        "DataLoss", "Data can be lost",
        "A path through the code loses or corrupts data a user expects to keep.",
    ),
    Category.LOGIC: RuleText(
        "Logic", "The code breaks its own rules",
        "A bug in the program's logic: a wrong condition, a wrong calculation, a case missed.",
    ),
    Category.PERFORMANCE: RuleText(
        "Performance", "Work that grows without bound",
        "Work, memory or requests grow with input in a way that can exhaust the machine.",
        ("CWE-400",),
    ),
    Category.OTHER: RuleText(
        "Other", "Another problem",
        "A problem outside the other categories; the finding's description says what it is.",
    ),
}  # fmt: skip


def rule_id(category: str) -> str:
    """The rule of a category (a finding with none goes under ``other``)."""
    return RULE_PREFIX + (category if category in RULES else Category.OTHER.value)


def _rule(category: str) -> dict[str, Any]:
    text = RULES[category]
    tags = [*text.cwes, *(["security"] if text.security else [])]
    tags += [f"external/cwe/{cwe.lower()}" for cwe in text.cwes]
    cwes = ", ".join(text.cwes) or "none"
    markdown = (
        f"**{text.short}.** {text.full}\n\n"
        f"Reported by claude-tui's review agents; each finding's description says what is "
        f"wrong at its line and why. CWE: {cwes}."
    )
    properties: dict[str, Any] = {"tags": tags}
    if text.security:
        properties["security-severity"] = text.security
    return {
        "id": rule_id(category),
        "name": text.name,
        "shortDescription": {"text": text.short},
        "fullDescription": {"text": text.full},
        "help": {"text": f"{text.short}. {text.full} CWE: {cwes}.", "markdown": markdown},
        # (each result has its own level, from its severity)
        "defaultConfiguration": {"level": "error" if text.security else "warning"},
        "properties": properties,
    }


def _message(finding: Finding) -> str:
    """The title and the description, one text (never the code line itself)."""
    title = " ".join(printable(finding.title).split()).rstrip(".")
    description = printable(finding.description, lines=True).strip()
    return f"{title}. {description}" if description else f"{title}."


def sarif_log(
    findings: list[Finding],
    repo: str,
    backend: str,
    verdict: dict[str, str],
    extra: dict[str, Any],
    baseline: dict[str, str] | None = None,
    suppressed: dict[str, str] | None = None,
    in_diff: Callable[[Finding], bool] | None = None,
) -> dict[str, Any]:
    """The SARIF log of ``findings`` (``verdict``: each fingerprint's verdict word;
    ``baseline``: its state against an earlier report, when there is one; ``suppressed``:
    the team's reason, for the findings it suppressed; ``in_diff``: in a change review,
    whether a finding is on a changed line)."""
    by_rule: dict[str, list[Finding]] = {}
    for f in findings:
        by_rule.setdefault(rule_id(f.category).removeprefix(RULE_PREFIX), []).append(f)
    categories = sorted(by_rule)  # a stable order: the index of a rule never depends on luck
    rules = [_rule(c) for c in categories]
    index = {c: i for i, c in enumerate(categories)}
    results = []
    for f in findings:
        category = rule_id(f.category).removeprefix(RULE_PREFIX)
        result: dict[str, Any] = {
            "ruleId": RULE_PREFIX + category,
            "ruleIndex": index[category],
            "level": LEVEL[f.severity],
            "message": {"text": _message(f)},
            "locations": [
                {
                    "physicalLocation": {
                        # A URI reference: spaces, '#', '%', ':' and non-ASCII are encoded.
                        "artifactLocation": {
                            "uri": quote(f.file, safe="/!$&'()*+,;=@"),
                            "uriBaseId": "%SRCROOT%",
                        },
                        "region": {"startLine": max(1, f.line)},
                    }
                }
            ],
            "properties": {
                "severity": f.severity.value,
                "confidence": f.confidence,
                "chunk": f.chunk,
                "chunks": list(f.chunks or ((f.chunk,) if f.chunk else ())),
                "verdict": verdict.get(f.fingerprint, "unverified"),
            },
        }
        if in_diff is not None:
            result["properties"]["in_diff"] = in_diff(f)
        if f.fingerprint:
            result["partialFingerprints"] = {FINGERPRINT_KEY: f.fingerprint}
        if baseline:
            result["baselineState"] = baseline.get(f.fingerprint, "new")
        reason = (suppressed or {}).get(f.fingerprint)
        if reason is not None:
            result["suppressions"] = [
                {"kind": "external", "status": "accepted", "justification": printable(reason)}
            ]
        results.append(result)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "claude-tui",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "results": results,
        "columnKind": "unicodeCodePoints",
        "properties": {"backend": backend, **extra},
    }
    root = Path(repo)
    if root.is_absolute():  # only an absolute path has a file URI
        run["originalUriBaseIds"] = {"%SRCROOT%": {"uri": root.as_uri() + "/"}}
    provenance = version_control(root)
    if provenance:
        run["versionControlProvenance"] = [provenance]
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    }


_SCP_LIKE = re.compile(r"^(?:[\w.-]+@)?([\w.-]+):(?!//)(.+)$")


def remote_uri(remote: str) -> str:
    """The repository's web address from a git remote (``git@github.com:o/r.git`` and
    ``https://token@github.com/o/r.git`` both give ``https://github.com/o/r``); "" when
    the remote is a local path or cannot be read as one. Credentials never go out."""
    text = remote.strip()
    if not text or text.startswith(("/", ".", "file:")):
        return ""
    if "://" in text:
        scheme, _, rest = text.partition("://")
        host_path = rest.rsplit("@", 1)[-1] if "@" in rest.split("/", 1)[0] else rest
        if scheme in ("ssh", "git"):
            scheme = "https"
        if scheme not in ("http", "https"):
            return ""
        uri = f"{scheme}://{host_path}"
    else:
        match = _SCP_LIKE.match(text)
        if not match:
            return ""
        uri = f"https://{match.group(1)}/{match.group(2).lstrip('/')}"
    return uri.removesuffix("/").removesuffix(".git")


def version_control(root: Path) -> dict[str, str]:
    """What commit of which repository was reviewed ({} outside git, or without a remote
    that is a web address: SARIF wants an absolute URI there)."""
    if not root.is_dir():
        return {}
    uri = remote_uri(git_output(root, "remote", "get-url", "origin"))
    commit = git_output(root, "rev-parse", "HEAD")
    if not uri or not commit:
        return {}
    provenance = {"repositoryUri": uri, "revisionId": commit}
    branch = git_output(root, "symbolic-ref", "-q", "HEAD")
    if branch:
        provenance["branch"] = branch
    return provenance
