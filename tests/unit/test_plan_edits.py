"""Plan edits: pure operations that keep every file in exactly one place, with undo/redo."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tui_orchestrator.engine import edits
from tui_orchestrator.engine.discovery import SourceFile
from tui_orchestrator.engine.edits import PlanHistory
from tui_orchestrator.engine.errors import PlanError
from tui_orchestrator.engine.partition import STRATEGIES, Limits, make_plan
from tui_orchestrator.engine.plan import NAME_RE, Chunk, Plan

FILES = sorted(
    [f"src/auth/{n}.py" for n in ("login", "session", "tokens", "oauth")]
    + [f"src/api/v1/{n}.py" for n in ("users", "orders", "items")]
    + [f"src/api/v2/{n}.py" for n in ("users", "search")]
    + [f"web/components/{n}.tsx" for n in ("Cart", "Search", "Nav", "Footer", "Modal")]
    + [f"web/{n}.ts" for n in ("api", "store")]
    + ["lib/util.go", "lib/cache.go", "main.py", "setup.py"]
)
FOLDERS = sorted({p.rsplit("/", i)[0] for p in FILES for i in (1, 2) if p.count("/") >= i})
SIZES = {path: 200 + 131 * i for i, path in enumerate(FILES)}


def base_plan(strategy: str = "directory", max_files: int = 4) -> Plan:
    files = [SourceFile(p, SIZES[p]) for p in FILES]
    return make_plan(files, strategy, Limits(max_files=max_files, max_tokens=2_000, chunk_workers=3))


def assert_invariant(plan: Plan, universe: list[str] = FILES) -> None:
    """Every file in exactly one of: a chunk, unassigned, excluded; no empty chunk; unique names."""
    counts = Counter(plan.all_files())
    assert set(counts) == set(universe), "a file appeared or vanished"
    assert all(n == 1 for n in counts.values()), [p for p, n in counts.items() if n > 1]
    assert all(chunk.files for chunk in plan.chunks), "an empty chunk was kept"
    assert len(plan.names) == len(set(plan.names)), plan.names
    assert all(NAME_RE.match(name) for name in plan.names)


# --- random sequences of edits ------------------------------------------------------------

_new_names = st.sampled_from(["extra", "hot-path", "x_1", "Review.2", "src-auth", "web", "c+d"])
_bad_names = st.sampled_from(["", " ", "has space", "-dash", "a/b", "x" * 65, "ünï"])
_priorities = st.integers(min_value=-5, max_value=5)


@st.composite
def _paths(draw: st.DrawFn) -> list[str]:
    return draw(st.lists(st.sampled_from(FILES + FOLDERS + ["nope/x.py"]), min_size=1, max_size=4))


@st.composite
def _edit(draw: st.DrawFn, plan: Plan) -> tuple[str, Callable[[Plan], Plan]]:
    """A random edit against ``plan``: mostly plausible arguments, sometimes invalid ones."""
    names = plan.names or ["missing"]
    name = draw(
        st.sampled_from([*names, "missing"]) if draw(st.booleans()) else st.sampled_from(names)
    )
    other = draw(st.sampled_from([*names, "missing"]))
    kinds = ["move", "split", "merge", "rename", "create", "delete", "exclude", "include",
             "toggle", "rebalance", "priority"]  # fmt: skip
    kind = draw(st.sampled_from(kinds))
    if kind == "move":
        paths = draw(_paths())
        return f"move {paths} -> {name}", lambda p: edits.move(p, paths, name)
    if kind == "split":
        chunk_files = plan.chunk(name).files if plan.has_chunk(name) else ("x",)
        at = draw(
            st.one_of(
                st.none(),
                st.integers(min_value=-1, max_value=len(chunk_files) + 1),
                st.sampled_from([*chunk_files, "not/in/chunk.py"]),
            )
        )
        new = draw(st.one_of(st.none(), _new_names))
        return f"split {name} at {at!r} as {new}", lambda p: edits.split(p, name, at, new)
    if kind == "merge":
        return f"merge {name} + {other}", lambda p: edits.merge(p, name, other)
    if kind == "rename":
        new = draw(st.one_of(_new_names, _bad_names))
        return f"rename {name} -> {new!r}", lambda p: edits.rename(p, name, new)
    if kind == "create":
        new = draw(st.one_of(_new_names, _bad_names))
        paths = draw(st.one_of(_paths(), st.just([])))
        return f"create {new!r} {paths}", lambda p: edits.create(p, new, paths)
    if kind == "delete":
        return f"delete {name}", lambda p: edits.delete(p, name)
    if kind in ("exclude", "include", "toggle"):
        paths = draw(_paths())
        fn = {"exclude": edits.exclude, "include": edits.include, "toggle": edits.toggle_exclude}
        return f"{kind} {paths}", lambda p: fn[kind](p, paths)
    if kind == "rebalance":
        strategy = draw(st.sampled_from([*STRATEGIES, "bogus"]))
        subtree = draw(st.sampled_from(["", *FOLDERS, "nope"]))
        limits = Limits(
            max_files=draw(st.integers(1, 6)), max_tokens=draw(st.sampled_from([500, 3_000])),
            chunk_workers=draw(st.integers(1, 4)),
        )  # fmt: skip
        return (
            f"rebalance {subtree!r} with {strategy} {limits}",
            lambda p: edits.rebalance(p, SIZES, strategy, limits, subtree),
        )
    priority = draw(_priorities)
    return f"priority {name} = {priority}", lambda p: edits.set_priority(p, name, priority)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), strategy=st.sampled_from(STRATEGIES), steps=st.integers(1, 30))
def test_random_edits_keep_the_invariant_and_undo_redo_replay_them(
    data: st.DataObject, strategy: str, steps: int
) -> None:
    history = PlanHistory(base_plan(strategy))
    plans = [history.plan]
    for _ in range(steps):
        label, edit = data.draw(_edit(history.plan), label="edit")
        before = history.plan
        try:
            after = history.apply(edit)
        except PlanError as exc:
            event(f"refused {label.split()[0]}")
            # An impossible edit says why and changes nothing.
            assert str(exc)
            assert history.plan is before
            assert len(plans) == 1 or history.can_undo
            continue
        event(f"applied {label.split()[0]}")
        assert after is history.plan
        assert_invariant(after)
        if after is not before:
            assert after != before, label
            plans.append(after)
    # Undo walks back through exactly the earlier plans, then redo replays them.
    for expected in reversed(plans[:-1]):
        assert history.undo()
        assert history.plan == expected
        assert_invariant(history.plan)
    assert not history.undo()
    assert history.plan == plans[0]
    for expected in plans[1:]:
        assert history.redo()
        assert history.plan == expected
    assert not history.redo()


# --- each edit's meaning ------------------------------------------------------------------


def plan_of(**chunks: tuple[str, ...]) -> Plan:
    return Plan(chunks=tuple(Chunk(name, files) for name, files in chunks.items()))


@pytest.fixture
def plan() -> Plan:
    return Plan(
        chunks=(
            Chunk("auth", ("src/auth/login.py", "src/auth/session.py", "src/auth/tokens.py")),
            Chunk("api", ("src/api/v1/users.py", "src/api/v2/users.py"), priority=2),
            Chunk("web", ("web/api.ts", "web/store.ts")),
        ),
        unassigned=("main.py",),
        excluded=("src/auth/oauth.py",),
    )


ALL = [
    "src/auth/login.py", "src/auth/session.py", "src/auth/tokens.py", "src/api/v1/users.py",
    "src/api/v2/users.py", "web/api.ts", "web/store.ts", "main.py", "src/auth/oauth.py",
]  # fmt: skip


def test_move_a_folder_takes_every_file_below_it_but_not_excluded_ones(plan: Plan) -> None:
    moved = edits.move(plan, ["src/auth"], "web")
    assert moved.chunk("web").files == (
        "web/api.ts", "web/store.ts", "src/auth/login.py", "src/auth/session.py",
        "src/auth/tokens.py",
    )  # fmt: skip
    assert not moved.has_chunk("auth"), "an emptied chunk disappears"
    assert moved.excluded == ("src/auth/oauth.py",)
    assert_invariant(moved, ALL)


def test_move_an_excluded_file_by_name_brings_it_back(plan: Plan) -> None:
    moved = edits.move(plan, ["src/auth/oauth.py", "main.py"], "api")
    assert moved.excluded == () and moved.unassigned == ()
    assert moved.chunk("api").files[-2:] == ("main.py", "src/auth/oauth.py")
    assert_invariant(moved, ALL)


def test_split_in_half_puts_the_new_chunk_right_after(plan: Plan) -> None:
    result = edits.split(plan, "auth")
    assert result.names == ["auth", "auth-2", "api", "web"]
    assert result.chunk("auth").files == ("src/auth/login.py", "src/auth/session.py")
    assert result.chunk("auth-2").files == ("src/auth/tokens.py",)


def test_split_at_a_file_starts_the_second_part_with_it(plan: Plan) -> None:
    result = edits.split(plan, "auth", "src/auth/session.py", "auth-rest")
    assert result.chunk("auth").files == ("src/auth/login.py",)
    assert result.chunk("auth-rest").files == ("src/auth/session.py", "src/auth/tokens.py")


def test_split_keeps_the_priority_on_both_parts(plan: Plan) -> None:
    result = edits.split(plan, "api")
    assert [c.priority for c in result.chunks if c.name.startswith("api")] == [2, 2]


def test_merge_keeps_the_first_chunks_place_and_name(plan: Plan) -> None:
    result = edits.merge(plan, "web", "auth")
    assert result.names == ["api", "web"]
    assert result.chunk("web").files == (
        "web/api.ts", "web/store.ts", "src/auth/login.py", "src/auth/session.py",
        "src/auth/tokens.py",
    )  # fmt: skip


def test_rename_accepts_readable_names_and_keeps_files(plan: Plan) -> None:
    result = edits.rename(plan, "auth", "security-review")
    assert result.names == ["security-review", "api", "web"]
    assert result.chunk("security-review").files == plan.chunk("auth").files
    assert edits.rename(plan, "auth", "auth") == plan


def test_create_takes_files_from_wherever_they_are(plan: Plan) -> None:
    result = edits.create(plan, "hot", ["src/api/v1/users.py", "main.py"])
    assert result.names[-1] == "hot"
    assert result.chunk("hot").files == ("main.py", "src/api/v1/users.py")
    assert result.chunk("api").files == ("src/api/v2/users.py",)
    assert result.unassigned == ()
    assert_invariant(result, ALL)


def test_delete_sends_the_files_back_to_unassigned(plan: Plan) -> None:
    result = edits.delete(plan, "web")
    assert result.names == ["auth", "api"]
    assert result.unassigned == ("main.py", "web/api.ts", "web/store.ts")
    assert_invariant(result, ALL)


def test_exclude_then_include_a_folder(plan: Plan) -> None:
    excluded = edits.exclude(plan, ["src/api"])
    assert excluded.excluded == ("src/api/v1/users.py", "src/api/v2/users.py", "src/auth/oauth.py")
    assert not excluded.has_chunk("api")
    included = edits.include(excluded, ["src/api"])
    assert included.excluded == ("src/auth/oauth.py",)
    assert included.unassigned == ("main.py", "src/api/v1/users.py", "src/api/v2/users.py")
    assert_invariant(included, ALL)


def test_toggle_exclude_flips_between_excluded_and_unassigned(plan: Plan) -> None:
    once = edits.toggle_exclude(plan, ["web/api.ts"])
    assert "web/api.ts" in once.excluded
    twice = edits.toggle_exclude(once, ["web/api.ts"])
    assert "web/api.ts" in twice.unassigned and "web/api.ts" not in twice.excluded


def test_set_priority_changes_only_that_chunk(plan: Plan) -> None:
    result = edits.set_priority(plan, "web", 9)
    assert [c.priority for c in result.chunks] == [0, 2, 9]


def test_rebalance_a_subtree_leaves_other_chunks_alone(plan: Plan) -> None:
    sizes = dict.fromkeys(ALL, 400)
    result = edits.rebalance(plan, sizes, "equal", Limits(max_files=1), "src/auth")
    assert result.chunk("api") == plan.chunk("api")
    assert result.chunk("web") == plan.chunk("web")
    auth = [c for c in result.chunks if c.name.startswith("src-auth") or c.name == "auth"]
    assert sorted(p for c in auth for p in c.files) == list(plan.chunk("auth").files)
    assert all(len(c.files) == 1 for c in auth)
    # New chunks stand where the old one stood; the excluded file stays excluded.
    assert result.names.index("api") == len(auth)
    assert result.excluded == plan.excluded
    assert result.strategy == plan.strategy
    assert_invariant(result, ALL)


def test_rebalance_keeps_priorities_and_names_chunks_after_what_they_hold(plan: Plan) -> None:
    sizes = dict.fromkeys(ALL, 400)
    result = edits.rebalance(plan, sizes, "directory", Limits(max_files=1), "src/api")
    api = [c for c in result.chunks if any(f.startswith("src/api/") for f in c.files)]
    assert len(api) == 2 and all(c.priority == 2 for c in api)
    assert {c.name for c in api} == {"src-api-v1", "src-api-v2"}
    # Where files of several priorities meet, most of them decide.
    whole = edits.rebalance(plan, sizes, "equal", Limits(max_files=20))
    assert [c.priority for c in whole.chunks] == [0]


def test_rebalance_everything_assigns_unassigned_files_and_records_the_strategy(
    plan: Plan,
) -> None:
    sizes = dict.fromkeys(ALL, 400)
    result = edits.rebalance(plan, sizes, "balanced", Limits(max_files=3, chunk_workers=2))
    assert result.unassigned == ()
    assert result.excluded == plan.excluded
    assert result.strategy == "balanced" and result.max_files_per_chunk == 3
    assert_invariant(result, ALL)


@pytest.mark.parametrize(
    ("label", "edit"),
    [
        ("move to a missing chunk", lambda p: edits.move(p, ["main.py"], "nope")),
        ("move nothing", lambda p: edits.move(p, ["not/here"], "web")),
        ("split a one-file chunk", lambda p: edits.split(edits.split(p, "web"), "web")),
        ("split at a file of another chunk", lambda p: edits.split(p, "auth", "web/api.ts")),
        ("split at the first file", lambda p: edits.split(p, "auth", 0)),
        ("split past the end", lambda p: edits.split(p, "auth", 3)),
        ("split to a taken name", lambda p: edits.split(p, "auth", None, "web")),
        ("merge with itself", lambda p: edits.merge(p, "auth", "auth")),
        ("merge with a missing chunk", lambda p: edits.merge(p, "auth", "nope")),
        ("rename to a taken name", lambda p: edits.rename(p, "auth", "web")),
        ("rename to a blank name", lambda p: edits.rename(p, "auth", "  ")),
        ("rename to a path", lambda p: edits.rename(p, "auth", "src/auth")),
        ("rename to a too long name", lambda p: edits.rename(p, "auth", "a" * 65)),
        ("create without files", lambda p: edits.create(p, "new", [])),
        ("create with a taken name", lambda p: edits.create(p, "api", ["main.py"])),
        ("delete a missing chunk", lambda p: edits.delete(p, "nope")),
        ("exclude what is excluded", lambda p: edits.exclude(p, ["src/auth/oauth.py"])),
        ("include what is not excluded", lambda p: edits.include(p, ["main.py"])),
        ("rebalance with a bad strategy", lambda p: edits.rebalance(p, {}, "x", Limits())),
        ("rebalance an empty folder", lambda p: edits.rebalance(p, {}, "equal", Limits(), "x")),
        ("prioritise a missing chunk", lambda p: edits.set_priority(p, "nope", 1)),
    ],
)
def test_an_impossible_edit_raises_plan_error_and_changes_nothing(
    plan: Plan, label: str, edit: Callable[[Plan], Plan]
) -> None:
    history = PlanHistory(plan)
    snapshot = Plan(chunks=tuple(plan.chunks), unassigned=plan.unassigned, excluded=plan.excluded)
    with pytest.raises(PlanError):
        history.apply(edit)
    assert history.plan is plan and plan == snapshot
    assert not history.can_undo and not history.can_redo


def test_an_edit_that_changes_nothing_is_not_an_undo_step(plan: Plan) -> None:
    history = PlanHistory(plan)
    history.apply(lambda p: edits.rename(p, "auth", "auth"))
    assert not history.can_undo


def test_a_new_edit_after_undo_drops_the_redo_stack(plan: Plan) -> None:
    history = PlanHistory(plan)
    history.apply(lambda p: edits.delete(p, "web"))
    history.undo()
    assert history.can_redo
    history.apply(lambda p: edits.delete(p, "api"))
    assert not history.can_redo
    assert history.plan.names == ["auth", "web"]


def test_history_keeps_at_most_its_limit_of_undo_steps(plan: Plan) -> None:
    history = PlanHistory(plan, limit=2)
    for priority in (1, 2, 3, 4):
        history.apply(lambda p, n=priority: edits.set_priority(p, "web", n))
    assert history.undo() and history.undo()
    assert not history.undo()
    assert history.plan.chunk("web").priority == 2
