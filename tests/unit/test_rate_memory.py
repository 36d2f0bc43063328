"""The request rate an API allowed, kept between runs (engine/rate_memory.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_orchestrator.engine.rate_memory import KEEP_S, RateMemory, api_identity

NOW = 1_800_000_000.0


def test_the_identity_tells_apis_accounts_and_models_apart_and_keeps_no_secret() -> None:
    key = {"ANTHROPIC_API_KEY": "sk-ant-secret-1"}
    one = api_identity(key, "")
    assert one == api_identity({**key, "PATH": "/x"}, "")
    assert one == api_identity({**key, "ANTHROPIC_BASE_URL": "https://api.anthropic.com/"}, "")
    assert one != api_identity({"ANTHROPIC_API_KEY": "sk-ant-secret-2"}, "")
    assert one != api_identity({**key, "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}, "")
    assert one != api_identity(key, "claude-haiku-4-5")
    assert "secret" not in one and len(one) == 20


def test_a_rate_kept_is_recalled_for_its_api_only_and_forgotten_after_a_week(
    tmp_path: Path,
) -> None:
    memory = RateMemory(tmp_path / "config", "api-a")
    assert memory.recall(NOW).rate is None  # nothing kept yet, and no complaint
    assert memory.remember(0.95, NOW) == ""
    assert RateMemory(tmp_path / "config", "api-b").remember(4.0, NOW) == ""
    assert memory.recall(NOW + 60).rate == pytest.approx(0.95)
    assert RateMemory(tmp_path / "config", "api-b").recall(NOW).rate == pytest.approx(4.0)
    assert memory.recall(NOW + KEEP_S + 1).rate is None
    assert memory.remember(1.2, NOW + 10) == ""  # the newest replaces it
    assert memory.recall(NOW + 20).rate == pytest.approx(1.2)
    text = memory.path.read_text()
    assert text.startswith("# claude-tui") and "Safe to delete" in text


@pytest.mark.parametrize("content", ["not = [toml", 'version = 1\nrates = "x"\n'])
def test_a_file_that_cannot_be_read_is_said_once_and_removed_never_fatal(
    tmp_path: Path, content: str
) -> None:
    memory = RateMemory(tmp_path, "api-a")
    memory.path.write_text(content)
    recalled = memory.recall(NOW)
    assert recalled.rate is None and str(memory.path) in recalled.note
    assert not memory.path.exists()  # said once: the next run finds nothing to complain of
    assert memory.recall(NOW).note == ""
    assert memory.remember(0.5, NOW) == ""
    assert memory.recall(NOW).rate == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("rps", "learned"),
    [("nan", "1.0"), ("1.0", "inf"), ("-1.0", "1.0"), ("1.0", str(NOW + 2 * 86400))],
)
def test_a_rate_that_is_no_number_or_from_the_future_is_no_rate(
    tmp_path: Path, rps: str, learned: str
) -> None:
    memory = RateMemory(tmp_path, "api-a")
    memory.path.write_text(f"version = 1\n[rates.api-a]\nrps = {rps}\nlearned = {learned}\n")
    assert memory.recall(NOW).rate is None
    assert memory.remember(2.0, NOW) == ""
    assert memory.recall(NOW).rate == pytest.approx(2.0)


def test_nothing_that_is_no_rate_is_kept(tmp_path: Path) -> None:
    memory = RateMemory(tmp_path, "api-a")
    for bad in (0.0, -1.0, float("inf"), float("nan")):
        assert memory.remember(bad, NOW) == ""
    assert not memory.path.exists()


def test_a_folder_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    said = RateMemory(blocked / "config", "api-a").remember(1.0, NOW)
    assert said.startswith("could not keep what this run learned of the API in ")
    assert "\n" not in said


def test_the_workers_a_run_started_without_a_refusal_are_kept_until_a_rate_replaces_them(
    tmp_path: Path,
) -> None:
    memory = RateMemory(tmp_path, "api-a")
    assert memory.remember_free(0, NOW) == "" and not memory.path.exists()
    assert memory.remember_free(8, NOW) == ""
    recalled = memory.recall(NOW + 60)
    assert recalled.free_workers == 8 and recalled.rate is None
    assert "free_workers = 8" in memory.path.read_text()
    assert memory.recall(NOW + KEEP_S + 1).free_workers == 0  # a week on: the API may differ
    assert memory.remember(0.9, NOW + 10) == ""  # a later run met a limit: the rate it is
    recalled = memory.recall(NOW + 20)
    assert recalled.rate == pytest.approx(0.9) and recalled.free_workers == 0


@pytest.mark.parametrize("workers", ["0", "-2", "1.5", "true", '"8"', "nan"])
def test_a_count_of_workers_that_is_no_count_is_nothing_known(tmp_path: Path, workers: str) -> None:
    memory = RateMemory(tmp_path, "api-a")
    memory.path.write_text(
        f"version = 1\n[rates.api-a]\nfree_workers = {workers}\nlearned = {NOW}\n"
    )
    recalled = memory.recall(NOW)
    assert recalled.free_workers == 0 and recalled.rate is None and recalled.note == ""
