"""The full-screen app: renders the engine's state and sends it commands, nothing more."""
