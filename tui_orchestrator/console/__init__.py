"""The command line's presenters, with Rich: `claude-tui run`'s progress and summary
(``run.py``) and `claude-tui plan`'s table (``plan_table.py``). Beside ``ui/``, above the
engine, below ``cli.py`` (docs/layers.md §1)."""
