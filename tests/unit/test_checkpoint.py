"""The checkpoint: its TOML round-trips through tomllib, bad files are refused and kept,
writes are atomic (even under SIGKILL) and bursts of progress coalesce into one write."""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_orchestrator.engine.checkpoint import (
    Checkpoint,
    CheckpointStore,
    CheckpointWriter,
    ChunkState,
    ChunkStatus,
    checkpoint_from_toml,
    checkpoint_to_toml,
)
from tui_orchestrator.engine.errors import CheckpointError
from tui_orchestrator.engine.findings import Finding, Severity
from tui_orchestrator.engine.statedir import GITIGNORE, default_checkpoint_path, ensure_state_dir
from tui_orchestrator.engine.tomlout import toml_array, toml_float, toml_str

from ._helpers import PROJECT_ROOT, git

AWKWARD = [
    "",
    'say "hi"',
    "C:\\Users\\dev\\repo",
    "trailing backslash \\",
    "line one\nline two\r\nline three",
    "tab\there",
    "".join(chr(c) for c in range(0x20)) + "\x7f",
    "bell \a escape \x1b[31m red",
    "C1 controls \x80\x85\x9f, separators \u2028\u2029",
    "naïve café, 日本語, Ελληνικά, עברית",
    "emoji 🐍🚀👩‍💻 and flags 🇫🇷",
    "'''triple single''' and \"\"\"triple double\"\"\"",
    '[[chunks]]\nname = "injected"',
    "# not a comment",
    "zero width \u200b joiner \u200d bom \ufeff",
]


def sample_checkpoint(chunks: int = 3, findings: int = 2) -> Checkpoint:
    states = []
    for i in range(chunks):
        name = f"src-mod{i}"
        files = [f"src/mod{i}/file{j}.py" for j in range(10)]
        states.append(
            ChunkState(
                name=name,
                files=files,
                status=list(ChunkStatus)[i % len(ChunkStatus)],
                session_id=f"0000-{i:04d}",
                attempts=i % 3,
                cost_usd=0.0123 * i,
                error="rate limited" if i % 7 == 3 else "",
                priority=i % 2,
                input_tokens=1000 * i,
                output_tokens=10 * i,
                elapsed_s=1.5 * i,
                files_read=files[: i % 10],
                todo=files[:1] if i % 5 == 0 else [],
                hashes={f: f"{i:024x}" for f in files[:2]},
                issues=[
                    Finding(
                        files[k % 10],
                        k + 1,
                        list(Severity)[k % 5],
                        f"Issue {k}",
                        f"Something is off in {files[k % 10]}\n  detail {k}",
                        name,
                    )
                    for k in range(findings)
                ],
            )
        )
    return Checkpoint(
        repo="/home/dev/repo", chunks=states, created="2025-01-01T00:00:00Z",
        updated="2025-01-01T00:00:01Z", wall_s=12.5, backend="claude", fingerprint="abc",
        max_budget_usd=5.0,
    )  # fmt: skip


# --- the emitter --------------------------------------------------------------------------


@pytest.mark.parametrize("text", AWKWARD)
def test_awkward_strings_round_trip_exactly(text: str) -> None:
    assert tomllib.loads(f"v = {toml_str(text)}")["v"] == text
    assert tomllib.loads(f"v = {toml_array([text, text])}")["v"] == [text, text]
    assert tomllib.loads(f"{toml_str(text)} = 1") == {text: 1}


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_round_trips_through_toml_str(text: str) -> None:
    assert tomllib.loads(f"v = {toml_str(text)}")["v"] == text


def test_a_lone_surrogate_is_written_as_a_replacement_character() -> None:
    # Undecodable file names reach us as surrogates; TOML cannot hold them.
    written = toml_str("bad-\udcff-name")
    assert tomllib.loads(f"v = {written}")["v"] == "bad-\ufffd-name"


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False))
def test_floats_round_trip_exactly(value: float) -> None:
    assert tomllib.loads(f"v = {toml_float(value)}")["v"] == value


def test_nan_is_written_as_toml_nan() -> None:
    assert tomllib.loads(f"v = {toml_float(float('nan'))}")["v"] != 0


_text = st.text(max_size=30)
_finding = st.builds(
    Finding,
    file=_text,
    line=st.integers(0, 10**9),
    severity=st.sampled_from(list(Severity)),
    title=_text,
    description=st.text(max_size=200),
)


