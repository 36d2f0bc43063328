#!/usr/bin/env python3
"""A fake ``claude`` (Claude Code CLI) for fast tests: same argv, same stream-json output.

Standard library only; runs with any ``python3`` >= 3.8. It accepts the real CLI's argv
(``-p``/``--print``, the prompt, ``--output-format stream-json``, ``--verbose``,
``--session-id UUID``, ``--resume ID``, ``--fork-session``, ``--tools``, ``--json-schema``,
``--model``, ``--max-turns``, ``--max-budget-usd``, ``--bare``, ``--permission-mode``,
``--append-system-prompt``, ...; unknown flags are ignored) and prints what Claude Code 2.1.197
prints (see ``shared/reference/claude-cli-transcripts/``): a ``system``/``init`` line, assistant
lines (one per content block: a text, then one ``Read`` tool_use per file with an absolute
path), user lines with the tool results (the file numbered like the real Read tool,
``12\\tcode``), a ``StructuredOutput`` tool_use, and the ``result`` line.

The review follows the engine's prompt contract: ``Repository root: /abs`` and a list after
``Files to review (N):`` (or ``Files left to review (N):``), one ``- rel/path`` a line. Findings
come from marker lines ``BUG(<severity>): <title>`` in those files (severity one of critical,
high, medium, low, info); ``file`` is absolute, as the real CLI reports it.

Environment:

``FAKE_CLAUDE_MODE``   what this run does (default ``ok``):
    ``ok``            read the files, report through StructuredOutput, exit 0;
    ``slow``          as ok, sleeping ``FAKE_CLAUDE_DELAY`` seconds (default 0.5) before each
                      file read;
    ``hang``          print the init line, then sleep until killed;
    ``crash``         print init, the text and the Read tool_uses, then exit 1 with no result
                      line (the session stays unwritten: the first turn never completed);
    ``rate_limit``    like rate_limited.jsonl: ``is_error: true``, ``api_error_status: 429``,
                      exit 1;
    ``overloaded``    the same with 529 (overloaded.jsonl);
    ``unreachable``   like unreachable.jsonl: ``api_error_status: null``,
                      ``API Error: Unable to connect to API (ConnectionRefused)``, exit 1;
    ``stream_cut``    like stream_cut.jsonl: the files are read, then ``API Error: API returned
                      an empty or malformed response (HTTP 200)...``, exit 1 (session written);
    ``parse_error``   a success result whose ``result`` text has no JSON and no
                      ``structured_output`` (what the real CLI prints when the model never calls
                      StructuredOutput), exit 0;
    ``json_in_text``  no ``structured_output``, the findings in a ```json block in ``result``;
    ``schema_fail``   like schema_never_met.jsonl: ``error_max_structured_output_retries``,
                      exit 1;
    ``junk``          non-JSON lines and unknown events (``rate_limit_event``, ``system`` with
                      subtype ``api_retry``) between the usual ones, then success;
    ``hostile``       as ok, with what ``FAKE_CLAUDE_HOSTILE`` (a JSON file, read with NaN and
                      Infinity allowed) adds: ``texts`` (assistant texts), ``tool_uses``
                      (``{"name", "input"}``, each answered by an error tool result holding
                      its input, then ``pause`` seconds), ``findings`` (reported with the
                      file's own), ``result`` and ``usage`` (keys replacing those of the result
                      line and its usage);
    ``write``         as ok, appending a line to the first file of its chunk after reading it
                      (a worker that writes into the repository);
    ``usage_limit``   a subscription's usage limit: a ``rate_limit_event`` (``rejected``,
                      ``resetsAt`` from ``FAKE_CLAUDE_RESETS_AT``, else an hour from now,
                      ``rateLimitType: five_hour``), then the 429 result ``You've hit your
                      limit · resets …``, exit 1 (what 2.1.197 prints logged in with a token);
    ``usage_split``   the same, the event printed in the middle of the synthetic error line
                      (as some CLI versions do);
    ``usage_key``     the usage limit with an API key: no event, the result text
                      ``API Error: Request rejected (429) · You've hit your limit``;
    ``flaky``         a link that cuts every answer after one read: reads the first file
                      of its list, then ends as ``stream_cut`` does; a list of one file is
                      read and reported (each try gets one file further).
``FAKE_CLAUDE_LEAVE``  processes this run starts right after its init line and leaves behind,
                       as Grep's ripgrep, a hook or an MCP server may (comma-separated; each a
                       ``sleep 300`` with this run's environment):
    ``group``         in the CLI's process group, stdout and stderr closed;
    ``session``       in a session of its own (Node's ``detached: true``), stdout and stderr
                      closed;
    ``stdout``        in a session of its own, holding the CLI's stdout open.
``FAKE_CLAUDE_DELAY``  seconds, for ``slow`` (default 0.5).
``FAKE_CLAUDE_COST``   ``total_cost_usd`` of a run that reached the model (default 0.01; runs
                       that never got an answer - 429, 529, unreachable - cost 0 as in the
                       transcripts).
``FAKE_CLAUDE_SCENARIO`` path of a JSON file choosing the mode per chunk and attempt::

        {"rules": [{"file": "src/x.py", "mode": "crash", "times": 1},
                   {"file": "src/y.py", "mode": "slow", "delay": 2},
                   {"file": "src/z.py", "mode": "hang", "verify": true}],
         "default": "ok"}

    (``verify``: the rule applies to verification prompts, and only to them.)

    The first rule whose ``file`` is in the prompt's file list and that has invocations left
    applies (``times`` absent or null: always); otherwise ``default`` (else
    ``FAKE_CLAUDE_MODE``). A rule may also set ``delay`` and ``cost``. Counting needs state:
    ``FAKE_CLAUDE_STATE`` (else a folder ``<scenario>.state`` beside the scenario file).
``FAKE_CLAUDE_STATE``  a folder for state shared by all invocations: scenario counters and
                       sessions. With it, session semantics are those of the real CLI:
                       ``--session-id`` of an id already used -> stderr ``Error: Session ID <id>
                       is already in use.``, no JSON, exit 1; ``--resume`` of a session never
                       written -> a result line ``subtype: error_during_execution`` (no init
                       line), stderr ``No conversation found with session ID: <id>``, exit 1. A
                       session counts as written from its first tool result on (so ``crash``,
                       ``hang`` and the API-error modes leave it unwritten, a ``slow`` run killed
                       after one read does not), or from the start with
                       ``FAKE_CLAUDE_SESSION_WRITE=start`` (what Claude Code 2.1.197 really does:
                       it saves the prompt before it asks the model). A resumed session reports
                       the findings of the files it read before the interruption too (the
                       engine's resume prompt asks for ALL files), as the real CLI would, also
                       after an answer that was already given (the session holds it all).
``FAKE_CLAUDE_LOG``    a file; each invocation appends one JSON line: ``argv``, ``pid``,
                       ``session_id``, ``resume`` (the id or null), ``session_id_arg``, ``files``
                       (named in the prompt), ``resumed_prompt`` ("Files left to review"),
                       ``mode``, ``cwd``, ``start`` (epoch seconds).

SIGTERM ends it at once with exit code 143 (as the real CLI does); SIGINT with 130.
``claude --version`` prints ``2.1.197 (Claude Code)``.
"""

