"""Text and numbers from a worker are untrusted input: markup, escapes, control characters,
paths outside the repository and numbers that are no numbers are shown and written as
harmless text, or refused, never obeyed and never a traceback."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from tests.support.hostile import (
    BAD_NUMBERS,
    CORPUS,
    ESCAPES,
    FILE_NAMES,
    MARKUP,
    MIXED_TITLE,
    RTL,
    outside_paths,
    unsafe,
)
from tui_orchestrator.console.run import Display, summary_lines
from tui_orchestrator.engine.checkpoint import (
    Checkpoint,
    ChunkState,
    ChunkStatus,
    checkpoint_from_toml,
    checkpoint_to_toml,
)
from tui_orchestrator.engine.errors import CheckpointError
from tui_orchestrator.engine.events import ActivityChanged, ChunkFinished, ChunkStarted, Notice
from tui_orchestrator.engine.findings import Finding, Severity, parse_result_findings
from tui_orchestrator.engine.reports import render
from tui_orchestrator.engine.stream import Result, parse_line
from tui_orchestrator.engine.views import RunSummary

from ._helpers import CliResult

ROOT = Path("/home/dev/repo")


def _no_nan(name: str) -> object:
    raise AssertionError(f"{name} in a JSON report")


def _finding(title: str, file: str = "src/a.py", description: str = "") -> dict[str, object]:
    return {"file": file, "line": 3, "severity": "high", "title": title, "description": description}


# --- 8: a finding's text is made harmless when it comes in ---------------------------------


def test_a_findings_text_keeps_no_control_character_when_it_comes_in() -> None:
    raw = [_finding(text, description=f"first line\n{text}\r\nlast\tline") for text in CORPUS]
    raw.append(_finding(MIXED_TITLE))
    found = parse_result_findings({"findings": raw}, "", ROOT, "c")
    # A lone surrogate only comes in through JSON's escapes.
    lone = '{"findings": [{"file": "a.py", "line": 1, "title": "\\ud800 lone"}]}'
    from_text = parse_result_findings(None, lone, ROOT, "c")
    assert found is not None and from_text is not None and len(found) == len(raw)
    for finding in [*found, *from_text]:
        assert unsafe(finding.title) == [], finding.title[:40]
        assert unsafe(finding.description, allow="\n\t") == [], finding.description[:40]
    titles = [f.title for f in found]
    # Markup stays as it was written: it is text, shown literally later.
    for text in MARKUP:
        assert text.strip() in titles
    assert "\u241b[2J" in titles  # ESC as its control picture: visible, inert
    assert found[0].description.splitlines()[0] == "first line"


@pytest.mark.parametrize("line", [math.inf, math.nan, -math.inf, True, -3, 10**30, "x"])
def test_a_findings_line_that_is_no_line_number_is_line_0(line: object) -> None:
    raw = {"findings": [{**_finding("t"), "line": line}]}
    text = json.dumps(raw)  # NaN and Infinity as JSON's extensions, as a model may write
    found = parse_result_findings(None, text, ROOT, "c")
    assert found is not None and [f.line for f in found] == [0]


# --- 9: findings outside the repository are dropped ---------------------------------------


def test_findings_outside_the_repository_are_never_reported_and_inside_ones_are() -> None:
    root = str(ROOT)
    outside = outside_paths(root)
    inside = {
        f"{root}/src/a.py": "src/a.py",
        "./src/b.py": "src/b.py",
        "src\\c.py": "src/c.py",
        "src/./x/../d.py": "src/d.py",
        "x[/y].py": "x[/y].py",
    }
    raw = [_finding(f"t{i}", file=path) for i, path in enumerate([*outside, *inside])]
    found = parse_result_findings({"findings": raw}, "", ROOT, "c")
    assert found is not None
    cp = Checkpoint(
        repo=root, chunks=[ChunkState("c", ["src/a.py"], ChunkStatus.DONE, issues=found)]
    )
    for fmt in ("json", "sarif", "markdown"):
        text = render(cp, fmt)
        for path in outside:
            if path not in (".", "/"):
                assert path not in text, (fmt, path)
    reported = {i["file"] for i in json.loads(render(cp, "json"))["issues"]}
    assert reported == set(inside.values())


# --- 10: costs and counts that are no numbers ---------------------------------------------


def _result_line(**fields: object) -> str:
    line = {"type": "result", "subtype": "success", "is_error": False, "result": "",
            "session_id": "s", "total_cost_usd": 0.25,
            "usage": {"input_tokens": 100, "output_tokens": 20}}  # fmt: skip
    usage = {k: fields.pop(k) for k in list(fields) if k.endswith("_tokens")}
    line.update(fields)
    line["usage"].update(usage)  # type: ignore[attr-defined]
    return json.dumps(line)  # NaN, Infinity as the CLI's JSON could hold them


def _result(line: str) -> Result:
    (event,) = parse_line(line)
    assert isinstance(event, Result)
    return event


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
def test_a_cost_that_is_no_cost_counts_0_and_is_noted(value: object) -> None:
    result = _result(_result_line(total_cost_usd=value))
    assert result.total_cost_usd == 0.0
    assert result.input_tokens == 100 and result.output_tokens == 20
    assert any("total_cost_usd" in note for note in getattr(result, "bad_numbers", ()))


@pytest.mark.parametrize("key", ["input_tokens", "cache_read_input_tokens", "output_tokens"])
@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
def test_a_token_count_that_is_no_count_counts_0(key: str, value: object) -> None:
    result = _result(_result_line(**{key: value}))
    expected = {"input_tokens": (0, 20), "cache_read_input_tokens": (100, 20)}
    assert (result.input_tokens, result.output_tokens) == expected.get(key, (100, 0))
    assert result.total_cost_usd == 0.25
    assert getattr(result, "bad_numbers", ())


@pytest.mark.parametrize("value", [math.nan, math.inf, -5, True])
def test_a_retry_after_that_is_no_duration_is_none(value: object) -> None:
    line = {"type": "system", "subtype": "api_retry", "retry_delay_ms": value, "error_status": 529}
    (notice,) = parse_line(json.dumps(line))
    assert notice.retry_after_s is None  # type: ignore[union-attr]


def test_the_json_report_refuses_to_write_nan() -> None:
    cp = Checkpoint(repo=str(ROOT), chunks=[ChunkState("c", ["a.py"], cost_usd=math.nan)])
    with pytest.raises(ValueError):
        render(cp, "json")


# --- 11: numbers of a checkpoint ----------------------------------------------------------

_WHOLE = ["attempts", "priority", "input_tokens", "output_tokens", "line"]
_AMOUNTS = ["cost_usd", "elapsed_s", "wall_s", "max_budget_usd"]


def _checkpoint_text(field: str, value: str) -> str:
    chunk = ChunkState(
        "a", ["a.py"], ChunkStatus.DONE,
        issues=[Finding("a.py", 2, Severity.LOW, "t", "d", "a")],
    )  # fmt: skip
    text = checkpoint_to_toml(Checkpoint(repo=str(ROOT), chunks=[chunk]))
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(f"{field} = "))
    lines[index] = f"{field} = {value}"
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "1e300", "2.0", "true", "-1"])
@pytest.mark.parametrize("field", _WHOLE)
def test_a_checkpoint_count_that_is_no_whole_number_is_refused(field: str, value: str) -> None:
    if field == "priority" and value == "-1":
        pytest.skip("a negative priority runs a chunk after the others")
    with pytest.raises(CheckpointError, match=field):
        checkpoint_from_toml(_checkpoint_text(field, value))


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-0.5", "true", '"1.5"'])
@pytest.mark.parametrize("field", _AMOUNTS)
def test_a_checkpoint_amount_that_is_no_finite_number_is_refused(field: str, value: str) -> None:
    with pytest.raises(CheckpointError, match=field):
        checkpoint_from_toml(_checkpoint_text(field, value))


def _assert_one_line(result: CliResult) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert len(result.stderr_lines) == 1, result.stderr
    assert result.stderr_lines[0].startswith("claude-tui")


def test_report_of_a_checkpoint_with_an_infinite_count_is_one_line_and_exit_2(
    cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    path = tmp_path / "checkpoint.toml"
    path.write_text(_checkpoint_text("attempts", "inf"), encoding="utf-8")
    before = path.read_bytes()
    result = cli("report", path, "--out", tmp_path / "r.md")
    _assert_one_line(result)
    assert "attempts" in result.stderr
    assert path.read_bytes() == before and not (tmp_path / "r.md").exists()


def test_run_on_a_checkpoint_with_a_nan_cost_is_one_line_and_exit_2(
    cli: Callable[..., CliResult], small_repo: Path
) -> None:
    path = small_repo / ".claude-tui" / "checkpoint.toml"
    path.parent.mkdir()
    text = _checkpoint_text("cost_usd", "nan").replace(str(ROOT), str(small_repo))
    path.write_text(text, encoding="utf-8")
    before = path.read_bytes()
    result = cli("run", small_repo, "--demo")
    _assert_one_line(result)
    assert "cost_usd" in result.stderr
    assert path.read_bytes() == before


# --- 7: the headless display --------------------------------------------------------------


def test_the_progress_display_shows_markup_and_escapes_as_text() -> None:
    out = io.StringIO()
    display = Display(Console(file=out, force_terminal=True, width=200), demo=False)
    with display:
        assert display.progress is not None
        display.handle(ChunkStarted("chunk-[/]", 1, "\x1b[2Jsession", False))
        for text in [*CORPUS, MIXED_TITLE, *FILE_NAMES]:
            display.handle(ActivityChanged("chunk-[/]", f"Searching {text}"))
            # The refresh thread draws the same way; here a MarkupError would show.
            display.progress.refresh()
            display.handle(Notice("warning", f"rate limited ({text})"))
        display.handle(ChunkFinished("chunk-[/]", ChunkStatus.FAILED, MIXED_TITLE, ()))
    shown = out.getvalue()
    assert "Searching [/x]" in shown and "chunk-[/]" in shown
    assert "[bold]x" in shown and "[link=file:///etc]click[/link]" in shown
    for escape in ESCAPES:
        if escape[0] in "\x1b\x9b":
            assert escape not in shown
    for char in ("\x00", "\x9b", "\x7f", "\x07", RTL[0]):
        assert char not in shown


def test_the_summary_shows_a_chunks_error_as_text() -> None:
    failed = ChunkState("a", ["a.py"], ChunkStatus.FAILED, error=f"crash: {MIXED_TITLE}")
    cp = Checkpoint(repo=str(ROOT), chunks=[failed])
    summary = RunSummary("done", 0, 1, 1, 0.0, 0.0, 1.0)
    lines = summary_lines(cp, summary, "report\x1b[2J.json", demo=False)
    assert all(unsafe(line) == [] for line in lines), lines
    assert any("Bad [/] title" in line for line in lines)


# --- the corpus through every report ------------------------------------------------------


def _hostile_checkpoint() -> Checkpoint:
    """Findings as a hand-edited or older checkpoint may hold them: never made harmless."""
    titles = [*CORPUS, MIXED_TITLE, "\ud800 surrogate"]
    issues = [
        Finding(FILE_NAMES[i % len(FILE_NAMES)], i + 1, list(Severity)[i % 5], title,
                f"why:\n{title}\r\n{MIXED_TITLE}", "chunk-[/]")
        for i, title in enumerate(titles)
    ]  # fmt: skip
    issues.append(Finding("/etc/passwd", 1, Severity.CRITICAL, "outside", "", "chunk-[/]"))
    chunk = ChunkState("chunk-[/]", FILE_NAMES, ChunkStatus.DONE, issues=issues)
    failed = ChunkState("b\x1b[2J", ["z.py"], ChunkStatus.FAILED, error=MIXED_TITLE)
    return Checkpoint(repo="/home/dev/repo\x1b]0;x\x07", chunks=[chunk, failed])


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_json_reports_hold_the_corpus_exactly_in_valid_json_a_terminal_can_show(
    fmt: str,
) -> None:
    cp = _hostile_checkpoint()
    text = render(cp, fmt)
    data = json.loads(text, parse_constant=_no_nan)
    # Escaped, not dropped: the JSON says what the model said, and cat shows no escape.
    assert unsafe(text, allow="\n") == []
    assert "/etc/passwd" not in text
    if fmt == "json":
        titles = [i["title"] for i in data["issues"]]
        assert titles == [f.title for f in cp.chunks[0].issues[:-1]]
        assert [i["file"] for i in data["issues"]][: len(FILE_NAMES)] == FILE_NAMES
    else:
        results = data["runs"][0]["results"]
        assert len(results) == len(cp.chunks[0].issues) - 1
        assert all(unsafe(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) == []
                   for r in results)  # fmt: skip


def test_the_markdown_report_shows_the_corpus_as_text() -> None:
    text = render(_hostile_checkpoint(), "markdown")
    assert unsafe(text, allow="\n") == []
    assert "/etc/passwd" not in text
    for markup in MARKUP:
        assert markup.replace("|", "\\|") in text
    assert "x[/y].py" in text and "\u241b[2J" in text
