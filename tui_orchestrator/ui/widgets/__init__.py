"""Widgets of the app, one a module."""
