"""The chunk book on its own: how a chunk's attempts, resumes and running spend count."""

from __future__ import annotations

from pathlib import Path

from tui_orchestrator.engine.checkpoint import Checkpoint, ChunkState, ChunkStatus
from tui_orchestrator.engine.chunk_book import ChunkBook
from tui_orchestrator.engine.events import Event, UsageChanged
from tui_orchestrator.engine.stream_facts import Spending
from tui_orchestrator.engine.views import Waiting


class Writer:
    """Counts what the book asks of the checkpoint writer."""

    def __init__(self) -> None:
        self.changes = 0

    def changed(self) -> None:
        self.changes += 1

    def urgent(self) -> None:
        self.changes += 1


def _book(tmp_path: Path, events: list[Event]) -> tuple[ChunkBook, ChunkState]:
    (tmp_path / "a.py").write_text("x = 1\n")
    state = ChunkState("c", ["a.py"])
    book = ChunkBook(
        Checkpoint(repo=str(tmp_path), chunks=[state]),
        root=tmp_path,
        writer=Writer(),  # type: ignore[arg-type]
        emit=events.append,
        now=lambda: 0.0,
        max_attempts=3,
    )
    return book, state


def _pause(book: ChunkBook, state: ChunkState) -> None:
    book.runtime[state.name].stop_reason = "pause"
    book.ended(state)
    book.stopped(state)
    assert state.status is ChunkStatus.PAUSED


def test_a_pause_and_resume_is_a_resume_not_another_try(tmp_path: Path) -> None:
    book, state = _book(tmp_path, [])
    book.begin(state, "review")
    _pause(book, state)
    assert book.resume(state)
    book.begin(state, "review")
    view = book.view("c")
    assert (view.attempts, view.tries, view.resumes) == (2, 1, 1)
    # A crash after that: the next start is a try of its own, in the same session.
    book.ended(state)
    book.requeue(state, Waiting.RETRY)
    book.begin(state, "review")
    view = book.view("c")
    assert (view.attempts, view.tries, view.resumes) == (3, 2, 1)
    # The user's retry of a failed chunk is a new try too.
    book.ended(state)
    book.failed(state, "crash")
    book.queue_again(state)
    book.begin(state, "review")
    assert (book.view("c").tries, book.view("c").resumes) == (3, 1)


def test_a_start_that_could_not_save_its_session_counts_nothing(tmp_path: Path) -> None:
    book, state = _book(tmp_path, [])
    book.begin(state, "review")
    _pause(book, state)
    book.resume(state)
    book.begin(state, "review")
    book.unstarted(state, resumed=True)
    assert (state.attempts, state.resumes) == (1, 0)
    book.begin(state, "review")
    assert (state.attempts, state.resumes) == (2, 1)


def test_a_running_attempt_shows_its_spend_until_the_result_replaces_it(
    tmp_path: Path,
) -> None:
    events: list[Event] = []
    book, state = _book(tmp_path, events)
    state.cost_usd, state.input_tokens = 0.5, 1000  # an earlier attempt's result
    book.begin(state, "review")
    book.apply(state, Spending(tokens=400, cost_usd=0.02))
    view = book.view("c")
    assert (view.tokens, view.cost_usd, view.cost_estimated) == (1400, 0.52, True)
    assert UsageChanged("c", 0.52, 1400, 0.5) in events
    book.ended(state)
    view = book.view("c")
    assert (view.tokens, view.cost_usd, view.cost_estimated) == (1000, 0.5, False)
