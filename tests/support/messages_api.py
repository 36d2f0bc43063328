"""A scripted Anthropic Messages-API server for driving the real Claude Code CLI offline.

Standard library only. It listens on 127.0.0.1 (port 0 = ephemeral unless told) and answers
what Claude Code sends when ``ANTHROPIC_BASE_URL`` points at it:

* ``HEAD /`` (a connectivity probe Claude Code 2.1.197 sends on start-up; 2.1.328 does not)
  -> 200, empty.
* ``POST /v1/messages?beta=true`` with ``"stream": true`` -> server-sent events exactly like the
  real API: ``message_start``, ``content_block_start`` / ``content_block_delta`` (``text_delta``
  or ``input_json_delta``) / ``content_block_stop`` per block, ``message_delta`` (stop_reason,
  usage), ``message_stop``. Sent with chunked transfer encoding on a keep-alive connection.
  Non-streaming ``POST /v1/messages`` gets the same message as one JSON body.
* ``POST /v1/messages/count_tokens`` -> ``{"input_tokens": N}``.
* anything else -> 404 with an Anthropic error body.

(Logged from the real CLI, 2.1.197 and 2.1.328, with ``tests/support/real_cli.real_cli_env``:
a run sends only ``HEAD /`` and ``POST /v1/messages?beta=true`` requests, streaming; the
non-streaming form is its one retry after a broken stream.)

The scripted "model" is a code reviewer that follows the engine's prompt contract::

    <free text>
    Repository root: /abs/path/to/repo
    Files to review (N):            (or "Files left to review (N):" for a resumed chunk)
    - src/a.py
    - lib/b.go
    <free text>

1. Turn after a prompt (no tool result after the newest prompt): a text block "I will read the
   files." and one ``Read`` tool_use per listed file, ``file_path`` = root + "/" + path
   (absolute, as a real model does). With ``inject=True`` it also asks for ``Bash``
   (``touch PWNED``) and ``Write`` (``<root>/PWNED.txt``), which ``--tools Read,Grep,Glob``
   must refuse.
   A verification prompt (``Findings to verify (N):`` and ``- [ID] path:line title`` lines)
   reads the files its findings name the same way.
2. Turn after the Read results: a ``StructuredOutput`` tool_use whose input is
   ``{"findings": [{file (absolute), line, severity, title, description}]}`` built from marker
   lines ``BUG(<severity>): <title>`` in the Read results (the Read tool numbers each line,
   ``12\\t...``; that number is the finding's line). A resumed conversation reports every
   file read in the whole conversation, also before an earlier accepted StructuredOutput,
   as the engine's resume prompt asks ("the findings for ALL files of this review").
   A verification answers ``{"verdicts": [{id, verdict, reason}]}`` instead: ``confirmed``
   for a finding whose line holds a ``BUG(...)`` marker, ``refuted`` for a ``DECOY(...)``
   marker (a line a reviewer reports although it is fine), ``uncertain`` otherwise.
3. Turn after the StructuredOutput result: a short text, ``stop_reason: end_turn``. (Claude
   Code 2.1.197 does not ask for this turn: it ends the run with the StructuredOutput call.)

Knobs (constructor arguments; the same as command-line flags when run as a process):

* ``latency`` seconds slept before each model response;
* ``rate_limit=(K, W)``: at most K model requests per W-second sliding window, the rest get
  HTTP 429, an Anthropic ``rate_limit_error`` body and a ``retry-after`` header;
* ``always_status=429|529`` (and ``always_for=M``: only the first M model requests; None = all);
  529 carries an ``overloaded_error`` body;
* ``cut_stream_after=n``: model request number n (1-based; an int or a set of ints) gets its
  headers and ``message_start``, then the connection is closed. Claude Code retries a broken
  stream once without streaming (even with ``CLAUDE_CODE_MAX_RETRIES=0``); that retry (same
  ``X-Claude-Code-Session-Id``) is cut the same way, so the run ends as in stream_cut.jsonl:
  ``API Error: API returned an empty or malformed response (HTTP 200)``;
* ``usage_window=(start, end)``: wall-clock seconds (epoch); model requests between them get
  HTTP 429 with the unified headers of a subscription's usage limit
  (``anthropic-ratelimit-unified-status: rejected``, ``…-reset: <end>``,
  ``…-representative-claim: five_hour``), which the CLI logged in with
  ``CLAUDE_CODE_OAUTH_TOKEN`` turns into a ``rate_limit_event`` with ``resetsAt``;
  ``usage_warning=0.9``: accepted requests carry ``allowed_warning`` at that utilisation;
* ``inject=True``: see above;
* ``also_read=[...]``: repository-relative files the first turn also reads, beyond the
  prompt's (a model that looks around the repository); their findings are reported too;
* ``stop()`` / ``start()``: the server goes away (listening socket and open connections
  closed) and comes back on the same port.

Every request is recorded in a thread-safe log (``srv.requests()``) with its time, method,
path, status (0 while not answered yet), the files named in the prompt of the conversation's
first user message (``files``), the files of the newest prompt (``prompt_files``), whether it
was the first turn after that prompt (``first_turn``), whether it continues a session
(``resumed``), the CLI's session id (``X-Claude-Code-Session-Id`` header) and what the model
answered (``reply``): tests assert which chunks reached the model and that a finished chunk
was never sent again.

As a process (for benchmarks)::

    python -m tests.support.messages_api --port 0 --latency 1.5 --rate-limit 50/60
    python tests/support/messages_api.py --always-status 529 --always-for 3 --log req.jsonl

prints its base URL on the first line of stdout and serves until SIGINT / SIGTERM.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import math
import re
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low", "info")
# BUG(...) marks a real problem; DECOY(...) a line the reviewer reports although it is
# fine (a plausible false positive), which the verifier refutes.
MARKER_RE = re.compile(r"(?:BUG|DECOY)\((critical|high|medium|low|info)\):\s*(.*?)\s*$")
# A verification prompt (docs/verification.md): its header and its "- [ID] path:line title".
VERIFY_HEADER_RE = re.compile(r"^\s*Findings to verify \(\d+\):\s*$", re.MULTILINE)
VERIFY_ITEM_RE = re.compile(r"^- \[([^\]]+)\] (.+?):(\d+) ", re.MULTILINE)
# The Read tool prefixes each line with its number and a tab ("   12\t..."); older versions
# used an arrow ("    12→...").
NUMBERED_LINE_RE = re.compile(r"^\s*(\d+)(?:\t|\u2192)(.*)$")
ROOT_RE = re.compile(r"^\s*Repository root:\s*(.+?)\s*$", re.MULTILINE)
FILES_HEADER_RE = re.compile(r"^\s*Files (?:left )?to review\b[^\n]*$", re.MULTILINE)
LEFT_HEADER_RE = re.compile(r"^\s*Files left to review\b", re.MULTILINE)

DEFAULT_MODEL = "claude-opus-4-8"


# --------------------------------------------------------------------------- prompt contract


@dataclass
class ReviewPrompt:
    root: str | None
    files: list[str]
    resumed: bool  # "Files left to review"
    # A verification prompt's findings: (id, path, line); its files are their paths.
    verify: list[tuple[str, str, int]] = field(default_factory=list)


def parse_prompt(text: str) -> ReviewPrompt | None:
    """The repository root and file list of an engine prompt, or None if it is not one."""
    if VERIFY_HEADER_RE.search(text):
        items = [(m[0], m[1], int(m[2])) for m in VERIFY_ITEM_RE.findall(text)]
        root_match = ROOT_RE.search(text)
        files = list(dict.fromkeys(path for _id, path, _line in items))
        root = root_match.group(1) if root_match else None
        return ReviewPrompt(root=root, files=files, resumed=False, verify=items)
    header = FILES_HEADER_RE.search(text)
    if header is None:
        return None
    files: list[str] = []
    for line in text[header.end() :].lstrip("\n").splitlines():
        stripped = line.strip()
        if stripped.startswith("- "):
            files.append(stripped[2:].strip())
        elif stripped == "" and not files:
            continue
        else:
            break
    root_match = ROOT_RE.search(text)
    root = root_match.group(1) if root_match else None
    return ReviewPrompt(root=root, files=files, resumed=bool(LEFT_HEADER_RE.search(text)))


def absolute_path(root: str | None, rel: str) -> str:
    if rel.startswith("/") or not root:
        return rel
    return root.rstrip("/") + "/" + rel


def findings_from_numbered_text(abs_file: str, content: str) -> list[dict[str, Any]]:
    """Findings from BUG(<severity>) markers in a Read tool result (numbered lines)."""
    found = []
    for raw in content.splitlines():
        m = NUMBERED_LINE_RE.match(raw)
        if not m:
            continue
        lineno, text = int(m.group(1)), m.group(2)
        mk = MARKER_RE.search(text)
        if not mk:
            continue
        severity, title = mk.group(1), mk.group(2) or "Unnamed problem"
        found.append(
            {
                "file": abs_file,
                "line": lineno,
                "severity": severity,
                "title": title,
                "description": f"Line {lineno}: {text.strip()}",
            }
        )
    return found


def _text_of(content: Any) -> str:
    """The text of a message's or a tool result's content (a string or a list of blocks)."""
    if isinstance(content, str):
        return content
    parts = []
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type") == "text":
                parts.append(str(block.get("text", "")))
    return "\n".join(parts)


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in (content or []) if isinstance(b, dict)]


def _has_tool_result(message: dict[str, Any]) -> bool:
    return any(b.get("type") == "tool_result" for b in _blocks(message))


@dataclass
class Conversation:
    """What the scripted model needs to know about a request's messages."""

    first_prompt: ReviewPrompt | None
    prompt: ReviewPrompt | None  # the newest engine prompt
    prompt_count: int
    after_prompt: list[dict[str, Any]]  # the messages after the newest prompt
    tool_uses: dict[str, dict[str, Any]]  # id -> tool_use block (whole conversation)
    messages: list[dict[str, Any]]