import json
import os
import re
import signal
import sys
import time
import uuid

VERSION = "2.1.197"
DEFAULT_MODEL = "claude-opus-4-8"
# BUG(...) marks a real problem; DECOY(...) a line the reviewer reports although it is
# fine (a plausible false positive), which a verifier refutes.
MARKER_RE = re.compile(r"(?:BUG|DECOY)\((critical|high|medium|low|info)\):\s*(.*?)\s*$")
# A verification prompt's findings: "- [ID] path:line title".
VERIFY_ITEM_RE = re.compile(r"^- \[([^\]]+)\] (.+):(\d+) ", re.MULTILINE)
ROOT_RE = re.compile(r"^\s*Repository root:\s*(.+?)\s*$", re.MULTILINE)
FILES_HEADER_RE = re.compile(r"^\s*Files (?:left )?to review\b[^\n]*$", re.MULTILINE)
LEFT_HEADER_RE = re.compile(r"^\s*Files left to review\b", re.MULTILINE)
MODES = (
    "ok",
    "slow",
    "hang",
    "crash",
    "rate_limit",
    "overloaded",
    "unreachable",
    "stream_cut",
    "parse_error",
    "json_in_text",
    "schema_fail",
    "junk",
    "hostile",
    "write",
    "usage_limit",
    "usage_split",
    "usage_key",
    "flaky",
)

