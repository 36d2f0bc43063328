"""The engine: everything claude-tui does, with no user interface library imported.

Discovery and partition build a plan; the manager runs a plan's chunks through a runner
and records every state change in the checkpoint; reports are written from a checkpoint.
The presenters above it, the command line's (`tui_orchestrator.console`) and the app
(`tui_orchestrator.ui`), only render the engine's events and views and call the manager's
methods (docs/layers.md §1).
"""