@st.composite
def _chunk(draw: st.DrawFn) -> ChunkState:
    name = draw(_text)
    issues = [
        Finding(f.file, f.line, f.severity, f.title, f.description, name)
        for f in draw(st.lists(_finding, max_size=4))
    ]
    return ChunkState(
        name=name,
        files=draw(st.lists(_text, max_size=5)),
        status=draw(st.sampled_from(list(ChunkStatus))),
        session_id=draw(_text),
        attempts=draw(st.integers(0, 100)),
        resumes=draw(st.integers(0, 100)),
        cost_usd=draw(st.floats(0, 1e6)),
        error=draw(_text),
        priority=draw(st.integers(-(2**31), 2**31)),
        input_tokens=draw(st.integers(0, 2**40)),
        output_tokens=draw(st.integers(0, 2**40)),
        elapsed_s=draw(st.floats(0, 1e7)),
        files_read=draw(st.lists(_text, max_size=3)),
        todo=draw(st.lists(_text, max_size=3)),
        hashes=draw(st.dictionaries(_text, _text, max_size=3)),
        issues=issues,
        host=draw(_text),
    )


@settings(max_examples=150, deadline=None)
@given(
    chunks=st.lists(_chunk(), max_size=6),
    repo=_text,
    backend=st.sampled_from(["claude", "demo"]),
    wall=st.floats(0, 1e9),
)
def test_checkpoint_round_trips_with_any_strings(
    chunks: list[ChunkState], repo: str, backend: str, wall: float
) -> None:
    cp = Checkpoint(repo=repo, chunks=chunks, wall_s=wall, backend=backend, fingerprint=repo)
    text = checkpoint_to_toml(cp)
    tomllib.loads(text)
    assert checkpoint_from_toml(text) == cp


def test_every_spec_key_is_always_present() -> None:
    cp = sample_checkpoint(chunks=2)
    cp.chunks[0].issues = []
    data = tomllib.loads(checkpoint_to_toml(cp))
    assert {"version", "repo", "created", "updated", "wall_s"} <= set(data)
    for chunk in data["chunks"]:
        assert {"name", "status", "files", "session_id", "attempts", "cost_usd", "error"} <= set(
            chunk
        )
    issue = data["chunks"][1]["issues"][0]
    assert set(issue) >= {"file", "line", "severity", "title", "description"}
    assert isinstance(data["chunks"][0]["error"], str)


def test_a_thousand_chunk_checkpoint_round_trips() -> None:
    cp = sample_checkpoint(chunks=1000, findings=3)
    cp.chunks[500].error = AWKWARD[4]
    cp.chunks[501].issues[0] = Finding(
        "a\\b.py", 1, Severity.CRITICAL, AWKWARD[10], AWKWARD[6], "src-mod501"
    )
    cp.chunks[501].name = cp.chunks[501].issues[0].chunk
    text = checkpoint_to_toml(cp)
    assert len(tomllib.loads(text)["chunks"]) == 1000
    assert checkpoint_from_toml(text) == cp


# --- the state folder ---------------------------------------------------------------------