def analyse(messages: list[dict[str, Any]]) -> Conversation:
    first_prompt = None
    prompt = None
    prompt_idx = -1
    count = 0
    tool_uses: dict[str, dict[str, Any]] = {}
    for i, msg in enumerate(messages):
        if msg.get("role") == "assistant":
            for b in _blocks(msg):
                if b.get("type") == "tool_use":
                    tool_uses[str(b.get("id"))] = b
            continue
        if msg.get("role") != "user" or _has_tool_result(msg):
            continue
        parsed = parse_prompt(_text_of(msg.get("content")))
        if parsed is None:
            continue
        count += 1
        if first_prompt is None:
            first_prompt = parsed
        prompt, prompt_idx = parsed, i
    after = messages[prompt_idx + 1 :] if prompt_idx >= 0 else list(messages[1:])
    return Conversation(first_prompt, prompt, count, after, tool_uses, messages)


def first_user_files(messages: list[dict[str, Any]]) -> list[str]:
    for msg in messages:
        if msg.get("role") == "user":
            parsed = parse_prompt(_text_of(msg.get("content")))
            return parsed.files if parsed else []
    return []


# --------------------------------------------------------------------------- request log


@dataclass
class RequestRecord:
    index: int  # 1-based, over all requests
    time: float
    method: str
    path: str
    kind: str  # "messages", "count_tokens", "probe", "other"
    status: int = 0  # 0 while not answered yet (e.g. sleeping out the latency)
    model_request: int = 0  # 1-based over /v1/messages requests, 0 for other kinds
    files: list[str] = field(default_factory=list)  # first user message's prompt
    prompt_files: list[str] = field(default_factory=list)  # newest prompt's
    first_turn: bool = False  # no tool result yet after the newest prompt
    resumed: bool = False  # "Files left to review" or several prompts in the conversation
    reply: str = ""  # "read", "structured_output", "verdicts", "end_turn", "text", "error", "cut"
    verify_ids: list[str] = field(default_factory=list)  # a verification's finding ids
    session_id: str | None = None  # X-Claude-Code-Session-Id header
    stream: bool = False
    # The request's size as JSON (system prompt, tools, conversation): what the model would
    # be billed input tokens for, about four bytes a token.
    body_bytes: int = 0
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- SSE building


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:20]


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@dataclass
class ScriptedReply:
    blocks: list[dict[str, Any]]  # complete content blocks
    stop_reason: str
    kind: str


