"""Which runner a run uses, and what that means for this machine.

The headless run and the app choose the same way: the demo backend only when asked for;
else the real CLI, here or on a Dask cluster. The executor and the memory cap are checked
here, before anything runs: a Dask scheduler that cannot be reached, the Dask extra
missing, or Claude Code missing here for the local executor is one line and exit 2
(``ClaudeTuiError``, docs/contracts.md §2).
"""

from __future__ import annotations

from tui_orchestrator.engine.config import Config
from tui_orchestrator.engine.errors import ConfigError, ExecutorError
from tui_orchestrator.engine.resources import growth_cap, memory_cap
from tui_orchestrator.engine.runner import ClaudeRunner, Runner, find_claude


def make_runner(config: Config, demo: bool) -> Runner:
    """The runner for ``config``: demo, Dask or the local Claude Code CLI."""
    if demo:
        if config.executor != "local":
            # Saying nothing would let a user believe the cluster was used.
            raise ConfigError(
                f"--demo simulates the agents here: it cannot run on --executor {config.executor}"
            )
        from tui_orchestrator.engine.demo import DemoRunner

        return DemoRunner()
    if config.executor != "local":
        check_executor(config)
        from tui_orchestrator.engine.dask_runner import DaskRunner

        runner = DaskRunner(
            config.executor,
            # Resolved on each host: Claude Code must be on the Dask workers' PATH.
            claude_bin=config.claude_bin,
            model=config.model,
            max_turns=config.max_turns,
            bare=config.bare,
            shared_root=config.shared_root or None,
            context=config.context,
        )
        runner.check()
        return runner
    return ClaudeRunner(
        find_claude(config.claude_bin),
        model=config.model,
        max_turns=config.max_turns,
        bare=config.bare,
    )


def check_executor(config: Config) -> None:
    """``--executor dask://…`` needs the ``[dask]`` extra and a well-formed address."""
    if config.executor == "local":
        return
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ExecutorError(
            f"--executor {config.executor} needs the optional Dask extra: "
            "pip install 'claude-tui[dask]'"
        ) from None
    from tui_orchestrator.engine.dask_runner import scheduler_address

    scheduler_address(config.executor)


def cap_to_memory(config: Config, runner: Runner) -> tuple[Config, str]:
    """The config with no more chunk workers than free memory holds, and the warning if it
    cut. Only a runner whose Claude Code processes run on this machine is capped."""
    if not runner.local_processes:
        return config, ""
    chunk_workers, warning = memory_cap(config.workers)
    return (config.replace(workers=chunk_workers) if warning else config), warning


def grow_within_memory(runner: Runner, target: int, running: int) -> tuple[int, str]:
    """How many chunk workers a run may grow to while ``running`` processes run, and the
    warning when memory holds fewer than ``target``."""
    if not runner.local_processes:
        return target, ""
    return growth_cap(target, running)
