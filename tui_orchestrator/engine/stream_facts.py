"""What a worker's stream says about its chunk, as typed facts, in one place.

``stream.py`` parses the CLI's stream-json lines into events; this module reads those
events as a chunk's facts: the file a Read/Grep/Glob call has finished reading, what the
agent does now (a verb and a target), the session it runs in, where a remote executor
placed it, and the lines its log shows. The manager turns the facts into chunk state, and
the zoomed log reads a chunk's stream file back through the same wording, so a tool call
reads the same live and afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from tui_orchestrator.engine.estimate import spent_usd
from tui_orchestrator.engine.findings import normalise_path
from tui_orchestrator.engine.stream import (
    READ_TOOLS,
    AssistantText,
    Init,
    MessageUsage,
    NonJson,
    Placed,
    RateLimitNotice,
    Result,
    StreamEvent,
    ToolResult,
    ToolUse,
    Unknown,
    parse_line,
)
from tui_orchestrator.engine.wording import plural


class Verb(StrEnum):
    READING = "Reading"
    SEARCHING = "Searching"
    LISTING = "Listing"
    REPORTING = "Reporting findings"
    USING = "Using"  # any other tool: shown by the tool's name


_VERBS = {
    "Read": Verb.READING,
    "Grep": Verb.SEARCHING,
    "Glob": Verb.LISTING,
    "StructuredOutput": Verb.REPORTING,
}


@dataclass(frozen=True, slots=True)
class Activity:
    """What the agent does now: a verb and what it acts on."""

    verb: Verb
    target: str = ""
    tool: str = ""

    def __str__(self) -> str:
        if self.verb is Verb.REPORTING:
            return self.verb.value
        if self.verb is Verb.USING:
            return f"{self.tool} {self.target}".strip()
        return f"{self.verb.value} {self.target}"


def activity_of(tool: str, target: str) -> Activity:
    return Activity(_VERBS.get(tool, Verb.USING), target, tool)


class LogKind(StrEnum):
    TEXT = "text"  # the agent's words
    TOOL = "tool"  # a tool call
    ERROR = "error"
    NOTE = "note"  # the CLI's or claude-tui's own
    ANSWER = "answer"  # a follow-up question and its answer
    META = "meta"  # a line claude-tui wrote into the stream file (attempts, exits)


@dataclass(frozen=True, slots=True)
class Said:
    """One line of a chunk's log."""

    kind: LogKind
    text: str


@dataclass(frozen=True, slots=True)
class FileRead:
    """A Read/Grep/Glob of one of the chunk's files came back: the file counts as read."""

    path: str


@dataclass(frozen=True, slots=True)
class SessionSeen:
    session_id: str


@dataclass(frozen=True, slots=True)
class HostPlaced:
    """A remote executor started the chunk on ``host``."""

    host: str


@dataclass(frozen=True, slots=True)
class Throttled:
    """The CLI met a rate limit mid-chunk (and retries it itself)."""

    notice: RateLimitNotice


@dataclass(frozen=True, slots=True)
class Spending:
    """What the attempt has spent so far, by its messages' usage: tokens, and their cost
    at list prices (an estimate; the result's cost replaces it)."""

    tokens: int
    cost_usd: float
    # A message not seen before, with tokens: the API accepted a request (the pool learns
    # the rate it allows from these; docs/engine.md §3).
    answered: bool = False


Fact = Activity | Said | FileRead | SessionSeen | HostPlaced | Throttled | Spending


def _target(event: ToolUse, root: Path | None) -> str:
    target = event.target
    if target and root is not None:
        return normalise_path(target, root)
    return target


