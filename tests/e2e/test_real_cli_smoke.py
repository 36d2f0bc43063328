"""The real Claude Code CLI against the scripted Messages-API server (tests/support).

Proves the real-CLI test tier works: the CLI installed by scripts/install_claude_code.sh runs
offline against the loopback server, reviews a small repository and prints a result line
with ``structured_output``; refused tools stay refused; and the server's failure knobs give
the result lines the engine has to classify (see shared reference transcripts).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.support.marks import NEEDS_REAL_CLI
from tests.support.messages_api import ScriptedMessagesServer
from tests.support.real_cli import (
    FINDINGS_SCHEMA_JSON,
    find_claude_bin,
    parse_stream,
    real_cli_env,
    session_file,
)
from tests.support.review_repo import (
    DEFAULT_FINDINGS,
    finding_keys,
    make_review_repo,
    review_prompt,
)

CLAUDE_BIN = find_claude_bin()

pytestmark = NEEDS_REAL_CLI

RUN_TIMEOUT = 60  # seconds; a run takes well under 2 s here


class Run:
    def __init__(self, proc: subprocess.CompletedProcess, seconds: float) -> None:
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.seconds = seconds
        self.events = parse_stream(proc.stdout)

    @property
    def result(self) -> dict | None:
        return self.events[-1] if self.events and self.events[-1].get("type") == "result" else None

    def of_type(self, kind: str) -> list[dict]:
        return [e for e in self.events if e.get("type") == kind]

    def tool_uses(self) -> list[dict]:
        return [
            block
            for e in self.of_type("assistant")
            for block in e["message"]["content"]
            if block.get("type") == "tool_use"
        ]

    def tool_results(self) -> list[dict]:
        return [
            block
            for e in self.of_type("user")
            for block in e["message"]["content"]
            if isinstance(block, dict) and block.get("type") == "tool_result"
        ]

    def describe(self) -> str:
        return (
            f"exit {self.returncode}\nstderr: {self.stderr[-2000:]}\nstdout: {self.stdout[-3000:]}"
        )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_review_repo(tmp_path.resolve() / "repo")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path.resolve() / "home"


def claude_argv(prompt: str, *extra: str) -> list[str]:
    """A review as the engine starts one: stream-json, read-only tools, the findings schema."""
    return [
        str(CLAUDE_BIN),
        "-p",
        prompt,
        "--output-format",
        "stream-json",
        "--verbose",
        "--tools",
        "Read,Grep,Glob",
        "--json-schema",
        FINDINGS_SCHEMA_JSON,
        *extra,
    ]


def run_claude(repo: Path, home: Path, base_url: str, prompt: str, *extra: str) -> Run:
    argv = claude_argv(prompt, *extra)
    start = time.monotonic()
    proc = subprocess.run(
        argv,
        cwd=repo,
        env=real_cli_env(home, base_url),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    return Run(proc, time.monotonic() - start)


def test_review_yields_structured_output(repo: Path, home: Path) -> None:
    files = ["src/app.py", "lib/util.go"]
    sid = str(uuid.uuid4())
    with ScriptedMessagesServer() as srv:
        run = run_claude(repo, home, srv.base_url, review_prompt(repo, files), "--session-id", sid)
        requests = srv.requests()

    assert run.returncode == 0, run.describe()
    init = run.events[0]
    assert init["type"] == "system" and init["subtype"] == "init", run.describe()
    assert init["session_id"] == sid
    assert "StructuredOutput" in init["tools"] and "Bash" not in init["tools"]

    result = run.result
    assert result is not None, run.describe()
    assert result["subtype"] == "success" and result["is_error"] is False, run.describe()
    assert result["api_error_status"] is None
    assert result["session_id"] == sid
    findings = result["structured_output"]["findings"]
    assert all(f["file"].startswith(str(repo) + "/") for f in findings)  # absolute paths
    assert finding_keys(findings, repo) == DEFAULT_FINDINGS

    reads = [u["input"]["file_path"] for u in run.tool_uses() if u["name"] == "Read"]
    assert sorted(reads) == sorted(f"{repo}/{f}" for f in files)

    # Two model requests: the reads, then StructuredOutput; the CLI stops there.
    assert [(r.first_turn, r.reply, r.status) for r in requests] == [
        (True, "read", 200),
        (False, "structured_output", 200),
    ]
    assert all(r.files == files for r in requests)
    assert all(r.session_id == sid for r in requests)

    assert session_file(home, repo, sid).is_file()
    assert run.seconds < 20


def test_refused_tools_leave_no_trace(repo: Path, home: Path, tmp_path: Path) -> None:
    with ScriptedMessagesServer(inject=True) as srv:
        run = run_claude(repo, home, srv.base_url, review_prompt(repo, ["src/app.py"]))

    assert run.returncode == 0, run.describe()
    asked = {u["name"] for u in run.tool_uses()}
    assert {"Bash", "Write", "Read", "StructuredOutput"} <= asked
    refused = [r for r in run.tool_results() if r.get("is_error")]
    assert len(refused) == 2
    assert all("No such tool available" in json.dumps(r["content"]) for r in refused)
    assert not list(tmp_path.rglob("PWNED*")), "a refused tool ran"
    assert not (Path.cwd() / "PWNED").exists()
    assert run.result["is_error"] is False
    assert {
        (f, line)
        for f, line, _, _ in finding_keys(run.result["structured_output"]["findings"], repo)
    } == {("src/app.py", 4), ("src/app.py", 8)}


@pytest.mark.parametrize(
    ("knobs", "status", "text"),
    [
        ({"always_status": 429}, 429, "API Error: Request rejected (429)"),
        ({"always_status": 529}, 529, "API Error: 529 Overloaded"),
        ({"rate_limit": (1, 60)}, 429, "API Error: Request rejected (429)"),
    ],
    ids=["429", "529", "window"],
)
def test_rate_limits_reach_the_result_line(repo, home, knobs, status, text) -> None:
    with ScriptedMessagesServer(**knobs) as srv:
        run = run_claude(repo, home, srv.base_url, review_prompt(repo, ["src/app.py"]))
        statuses = [r.status for r in srv.requests()]
    assert run.returncode == 1, run.describe()
    assert run.result["is_error"] is True
    assert run.result["api_error_status"] == status
    assert run.result["result"].startswith(text)
    assert statuses[-1] == status


def test_cut_stream_and_outage(repo: Path, home: Path) -> None:
    prompt = review_prompt(repo, ["src/app.py"])
    srv = ScriptedMessagesServer(cut_stream_after=2).start()
    try:
        cut = run_claude(repo, home, srv.base_url, prompt)
        assert cut.returncode == 1, cut.describe()
        assert cut.result["is_error"] is True and cut.result["api_error_status"] is None
        assert "empty or malformed response" in cut.result["result"]

        port = srv.port
        srv.stop()
        down = run_claude(repo, home, srv.base_url, prompt)
        assert down.returncode == 1, down.describe()
        assert down.result["api_error_status"] is None
        # 2.1.197: "Unable to connect to API (ConnectionRefused)"; 2.1.328: "Connection
        # refused — a firewall or proxy may be blocking it (ECONNREFUSED)".
        assert down.result["result"].startswith("API Error:")
        assert any(
            text in down.result["result"]
            for text in ("Unable to connect to API", "ECONNREFUSED", "ConnectionRefused")
        ), down.result["result"]

        srv.start()  # back, on the same port
        assert srv.port == port
        back = run_claude(repo, home, srv.base_url, prompt)
        assert back.returncode == 0, back.describe()
        assert back.result["structured_output"]["findings"]
    finally:
        srv.stop()


def test_resume_continues_the_session(repo: Path, home: Path) -> None:
    """Killed mid-turn, then ``--resume`` with the files left: same session, same findings."""
    sid = str(uuid.uuid4())
    with ScriptedMessagesServer(latency=30) as srv:
        argv = claude_argv(review_prompt(repo, ["src/app.py", "lib/util.go"]), "--session-id", sid)
        proc = subprocess.Popen(
            argv,
            cwd=repo,
            env=real_cli_env(home, srv.base_url),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + RUN_TIMEOUT
        while not srv.requests() and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=RUN_TIMEOUT)
        assert proc.returncode == 143
        srv.latency = 0

        # A fresh start may not reuse the id.
        again = run_claude(
            repo, home, srv.base_url, review_prompt(repo, ["lib/util.go"]), "--session-id", sid
        )
        assert again.returncode == 1 and not again.events
        assert f"Session ID {sid} is already in use" in again.stderr

        resumed = run_claude(
            repo,
            home,
            srv.base_url,
            review_prompt(repo, ["lib/util.go"], left=True),
            "--resume",
            sid,
        )
        requests = srv.requests()

        unknown = str(uuid.uuid4())
        missing = run_claude(
            repo, home, srv.base_url, review_prompt(repo, ["lib/util.go"]), "--resume", unknown
        )

    assert resumed.returncode == 0, resumed.describe()
    assert resumed.result["session_id"] == sid
    assert finding_keys(resumed.result["structured_output"]["findings"], repo) == {
        ("lib/util.go", 3, "medium", "error ignored")
    }
    last = requests[-2:]
    assert [r.prompt_files for r in last] == [["lib/util.go"]] * 2
    assert all(r.resumed and r.files == ["src/app.py", "lib/util.go"] for r in last)

    assert missing.returncode == 1
    assert missing.result["subtype"] == "error_during_execution"
    assert f"No conversation found with session ID: {unknown}" in missing.stderr


def test_environment_is_isolated(home: Path) -> None:
    env = real_cli_env(home, "http://127.0.0.1:1")
    assert env["HOME"] == str(home) and home.is_dir()
    assert env["ANTHROPIC_API_KEY"] == "test-key"
    assert env["CLAUDE_CODE_MAX_RETRIES"] == "0"
    assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
    assert "ANTHROPIC_AUTH_TOKEN" not in env and "CLAUDE_CONFIG_DIR" not in env
    assert os.environ.get("HOME") != env["HOME"]