# Options of the real CLI that take a value (everything else starting with "-" is a flag).
VALUE_OPTIONS = {
    "--output-format",
    "--input-format",
    "--session-id",
    "--resume",
    "-r",
    "--tools",
    "--json-schema",
    "--model",
    "--max-turns",
    "--max-budget-usd",
    "--permission-mode",
    "--append-system-prompt",
    "--append-system-prompt-file",
    "--system-prompt",
    "--system-prompt-file",
    "--allowedTools",
    "--allowed-tools",
    "--disallowedTools",
    "--disallowed-tools",
    "--fallback-model",
    "--settings",
    "--setting-sources",
    "--add-dir",
    "--mcp-config",
    "--effort",
    "--betas",
    "--debug-file",
    "--agent",
    "--agents",
    "--permission-prompt-tool",
    "--plugin-dir",
    "--name",
}


# ----------------------------------------------------------------------------- argv


def parse_argv(argv):
    opts = {"flags": set(), "prompt": None}
    positional = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            positional.extend(argv[i + 1 :])
            break
        if a.startswith("--") and "=" in a:
            k, v = a.split("=", 1)
            opts[k] = v
        elif a in VALUE_OPTIONS:
            opts[a] = argv[i + 1] if i + 1 < len(argv) else ""
            i += 1
        elif a.startswith("-") and len(a) > 1:
            opts["flags"].add(a)
        else:
            positional.append(a)
        i += 1
    if positional:
        opts["prompt"] = positional[0]
    return opts


# ----------------------------------------------------------------------------- prompt


def parse_prompt(text):
    """(root, files, resumed) of an engine prompt; files is [] when there is no list."""
    root_m = ROOT_RE.search(text or "")
    root = root_m.group(1) if root_m else None
    header = FILES_HEADER_RE.search(text or "")
    files = []
    if header:
        for line in text[header.end() :].lstrip("\n").splitlines():
            s = line.strip()
            if s.startswith("- "):
                files.append(s[2:].strip())
            elif s == "" and not files:
                continue
            else:
                break
    return root, files, bool(LEFT_HEADER_RE.search(text or ""))


def abs_path(root, rel, cwd):
    if os.path.isabs(rel):
        return rel
    return (root or cwd).rstrip("/") + "/" + rel


def numbered(content):
    """The Read tool's rendering: each line prefixed with its number and a tab."""
    lines = content.split("\n")
    return "\n".join(f"{i + 1}\t{line}" for i, line in enumerate(lines))


def findings_of(path, content):
    out = []
    for i, line in enumerate(content.split("\n")):
        m = MARKER_RE.search(line)
        if m:
            out.append(
                {
                    "file": path,
                    "line": i + 1,
                    "severity": m.group(1),
                    "title": m.group(2) or "Unnamed problem",
                    "description": f"Line {i + 1}: {line.strip()}",
                }
            )
    return out


def verdict_of(root, cwd, short, rel, line):
    """A verifier that checks the named line: a BUG marker is real, a DECOY is not."""
    try:
        with open(abs_path(root, rel, cwd), encoding="utf-8", errors="replace") as f:
            text = f.read().split("\n")[line - 1] if line >= 1 else ""
    except (OSError, IndexError):
        return {"id": short, "verdict": "uncertain", "reason": f"cannot read line {line}"}
    if "BUG(" in text:
        return {"id": short, "verdict": "confirmed", "reason": f"line {line} shows it"}
    if "DECOY(" in text:
        return {"id": short, "verdict": "refuted", "reason": f"line {line} is fine"}
    return {"id": short, "verdict": "uncertain", "reason": f"line {line} says nothing"}


# ----------------------------------------------------------------------------- state