def log_lines(event: StreamEvent, root: Path | None = None) -> list[Said]:
    """The lines a chunk's log shows for ``event`` (paths repository-relative)."""
    if isinstance(event, AssistantText):
        text = event.text.strip()
        return [Said(LogKind.TEXT, line) for line in text.splitlines()] if text else []
    if isinstance(event, ToolUse):
        return [Said(LogKind.TOOL, f"{event.tool} {_target(event, root)}".strip())]
    if isinstance(event, ToolResult):
        return [Said(LogKind.ERROR, event.preview)] if event.is_error else []
    if isinstance(event, Result):
        verdict = "error" if event.is_error else "done"
        cost = f" · ${event.total_cost_usd:.4f}" if event.total_cost_usd else ""
        lines = [Said(LogKind.NOTE, f"result: {verdict} ({event.subtype}){cost}")]
        if event.bad_numbers:
            bad = ", ".join(event.bad_numbers)
            lines.append(Said(LogKind.ERROR, f"bad numbers in the result, counted 0: {bad}"))
        return lines
    if isinstance(event, Init):
        return [Said(LogKind.NOTE, f"session {event.session_id[:8]} · model {event.model}")]
    if isinstance(event, RateLimitNotice):
        if event.limited:
            return [Said(LogKind.NOTE, "the API is throttling; the CLI retries")]
        return [Said(LogKind.NOTE, "rate limit status from the API")]
    if isinstance(event, Unknown):
        if event.type == "claude-tui":
            return _meta_lines(event.raw)
        if event.type in _STREAM_TYPES:
            # A line of a known type but a shape nobody expected: shown as it came.
            return [Said(LogKind.NOTE, json.dumps(event.raw, ensure_ascii=False)[:500])]
        return [Said(LogKind.NOTE, f"(event {event.type})")]
    if isinstance(event, NonJson):
        return [Said(LogKind.NOTE, event.text[:200])]
    if isinstance(event, Placed):
        return [Said(LogKind.NOTE, f"running on {event.host}")]
    return []


_STREAM_TYPES = frozenset({"assistant", "user", "result", "system"})


def _meta_lines(data: dict[str, object]) -> list[Said]:
    """The lines claude-tui itself writes into a chunk's stream file."""
    if "attempt" in data:
        session = str(data.get("session_id", ""))[:8]
        return [Said(LogKind.META, f"attempt {data['attempt']} · session {session}")]
    if "exit" in data:
        return [Said(LogKind.META, f"process ended (exit {data['exit']})")]
    if "outside_repo" in data:
        files = data.get("files")
        named = ", ".join(str(f) for f in files) if isinstance(files, list) else ""
        text = f"dropped {plural(int(data['outside_repo']), 'finding')} outside the repository: {named}"
        return [Said(LogKind.META, text)]
    if "changed_files" in data:
        files = data["changed_files"]
        named = ", ".join(str(f) for f in files) if isinstance(files, list) else ""
        return [Said(LogKind.META, f"files changed during the review: {named}")]
    return [Said(LogKind.META, str(data.get("stderr", "")).rstrip())]


def stored_lines(line: str, root: Path | None = None) -> list[Said]:
    """One line of a chunk's stream file as its log lines; a line the parser makes
    nothing of (a shape nobody expected) comes back as it is."""
    if not line.strip():
        return []
    events = parse_line(line)
    if not events:
        return [Said(LogKind.NOTE, line.rstrip())]
    return [s for event in events for s in log_lines(event, root)]


@dataclass(slots=True)
class ChunkReading:
    """The facts of one attempt at a chunk, from its stream events in order.

    A file counts as read once a Read/Grep/Glob call on it has come back without error:
    the call is remembered by its tool-use id until its result arrives.
    """

    root: Path
    files: Iterable[str]
    _files: frozenset[str] = field(init=False)
    _reading: dict[str, str] = field(default_factory=dict, init=False)
    # Message id -> its latest usage (a message's lines repeat it).
    _usage: dict[str, MessageUsage] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self._files = frozenset(self.files)

    def facts(self, event: StreamEvent) -> list[Fact]:
        if isinstance(event, Init):
            return [SessionSeen(event.session_id)] if event.session_id else []
        facts: list[Fact] = []
        if isinstance(event, ToolUse):
            target = _target(event, self.root)
            facts.append(activity_of(event.tool, target))
            if event.tool in READ_TOOLS and target in self._files:
                self._reading[event.tool_use_id] = target
        elif isinstance(event, ToolResult):
            target = self._reading.pop(event.tool_use_id, "")
            if target and not event.is_error:
                facts.append(FileRead(target))
        elif isinstance(event, Placed):
            facts.append(HostPlaced(event.host))
        elif isinstance(event, RateLimitNotice):
            facts.append(Throttled(event))
        elif isinstance(event, MessageUsage):
            facts.append(self._spending(event))
        facts += log_lines(event, self.root)
        return facts

    def _spending(self, usage: MessageUsage) -> Spending:
        key = usage.message_id or f"#{len(self._usage)}"
        answered = key not in self._usage and usage.tokens > 0
        self._usage[key] = usage
        seen = self._usage.values()
        return Spending(
            answered=answered,
            tokens=sum(u.tokens for u in seen),
            cost_usd=spent_usd(
                sum(u.input_tokens for u in seen),
                sum(u.cache_write_tokens for u in seen),
                sum(u.cache_read_tokens for u in seen),
                sum(u.output_tokens for u in seen),
            ),
        )
