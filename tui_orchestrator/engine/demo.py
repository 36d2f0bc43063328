"""The demo backend: simulated agents, in-process, for showing claude-tui without Claude Code.

Chosen only by ``--demo`` (or explicitly in the app) and labelled DEMO wherever output
appears; reports say ``"backend": "demo"``. It reads the chunk's files like an agent would,
reports ``BUG(severity): title`` markers and what a quick look finds in any code (risky
calls, secrets written into it, broad excepts, notes left in it, very long functions) as
findings, each saying it is simulated, and now and then hits a simulated rate limit, so the
failure handling can be seen too.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import re
import uuid

from tui_orchestrator.engine.estimate import spent_usd
from tui_orchestrator.engine.findings import Finding, Severity
from tui_orchestrator.engine.redact import redact
from tui_orchestrator.engine.runner import Emit, Job, Outcome, OutcomeKind, Runner
from tui_orchestrator.engine.stream import (
    AssistantText,
    Init,
    MessageUsage,
    Result,
    StreamEvent,
    ToolResult,
    ToolUse,
)
from tui_orchestrator.engine.verify import verdicts_from
from tui_orchestrator.engine.wording import plural

# A verification prompt's lines (verify.py): "- [ID] path:line title".
VERIFY_ITEM = re.compile(r"^- \[([^\]]+)\] .+?:(\d+) ", re.MULTILINE)

MARKER = re.compile(r"BUG\((critical|high|medium|low|info)\):\s*(.+?)\s*(?:\*/\}?|-->)?\s*$")
PATTERNS = (
    (re.compile(r"\beval\("), Severity.HIGH, "eval() on a value that may come from outside", "injection"),
    (re.compile(r"\bpickle\.loads?\("), Severity.HIGH, "pickle can run code from its input", "injection"),
    (re.compile(r"shell\s*=\s*True"), Severity.MEDIUM, "subprocess with shell=True", "injection"),
    (re.compile(r"except\s*:\s*(pass)?\s*$"), Severity.LOW, "bare except hides failures", "error-handling"),
    (re.compile(r"except\s+(Base)?Exception\s*(as\s+\w+\s*)?:\s*(pass|continue)?\s*$"),
     Severity.LOW, "broad except may hide failures", "error-handling"),
    (re.compile(r"catch\s*(\(\s*\w*\s*\))?\s*\{\s*\}"), Severity.LOW, "empty catch swallows errors", "error-handling"),
    (re.compile(r"-----BEGIN ([A-Z]+ )?PRIVATE KEY-----"), Severity.CRITICAL, "a private key in the code", "secrets"),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), Severity.CRITICAL, "an AWS access key in the code", "secrets"),
    (re.compile(r"(?i)\b(password|passwd|secret|api_?key|auth_?token|access_?token)\w*[\"']?\s*[:=]\s*[\"'][^\"'\s]{8,}[\"']"),
     Severity.HIGH, "a secret written into the code", "secrets"),
    (re.compile(r"\bverify\s*=\s*False\b"), Severity.MEDIUM, "TLS certificate check turned off", "crypto"),
)  # fmt: skip
SILENCED = re.compile(
    r"(#\s*type:\s*ignore|#\s*noqa|@ts-ignore|eslint-disable|#\s*pragma: no cover|nolint)"
)
NOTE = re.compile(r"(?:#|//|/\*|<!--|--|;)\s*(TODO|FIXME|XXX|HACK)\b[:\s(]*(.*)")
FUNCTION = re.compile(r"^(\s*)(?:async\s+)?(?:def|function|func|fn)\s+(\w+)")
# A function longer than this is hard to review (and a place where bugs hide).
LONG_FUNCTION = 60
# Notes and long functions are many in some files: the first few are enough to show.
MOST_PER_KIND = 3
LABEL = "(simulated by the demo backend: no model read this file)"


def scan(text: str, path: str, chunk: str) -> list[Finding]:
    """The simulated agent's findings for one file: ``BUG(severity): title`` markers, a few
    risky patterns, notes left in the code and very long functions (any language)."""
    found = []
    notes = silenced_count = 0
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        marker = MARKER.search(line)
        if marker:
            title, said = redact(marker.group(2)), redact(line.strip())
            severity = Severity(marker.group(1))
            category = marker_category(title)
            found.append(
                Finding(path, number, severity, title, said, chunk, category, "medium", said)
            )
            continue
        for pattern, severity, title, category in PATTERNS:
            if pattern.search(line):
                found.append(_finding(path, number, severity, title, line, chunk, category))
        silenced = SILENCED.search(line)
        if silenced and silenced_count < MOST_PER_KIND:
            silenced_count += 1
            title = f"a checker is silenced here ({silenced.group(1).lstrip('#/ ')})"
            found.append(_finding(path, number, Severity.INFO, title, line, chunk))
        note = NOTE.search(line)
        if note and notes < MOST_PER_KIND:
            notes += 1
            said = note.group(2).strip().rstrip("*/->").strip()[:60] or "no reason given"
            title = f"{note.group(1)} left in the code: {said}"
            found.append(_finding(path, number, Severity.INFO, title, line, chunk))
    found += _long_functions(lines, path, chunk)
    return found


# The simulated agent's category for a seeded problem, from words of its title (the first
# that matches; a real model gives its own).
MARKER_CATEGORIES = (
    (("sql", "html", "unquoted", "injection", "shell"), "injection"),
    (("secret", "hard-coded", "api key"), "secrets"),
    (("sha-1", "md5", "constant-time", "random", "token", "salt"), "crypto"),
    (("caller may", "expire", "auth", "permission"), "auth"),
    (("lock", "goroutine", "thread", "race"), "race-condition"),
    (("not checked", "error", "exception"), "error-handling"),
    (("per key press", "bounded", "unbounded"), "performance"),
    (("leak", "never closed"), "resource-leak"),
)


def marker_category(title: str) -> str:
    low = title.lower()
    for words, category in MARKER_CATEGORIES:
        if any(word in low for word in words):
            return category
    return "logic"


def _finding(
    path: str,
    line: int,
    severity: Severity,
    title: str,
    text: str,
    chunk: str,
    category: str = "other",
) -> Finding:
    """A simulated finding: the line as its evidence (a secret's value redacted, as a
    model's would be), and its label."""
    quoted = redact(text.strip()[:200])
    return Finding(
        path, line, severity, title, f"{quoted} {LABEL}", chunk, category, "low", quoted
    )  # fmt: skip


def _long_functions(lines: list[str], path: str, chunk: str) -> list[Finding]:
    """Functions of more than LONG_FUNCTION lines: a function runs until the next line as
    indented as its own start or less (Python), or until its braces close (the others)."""
    found: list[Finding] = []
    for start, line in enumerate(lines):
        match = FUNCTION.match(line)
        if not match or len(found) >= MOST_PER_KIND:
            continue
        indent = len(match.group(1))
        length = _length(lines, start, indent, braces="{" in line or line.rstrip().endswith(")"))
        if length > LONG_FUNCTION:
            title = f"{match.group(2)} is {length} lines long: hard to review and to test"
            found.append(_finding(path, start + 1, Severity.LOW, title, line, chunk))
    return found


def _length(lines: list[str], start: int, indent: int, braces: bool) -> int:
    if not braces or lines[start].rstrip().endswith(":"):
        end = start + 1
        while end < len(lines) and (
            not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent
        ):
            end += 1
        return end - start
    depth = 0
    opened = False
    for end in range(start, len(lines)):
        depth += lines[end].count("{") - lines[end].count("}")
        opened = opened or "{" in lines[end]
        if opened and depth <= 0:
            return end - start + 1
    return len(lines) - start


class DemoRunner(Runner):
    """Simulates one agent per job; ``speed`` scales every delay (tests use a large one)."""

    backend = "demo"
    # It stands for Claude Code processes on this machine: a demo shows what a real run
    # would do, the memory cap on the worker count included.
    local_processes = True

    def __init__(self, speed: float = 1.0, failure_rate: float = 0.1) -> None:
        self.speed = speed
        self.failure_rate = failure_rate

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.speed)

    async def run(self, job: Job, emit: Emit) -> Outcome:
        log = _DemoLog(job)
        try:
            return await self._run(job, log.wrap(emit))
        finally:
            log.close()

    async def _run(self, job: Job, emit: Emit) -> Outcome:
        rng = random.Random(f"{job.chunk}:{job.attempt}:{job.resume}")
        session = job.session_id or str(uuid.uuid4())
        emit(Init(session_id=session, model="demo", tools=("Read", "Grep", "Glob")))
        await self._sleep(0.3 + rng.random() * 0.4)
        if not job.structured:
            emit(AssistantText("(demo) This is a simulated answer: no model was asked."))
            result = Result("success", False, "(demo) simulated answer", session)
            return Outcome(OutcomeKind.OK, result, 0)
        if rng.random() < self.failure_rate and job.attempt == 1:
            emit(AssistantText("API Error: Request rejected (429) · simulated rate limit"))
            result = Result(
                "success", True, "API Error: Request rejected (429) · simulated rate limit",
                session, api_error_status=429, api_error_type="rate_limit_error",
            )  # fmt: skip
            return Outcome(OutcomeKind.RATE_LIMITED, result, 1, retry_after_s=2.0 / self.speed)
        if job.verify:
            return await self._verify(job, emit, rng, session)
        count = len(job.todo or job.files)
        emit(
            AssistantText(f"I will read the {count} file{'' if count == 1 else 's'} of this chunk.")
        )
        findings: list[Finding] = []
        tokens = sum(os.path.getsize(os.path.join(job.root, p)) // 4 for p in job.files if
                     os.path.exists(os.path.join(job.root, p)))  # fmt: skip
        # What the simulated turns spend, message by message (the panel counts it live).
        turn_input, turn_output = (tokens * 3 + 20_000) // max(1, count), 300
        for index, path in enumerate(job.todo or job.files):
            full = os.path.join(job.root, path)
            tool_id = f"toolu_{rng.getrandbits(40):x}"
            emit(ToolUse("Read", {"file_path": full}, tool_id))
            await self._sleep(0.4 + rng.random() * 1.2)
            try:
                with open(full, encoding="utf-8", errors="replace") as handle:
                    text = handle.read()
            except OSError as exc:
                emit(ToolResult(tool_id, True, str(exc)))
                continue
            emit(ToolResult(tool_id, False, f"{text.count(chr(10))} lines"))
            emit(MessageUsage(f"msg_demo_{index}", turn_input, output_tokens=turn_output))
            found = scan(text, path, job.chunk)
            if found:
                emit(
                    AssistantText(
                        f"{path}: {plural(len(found), 'finding')}, e.g. {found[0].title}."
                    )
                )
            findings.extend(found)
        # A resumed session reports every file of the chunk, the ones read before too.
        for path in job.files:
            if path in (job.todo or job.files):
                continue
            try:
                with open(
                    os.path.join(job.root, path), encoding="utf-8", errors="replace"
                ) as handle:
                    findings.extend(scan(handle.read(), path, job.chunk))
            except OSError:
                continue
        await self._sleep(0.3)
        result = Result(
            "success", False, f"(demo) {plural(len(findings), 'finding')}", session,
            structured_output={"findings": []},
            # What the simulated messages said they spent, priced as the panel priced them.
            total_cost_usd=spent_usd(turn_input * count, 0, 0, turn_output * count),
            input_tokens=turn_input * count, output_tokens=turn_output * count, num_turns=3,
        )  # fmt: skip
        return Outcome(OutcomeKind.OK, result, 0, findings=findings)

    async def _verify(self, job: Job, emit: Emit, rng: random.Random, session: str) -> Outcome:
        """A simulated verifier: it reads the file and refutes about one finding in four
        (the same ones every time), so the flow can be seen without a key."""
        items = VERIFY_ITEM.findall(job.prompt)
        emit(AssistantText(f"I will check the {plural(len(items), 'finding')} in {job.files[0]}."))
        tool_id = f"toolu_{rng.getrandbits(40):x}"
        emit(ToolUse("Read", {"file_path": os.path.join(job.root, job.files[0])}, tool_id))
        await self._sleep(0.4 + rng.random() * 0.8)
        emit(ToolResult(tool_id, False, "(demo) the file"))
        emit(MessageUsage("msg_demo_verify", 8_000, output_tokens=200))
        verdicts = []
        for short, line in items:
            refuted = int(hashlib.blake2b(short.encode(), digest_size=2).hexdigest(), 16) % 4 == 0
            verdict = "refuted" if refuted else "confirmed"
            why = "the simulated check found the line safe" if refuted else "the line shows it"
            verdicts.append(
                {"id": short, "verdict": verdict, "reason": f"(demo) line {line}: {why}"}
            )
        result = Result(
            "success", False, f"(demo) {plural(len(verdicts), 'verdict')}", session,
            structured_output={"verdicts": verdicts},
            total_cost_usd=spent_usd(8_000, 0, 0, 200), input_tokens=8_000, output_tokens=200,
            num_turns=2,
        )  # fmt: skip
        return Outcome(OutcomeKind.OK, result, 0, verdicts=verdicts_from(result.structured_output))