def message_json(model: str, reply: ScriptedReply, input_tokens: int) -> dict[str, Any]:
    return {
        "id": _new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": reply.blocks,
        "stop_reason": reply.stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": 20 * max(1, len(reply.blocks)),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def sse_events(model: str, reply: ScriptedReply, input_tokens: int) -> list[bytes]:
    """The server-sent events of one streamed message, as the real API sends them."""
    msg_id = _new_id("msg_")
    events = [
        _sse(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": msg_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": input_tokens,
                        "cache_creation_input_tokens": 0,
                        "cache_read_input_tokens": 0,
                        "output_tokens": 1,
                        "service_tier": "standard",
                    },
                },
            },
        ),
        _sse("ping", {"type": "ping"}),
    ]
    for index, block in enumerate(reply.blocks):
        if block["type"] == "text":
            events.append(
                _sse(
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {"type": "text", "text": ""},
                    },
                )
            )
            text = block["text"]
            for piece in _pieces(text, 40):
                events.append(
                    _sse(
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "text_delta", "text": piece},
                        },
                    )
                )
        elif block["type"] == "tool_use":
            events.append(
                _sse(
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {
                            "type": "tool_use",
                            "id": block["id"],
                            "name": block["name"],
                            "input": {},
                        },
                    },
                )
            )
            payload = json.dumps(block["input"])
            for piece in _pieces(payload, 64):
                events.append(
                    _sse(
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": piece},
                        },
                    )
                )
        else:  # pragma: no cover - only text and tool_use are scripted
            raise ValueError(block["type"])
        events.append(_sse("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(
        _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": 20 * max(1, len(reply.blocks))},
            },
        )
    )
    events.append(_sse("message_stop", {"type": "message_stop"}))
    return events


