"""The chunk book on its own: how a chunk's attempts, resumes and running spend count."""

from __future__ import annotations

from pathlib import Path

from tui_orchestrator.engine.checkpoint import Checkpoint, ChunkState, ChunkStatus
from tui_orchestrator.engine.chunk_book import ChunkBook
from tui_orchestrator.engine.events import Event, UsageChanged
from tui_orchestrator.engine.runner import Outcome, OutcomeKind
from tui_orchestrator.engine.stream import Result
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
    book.account(
        state,
        Outcome(
            OutcomeKind.OK,
            Result("success", False, "", "s", None, total_cost_usd=0.03, input_tokens=450),
        ),
    )
    view = book.view("c")
    # The result's figures replace the running estimate.
    assert (view.tokens, view.cost_usd, view.cost_estimated) == (1450, 0.53, False)


def test_an_attempt_stopped_before_its_result_still_counts_what_it_spent(
    tmp_path: Path,
) -> None:
    book, state = _book(tmp_path, [])
    book.begin(state, "review")
    book.apply(state, Spending(tokens=400, cost_usd=0.02))
    _pause(book, state)
    book.account(state, None)  # a pause: no result line comes
    view = book.view("c")
    assert (view.tokens, view.cost_usd, view.cost_estimated) == (400, 0.02, False)
    assert state.cost_usd == 0.02  # in the checkpoint: the budget sees it
    # A question asked beside a running attempt leaves that attempt's figure alone.
    book.resume(state)
    book.begin(state, "review")
    book.apply(state, Spending(tokens=100, cost_usd=0.01))
    book.account(state, Outcome(OutcomeKind.CRASH), attempt=False)
    assert book.view("c").tokens == 500 and book.view("c").cost_estimated


def test_an_accepted_finding_gets_its_fingerprint_once(tmp_path: Path) -> None:
    from tui_orchestrator.engine.findings import Finding, Severity
    from tui_orchestrator.engine.fingerprint import fingerprint

    book, state = _book(tmp_path, [])
    book.begin(state, "review")
    found = Finding("a.py", 1, Severity.LOW, "t", "d")
    book.done(state, [found])
    (kept,) = state.issues
    assert kept.chunk == "c" and kept.fingerprint == fingerprint(tmp_path, "a.py", 1, "t")
    # A finding that comes with one (a merge, an earlier run) keeps it.
    book.begin(state, "review")
    book.done(state, [Finding("a.py", 1, Severity.LOW, "t", "d", fingerprint="f" * 32)])
    assert state.issues[0].fingerprint == "f" * 32


def test_a_verification_that_failed_is_not_queued_again_this_run(tmp_path: Path) -> None:
    """Each finished chunk queues what waits for a verdict; a verification that failed or
    was cancelled is not part of it (it would loop for the rest of the run: `v` asks)."""
    from dataclasses import replace

    from tui_orchestrator.engine.findings import Finding, Severity

    book, state = _book(tmp_path, [])
    found = Finding("a.py", 1, Severity.HIGH, "t", "d", "c", fingerprint="f" * 32)
    state.issues = [found]
    state.status = ChunkStatus.DONE
    assert book.queue_verification("high") == 1
    verification = book.take_verification(1)
    book.failed(verification, "parse error")
    assert book.queue_verification("high") == 0  # failed: not again in this run
    assert not book.waiting_units
    # One that answered and whose verdict was dropped (the user's `v`, an R to verify) is.
    state.issues = [replace(found, fingerprint="e" * 32)]
    assert book.queue_verification("high") == 1
    done = book.take_verification(1)
    book.verified(done, {})
    book.checkpoint.verdicts.clear()
    assert book.queue_verification("high") == 1


def test_the_requests_a_chunk_makes_count_over_its_session_not_its_last_try(
    tmp_path: Path,
) -> None:
    """The pool paces starts by the requests a chunk makes: a try a refusal cut short after
    one request, and its resume that made the other, are one chunk of two requests (counted
    alone, the resume made the chunks look cheaper and the pacing too fast)."""
    book, state = _book(tmp_path, [])
    runtime = book.runtime["c"]
    book.begin(state, "review")
    runtime.requests += 1  # the manager counts each answered request
    book.ended(state)
    book.requeue(state, Waiting.BACKOFF, delay_s=1.0)  # refused: the session is kept
    book.begin(state, "review")
    runtime.requests += 1
    assert runtime.requests == 2
    # A new session makes its requests anew.
    book.ended(state)
    book.requeue(state, Waiting.RETRY, fresh=True)
    book.begin(state, "review")
    assert runtime.requests == 0
