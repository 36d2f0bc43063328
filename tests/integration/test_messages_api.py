"""The scripted Messages-API server (tests/support/messages_api.py), spoken to over HTTP."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from tests.support.messages_api import ScriptedMessagesServer
from tests.support.review_repo import make_review_repo, review_prompt

ROOT = Path(__file__).resolve().parents[2]


def post(base_url: str, body: dict, path: str = "/v1/messages?beta=true"):
    """(status, headers, body bytes) of one POST."""
    url = urllib.parse.urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.request(
            "POST",
            path,
            body=json.dumps(body),
            headers={"content-type": "application/json", "x-api-key": "k"},
        )
        resp = conn.getresponse()
        try:
            data = resp.read()
        except http.client.IncompleteRead as exc:
            data = exc.partial
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def sse(data: bytes) -> list[tuple[str, dict]]:
    events = []
    for chunk in data.decode().split("\n\n"):
        if not chunk.strip():
            continue
        lines = dict(line.split(": ", 1) for line in chunk.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def assemble(events: list[tuple[str, dict]]) -> tuple[list[dict], str | None]:
    """The content blocks and stop_reason a client builds from the events."""
    blocks: dict[int, dict] = {}
    partial: dict[int, str] = {}
    stop = None
    for name, ev in events:
        assert name == ev["type"]
        if name == "content_block_start":
            blocks[ev["index"]] = dict(ev["content_block"])
        elif name == "content_block_delta":
            d = ev["delta"]
            if d["type"] == "text_delta":
                blocks[ev["index"]]["text"] += d["text"]
            else:
                assert d["type"] == "input_json_delta"
                partial[ev["index"]] = partial.get(ev["index"], "") + d["partial_json"]
        elif name == "content_block_stop" and ev["index"] in partial:
            blocks[ev["index"]]["input"] = json.loads(partial[ev["index"]])
        elif name == "message_delta":
            stop = ev["delta"]["stop_reason"]
    return [blocks[i] for i in sorted(blocks)], stop


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_review_repo(tmp_path.resolve() / "repo", git=False)


def numbered(path: Path) -> str:
    return "\n".join(f"{i}\t{line}" for i, line in enumerate(path.read_text().split("\n"), start=1))


def test_a_review_conversation(repo: Path) -> None:
    files = ["src/app.py", "lib/util.go"]
    prompt = {
        "role": "user",
        "content": [
            {"type": "text", "text": "<system-reminder>context</system-reminder>"},
            {"type": "text", "text": review_prompt(repo, files)},
        ],
    }
    with ScriptedMessagesServer(inject=True) as srv:
        status, headers, data = post(
            srv.base_url, {"model": "m", "stream": True, "messages": [prompt]}
        )
        assert status == 200 and headers["content-type"].startswith("text/event-stream")
        events = sse(data)
        assert [n for n, _ in events][:2] == ["message_start", "ping"]
        assert [n for n, _ in events][-2:] == ["message_delta", "message_stop"]
        blocks, stop = assemble(events)
        assert stop == "tool_use"
        assert blocks[0] == {"type": "text", "text": "I will read the files."}
        uses = blocks[1:]
        assert [(u["name"], u["input"].get("file_path")) for u in uses] == [
            ("Read", f"{repo}/src/app.py"),
            ("Read", f"{repo}/lib/util.go"),
            ("Bash", None),
            ("Write", f"{repo}/PWNED.txt"),
        ]

        results = [
            {
                "type": "tool_result",
                "tool_use_id": u["id"],
                "content": numbered(Path(u["input"]["file_path"])),
            }
            for u in uses
            if u["name"] == "Read"
        ]
        results += [
            {
                "type": "tool_result",
                "tool_use_id": u["id"],
                "is_error": True,
                "content": "<tool_use_error>No such tool available</tool_use_error>",
            }
            for u in uses
            if u["name"] != "Read"
        ]
        history = [
            prompt,
            {"role": "assistant", "content": blocks},
            {"role": "user", "content": results},
        ]
        status, _, data = post(srv.base_url, {"model": "m", "stream": True, "messages": history})
        (so,), stop = assemble(sse(data))
        assert stop == "tool_use" and so["name"] == "StructuredOutput"
        assert {(f["file"], f["line"], f["severity"]) for f in so["input"]["findings"]} == {
            (f"{repo}/src/app.py", 4, "critical"),
            (f"{repo}/src/app.py", 8, "low"),
            (f"{repo}/lib/util.go", 3, "medium"),
        }

        history += [
            {"role": "assistant", "content": [so]},
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": so["id"],
                        "content": "Structured output provided",
                    }
                ],
            },
        ]
        status, _, data = post(srv.base_url, {"model": "m", "stream": False, "messages": history})
        msg = json.loads(data)
        assert msg["stop_reason"] == "end_turn" and msg["content"][0]["type"] == "text"

        log = srv.requests()
        assert [(r.first_turn, r.reply, r.files) for r in log] == [
            (True, "read", files),
            (False, "structured_output", files),
            (False, "end_turn", files),
        ]
        assert srv.chunks_sent() == [tuple(files)]


def test_resumed_prompt_reads_the_files_left(repo: Path) -> None:
    with ScriptedMessagesServer() as srv:
        history = [
            {"role": "user", "content": review_prompt(repo, ["src/app.py", "lib/util.go"])},
            {"role": "user", "content": review_prompt(repo, ["lib/util.go"], left=True)},
        ]
        _, _, data = post(srv.base_url, {"model": "m", "stream": True, "messages": history})
        blocks, _ = assemble(sse(data))
        assert [b["input"]["file_path"] for b in blocks[1:]] == [f"{repo}/lib/util.go"]
        (rec,) = srv.requests()
        assert rec.files == ["src/app.py", "lib/util.go"] and rec.prompt_files == ["lib/util.go"]
        assert rec.first_turn and rec.resumed


def test_a_resumed_session_reports_again_what_it_reported_before(repo: Path) -> None:
    """The engine can be killed after the model's report was accepted but before the engine
    saw it; the resume prompt asks for ALL findings, so the report is made again."""
    read = {"type": "tool_use", "id": "toolu_r1", "name": "Read",
            "input": {"file_path": f"{repo}/lib/util.go"}}  # fmt: skip
    so = {"type": "tool_use", "id": "toolu_s1", "name": "StructuredOutput",
          "input": {"findings": []}}  # fmt: skip
    history = [
        {"role": "user", "content": review_prompt(repo, ["lib/util.go"])},
        {"role": "assistant", "content": [read]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_r1",
                                      "content": numbered(repo / "lib/util.go")}]},
        {"role": "assistant", "content": [so]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_s1",
                                      "content": "Structured output provided successfully"}]},
        {"role": "user", "content": review_prompt(repo, [], left=True)},
    ]  # fmt: skip
    with ScriptedMessagesServer() as srv:
        _, _, data = post(srv.base_url, {"model": "m", "stream": True, "messages": history})
        (again,), stop = assemble(sse(data))
        assert stop == "tool_use" and again["name"] == "StructuredOutput"
        assert [(f["file"], f["line"]) for f in again["input"]["findings"]] == [
            (f"{repo}/lib/util.go", 3)
        ]


def test_error_statuses_and_rate_limit_window(repo: Path) -> None:
    body = {
        "model": "m",
        "stream": True,
        "messages": [{"role": "user", "content": review_prompt(repo, ["src/app.py"])}],
    }
    with ScriptedMessagesServer(always_status=529, always_for=1) as srv:
        status, _, data = post(srv.base_url, body)
        assert status == 529 and json.loads(data)["error"]["type"] == "overloaded_error"
        assert post(srv.base_url, body)[0] == 200

    with ScriptedMessagesServer(rate_limit=(2, 1.5)) as srv:
        assert [post(srv.base_url, body)[0] for _ in range(3)] == [200, 200, 429]
        status, headers, data = post(srv.base_url, body)
        assert status == 429 and int(headers["retry-after"]) >= 1
        assert json.loads(data) == {
            "type": "error",
            "error": {"type": "rate_limit_error", "message": json.loads(data)["error"]["message"]},
        }
        time.sleep(1.6)
        assert post(srv.base_url, body)[0] == 200
        assert [r.status for r in srv.requests()] == [200, 200, 429, 429, 200]


def test_cut_stream_and_other_routes(repo: Path) -> None:
    body = {
        "model": "m",
        "stream": True,
        "messages": [{"role": "user", "content": review_prompt(repo, ["src/app.py"])}],
    }
    with ScriptedMessagesServer(cut_stream_after=2) as srv:
        assert post(srv.base_url, body)[0] == 200
        status, _, data = post(srv.base_url, body)
        assert status == 200 and [n for n, _ in sse(data)] == ["message_start"]
        status, _, data = post(srv.base_url, {**body, "stream": False})  # the CLI's fallback
        assert [n for n, _ in sse(data)] == ["message_start"]
        assert [n for n, _ in sse(post(srv.base_url, body)[2])][-1] == "message_stop"

        status, _, data = post(srv.base_url, body, "/v1/messages/count_tokens?beta=true")
        assert status == 200 and json.loads(data)["input_tokens"] > 0
        status, _, data = post(srv.base_url, body, "/v1/nothing")
        assert status == 404 and json.loads(data)["type"] == "error"
        assert [r.reply for r in srv.requests()] == ["read", "cut", "cut", "read"]
        assert [r.kind for r in srv.requests(kind=None)][-2:] == ["count_tokens", "other"]


def test_stop_and_start_on_the_same_port(repo: Path) -> None:
    body = {
        "model": "m",
        "stream": True,
        "messages": [{"role": "user", "content": review_prompt(repo, ["src/app.py"])}],
    }
    srv = ScriptedMessagesServer(latency=0.2).start()
    try:
        port = srv.port
        assert post(srv.base_url, body)[0] == 200
        srv.stop()
        with pytest.raises(OSError):
            post(srv.base_url, body)
        srv.start()
        assert srv.port == port
        # Many at once: the server answers them in parallel.
        statuses: list[int] = []
        threads = [
            threading.Thread(target=lambda: statuses.append(post(srv.base_url, body)[0]))
            for _ in range(8)
        ]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses == [200] * 8 and time.monotonic() - start < 1.5
    finally:
        srv.stop()


@pytest.mark.parametrize("how", ["module", "script"])
def test_runs_as_a_process(repo: Path, tmp_path: Path, how: str) -> None:
    log = tmp_path / "requests.jsonl"
    args = (
        ["-m", "tests.support.messages_api"]
        if how == "module"
        else [str(ROOT / "tests" / "support" / "messages_api.py")]
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            *args,
            "--port",
            "0",
            "--latency",
            "0.01",
            "--rate-limit",
            "1/60",
            "--log",
            str(log),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        body = {
            "model": "m",
            "stream": True,
            "messages": [{"role": "user", "content": review_prompt(repo, ["src/app.py"])}],
        }
        assert [post(url, body)[0], post(url, body)[0]] == [200, 429]
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["status"], r["files"]) for r in records] == [
        (200, ["src/app.py"]),
        (429, ["src/app.py"]),
    ]


def test_follow_up_question_and_structured_output_reminder(repo: Path) -> None:
    prompt = {"role": "user", "content": review_prompt(repo, ["src/app.py"])}
    read = {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "Read",
        "input": {"file_path": f"{repo}/src/app.py"},
    }
    result = {
        "type": "tool_result",
        "tool_use_id": "toolu_1",
        "content": numbered(repo / "src" / "app.py"),
    }
    history = [
        prompt,
        {"role": "assistant", "content": [read]},
        {"role": "user", "content": [result]},
        {"role": "assistant", "content": [{"type": "text", "text": "Done."}]},
    ]
    with ScriptedMessagesServer() as srv:
        reminder = {
            "role": "user",
            "content": "[structured-output-enforce] You MUST call the "
            "StructuredOutput tool to complete this request. Call this tool now.",
        }
        _, _, data = post(
            srv.base_url, {"model": "m", "stream": True, "messages": [*history, reminder]}
        )
        (so,), _ = assemble(sse(data))
        assert so["name"] == "StructuredOutput" and len(so["input"]["findings"]) == 2

        question = {"role": "user", "content": "Why is line 4 critical?"}
        _, _, data = post(
            srv.base_url, {"model": "m", "stream": True, "messages": [*history, question]}
        )
        (text,), stop = assemble(sse(data))
        assert text["type"] == "text" and stop == "end_turn"