class _DemoLog:
    """The chunk's log in the CLI's stream-json shape, so the zoomed panel reads the same."""

    def __init__(self, job: Job) -> None:
        self.handle = None
        if job.log_path is not None:
            job.log_path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = open(job.log_path, "a", encoding="utf-8")  # noqa: SIM115
            self._write(
                {"type": "claude-tui", "attempt": job.attempt, "session_id": job.session_id}
            )

    def _write(self, data: dict[str, object]) -> None:
        if self.handle is not None:
            self.handle.write(json.dumps(data) + "\n")

    def wrap(self, emit: Emit) -> Emit:
        def both(event: StreamEvent) -> None:
            if isinstance(event, Init):
                self._write(
                    {
                        "type": "system",
                        "subtype": "init",
                        "session_id": event.session_id,
                        "model": "demo",
                    }
                )
            elif isinstance(event, AssistantText):
                self._write(
                    {
                        "type": "assistant",
                        "message": {"content": [{"type": "text", "text": event.text}]},
                    }
                )
            elif isinstance(event, ToolUse):
                block = {
                    "type": "tool_use",
                    "id": event.tool_use_id,
                    "name": event.tool,
                    "input": event.input,
                }
                self._write({"type": "assistant", "message": {"content": [block]}})
            emit(event)

        return both

    def close(self) -> None:
        if self.handle is not None:
            self._write({"type": "claude-tui", "exit": 0})
            self.handle.close()