def _pieces(text: str, size: int) -> Iterable[str]:
    if not text:
        yield ""
        return
    for i in range(0, len(text), size):
        yield text[i : i + size]


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    kind = {
        400: "invalid_request_error",
        401: "authentication_error",
        404: "not_found_error",
        429: "rate_limit_error",
        500: "api_error",
        529: "overloaded_error",
    }.get(status, "api_error")
    default = {
        429: "Number of request tokens has exceeded your per-minute rate limit",
        529: "Overloaded",
        404: "Not found",
    }.get(status, "Internal server error")
    return {"type": "error", "error": {"type": kind, "message": message or default}}


# --------------------------------------------------------------------------- the model


def scripted_reply(
    conv: Conversation, inject: bool, also_read: Iterable[str] = ()
) -> ScriptedReply:
    prompt = conv.prompt
    if prompt is None:
        # Not an engine prompt (a side request, or a plain question): answer briefly.
        return ScriptedReply([{"type": "text", "text": "OK."}], "end_turn", "text")

    after = conv.after_prompt
    last = conv.messages[-1] if conv.messages else {}
    if (
        after
        and last.get("role") == "user"
        and not _has_tool_result(last)
        and "StructuredOutput" not in _text_of(last.get("content"))
    ):
        # A follow-up question in a finished session (not the CLI's reminder to call
        # StructuredOutput): answer in plain text.
        answer = "Scripted answer: the findings above are all I found in these files."
        return ScriptedReply([{"type": "text", "text": answer}], "end_turn", "answer")

    results = [
        b
        for m in after
        if m.get("role") == "user"
        for b in _blocks(m)
        if b.get("type") == "tool_result"
    ]
    if not results and (prompt.files or not prompt.resumed):
        blocks: list[dict[str, Any]] = [{"type": "text", "text": "I will read the files."}]
        for rel in [*prompt.files, *(f for f in also_read if f not in prompt.files)]:
            blocks.append(
                {
                    "type": "tool_use",
                    "id": _new_id("toolu_"),
                    "name": "Read",
                    "input": {"file_path": absolute_path(prompt.root, rel)},
                }
            )
        if inject:
            root = (prompt.root or ".").rstrip("/")
            blocks.append(
                {
                    "type": "tool_use",
                    "id": _new_id("toolu_"),
                    "name": "Bash",
                    "input": {"command": "touch PWNED", "description": "x"},
                }
            )
            blocks.append(
                {
                    "type": "tool_use",
                    "id": _new_id("toolu_"),
                    "name": "Write",
                    "input": {"file_path": root + "/PWNED.txt", "content": "x"},
                }
            )
        return ScriptedReply(blocks, "tool_use", "read")

    # The newest tool results answer a StructuredOutput call that was accepted: end the turn.
    last_user = next((m for m in reversed(after) if m.get("role") == "user"), None)
    if last_user is not None:
        for b in _blocks(last_user):
            if b.get("type") != "tool_result":
                continue
            use = conv.tool_uses.get(str(b.get("tool_use_id")))
            if use and use.get("name") == "StructuredOutput" and not b.get("is_error"):
                return ScriptedReply(
                    [{"type": "text", "text": "Review complete."}], "end_turn", "end_turn"
                )

    # Otherwise report what the Read results show: every Read of the conversation. The
    # engine's resume prompt asks for the findings of ALL files of the review, so a resumed
    # session reports what it had read (and perhaps reported) before the interruption too:
    # the engine may have been killed before it saw that earlier report.
    if prompt.verify:
        return _verdicts_reply(conv, prompt)
    findings: list[dict[str, Any]] = []
    seen: set[tuple[str, int, str]] = set()
    for msg in conv.messages:
        if msg.get("role") != "user":
            continue
        for b in _blocks(msg):
            if b.get("type") != "tool_result":
                continue
            use = conv.tool_uses.get(str(b.get("tool_use_id")))
            if not use or use.get("name") != "Read" or b.get("is_error"):
                continue
            path = str((use.get("input") or {}).get("file_path", ""))
            for f in findings_from_numbered_text(path, _text_of(b.get("content"))):
                key = (f["file"], f["line"], f["title"])
                if key not in seen:
                    seen.add(key)
                    findings.append(f)
    return ScriptedReply(
        [
            {
                "type": "tool_use",
                "id": _new_id("toolu_"),
                "name": "StructuredOutput",
                "input": {"findings": findings},
            }
        ],
        "tool_use",
        "structured_output",
    )


