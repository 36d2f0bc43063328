"""The demo finds something plausible on real code, not only on the sample's BUG markers:
a first look at one's own repository must not show an empty issues table. The source
trees of installed packages are the real code here (CI has no internet)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import rich

from tui_orchestrator.engine.demo import LABEL, DemoRunner, scan
from tui_orchestrator.engine.findings import Severity
from tui_orchestrator.engine.runner import Job
from tui_orchestrator.engine.stream import MessageUsage


def _chunks_with_a_finding(files: list[Path]) -> tuple[int, int]:
    chunks = [files[i : i + 10] for i in range(0, len(files), 10)]
    found = sum(
        any(scan(p.read_text(encoding="utf-8", errors="replace"), "f", "c") for p in chunk)
        for chunk in chunks
    )
    return found, len(chunks)


def test_most_chunks_of_a_real_python_package_get_a_finding() -> None:
    files = sorted(Path(rich.__file__).parent.rglob("*.py"))
    found, chunks = _chunks_with_a_finding(files)
    assert chunks >= 5 and found >= 0.7 * chunks, (found, chunks)


def test_most_chunks_of_real_javascript_get_a_finding() -> None:
    root = Path("/usr/lib/node_modules/npm/lib")
    if not root.is_dir():
        pytest.skip("npm's own sources are not installed here")
    found, chunks = _chunks_with_a_finding(sorted(root.rglob("*.js")))
    assert found >= 0.7 * chunks, (found, chunks)


def test_each_kind_of_finding_and_its_label() -> None:
    code = "\n".join(
        [
            "import subprocess",
            "API_KEY = 'sk-live-0123456789abcdef'",
            "# TODO: check the input here",
            "def handler(event):",
            *["    x = 1"] * 70,
            "    try:",
            "        run()",
            "    except Exception:",
            "        pass",
            "value = compute()  # type: ignore",
            "# BUG(high): the marker the sample uses",
        ]
    )
    found = {f.title: f for f in scan(code, "app.py", "c")}
    assert found["a secret written into the code"].severity is Severity.HIGH
    assert found["a secret written into the code"].line == 2
    assert found["TODO left in the code: check the input here"].severity is Severity.INFO
    assert found["handler is 75 lines long: hard to review and to test"].line == 4
    assert "broad except may hide failures" in found
    assert "a checker is silenced here (type: ignore)" in found
    simulated = [f for t, f in found.items() if t != "the marker the sample uses"]
    assert all(f.description.endswith(LABEL) for f in simulated)


def test_the_demo_spends_tokens_as_it_reads_and_its_result_says_the_same(tmp_path) -> None:
    """A demo run shows a panel's tokens growing while it reads, as a real one does."""
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text("x = 1\n" * 200)
    job = Job("c", ["a.py", "b.py"], tmp_path, "review", "sid", attempt=2)
    events: list[object] = []
    outcome = asyncio.run(DemoRunner(speed=1000).run(job, events.append))
    usage = [e for e in events if isinstance(e, MessageUsage)]
    assert len(usage) == 2 and len({u.message_id for u in usage}) == 2
    result = outcome.result
    assert result is not None
    spent = sum(u.input_tokens for u in usage), sum(u.output_tokens for u in usage)
    assert spent == (result.input_tokens, result.output_tokens)


def test_simulated_findings_have_a_category_and_quote_no_secret() -> None:
    text = 'API_KEY = "sk-live-abcdefghijklmnop"\ntry:\n    x()\nexcept:\n    pass\n'
    found = {f.title: f for f in scan(text, "app.py", "c")}
    secret = found["a secret written into the code"]
    assert secret.category == "secrets" and "abcdefghijklmnop" not in secret.evidence
    assert "abcdefghijklmnop" not in secret.description and "[REDACTED]" in secret.evidence
    assert found["bare except hides failures"].category == "error-handling"


def test_the_sample_repositorys_seeded_problems_get_a_category_and_their_line_as_evidence() -> None:
    from pathlib import Path

    import tui_orchestrator
    from tui_orchestrator.engine.demo import scan

    root = Path(tui_orchestrator.__file__).parent / "sample_repo"
    seeded = [
        f
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.suffix in (".py", ".go", ".ts", ".tsx", ".sh")
        for f in scan(path.read_text(), str(path.relative_to(root)), "c")
        if "BUG(" in f.description
    ]
    assert len(seeded) >= 15
    assert all(f.category and f.evidence for f in seeded)
    by_title = {f.title: f.category for f in seeded}
    assert by_title["SQL built from request input"] == "injection"
    assert by_title["map written from several goroutines without a lock"] == "race-condition"
