"""Partition: every strategy's chunks respect the bounds, have readable stable names,
and hold every file exactly once; ``balanced`` comes close to the best possible makespan."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.trees import skewed_files
from tui_orchestrator.engine import estimate
from tui_orchestrator.engine.discovery import SourceFile
from tui_orchestrator.engine.errors import PlanError
from tui_orchestrator.engine.partition import STRATEGIES, Limits, make_plan, partition
from tui_orchestrator.engine.plan import NAME_RE, Chunk, Plan, unique_name


def files_in(folder: str, count: int, size: int = 400, ext: str = "py") -> list[SourceFile]:
    return [SourceFile(f"{folder}/f{i:03d}.{ext}", size) for i in range(count)]


def chunk_tokens(chunk: Chunk, files: list[SourceFile]) -> int:
    tokens = {f.path: f.tokens for f in files}
    return sum(tokens[p] for p in chunk.files)


def assert_valid(chunks: list[Chunk], files: list[SourceFile], limits: Limits) -> None:
    placed = [p for c in chunks for p in c.files]
    assert Counter(placed) == Counter(f.path for f in files), "a file is lost or doubled"
    names = [c.name for c in chunks]
    assert len(names) == len(set(names)), f"duplicate names: {names}"
    for chunk in chunks:
        assert NAME_RE.match(chunk.name), chunk.name
        assert 1 <= len(chunk.files) <= limits.max_files, chunk
        if len(chunk.files) > 1:
            assert chunk_tokens(chunk, files) <= limits.max_tokens, chunk


# Random trees: folders up to three deep, a few extensions, sizes from tiny to over the cap.
_segment = st.sampled_from(["src", "lib", "api", "auth", "web", "ui", "core", "x-y", "ü"])
_path = st.tuples(
    st.lists(_segment, min_size=0, max_size=3),
    st.text(alphabet="abcdefgh_", min_size=1, max_size=6),
    st.sampled_from(["py", "ts", "go", "rs"]),
).map(lambda t: "/".join([*t[0], f"{t[1]}.{t[2]}"]))
_tree = st.dictionaries(_path, st.integers(min_value=0, max_value=40_000), min_size=1, max_size=80)
_limits = st.builds(
    Limits,
    max_files=st.integers(min_value=1, max_value=12),
    max_tokens=st.integers(min_value=200, max_value=8_000),
    chunk_workers=st.integers(min_value=1, max_value=16),
)


@pytest.mark.parametrize("strategy", STRATEGIES)
@settings(max_examples=120, deadline=None)
@given(tree=_tree, limits=_limits)
def test_every_strategy_respects_bounds_and_places_each_file_once(
    strategy: str, tree: dict[str, int], limits: Limits
) -> None:
    files = [SourceFile(path, size) for path, size in tree.items()]
    chunks = partition(files, strategy, limits)
    assert_valid(chunks, files, limits)


@pytest.mark.parametrize("strategy", STRATEGIES)
@settings(max_examples=40, deadline=None)
@given(tree=_tree, limits=_limits, seed=st.integers(0, 1000))
def test_every_strategy_is_stable_across_runs_and_input_order(
    strategy: str, tree: dict[str, int], limits: Limits, seed: int
) -> None:
    files = [SourceFile(path, size) for path, size in tree.items()]
    shuffled = files[:]
    random.Random(seed).shuffle(shuffled)
    assert partition(files, strategy, limits) == partition(shuffled, strategy, limits)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_file_over_the_token_cap_gets_a_chunk_of_its_own(strategy: str) -> None:
    files = [*files_in("src/core", 5, size=400), SourceFile("src/core/huge.py", 400_000)]
    limits = Limits(max_files=10, max_tokens=10_000)
    chunks = partition(files, strategy, limits)
    assert_valid(chunks, files, limits)
    holding = [c for c in chunks if "src/core/huge.py" in c.files]
    assert holding[0].files == ("src/core/huge.py",)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_default_limit_of_ten_files_per_chunk(strategy: str) -> None:
    files = files_in("src", 95)
    chunks = partition(files, strategy, Limits())
    assert max(len(c.files) for c in chunks) <= 10
    assert len(chunks) >= 10


def test_balanced_never_fills_a_chunk_past_the_token_cap() -> None:
    # Two chunks would do by the totals, but no two of these files fit one chunk.
    files = files_in("a", 3, size=240)
    limits = Limits(max_files=10, max_tokens=100, chunk_workers=1)
    chunks = partition(files, "balanced", limits)
    assert_valid(chunks, files, limits)
    assert [len(c.files) for c in chunks] == [1, 1, 1]


def test_directory_names_chunks_after_their_folders() -> None:
    files = [
        *files_in("src/auth", 4),
        *files_in("src/components", 25, ext="tsx"),
        *files_in("src/util", 8),
    ]
    names = [c.name for c in partition(files, "directory", Limits(max_files=10))]
    assert "src-auth" in names
    assert {"src-components", "src-components-2", "src-components-3"} <= set(names)
    by_name = {c.name: c for c in partition(files, "directory", Limits(max_files=10))}
    assert all(p.startswith("src/auth/") for p in by_name["src-auth"].files)


def test_directory_keeps_a_folder_that_fits_together() -> None:
    files = [*files_in("api", 6), *files_in("web", 6), *files_in("core", 6)]
    chunks = partition(files, "directory", Limits(max_files=10))
    assert sorted(c.name for c in chunks) == ["api", "core", "web"]
    for chunk in chunks:
        assert {p.split("/")[0] for p in chunk.files} == {chunk.name}


def test_directory_merges_tiny_sibling_folders() -> None:
    files = [*files_in("pkg/a", 1), *files_in("pkg/b", 1), *files_in("pkg/c", 1)]
    files += files_in("pkg/zbig", 12)
    chunks = partition(files, "directory", Limits(max_files=10))
    holding_a = next(c for c in chunks if "pkg/a/f000.py" in c.files)
    assert holding_a.files == ("pkg/a/f000.py", "pkg/b/f000.py", "pkg/c/f000.py")
    assert holding_a.name.startswith("pkg")
    assert all(not p.startswith("pkg/zbig/") for p in holding_a.files)


def test_filetype_groups_by_extension_and_names_after_it() -> None:
    files = [*files_in("a", 3, ext="py"), *files_in("b", 3, ext="ts"), *files_in("c", 12, ext="go")]
    chunks = partition(files, "filetype", Limits(max_files=10))
    assert [c.name for c in chunks] == ["go", "go-2", "py", "ts"]
    for chunk in chunks:
        assert {p.rsplit(".", 1)[1] for p in chunk.files} == {chunk.name.split("-")[0]}


def test_equal_fills_chunks_to_the_fixed_count_in_path_order() -> None:
    files = files_in("src", 25)
    chunks = partition(files, "equal", Limits(max_files=10))
    assert [len(c.files) for c in chunks] == [10, 10, 5]
    assert [p for c in chunks for p in c.files] == sorted(f.path for f in files)


def test_balanced_makes_a_multiple_of_the_worker_count_when_it_can() -> None:
    files = [SourceFile(f"m{i % 7}/f{i}.py", 1000 + 37 * i) for i in range(50)]
    for workers in (2, 4, 8):
        chunks = partition(files, "balanced", Limits(max_files=10, chunk_workers=workers))
        assert len(chunks) % workers == 0


def test_names_avoid_taken_ones_and_report_what_they_took() -> None:
    taken = {"src", "src-2"}
    chunks = partition(files_in("src", 5), "equal", Limits(), taken=taken)
    assert [c.name for c in chunks] == ["src-3"]
    assert "src-3" in taken


def test_thousands_of_chunks_of_one_folder_are_numbered_in_order_around_taken_names() -> None:
    taken = {"src-3", "src-5"}
    chunks = partition(files_in("src", 3_000), "equal", Limits(max_files=1), taken=taken)
    names = [c.name for c in chunks]
    assert names[:5] == ["src", "src-2", "src-4", "src-6", "src-7"]
    assert names[-1] == "src-3002"
    assert len(set(names)) == 3_000 and taken >= set(names)


def test_unique_name_takes_the_first_free_suffix() -> None:
    taken = {"a", "a-2", "a-4"}
    assert unique_name("a", taken) == "a-3"
    assert unique_name("a", taken) == "a-5"
    assert unique_name("b", taken) == "b"
    counters: dict[str, int] = {}
    assert [unique_name("a", taken, counters) for _ in range(3)] == ["a-6", "a-7", "a-8"]


def test_unreadable_folder_names_still_give_valid_chunk_names() -> None:
    files = [SourceFile("日本語/a.py", 10), SourceFile("???/b.py", 10), SourceFile("c.py", 10)]
    for strategy in STRATEGIES:
        chunks = partition(files, strategy, Limits(max_files=1))
        assert all(NAME_RE.match(c.name) for c in chunks)


def test_unknown_strategy_is_a_plan_error() -> None:
    with pytest.raises(PlanError, match="unknown strategy 'smart'"):
        partition(files_in("src", 2), "smart", Limits())


def test_make_plan_records_strategy_and_file_limit() -> None:
    plan = make_plan(files_in("src", 12), "equal", Limits(max_files=5))
    assert plan.strategy == "equal" and plan.max_files_per_chunk == 5
    assert plan.unassigned == () and plan.excluded == ()
    assert plan.assigned_count == 12


# --- predicted makespan -------------------------------------------------------------------


@pytest.mark.parametrize("workers", [4, 8, 16])
@pytest.mark.parametrize(("count", "seed"), [(200, 1), (2_000, 2), (5_000, 3)])
def test_balanced_makespan_is_within_5_percent_of_the_lower_bound(
    workers: int, count: int, seed: int
) -> None:
    files = skewed_files(count, seed)
    sizes = [f.size for f in files]
    assert max(sizes) >= 9 * min(sizes)
    chunks = partition(files, "balanced", Limits(max_files=10, max_tokens=60_000, chunk_workers=workers))
    works = [chunk_tokens(c, files) for c in chunks]
    bound = estimate.lower_bound([f.tokens for f in files], workers)
    assert estimate.makespan(works, workers) <= 1.05 * bound


def test_balanced_beats_directory_on_the_skewed_files() -> None:
    files = skewed_files(200, 1)
    limits = Limits(chunk_workers=16)

    def ratio(strategy: str) -> float:
        works = [chunk_tokens(c, files) for c in partition(files, strategy, limits)]
        return estimate.makespan(works, 16) / estimate.lower_bound([f.tokens for f in files], 16)

    assert ratio("balanced") < ratio("directory")


def test_makespan_dispatches_longest_first_onto_the_least_loaded_worker() -> None:
    assert estimate.makespan([], 4) == 0.0
    assert estimate.makespan([5, 5, 5, 5], 4) == 5
    assert estimate.makespan([7, 5, 4, 3, 1], 2) == 10  # 7+3 | 5+4+1
    assert estimate.makespan([3, 3, 2, 2, 2], 2) == 7  # LPT, not the optimum 6


def test_lower_bound_is_the_larger_of_even_spread_and_largest_item() -> None:
    assert estimate.lower_bound([], 4) == 0.0
    assert estimate.lower_bound([4, 4, 4, 4], 2) == 8
    assert estimate.lower_bound([100, 1, 1], 4) == 100


def test_plan_figures_add_up_over_the_chunks() -> None:
    files = [*files_in("a", 4, size=4_000), *files_in("b", 3, size=800)]
    plan = Plan(
        chunks=(
            Chunk("a", tuple(f.path for f in files[:4])),
            Chunk("b", tuple(f.path for f in files[4:])),
        )
    )
    sizes = {f.path: f.size for f in files}
    figures = estimate.plan_figures(plan, sizes, chunk_workers=2, count_lines=lambda p: 10)
    assert figures.files == 7 and figures.bytes == 4 * 4_000 + 3 * 800
    assert figures.tokens == 4 * 1_000 + 3 * 200
    assert [c.lines for c in figures.chunks] == [40, 30]
    assert figures.cost_usd == pytest.approx(sum(c.cost_usd for c in figures.chunks))
    assert figures.lower_bound_s <= figures.makespan_s <= figures.sequential_s
    assert estimate.plan_figures(plan, sizes, chunk_workers=2).chunks[0].lines is None


def test_estimated_cost_grows_with_tokens_and_files() -> None:
    assert estimate.chunk_cost_usd(10_000, 5) < estimate.chunk_cost_usd(20_000, 5)
    assert estimate.chunk_cost_usd(10_000, 5) < estimate.chunk_cost_usd(10_000, 10)
    assert estimate.chunk_seconds(0) > 0