def test_state_folder_gitignore_keeps_only_the_plan_committable(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    store = CheckpointStore(default_checkpoint_path(repo))
    store.save(sample_checkpoint())
    state = repo / ".claude-tui"
    assert (state / ".gitignore").read_text() == GITIGNORE == "*\n!.gitignore\n!plan.toml\n!suppressions.toml\n"
    for name in ("plan.toml", "report.json", "logs/chunk.log", "lock"):
        (state / name).parent.mkdir(exist_ok=True)
        (state / name).write_text("x")
    untracked = git(repo, "ls-files", "--others", "--exclude-standard").split()
    assert sorted(untracked) == [".claude-tui/.gitignore", ".claude-tui/plan.toml"]


def test_an_existing_state_gitignore_is_never_overwritten(tmp_path: Path) -> None:
    state = tmp_path / ".claude-tui"
    state.mkdir()
    (state / ".gitignore").write_text("# mine\n*\n")
    ensure_state_dir(state)
    assert (state / ".gitignore").read_text() == "# mine\n*\n"


def test_a_checkpoint_outside_a_state_folder_gets_no_gitignore(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "runs" / "cp.toml")
    store.save(sample_checkpoint())
    assert not (tmp_path / "runs" / ".gitignore").exists()


# --- loading and refusing -----------------------------------------------------------------


def test_store_saves_and_loads_and_stamps_the_update_time(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / ".claude-tui" / "checkpoint.toml")
    assert store.load() is None and not store.exists()
    cp = sample_checkpoint()
    store.save(cp)
    loaded = store.load()
    assert loaded == cp
    assert loaded.updated != "2025-01-01T00:00:01Z"
    assert store.writes == 1


CORRUPT = {
    "torn": lambda good: good[: len(good) // 2],
    "not toml": lambda good: "this is not = = toml\n",
    "empty": lambda good: "",
    "future version": lambda good: good.replace("version = 1", "version = 99", 1),
    "unknown status": lambda good: good.replace('status = "pending"', 'status = "sleeping"', 1),
    "chunk without files": lambda good: re.sub(r"files = \[[^\]]*\]\n", "", good, count=1),
    "bad line number": lambda good: good.replace("line = 1\n", 'line = "one"\n', 1),
    "chunks not tables": lambda good: 'version = 1\nrepo = "x"\nchunks = 3\n',
    "no repo": lambda good: good.replace('repo = "/home/dev/repo"\n', "", 1),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_a_corrupt_checkpoint_is_refused_and_left_byte_identical(tmp_path: Path, case: str) -> None:
    path = tmp_path / ".claude-tui" / "checkpoint.toml"
    path.parent.mkdir()
    data = CORRUPT[case](checkpoint_to_toml(sample_checkpoint())).encode()
    path.write_bytes(data)
    with pytest.raises(CheckpointError) as info:
        CheckpointStore(path).load()
    message = str(info.value)
    assert str(path) in message and "left in place" in message
    assert "\n" not in message
    assert path.read_bytes() == data
    assert sorted(p.name for p in path.parent.iterdir()) == ["checkpoint.toml"]


def test_a_checkpoint_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.toml"
    path.write_bytes(b'version = 1\nrepo = "\xff"\n')
    with pytest.raises(CheckpointError, match="cannot read"):
        CheckpointStore(path).load()
    assert path.read_bytes() == b'version = 1\nrepo = "\xff"\n'


def test_move_aside_renames_to_a_dated_backup(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.toml"
    store = CheckpointStore(path)
    assert store.move_aside() is None
    path.write_bytes(b"corrupt [[")
    before = datetime.now(UTC).strftime("%Y%m%d")
    backup = store.move_aside()
    assert backup is not None and not path.exists()
    assert backup.parent == tmp_path
    assert re.fullmatch(r"checkpoint\.\d{8}T\d{6}Z\.bak\.toml", backup.name), backup.name
    assert backup.name[len("checkpoint.") :].startswith(before)
    assert backup.read_bytes() == b"corrupt [["
    # A second one within the same second does not overwrite the first.
    path.write_bytes(b"second")
    again = store.move_aside()
    assert again is not None and again != backup
    assert backup.read_bytes() == b"corrupt [[" and again.read_bytes() == b"second"


# --- the coalescing writer ----------------------------------------------------------------


async def test_a_burst_of_changes_costs_one_write(tmp_path: Path) -> None:
    cp = sample_checkpoint()
    store = CheckpointStore(tmp_path / "cp.toml")
    writer = CheckpointWriter(store, lambda: cp, delay=0.05)
    for i in range(200):
        cp.chunks[0].files_read = cp.chunks[0].files[: i % 10]
        cp.chunks[0].input_tokens = i
        writer.changed()
    assert store.writes == 0
    await asyncio.sleep(0.3)
    assert store.writes == 1
    assert store.load().chunks[0].input_tokens == 199
    writer.changed()
    await asyncio.sleep(0.3)
    assert store.writes == 2


async def test_write_now_writes_at_once(tmp_path: Path) -> None:
    cp = sample_checkpoint()
    store = CheckpointStore(tmp_path / "cp.toml")
    writer = CheckpointWriter(store, lambda: cp, delay=10.0)
    cp.chunks[0].status = ChunkStatus.DONE
    await writer.write_now()
    assert store.writes == 1
    assert store.load().chunks[0].status is ChunkStatus.DONE


async def test_urgent_writes_without_waiting_for_the_coalescing_delay(tmp_path: Path) -> None:
    cp = sample_checkpoint()
    store = CheckpointStore(tmp_path / "cp.toml")
    writer = CheckpointWriter(store, lambda: cp, delay=10.0)
    writer.changed()  # a progress change: would wait ten seconds
    cp.chunks[0].status = ChunkStatus.CANCELLED
    writer.urgent()  # from a plain method (a user command)
    for _ in range(100):
        if store.writes:
            break
        await asyncio.sleep(0.02)
    assert store.load().chunks[0].status is ChunkStatus.CANCELLED
    await writer.close()


async def test_close_drops_the_pending_write_and_writes_the_final_state(tmp_path: Path) -> None:
    cp = sample_checkpoint()
    store = CheckpointStore(tmp_path / "cp.toml")
    writer = CheckpointWriter(store, lambda: cp, delay=10.0)
    writer.changed()
    cp.chunks[1].session_id = "final"
    await writer.close()
    assert store.writes == 1
    assert store.load().chunks[1].session_id == "final"
    await asyncio.sleep(0.05)
    assert store.writes == 1


# --- crash safety -------------------------------------------------------------------------

_WRITER = """
import sys
from pathlib import Path
from tui_orchestrator.engine.checkpoint import Checkpoint, CheckpointStore, ChunkState
from tui_orchestrator.engine.findings import Finding, Severity

store = CheckpointStore(Path(sys.argv[1]))
texts = []
for n in range(int(sys.argv[2]), int(sys.argv[2]) + 2):
    # The round number is on every chunk and at the top: a torn or mixed file shows.
    chunks = [
        ChunkState(
            name=f"chunk-{i}",
            files=[f"src/m{i}/f{j}.py" for j in range(10)],
            session_id=f"round-{n}",
            issues=[Finding(f"src/m{i}/f0.py", k, Severity.LOW, "t" * 40, "d" * 200)
                    for k in range(n % 4)],
        )
        for i in range(1000 + n % 50)
    ]
    texts.append(store.render(Checkpoint(repo="repo", chunks=chunks, fingerprint=f"round-{n}")))
n = 0
while True:
    store.write_text(texts[n % len(texts)])
    n += 1
    if n == 1:
        print("wrote", flush=True)
"""


def assert_whole_checkpoint(path: Path) -> None:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    rounds = {c["session_id"] for c in data["chunks"]}
    assert rounds == {data["fingerprint"]}, "a mix of two writes"
    assert len(data["chunks"]) >= 1000


def test_sigkill_mid_write_never_leaves_a_torn_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / ".claude-tui" / "checkpoint.toml"
    rng = random.Random(20250101)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    reads = 0
    for kill in range(5):
        proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), str(kill * 10)],
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "wrote"
            proc.stdout.close()
            # Readers meanwhile always see a whole checkpoint, old or new (at least twice a
            # round, however slow a loaded machine makes each read)...
            deadline = time.monotonic() + rng.uniform(0.02, 0.2)
            this_round = 0
            while time.monotonic() < deadline or this_round < 2:
                assert_whole_checkpoint(path)
                this_round += 1
            reads += this_round
        finally:
            # ...and so does everyone after a kill at a random moment.
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        assert_whole_checkpoint(path)
        assert CheckpointStore(path).load() is not None
    assert reads >= 10
    leftovers = [p.name for p in path.parent.iterdir() if p.name not in (".gitignore", path.name)]
    # A kill between creating the temp file and the rename may leave one behind: it is a
    # hidden .tmp file, never something that passes for a checkpoint.
    assert all(n.startswith(".checkpoint.toml.") and n.endswith(".tmp") for n in leftovers)
    assert sorted(p.name for p in path.parent.glob("*.toml")) == ["checkpoint.toml"]


def test_a_string_where_a_file_list_belongs_is_refused_not_split_into_letters(tmp_path) -> None:
    from tui_orchestrator.engine.checkpoint import CheckpointStore, checkpoint_to_toml
    from tui_orchestrator.engine.errors import CheckpointError

    cp = Checkpoint(repo=str(tmp_path), chunks=[ChunkState("a", ["x.py"])])
    text = checkpoint_to_toml(cp).replace('files = ["x.py"]', 'files = "abc"')
    path = tmp_path / "checkpoint.toml"
    path.write_text(text)
    with pytest.raises(CheckpointError, match="'files' must be a list of paths"):
        CheckpointStore(path).load()
    assert path.read_text() == text


def test_temp_files_left_by_a_killed_writer_are_removed_on_the_next_run(tmp_path) -> None:
    from tui_orchestrator.engine.checkpoint import CheckpointStore

    state = tmp_path / ".claude-tui"
    state.mkdir()
    (state / ".checkpoint.toml.abc123.tmp").write_text("half")
    (state / "plan.toml").write_text("keep")
    assert CheckpointStore(state / "checkpoint.toml").remove_stale_temp_files() == 1
    assert sorted(p.name for p in state.iterdir()) == ["plan.toml"]


def test_a_change_reviews_change_round_trips_and_a_bad_one_is_refused() -> None:
    from tui_orchestrator.engine.changes import WHOLE_FILE, Changes

    change = Changes(
        "origin/main",
        "a" * 40,
        {"src/a b.py": ((5, 6), (30, 30)), 'odd "name".py': WHOLE_FILE, "moved.py": ()},
    )
    cp = Checkpoint(repo="/r", chunks=[ChunkState("a", ["src/a b.py"])], change=change)
    text = checkpoint_to_toml(cp)
    assert checkpoint_from_toml(text) == cp
    assert checkpoint_from_toml(checkpoint_to_toml(replace_change(cp, None))).change is None
    for bad in ("lines = [[5, 6], [30, 30]]", "lines = [[1, 0]]"):
        broken = text.replace(bad, 'lines = [["5", 6]]')
        with pytest.raises(CheckpointError, match="malformed"):
            checkpoint_from_toml(broken)
    with pytest.raises(CheckpointError, match="malformed"):
        checkpoint_from_toml(text.replace('since = "origin/main"\n', ""))


def replace_change(cp: Checkpoint, change: object) -> Checkpoint:
    from dataclasses import replace

    return replace(cp, change=change)