def _verdicts_reply(conv: Conversation, prompt: ReviewPrompt) -> ScriptedReply:
    """A verifier that checks the line each finding names, in what Read showed: a BUG
    marker is real (confirmed), a DECOY is not (refuted), anything else is uncertain."""
    lines: dict[tuple[str, int], str] = {}
    for msg in conv.messages:
        for b in _blocks(msg) if msg.get("role") == "user" else []:
            use = conv.tool_uses.get(str(b.get("tool_use_id")))
            if b.get("type") != "tool_result" or not use or use.get("name") != "Read":
                continue
            path = str((use.get("input") or {}).get("file_path", ""))
            for raw in _text_of(b.get("content")).splitlines():
                m = NUMBERED_LINE_RE.match(raw)
                if m:
                    lines[(path, int(m.group(1)))] = m.group(2)
    verdicts = []
    for short, rel, line in prompt.verify:
        text = lines.get((absolute_path(prompt.root, rel), line), "")
        if "BUG(" in text:
            verdict, reason = "confirmed", f"line {line} does what the finding says"
        elif "DECOY(" in text:
            verdict, reason = "refuted", f"line {line} is safe: the input never reaches it"
        else:
            verdict, reason = "uncertain", f"line {line} was not in what I read"
        verdicts.append({"id": short, "verdict": verdict, "reason": reason})
    block = {
        "type": "tool_use",
        "id": _new_id("toolu_"),
        "name": "StructuredOutput",
        "input": {"verdicts": verdicts},
    }
    return ScriptedReply([block], "tool_use", "verdicts")


