"""Claude Code's ``--output-format stream-json`` lines, parsed into typed events.

Every stdout line becomes one event. Unknown event types and lines that are not JSON become
``Unknown`` and ``NonJson`` events: logged, never fatal (docs/claude-code.md §3).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from tui_orchestrator.engine.text import finite_number
from tui_orchestrator.engine.usage_limit import UsageLimit

# Tools whose calls count as reading a file of the chunk (progress; docs/decisions.md §3).
READ_TOOLS = frozenset({"Read", "Grep", "Glob"})


@dataclass(slots=True, frozen=True)
class Init:
    session_id: str
    model: str = ""
    tools: tuple[str, ...] = ()
    cwd: str = ""


@dataclass(slots=True, frozen=True)
class AssistantText:
    text: str


@dataclass(slots=True, frozen=True)
class ToolUse:
    tool: str
    input: dict[str, Any]
    tool_use_id: str = ""

    @property
    def target(self) -> str:
        """The file or pattern the call touches, as the agent wrote it."""
        for key in ("file_path", "path", "pattern", "command"):
            value = self.input.get(key)
            if isinstance(value, str) and value:
                return value
        return ""


@dataclass(slots=True, frozen=True)
class MessageUsage:
    """What one assistant message cost so far, as its ``usage`` says (the CLI repeats a
    message's usage on each of its lines: keyed by ``message_id``, the last one counts)."""

    message_id: str
    input_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0

    @property
    def tokens(self) -> int:
        return (
            self.input_tokens + self.cache_write_tokens + self.cache_read_tokens
            + self.output_tokens
        )  # fmt: skip


@dataclass(slots=True, frozen=True)
class ToolResult:
    tool_use_id: str
    is_error: bool
    preview: str


@dataclass(slots=True, frozen=True)
class Result:
    """The last line of a run: the truth about how it went (docs/claude-code.md §4)."""

    subtype: str
    is_error: bool
    result: str
    session_id: str
    structured_output: Any = None
    api_error_status: int | None = None
    api_error_type: str = ""
    total_cost_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    num_turns: int = 0
    duration_ms: int = 0
    errors: tuple[str, ...] = ()
    # Numbers of the line that were no count or cost (NaN, negative, ...): counted as 0.
    bad_numbers: tuple[str, ...] = ()


@dataclass(slots=True, frozen=True)
class RateLimitNotice:
    """A ``rate_limit_event`` or ``system``/``api_retry`` line: the CLI is being throttled."""

    retry_after_s: float | None
    status: int | None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def limited(self) -> bool:
        """A request was refused (429, 529, or a rate_limit_event saying ``rejected``).

        A ``rate_limit_event`` also reports an account's quota while requests still go
        through (``allowed``, ``allowed_warning``): no reason to slow down.
        """
        if self.status in (429, 529):
            return True
        return self._state == "rejected"

    @property
    def _info(self) -> dict[str, Any]:
        info = self.raw.get("rate_limit_info")
        return info if isinstance(info, dict) else {}

    @property
    def _state(self) -> object:
        return self._info.get("status", self.raw.get("status"))

    @property
    def usage_limit(self) -> UsageLimit | None:
        """A subscription's usage limit was hit (a ``rate_limit_event`` saying ``rejected``):
        when it resets and which window, as far as the event says (docs/claude-code.md §6)."""
        if self.raw.get("type") != "rate_limit_event" or self._state != "rejected":
            return None
        resets_at = finite_number(self._info.get("resetsAt"))
        if resets_at is not None and resets_at > 1e11:
            resets_at /= 1000.0  # milliseconds, not seconds
        window = self._info.get("rateLimitType")
        return UsageLimit(resets_at, window if isinstance(window, str) else "")

    @property
    def usage_warning(self) -> str:
        """ "five-hour usage at 91%" when the account is close to its limit (``allowed_warning``);
        "" otherwise. Quota news, not a reason to slow down."""
        if self._state != "allowed_warning":
            return ""
        window = self._info.get("rateLimitType")
        name = f"{window.replace('_', '-')} " if isinstance(window, str) and window else ""
        used = finite_number(self._info.get("utilization"))
        if used is None:
            return f"close to the {name}usage limit"
        return f"{name}usage at {used * 100 if used <= 1 else used:.0f}%"


@dataclass(slots=True, frozen=True)
class Unknown:
    type: str
    raw: dict[str, Any]


@dataclass(slots=True, frozen=True)
class NonJson:
    text: str


@dataclass(slots=True, frozen=True)
class Placed:
    """Not a CLI line: a remote runner (Dask) reports the machine that runs the attempt."""

    host: str


StreamEvent = (
    Init | AssistantText | MessageUsage | ToolUse | ToolResult | Result | RateLimitNotice
    | Unknown | NonJson | Placed
)  # fmt: skip


def _number(value: object, what: str, bad: list[str]) -> float:
    """A cost or count from the CLI; NaN, infinity, a negative number or a non-number is
    noted in ``bad`` and counts 0 (a NaN cost would make the budget never reached)."""
    if value is None:
        return 0.0
    number = finite_number(value)
    if number is None:
        bad.append(f"{what}={value!r}"[:80])
        return 0.0
    return number


def _int(value: object, what: str, bad: list[str]) -> int:
    return int(_number(value, what, bad))


def _status(value: object) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None


def _preview(content: object, limit: int = 200) -> str:
    if isinstance(content, list):
        content = " ".join(
            str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content
        )
    text = str(content or "")
    return text[:limit]


def parse_line(line: str) -> list[StreamEvent]:
    """The events one stdout line holds (an assistant message may hold several blocks)."""
    text = line.strip()
    if not text:
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return _spliced(text)
    if not isinstance(data, dict):
        return [NonJson(text)]
    kind = data.get("type")
    if kind == "system":
        subtype = data.get("subtype")
        if subtype == "init":
            return [
                Init(
                    session_id=str(data.get("session_id", "")),
                    model=str(data.get("model", "")),
                    tools=tuple(str(t) for t in data.get("tools", []) or []),
                    cwd=str(data.get("cwd", "")),
                )
            ]
        if subtype == "api_retry":
            return [_rate_notice(data)]
        return [Unknown(f"system/{subtype}", data)]
    if kind == "rate_limit_event":
        return [_rate_notice(data)]
    if kind in ("assistant", "user"):
        message = data.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            return [Unknown(str(kind), data)]
        events: list[StreamEvent] = []
        usage = message.get("usage") if kind == "assistant" else None
        if isinstance(usage, dict):
            events.append(_message_usage(message, usage))
        for block in content:
            if not isinstance(block, dict):
                continue
            btype = block.get("type")
            if btype == "text" and kind == "assistant":
                events.append(AssistantText(str(block.get("text", ""))))
            elif btype == "tool_use":
                raw_input = block.get("input")
                events.append(
                    ToolUse(
                        tool=str(block.get("name", "")),
                        input=raw_input if isinstance(raw_input, dict) else {},
                        tool_use_id=str(block.get("id", "")),
                    )
                )
            elif btype == "tool_result":
                events.append(
                    ToolResult(
                        tool_use_id=str(block.get("tool_use_id", "")),
                        is_error=bool(block.get("is_error")),
                        preview=_preview(block.get("content")),
                    )
                )
        return events
    if kind == "result":
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        bad: list[str] = []
        input_tokens = sum(
            _int(usage.get(key), key, bad)
            for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        )
        errors = data.get("errors") if isinstance(data.get("errors"), list) else []
        return [
            Result(
                subtype=str(data.get("subtype", "")),
                is_error=bool(data.get("is_error")),
                result=str(data.get("result") or ""),
                session_id=str(data.get("session_id", "")),
                structured_output=data.get("structured_output"),
                api_error_status=_status(data.get("api_error_status")),
                api_error_type=str(data.get("api_error_type") or ""),
                total_cost_usd=_number(data.get("total_cost_usd"), "total_cost_usd", bad),
                input_tokens=input_tokens,
                output_tokens=_int(usage.get("output_tokens"), "output_tokens", bad),
                num_turns=_int(data.get("num_turns"), "num_turns", bad),
                duration_ms=_int(data.get("duration_ms"), "duration_ms", bad),
                errors=tuple(str(e) for e in errors),
                bad_numbers=tuple(bad),
            )
        ]
    return [Unknown(str(kind), data)]


# Some CLI versions print a rate_limit_event in the middle of another line.
_EVENT_START = re.compile(r'\{\s*"type"\s*:\s*"rate_limit_event"')


def _spliced(text: str) -> list[StreamEvent]:
    """A line that is not JSON: a rate_limit_event printed inside another line is taken out
    and parsed, and so is the line around it when what is left is whole; else NonJson."""
    decoder = json.JSONDecoder()
    events: list[StreamEvent] = []
    rest = text
    while (found := _EVENT_START.search(rest)) is not None:
        at = found.start()
        try:
            data, end = decoder.raw_decode(rest, at)
        except json.JSONDecodeError:
            break
        events.append(_rate_notice(data))
        rest = rest[:at] + rest[end:]
    if not events:
        return [NonJson(text)]
    around = rest.strip()
    if around:
        outer = parse_line(around)
        if not (len(outer) == 1 and isinstance(outer[0], NonJson)):
            return outer + events
        events.append(NonJson(around))
    return events


def _message_usage(message: dict[str, Any], usage: dict[str, Any]) -> MessageUsage:
    """A running figure only (the result's usage is the truth): a bad number counts 0."""
    ignored: list[str] = []
    return MessageUsage(
        message_id=str(message.get("id") or ""),
        input_tokens=_int(usage.get("input_tokens"), "input_tokens", ignored),
        cache_write_tokens=_int(
            usage.get("cache_creation_input_tokens"), "cache_creation_input_tokens", ignored
        ),
        cache_read_tokens=_int(
            usage.get("cache_read_input_tokens"), "cache_read_input_tokens", ignored
        ),
        output_tokens=_int(usage.get("output_tokens"), "output_tokens", ignored),
    )


def _rate_notice(data: dict[str, Any]) -> RateLimitNotice:
    retry = None
    for key in ("retry_after", "retry_after_s", "retry_delay_ms", "retryAfter"):
        value = data.get(key)
        if value is None and isinstance(data.get("rate_limit_info"), dict):
            value = data["rate_limit_info"].get(key)
        seconds = finite_number(value)
        if seconds is not None:
            retry = seconds / (1000.0 if key.endswith("_ms") else 1.0)
            break
    status = _status(data.get("error_status") or data.get("status"))
    return RateLimitNotice(retry_after_s=retry, status=status, raw=data)