class State:
    """Files under FAKE_CLAUDE_STATE, changed under an exclusive lock."""

    def __init__(self, folder):
        self.folder = folder
        if folder:
            os.makedirs(os.path.join(folder, "sessions"), exist_ok=True)

    def _lock(self):
        fh = open(os.path.join(self.folder, ".lock"), "a+")  # noqa: SIM115 - held by the caller
        try:
            import fcntl

            fcntl.flock(fh, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - not POSIX
            pass
        return fh

    def _session(self, sid, suffix):
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", sid)
        return os.path.join(self.folder, "sessions", safe + suffix)

    def claim_session(self, sid):
        """False when the id was used before (as --session-id or by a run that wrote it)."""
        if not self.folder:
            return True
        fh = self._lock()
        try:
            path = self._session(sid, ".used")
            if os.path.exists(path):
                return False
            open(path, "w").close()
            return True
        finally:
            fh.close()

    def session_written(self, sid):
        return bool(self.folder) and os.path.exists(self._session(sid, ".written"))

    def write_session(self, sid):
        if self.folder:
            for suffix in (".used", ".written"):
                open(self._session(sid, suffix), "a").close()

    def record_read(self, sid, path):
        """A Read result is in the session (so it is written, and a resume reports it)."""
        if self.folder:
            self.write_session(sid)
            with open(self._session(sid, ".reads"), "a") as f:
                f.write(path + "\n")

    def reads(self, sid):
        if not self.folder:
            return []
        try:
            with open(self._session(sid, ".reads")) as f:
                return [line.rstrip("\n") for line in f if line.strip()]
        except OSError:
            return []

    def take_rule(self, key):
        """Count one more use of scenario rule ``key``; return the count before it."""
        fh = self._lock()
        try:
            path = os.path.join(self.folder, "scenario_counts.json")
            try:
                with open(path) as f:
                    counts = json.load(f)
            except (OSError, ValueError):
                counts = {}
            n = counts.get(key, 0)
            counts[key] = n + 1
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(counts, f)
            os.replace(tmp, path)
            return n
        finally:
            fh.close()


def choose(files, env, verifying=False):
    """(mode, delay, cost) for this invocation (``verifying``: a verification prompt; a
    rule with ``"verify": true`` applies to those only, and only those)."""
    mode = env.get("FAKE_CLAUDE_MODE") or "ok"
    delay = float(env.get("FAKE_CLAUDE_DELAY") or 0.5)
    cost = float(env.get("FAKE_CLAUDE_COST") or 0.01)
    scenario_path = env.get("FAKE_CLAUDE_SCENARIO")
    if not scenario_path:
        return mode, delay, cost
    with open(scenario_path) as f:
        scenario = json.load(f)
    state_dir = env.get("FAKE_CLAUDE_STATE") or (scenario_path + ".state")
    state = State(state_dir)
    for idx, rule in enumerate(scenario.get("rules") or []):
        wanted = rule.get("file")
        wanted = wanted if isinstance(wanted, list) else [wanted]
        if not any(w in files for w in wanted):
            continue
        if bool(rule.get("verify")) != verifying:
            continue
        times = rule.get("times")
        if times is not None and state.take_rule(f"rule{idx}") >= int(times):
            continue
        return (
            rule.get("mode", "ok"),
            float(rule.get("delay", delay)),
            float(rule.get("cost", cost)),
        )
    return scenario.get("default") or mode, delay, cost


# ----------------------------------------------------------------------------- output


class Out:
    def __init__(self, fmt, session_id):
        self.fmt = fmt
        self.sid = session_id

    def line(self, obj):
        if self.fmt == "stream-json":
            sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
            sys.stdout.flush()

    def raw(self, text):
        if self.fmt == "stream-json":
            sys.stdout.write(text + "\n")
            sys.stdout.flush()

    def final(self, result):
        if self.fmt == "stream-json":
            self.line(result)
        elif self.fmt == "json":
            sys.stdout.write(json.dumps(result) + "\n")
        else:
            sys.stdout.write(str(result.get("result") or "") + "\n")
        sys.stdout.flush()


def _uuid():
    return str(uuid.uuid4())


def _msg_id():
    return "msg_" + uuid.uuid4().hex[:20]


def _tool_id():
    return "toolu_" + uuid.uuid4().hex[:20]


def usage(turns):
    return {
        "input_tokens": 1000 * turns,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 200 * turns,
        "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
        "service_tier": "standard",
        "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
        "inference_geo": "",
        "iterations": [],
        "speed": "standard",
    }


def init_line(sid, cwd, model, tools, permission_mode):
    skills = [
        "deep-research",
        "update-config",
        "verify",
        "debug",
        "code-review",
        "simplify",
        "batch",
        "fewer-permission-prompts",
        "loop",
        "claude-api",
        "run",
        "run-skill-generator",
    ]
    return {
        "type": "system",
        "subtype": "init",
        "cwd": cwd,
        "session_id": sid,
        "tools": tools,
        "mcp_servers": [],
        "model": model,
        "permissionMode": permission_mode,
        "slash_commands": [
            *skills,
            "clear",
            "compact",
            "config",
            "context",
            "heapdump",
            "init",
            "reload-skills",
            "review",
            "security-review",
            "usage",
            "insights",
            "goal",
            "team-onboarding",
        ],
        "apiKeySource": "ANTHROPIC_API_KEY",
        "claude_code_version": VERSION,
        "output_style": "default",
        "agents": ["claude", "Explore", "general-purpose", "Plan", "statusline-setup"],
        "skills": skills,
        "plugins": [],
        "analytics_disabled": True,
        "product_feedback_disabled": True,
        "uuid": _uuid(),
        "memory_paths": {
            "auto": os.path.join(
                os.path.expanduser("~"),
                ".claude",
                "projects",
                re.sub(r"[^A-Za-z0-9-]", "-", cwd),
                "memory",
            )
            + "/"
        },
        "fast_mode_state": "off",
    }


def assistant_line(sid, msg_id, block, model=DEFAULT_MODEL):
    return {
        "type": "assistant",
        "message": {
            "id": msg_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [block],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 1000, "output_tokens": 1},
            "context_management": None,
        },
        "parent_tool_use_id": None,
        "session_id": sid,
        "uuid": _uuid(),
    }


