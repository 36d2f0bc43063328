"""The fake ``claude`` (tests/support/fake_claude.py) behaves like the real CLI's transcripts."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.support import messages_api
from tests.support.real_cli import FINDINGS_SCHEMA_JSON, parse_stream
from tests.support.review_repo import (
    DEFAULT_FINDINGS,
    finding_keys,
    make_review_repo,
    review_prompt,
)

FAKE = Path(__file__).resolve().parents[1] / "support" / "fake_claude.py"
# The real CLI's recorded transcripts (copied from shared/reference/claude-cli-transcripts/).
TRANSCRIPTS = Path(__file__).resolve().parents[1] / "fixtures"
FILES = ["src/app.py", "lib/util.go"]


class Fake:
    """Runs the fake in one repository with one state folder and one invocation log."""

    def __init__(self, tmp_path: Path) -> None:
        self.repo = make_review_repo(tmp_path.resolve() / "repo", git=False)
        self.state = tmp_path / "state"
        self.log = tmp_path / "invocations.jsonl"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_CLAUDE_")}
        self.env.update(FAKE_CLAUDE_STATE=str(self.state), FAKE_CLAUDE_LOG=str(self.log))

    def argv(self, files: list[str] = FILES, *extra: str, left: bool = False) -> list[str]:
        return [
            str(FAKE),
            "-p",
            review_prompt(self.repo, files, left=left),
            "--output-format",
            "stream-json",
            "--verbose",
            "--tools",
            "Read,Grep,Glob",
            "--json-schema",
            FINDINGS_SCHEMA_JSON,
            "--model",
            "claude-sonnet-4-5",
            "--max-turns",
            "20",
            "--permission-mode",
            "default",
            "--some-unknown-flag",
            *extra,
        ]

    def run(self, files: list[str] = FILES, *extra: str, left: bool = False, **env: str):
        proc = subprocess.run(
            self.argv(files, *extra, left=left),
            cwd=self.repo,
            env={**self.env, **env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
        )
        proc.events = parse_stream(proc.stdout)  # type: ignore[attr-defined]
        return proc

    def invocations(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def fake(tmp_path: Path) -> Fake:
    return Fake(tmp_path)


def result_of(proc) -> dict | None:
    events = proc.events
    return events[-1] if events and events[-1].get("type") == "result" else None


def test_ok_reports_findings_like_the_real_cli(fake: Fake) -> None:
    sid = str(uuid.uuid4())
    proc = fake.run(FILES, "--session-id", sid)
    assert proc.returncode == 0, proc.stderr
    events = proc.events
    assert events[0]["type"] == "system" and events[0]["subtype"] == "init"
    assert events[0]["session_id"] == sid
    assert events[0]["tools"] == ["Glob", "Grep", "Read", "StructuredOutput"]
    reads = [
        b["input"]["file_path"]
        for e in events
        if e["type"] == "assistant"
        for b in e["message"]["content"]
        if b.get("name") == "Read"
    ]
    assert reads == [f"{fake.repo}/{f}" for f in FILES]
    result = result_of(proc)
    assert result["subtype"] == "success" and result["is_error"] is False
    assert result["api_error_status"] is None
    assert result["session_id"] == sid
    assert result["total_cost_usd"] == 0.01
    assert result["num_turns"] == 4  # as in success.jsonl for two files
    assert json.loads(result["result"]) == result["structured_output"]
    assert finding_keys(result["structured_output"]["findings"], fake.repo) == DEFAULT_FINDINGS
    for key in ("usage", "duration_ms"):
        assert key in result

    (inv,) = fake.invocations()
    assert inv["files"] == FILES and inv["mode"] == "ok" and inv["session_id"] == sid
    assert inv["resume"] is None and inv["pid"] > 0 and "--session-id" in inv["argv"]


def test_lines_have_the_shape_of_the_transcripts(fake: Fake) -> None:
    """Every line type and key of success.jsonl is in the fake's output too."""
    reference = TRANSCRIPTS / "success.jsonl"
    real = [json.loads(line) for line in reference.read_text().splitlines() if line.strip()]
    mine = fake.run().events

    def shapes(events: list[dict]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for e in events:
            out.setdefault(f"{e['type']}/{e.get('subtype', '')}", set()).update(e)
        return out

    real_shapes, my_shapes = shapes(real), shapes(mine)
    assert set(real_shapes) == set(my_shapes)
    for kind, keys in real_shapes.items():
        # ttft_ms and friends are timing details of real API calls
        missing = keys - my_shapes[kind] - {"ttft_ms", "ttft_stream_ms", "time_to_request_ms"}
        assert not missing, (kind, missing)


def test_same_findings_as_the_scripted_server(fake: Fake) -> None:
    """The fake and the scripted Messages-API model read the markers the same way."""
    events = fake.run().events
    uses = {
        b["id"]: b
        for e in events
        if e["type"] == "assistant"
        for b in e["message"]["content"]
        if b.get("type") == "tool_use"
    }
    messages = [
        {"role": "user", "content": review_prompt(fake.repo, FILES)},
        {"role": "assistant", "content": [u for u in uses.values() if u["name"] == "Read"]},
        {
            "role": "user",
            "content": [
                b
                for e in events
                if e["type"] == "user"
                for b in e["message"]["content"]
                if uses[b["tool_use_id"]]["name"] == "Read"
            ],
        },
    ]
    reply = messages_api.scripted_reply(messages_api.analyse(messages), inject=False)
    assert reply.kind == "structured_output"
    server_findings = reply.blocks[0]["input"]["findings"]
    assert finding_keys(server_findings, fake.repo) == finding_keys(
        result_of(fake.run())["structured_output"]["findings"], fake.repo
    )


def test_crash_leaves_no_result_and_no_session(fake: Fake) -> None:
    sid = str(uuid.uuid4())
    proc = fake.run(FILES, "--session-id", sid, FAKE_CLAUDE_MODE="crash")
    assert proc.returncode == 1
    assert proc.events and proc.events[0]["subtype"] == "init"
    assert result_of(proc) is None
    # The first turn never completed: nothing to resume ...
    resumed = fake.run(FILES, "--resume", sid, left=True)
    assert resumed.returncode == 1
    assert result_of(resumed)["subtype"] == "error_during_execution"
    assert f"No conversation found with session ID: {sid}" in resumed.stderr
    # ... and the id is taken.
    again = fake.run(FILES, "--session-id", sid)
    assert again.returncode == 1 and again.stdout == ""
    assert f"Error: Session ID {sid} is already in use." in again.stderr


@pytest.mark.parametrize(
    ("mode", "status", "text"),
    [
        ("rate_limit", 429, "API Error: Request rejected (429)"),
        ("overloaded", 529, "API Error: 529 Overloaded"),
        ("unreachable", None, "API Error: Unable to connect to API (ConnectionRefused)"),
        ("stream_cut", None, "API Error: API returned an empty or malformed response (HTTP 200)"),
    ],
)
def test_api_errors_match_the_transcripts(fake: Fake, mode: str, status, text: str) -> None:
    proc = fake.run(FAKE_CLAUDE_MODE=mode)
    assert proc.returncode == 1
    result = result_of(proc)
    assert result["is_error"] is True and result["subtype"] == "success"
    assert result["api_error_status"] == status
    assert result["result"].startswith(text)
    reference = TRANSCRIPTS / {"rate_limit": "rate_limited.jsonl"}.get(mode, f"{mode}.jsonl")
    if reference.exists():
        real = json.loads(reference.read_text().splitlines()[-1])
        assert real["api_error_status"] == status
        assert real["result"].split(" \u00b7 ")[0].split(". ")[0] in result["result"]


def test_output_problems(fake: Fake) -> None:
    parse_error = result_of(fake.run(FAKE_CLAUDE_MODE="parse_error"))
    assert parse_error["is_error"] is False and "structured_output" not in parse_error
    assert "{" not in parse_error["result"]

    in_text = result_of(fake.run(FAKE_CLAUDE_MODE="json_in_text"))
    assert "structured_output" not in in_text
    block = in_text["result"].split("```json", 1)[1].split("```", 1)[0]
    assert finding_keys(json.loads(block)["findings"], fake.repo) == DEFAULT_FINDINGS

    proc = fake.run(FAKE_CLAUDE_MODE="schema_fail")
    assert proc.returncode == 1
    assert result_of(proc)["subtype"] == "error_max_structured_output_retries"
    assert result_of(proc)["is_error"] is True


def test_junk_lines_then_success(fake: Fake) -> None:
    proc = fake.run(FAKE_CLAUDE_MODE="junk")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert len(lines) > len(proc.events)  # some lines are not JSON
    kinds = {(e["type"], e.get("subtype")) for e in proc.events}
    assert ("rate_limit_event", None) in kinds and ("system", "api_retry") in kinds
    assert result_of(proc)["structured_output"]["findings"]


def test_scenario_applies_per_chunk_and_counts_attempts(fake: Fake, tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.json"
    scenario.write_text(
        json.dumps(
            {
                "rules": [
                    {"file": "src/app.py", "mode": "crash", "times": 1},
                    {"file": "lib/util.go", "mode": "rate_limit", "times": 2},
                ],
                "default": "ok",
            }
        )
    )
    env = {"FAKE_CLAUDE_SCENARIO": str(scenario)}
    a1 = fake.run(["src/app.py"], **env)
    b1 = fake.run(["lib/util.go"], **env)
    a2 = fake.run(["src/app.py"], **env)
    b2 = fake.run(["lib/util.go"], **env)
    b3 = fake.run(["lib/util.go"], **env)
    assert [p.returncode for p in (a1, b1, a2, b2, b3)] == [1, 1, 0, 1, 0]
    assert result_of(a1) is None
    assert result_of(b1)["api_error_status"] == 429
    assert [i["mode"] for i in fake.invocations()] == [
        "crash",
        "rate_limit",
        "ok",
        "rate_limit",
        "ok",
    ]
    assert [i["files"] for i in fake.invocations()] == [
        ["src/app.py"],
        ["lib/util.go"],
        ["src/app.py"],
        ["lib/util.go"],
        ["lib/util.go"],
    ]


def test_resume_of_a_written_session(fake: Fake) -> None:
    sid = str(uuid.uuid4())
    first = fake.run(FILES, "--session-id", sid, FAKE_CLAUDE_MODE="stream_cut")
    assert first.returncode == 1  # the reads completed, so the session was written
    resumed = fake.run(["lib/util.go"], "--resume", sid, left=True)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.events[0]["session_id"] == sid == result_of(resumed)["session_id"]
    # The stream was cut after both reads: the resume reports both files, though it was
    # only told about the one left.
    findings = result_of(resumed)["structured_output"]["findings"]
    assert finding_keys(findings, fake.repo) == DEFAULT_FINDINGS
    last = fake.invocations()[-1]
    assert last["resume"] == sid and last["resumed_prompt"] is True
    assert last["files"] == ["lib/util.go"]


def test_resume_of_a_finished_session_reports_every_file_again(fake: Fake) -> None:
    """claude-tui killed after the answer but before it saved it resumes with 0 files left."""
    sid = str(uuid.uuid4())
    first = fake.run(FILES, "--session-id", sid)
    assert first.returncode == 0
    resumed = fake.run([], "--resume", sid, left=True)
    assert resumed.returncode == 0, resumed.stderr
    findings = result_of(resumed)["structured_output"]["findings"]
    assert finding_keys(findings, fake.repo) == DEFAULT_FINDINGS


def test_resume_of_an_unknown_session(fake: Fake) -> None:
    unknown = str(uuid.uuid4())
    proc = fake.run(FILES, "--resume", unknown)
    assert proc.returncode == 1
    assert [e["type"] for e in proc.events] == ["result"]  # no init line, as the real CLI
    assert result_of(proc)["subtype"] == "error_during_execution"
    assert result_of(proc)["is_error"] is True
    assert f"No conversation found with session ID: {unknown}" in proc.stderr


def test_sigterm_ends_a_hanging_run(fake: Fake) -> None:
    proc = subprocess.Popen(
        fake.argv(),
        cwd=fake.repo,
        env={**fake.env, "FAKE_CLAUDE_MODE": "hang"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        assert json.loads(first)["subtype"] == "init"
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 143
        assert time.monotonic() - start < 2
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_slow_mode_waits_per_file(fake: Fake) -> None:
    start = time.monotonic()
    proc = fake.run(FAKE_CLAUDE_MODE="slow", FAKE_CLAUDE_DELAY="0.3", FAKE_CLAUDE_COST="0.25")
    assert proc.returncode == 0
    assert time.monotonic() - start >= 0.6
    assert result_of(proc)["total_cost_usd"] == 0.25


@pytest.mark.skipif(shutil.which("python3") is None, reason="no python3 on PATH")
def test_runs_with_the_system_python(fake: Fake) -> None:
    """Its shebang is /usr/bin/env python3: the venv is not needed."""
    assert FAKE.read_text().startswith("#!/usr/bin/env python3\n")
    assert os.access(FAKE, os.X_OK)
    proc = subprocess.run(
        ["python3", str(FAKE), "--version"], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0 and "Claude Code" in proc.stdout
    env = {
        **fake.env,
        "PATH": os.pathsep.join(
            p
            for p in os.environ.get("PATH", "").split(os.pathsep)
            if not p.startswith(str(Path(sys.executable).parent))
        ),
    }
    proc = subprocess.run(
        fake.argv(),
        cwd=fake.repo,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr


def test_killed_after_a_read_then_resumed_reports_all_files(fake: Fake) -> None:
    """A slow run killed after its first Read is resumable; the resume reports every file."""
    sid = str(uuid.uuid4())
    env = {**fake.env, "FAKE_CLAUDE_MODE": "slow", "FAKE_CLAUDE_DELAY": "0.2"}
    proc = subprocess.Popen(
        fake.argv(FILES, "--session-id", sid),
        cwd=fake.repo,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in proc.stdout:
            if json.loads(line)["type"] == "user":  # the first tool result
                break
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 143
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    resumed = fake.run(["lib/util.go"], "--resume", sid, left=True)
    assert resumed.returncode == 0, resumed.stderr
    assert finding_keys(result_of(resumed)["structured_output"]["findings"], fake.repo) == (
        DEFAULT_FINDINGS
    )