# --------------------------------------------------------------------------- HTTP server


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # many workers connect at once in benchmarks
    owner: ScriptedMessagesServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.owner.verbose:
            sys.stderr.write("messages_api: " + (format % args) + "\n")

    # -- helpers
    def _send_json(
        self,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
        head_only: bool = False,
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", _new_id("req_"))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head_only:
            self.wfile.write(data)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # -- verbs
    def do_HEAD(self) -> None:
        rec = self.server.owner._record(self, "probe")
        self.server.owner._finish(rec, 200)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        rec = self.server.owner._record(self, "other")
        self.server.owner._finish(rec, 404)
        self._send_json(404, error_body(404, f"No route for GET {self.path}"))

    def do_POST(self) -> None:
        owner = self.server.owner
        raw = self._read_body()
        route = self.path.split("?", 1)[0].rstrip("/")
        if route == "/v1/messages/count_tokens":
            rec = owner._record(self, "count_tokens")
            owner._finish(rec, 200)
            self._send_json(200, {"input_tokens": max(1, len(raw) // 4)})
            return
        if route != "/v1/messages":
            rec = owner._record(self, "other")
            owner._finish(rec, 404)
            self._send_json(404, error_body(404, f"No route for POST {self.path}"))
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            rec = owner._record(self, "messages")
            owner._finish(rec, 400, error="bad json")
            self._send_json(400, error_body(400, "Request body is not JSON"))
            return
        owner._handle_messages(self, body)


class ScriptedMessagesServer:
    """The scripted Messages API, served from a background thread.

    >>> with ScriptedMessagesServer(latency=0.1) as srv:
    ...     env["ANTHROPIC_BASE_URL"] = srv.base_url
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        latency_per_result: float = 0.0,
        rate_limit: tuple[int, float] | None = None,
        always_status: int | None = None,
        always_for: int | None = None,
        cut_stream_after: int | Iterable[int] | None = None,
        inject: bool = False,
        retry_after: float | None = None,
        usage_window: tuple[float, float] | None = None,
        usage_warning: float | None = None,
        input_tokens: int = 1000,
        log_path: str | None = None,
        verbose: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.latency = latency
        # Extra seconds for each tool result in the request: bigger chunks take longer.
        self.latency_per_result = latency_per_result
        self.rate_limit = rate_limit
        self.always_status = always_status
        self.always_for = always_for
        if cut_stream_after is None:
            self.cut_requests: set[int] = set()
        elif isinstance(cut_stream_after, int):
            self.cut_requests = {cut_stream_after}
        else:
            self.cut_requests = set(cut_stream_after)
        self.inject = inject
        self.also_read: list[str] = []
        self.retry_after = retry_after
        self.usage_window = usage_window
        self.usage_warning = usage_warning
        self.input_tokens = input_tokens
        self.log_path = log_path
        self.verbose = verbose

        self._lock = threading.Lock()
        self._log: list[RequestRecord] = []
        self._model_requests = 0
        self._accepted: collections.deque[float] = collections.deque()
        self._connections: set[socket.socket] = set()
        self._cut_fallbacks: set[str | None] = set()  # sessions whose stream was cut
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def start(self) -> ScriptedMessagesServer:
        """Listen (again): on the port of the previous start, if there was one."""
        if self._httpd is not None:
            return self
        deadline = time.monotonic() + 5.0
        while True:
            try:
                httpd = _Server((self.host, self.port), _Handler)
                break
            except OSError:
                if self.port == 0 or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        httpd.owner = self
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"messages-api-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Go away: close the listening socket and every open connection."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            conns = list(self._connections)
            self._connections.clear()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ScriptedMessagesServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the log
    def requests(self, kind: str | None = "messages") -> list[RequestRecord]:
        """A copy of the request log (only model requests unless kind=None or another kind)."""
        with self._lock:
            return [replace(r) for r in self._log if kind is None or r.kind == kind]

    def chunks_sent(self) -> list[tuple[str, ...]]:
        """The file lists of the first-turn model requests answered 200, in order."""
        return [tuple(r.prompt_files) for r in self.requests() if r.first_turn and r.status == 200]

    def paths(self) -> list[str]:
        with self._lock:
            return [f"{r.method} {r.path}" for r in self._log]

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    @property
    def model_request_count(self) -> int:
        with self._lock:
            return self._model_requests

    # -- internals
    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _record(self, handler: _Handler, kind: str, **fields: Any) -> RequestRecord:
        with self._lock:
            rec = RequestRecord(
                index=len(self._log) + 1,
                time=time.time(),
                method=handler.command,
                path=handler.path,
                kind=kind,
                session_id=handler.headers.get("X-Claude-Code-Session-Id"),
                **fields,
            )
            self._log.append(rec)
            return rec

    def _finish(
        self, rec: RequestRecord, status: int, reply: str = "", error: str | None = None
    ) -> None:
        with self._lock:
            rec.status = status
            rec.reply = reply
            rec.error = error
            line = json.dumps(rec.to_json()) if self.log_path else None
        if line is not None:
            with self._lock, open(self.log_path, "a", encoding="utf-8") as fh:  # type: ignore[arg-type]
                fh.write(line + "\n")

    def _admit(self, n: int) -> tuple[int, dict[str, str]]:
        """Status for model request number n: 200, or an error status with headers."""
        if self.usage_window is not None:
            start, end = self.usage_window
            if start <= time.time() < end:
                return 429, {
                    "anthropic-ratelimit-unified-status": "rejected",
                    "anthropic-ratelimit-unified-reset": str(math.ceil(end)),
                    "anthropic-ratelimit-unified-representative-claim": "five_hour",
                    "anthropic-ratelimit-unified-5h-status": "rejected",
                    "anthropic-ratelimit-unified-5h-reset": str(math.ceil(end)),
                    "anthropic-ratelimit-unified-5h-utilization": "1.0",
                    "anthropic-ratelimit-unified-overage-status": "rejected",
                }
        if self.always_status is not None and (self.always_for is None or n <= self.always_for):
            headers = {}
            if self.always_status == 429 or self.retry_after is not None:
                headers["retry-after"] = str(max(1, math.ceil(self.retry_after or 1)))
            return self.always_status, headers
        if self.rate_limit is not None:
            limit, window = self.rate_limit
            now = time.monotonic()
            with self._lock:
                while self._accepted and now - self._accepted[0] >= window:
                    self._accepted.popleft()
                if len(self._accepted) >= limit:
                    wait = window - (now - self._accepted[0]) if self._accepted else window
                    if self.retry_after is not None:
                        wait = self.retry_after
                    return 429, {
                        "retry-after": str(max(1, math.ceil(wait))),
                        "anthropic-ratelimit-requests-limit": str(limit),
                        "anthropic-ratelimit-requests-remaining": "0",
                    }
                self._accepted.append(now)
        return 200, {}

    def _handle_messages(self, h: _Handler, body: dict[str, Any]) -> None:
        messages = body.get("messages") or []
        conv = analyse(messages)
        with self._lock:
            self._model_requests += 1
            n = self._model_requests
        after_results = any(_has_tool_result(m) for m in conv.after_prompt)
        rec = self._record(
            h,
            "messages",
            model_request=n,
            files=first_user_files(messages),
            prompt_files=list(conv.prompt.files) if conv.prompt else [],
            first_turn=conv.prompt is not None and not after_results,
            resumed=bool(conv.prompt and (conv.prompt.resumed or conv.prompt_count > 1)),
            stream=bool(body.get("stream")),
            body_bytes=len(json.dumps(body, separators=(",", ":"))),
            verify_ids=[i for i, _p, _l in conv.first_prompt.verify] if conv.first_prompt else [],
        )
        status, headers = self._admit(n)
        if status != 200:
            self._finish(rec, status, "error")
            h._send_json(status, error_body(status), headers)
            return

        model = str(body.get("model") or DEFAULT_MODEL)
        reply = scripted_reply(conv, self.inject, self.also_read)
        delay = self.latency + self.latency_per_result * sum(
            sum(1 for b in _blocks(m) if b.get("type") == "tool_result") for m in conv.after_prompt
        )
        if delay > 0:
            time.sleep(delay)

        session = h.headers.get("X-Claude-Code-Session-Id")
        with self._lock:
            # Claude Code answers a broken stream with one non-streaming retry of the same
            # request: that one is cut too, or the cut would never reach the CLI's caller.
            cut = n in self.cut_requests
            if cut and body.get("stream"):
                self._cut_fallbacks.add(session)
            elif not body.get("stream") and session in self._cut_fallbacks:
                self._cut_fallbacks.discard(session)
                cut = True
        if cut:
            # Headers and message_start, then the connection goes away (no message_stop).
            self._finish(rec, 200, "cut")
            try:
                h.send_response(200)
                h.send_header("Content-Type", "text/event-stream; charset=utf-8")
                h.send_header("Cache-Control", "no-cache")
                h.send_header("Connection", "close")
                h.end_headers()
                h.wfile.write(sse_events(model, reply, self.input_tokens)[0])
                h.wfile.flush()
            except OSError:
                pass
            h.close_connection = True
            with contextlib.suppress(OSError):
                h.connection.shutdown(socket.SHUT_RDWR)
            return

        # The log is complete before the client can read the answer.
        self._finish(rec, 200, reply.kind)
        if not body.get("stream"):
            h._send_json(200, message_json(model, reply, self.input_tokens))
            return

        try:
            h.send_response(200)
            h.send_header("Content-Type", "text/event-stream; charset=utf-8")
            h.send_header("Cache-Control", "no-cache")
            h.send_header("Transfer-Encoding", "chunked")
            h.send_header("request-id", _new_id("req_"))
            if self.usage_warning is not None:
                reset = str(math.ceil(time.time() + 3600))
                h.send_header("anthropic-ratelimit-unified-status", "allowed_warning")
                h.send_header("anthropic-ratelimit-unified-reset", reset)
                h.send_header("anthropic-ratelimit-unified-representative-claim", "five_hour")
                h.send_header("anthropic-ratelimit-unified-5h-status", "allowed_warning")
                h.send_header("anthropic-ratelimit-unified-5h-reset", reset)
                h.send_header("anthropic-ratelimit-unified-5h-utilization", str(self.usage_warning))
            h.end_headers()
            for ev in sse_events(model, reply, self.input_tokens):
                _write_chunk(h, ev)
            h.wfile.write(b"0\r\n\r\n")
            h.wfile.flush()
        except OSError as exc:  # the client went away
            h.close_connection = True
            with self._lock:
                rec.error = str(exc)


def _write_chunk(h: _Handler, data: bytes) -> None:
    h.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")


# --------------------------------------------------------------------------- as a process


def _parse_rate(text: str) -> tuple[int, float]:
    k, _, w = text.partition("/")
    return int(k), float(w or 60)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.0, help="seconds before each response")
    ap.add_argument(
        "--latency-per-result", type=float, default=0.0, help="extra seconds per tool result"
    )
    ap.add_argument(
        "--rate-limit",
        type=_parse_rate,
        default=None,
        metavar="K/W",
        help="at most K model requests per W seconds, else 429",
    )
    ap.add_argument("--always-status", type=int, default=None, metavar="429|529")
    ap.add_argument(
        "--always-for",
        type=int,
        default=None,
        metavar="M",
        help="only the first M model requests get --always-status",
    )
    ap.add_argument(
        "--cut-stream-after",
        type=int,
        action="append",
        default=None,
        metavar="N",
        help="cut the stream of model request N (repeatable)",
    )
    ap.add_argument("--retry-after", type=float, default=None)
    ap.add_argument("--inject", action="store_true", help="also ask for Bash and Write")
    ap.add_argument("--log", default=None, help="append one JSON line per request here")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)

    srv = ScriptedMessagesServer(
        host=args.host,
        port=args.port,
        latency=args.latency,
        latency_per_result=args.latency_per_result,
        rate_limit=args.rate_limit,
        always_status=args.always_status,
        always_for=args.always_for,
        cut_stream_after=args.cut_stream_after,
        inject=args.inject,
        retry_after=args.retry_after,
        log_path=args.log,
        verbose=args.verbose,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    srv.start()
    print(srv.base_url, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