def user_line(sid, result_block, tool_use_result):
    return {
        "type": "user",
        "message": {"role": "user", "content": [result_block]},
        "parent_tool_use_id": None,
        "session_id": sid,
        "uuid": _uuid(),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "tool_use_result": tool_use_result,
    }


def synthetic_error_line(sid, text, error):
    return {
        "type": "assistant",
        "message": {
            "id": _uuid(),
            "container": None,
            "model": "<synthetic>",
            "role": "assistant",
            "stop_details": None,
            "stop_reason": "stop_sequence",
            "stop_sequence": "",
            "type": "message",
            "usage": {
                "input_tokens": 0,
                "output_tokens": 0,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
                "service_tier": None,
                "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
                "inference_geo": None,
                "iterations": None,
                "speed": None,
            },
            "content": [{"type": "text", "text": text}],
            "context_management": None,
        },
        "parent_tool_use_id": None,
        "session_id": sid,
        "uuid": _uuid(),
        "error": error,
    }


def result_line(
    sid,
    start,
    turns,
    cost,
    model_label,
    *,
    subtype="success",
    is_error=False,
    result=None,
    status=None,
    stop_reason="tool_use",
    structured=None,
    errors=None,
    with_result=True,
):
    elapsed = int((time.time() - start) * 1000)
    line = {
        "type": "result",
        "subtype": subtype,
        "is_error": is_error,
        "api_error_status": status,
        "duration_ms": elapsed,
        "duration_api_ms": max(0, elapsed // 3) if cost else 0,
        "num_turns": turns,
    }
    if with_result:
        line["result"] = result
    line.update(
        {
            "stop_reason": stop_reason,
            "session_id": sid,
            "total_cost_usd": cost,
            "usage": usage(turns if cost else 0),
            "modelUsage": (
                {
                    model_label: {
                        "inputTokens": 1000 * turns,
                        "outputTokens": 200 * turns,
                        "cacheReadInputTokens": 0,
                        "cacheCreationInputTokens": 0,
                        "webSearchRequests": 0,
                        "costUSD": cost,
                        "contextWindow": 1000000,
                        "maxOutputTokens": 64000,
                    }
                }
                if cost
                else {}
            ),
            "permission_denials": [],
        }
    )
    if structured is not None:
        line["structured_output"] = structured
    if errors:
        line["errors"] = errors
    else:
        line["terminal_reason"] = "completed"
    line["fast_mode_state"] = "off"
    line["uuid"] = _uuid()
    return line


# ----------------------------------------------------------------------------- main


def _on_signal(signum, _frame):
    try:
        sys.stdout.flush()
    except Exception:
        pass
    os._exit(143 if signum == signal.SIGTERM else 130)


def leave_behind(env):
    """Start the processes ``FAKE_CLAUDE_LEAVE`` names and leave them running."""
    import subprocess

    for kind in filter(None, (env.get("FAKE_CLAUDE_LEAVE") or "").split(",")):
        if kind not in ("group", "session", "stdout"):
            raise ValueError(f"FAKE_CLAUDE_LEAVE: unknown kind {kind!r}")
        subprocess.Popen(
            ["sleep", "300"],
            stdin=subprocess.DEVNULL,
            stdout=None if kind == "stdout" else subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=kind != "group",
        )


def log_invocation(env, record):
    path = env.get("FAKE_CLAUDE_LOG")
    if not path:
        return
    data = (json.dumps(record) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def main(argv=None):
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    argv = sys.argv[1:] if argv is None else argv
    env = os.environ
    start = time.time()

    if "--version" in argv or "-v" in argv:
        sys.stdout.write(f"{VERSION} (Claude Code)\n")
        return 0

    opts = parse_argv(argv)
    prompt = opts["prompt"]
    if prompt is None and not sys.stdin.isatty():
        try:
            prompt = sys.stdin.read().strip() or None
        except (OSError, ValueError):
            prompt = None
    if prompt is None:
        sys.stderr.write(
            "Error: Input must be provided either through stdin or as a prompt "
            "argument when using --print\n"
        )
        return 1

    fmt = opts.get("--output-format", "text")
    if fmt == "stream-json" and "--verbose" not in opts["flags"]:
        sys.stderr.write(
            "Error: When using --print, --output-format=stream-json requires --verbose\n"
        )
        return 1

    cwd = os.getcwd()
    root, files, resumed_prompt = parse_prompt(prompt)
    # A verification: the files its findings name are read, and each finding judged.
    to_verify = [(m.group(1), m.group(2), int(m.group(3))) for m in VERIFY_ITEM_RE.finditer(prompt)]
    if to_verify and "Findings to verify" in prompt:
        files = list(dict.fromkeys(rel for _id, rel, _line in to_verify))
    else:
        to_verify = []
    state = State(env.get("FAKE_CLAUDE_STATE"))
    resume = opts.get("--resume") or opts.get("-r")
    sid_arg = opts.get("--session-id")
    sid = resume if resume and "--fork-session" not in opts["flags"] else sid_arg or _uuid()

    mode, delay, cost = choose(files, env, verifying=bool(to_verify))
    if mode not in MODES:
        sys.stderr.write(f"fake_claude: unknown mode {mode!r}\n")
        return 2
    log_invocation(
        env,
        {
            "argv": [sys.argv[0], *list(argv)],
            "pid": os.getpid(),
            "session_id": sid,
            "resume": resume,
            "session_id_arg": sid_arg,
            "files": files,
            "resumed_prompt": resumed_prompt,
            "mode": mode,
            "cwd": cwd,
            "start": start,
            "verify": [item[0] for item in to_verify],
        },
    )

    model_arg = opts.get("--model")
    model = model_arg or DEFAULT_MODEL
    model_label = model_arg or DEFAULT_MODEL + "[1m]"
    out = Out(fmt, sid)

    # Session semantics (only with a state folder, as the real CLI's are on disk).
    if state.folder:
        if resume and not state.session_written(resume):
            msg = f"No conversation found with session ID: {resume}"
            out.final(
                result_line(
                    sid,
                    start,
                    0,
                    0,
                    model_label,
                    subtype="error_during_execution",
                    is_error=True,
                    stop_reason=None,
                    errors=[msg],
                    with_result=False,
                )
            )
            sys.stderr.write(msg + "\n")
            return 1
        if sid_arg and not resume and not state.claim_session(sid_arg):
            sys.stderr.write(f"Error: Session ID {sid_arg} is already in use.\n")
            return 1
        if env.get("FAKE_CLAUDE_SESSION_WRITE") == "start":
            state.write_session(sid)

    tools_opt = opts.get("--tools")
    tools = (
        sorted(t.strip() for t in tools_opt.replace(" ", ",").split(",") if t.strip())
        if tools_opt
        else ["Bash", "Edit", "Glob", "Grep", "Read", "Write"]
    )
    if "--json-schema" in opts and "StructuredOutput" not in tools:
        tools.append("StructuredOutput")
    out.line(init_line(sid, cwd, model_label, tools, opts.get("--permission-mode", "default")))
    leave_behind(env)

    if mode == "hang":
        while True:
            time.sleep(3600)

    if mode == "junk":
        out.raw("Warning: this is not JSON (a stray log line)")
        out.line(
            {
                "type": "rate_limit_event",
                "rate_limit_info": {
                    "status": "allowed",
                    "resetsAt": int(start) + 3600,
                    "rateLimitType": "five_hour",
                },
                "uuid": _uuid(),
                "session_id": sid,
            }
        )
        out.line(
            {
                "type": "system",
                "subtype": "api_retry",
                "attempt": 1,
                "max_retries": 10,
                "retry_delay_ms": 512.5,
                "error_status": 529,
                "error": "overloaded",
                "session_id": sid,
                "uuid": _uuid(),
            }
        )
        out.raw("")
        out.raw("{not json either")

    if mode in ("usage_limit", "usage_split", "usage_key"):
        resets_at = int(float(env.get("FAKE_CLAUDE_RESETS_AT") or (time.time() + 3600)))
        event = {
            "type": "rate_limit_event",
            "rate_limit_info": {
                "status": "rejected",
                "resetsAt": resets_at,
                "rateLimitType": "five_hour",
                "overageStatus": "rejected",
                "isUsingOverage": False,
            },
            "uuid": _uuid(),
            "session_id": sid,
        }
        clock = time.strftime("%I:%M%p", time.gmtime(resets_at)).lstrip("0").lower()
        if mode == "usage_key":
            text = "API Error: Request rejected (429) \u00b7 You've hit your limit"
        else:
            text = f"You've hit your limit \u00b7 resets {clock} (UTC)"
        error_line = json.dumps(synthetic_error_line(sid, text, "rate_limit"))
        if mode == "usage_limit":
            out.line(event)
            out.raw(error_line)
        elif mode == "usage_split":
            # The event lands inside another line, as public bug reports show.
            middle = len(error_line) // 2
            out.raw(error_line[:middle] + json.dumps(event) + error_line[middle:])
        else:
            out.raw(error_line)
        out.final(
            result_line(
                sid, start, 1, 0, model_label, is_error=True, result=text, status=429,
                stop_reason="stop_sequence",
            )
        )
        return 1

    if mode in ("rate_limit", "overloaded", "unreachable"):
        text, error, status = {
            "rate_limit": (
                "API Error: Request rejected (429) \u00b7 Number of request tokens "
                "has exceeded your per-minute rate limit",
                "rate_limit",
                429,
            ),
            "overloaded": (
                "API Error: 529 Overloaded. This is a server-side issue, usually "
                "temporary \u2014 try again in a moment.",
                "server_error",
                529,
            ),
            "unreachable": (
                "API Error: Unable to connect to API (ConnectionRefused)",
                "server_error",
                None,
            ),
        }[mode]
        out.line(synthetic_error_line(sid, text, error))
        out.final(
            result_line(
                sid,
                start,
                1,
                0,
                model_label,
                is_error=True,
                result=text,
                status=status,
                stop_reason="stop_sequence",
            )
        )
        return 1

    # First turn: a text and one Read per file.
    msg_id = _msg_id()
    out.line(assistant_line(sid, msg_id, {"type": "text", "text": "I will read the files."}, model))
    hostile = {}
    if mode == "hostile":
        with open(env["FAKE_CLAUDE_HOSTILE"], encoding="utf-8") as f:
            hostile = json.load(f)
        for text in hostile.get("texts", []):
            out.line(assistant_line(sid, msg_id, {"type": "text", "text": text}, model))
        for call in hostile.get("tool_uses", []):
            block = {"type": "tool_use", "id": _tool_id(), "name": call["name"]}
            block["input"] = call["input"]
            out.line(assistant_line(sid, msg_id, block, model))
            content = json.dumps(call["input"], ensure_ascii=False)
            result = {"type": "tool_result", "content": content, "is_error": True}
            result["tool_use_id"] = block["id"]
            out.line(user_line(sid, result, "Error: " + content))
            time.sleep(hostile.get("pause", 0))
    reads = []
    # A flaky link: one file a try (the last one is read and reported).
    for rel in files[:1] if mode == "flaky" else files:
        path = abs_path(root, rel, cwd)
        block = {"type": "tool_use", "id": _tool_id(), "name": "Read", "input": {"file_path": path}}
        reads.append((rel, path, block["id"]))
        out.line(assistant_line(sid, msg_id, block, model))
        if mode == "junk":
            out.raw(f"[debug] tool_use queued: {block['id']}")

    if mode == "crash":
        sys.stderr.write("fake_claude: simulated crash\n")
        sys.stdout.flush()
        return 1

    findings = []
    turns = 1
    # A resumed session reports what it had read before the interruption too.
    earlier = [p for p in (state.reads(sid) if resume else []) if p not in {r[1] for r in reads}]
    for path in dict.fromkeys(earlier):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                findings.extend(findings_of(path, f.read()))
        except OSError:
            pass
    for _rel, path, tool_id in reads:
        if mode == "slow":
            time.sleep(delay)
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                content = f.read()
        except OSError:
            err = f"File does not exist. Note: your current working directory is {cwd}."
            out.line(
                user_line(
                    sid,
                    {
                        "type": "tool_result",
                        "content": f"<tool_use_error>{err}</tool_use_error>",
                        "is_error": True,
                        "tool_use_id": tool_id,
                    },
                    "Error: " + err,
                )
            )
            turns += 1
            continue
        # In the session before it is on stdout: a kill after the line keeps the read.
        state.record_read(sid, path)  # the session is written from the first tool result on
        text = numbered(content)  # like the Read tool: a final newline shows as "N\t"
        nlines = len(content.split("\n"))
        out.line(
            user_line(
                sid,
                {"tool_use_id": tool_id, "type": "tool_result", "content": text},
                {
                    "type": "text",
                    "file": {
                        "filePath": path,
                        "content": content,
                        "numLines": nlines,
                        "startLine": 1,
                        "totalLines": nlines,
                    },
                },
            )
        )
        turns += 1
        findings.extend(findings_of(path, content))
    state.write_session(sid)  # the first turn completed
    if mode == "write" and reads:
        # What a --claude-bin wrapper with write tools might do: change a file it reviews.
        with open(reads[0][1], "a", encoding="utf-8") as f:
            f.write("# written by the fake claude\n")

    if mode == "stream_cut" or (mode == "flaky" and len(files) > 1):
        text = (
            "API Error: API returned an empty or malformed response (HTTP 200) \u2014 check "
            "for a proxy or gateway intercepting the request"
        )
        out.line(synthetic_error_line(sid, text, "unknown"))
        out.final(
            result_line(
                sid,
                start,
                turns,
                cost,
                model_label,
                is_error=True,
                result=text,
                stop_reason="stop_sequence",
            )
        )
        return 1

    payload = {"findings": findings + hostile.get("findings", [])}
    if to_verify:
        payload = {"verdicts": [verdict_of(root, cwd, *item) for item in to_verify]}
    payload_text = json.dumps(payload, separators=(",", ":"))

    if mode in ("parse_error", "json_in_text"):
        if mode == "parse_error":
            text = "I reviewed the files. Nothing else to add."
        else:
            text = f"Here is my review.\n\n```json\n{json.dumps(payload, indent=2)}\n```\n"
        out.line(assistant_line(sid, _msg_id(), {"type": "text", "text": text}, model))
        out.line(assistant_line(sid, _msg_id(), {"type": "text", "text": text}, model))
        out.final(
            result_line(
                sid, start, turns + 1, cost, model_label, result=text, stop_reason="end_turn"
            )
        )
        return 0

    if mode == "schema_fail":
        wrong = {"issues": findings}
        err = "Output does not match required schema: root: must have required property 'findings'"
        for _ in range(5):
            block = {
                "type": "tool_use",
                "id": _tool_id(),
                "name": "StructuredOutput",
                "input": wrong,
            }
            out.line(assistant_line(sid, _msg_id(), block, model))
            out.line(
                user_line(
                    sid,
                    {
                        "type": "tool_result",
                        "content": err,
                        "is_error": True,
                        "tool_use_id": block["id"],
                    },
                    "Error: " + err,
                )
            )
            turns += 1
        out.final(
            result_line(
                sid,
                start,
                turns,
                cost,
                model_label,
                subtype="error_max_structured_output_retries",
                is_error=True,
                stop_reason="tool_use",
                with_result=False,
                errors=["Failed to provide valid structured output after 5 attempts"],
            )
        )
        return 1

    block = {"type": "tool_use", "id": _tool_id(), "name": "StructuredOutput", "input": payload}
    out.line(assistant_line(sid, _msg_id(), block, model))
    if mode == "junk":
        out.line(
            {"type": "stream_event", "event": {"type": "ping"}, "session_id": sid, "uuid": _uuid()}
        )
    ok = "Structured output provided successfully"
    out.line(user_line(sid, {"tool_use_id": block["id"], "type": "tool_result", "content": ok}, ok))
    turns += 1
    final = result_line(
        sid, start, turns, cost, model_label, result=payload_text, structured=payload
    )
    final.update(hostile.get("result", {}))
    final["usage"].update(hostile.get("usage", {}))
    out.final(final)
    return 0


if __name__ == "__main__":
    try:
        code = main()
    except BrokenPipeError:
        code = 1
    sys.stdout.flush()
    sys.exit(code)
