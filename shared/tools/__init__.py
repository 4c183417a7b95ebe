"""Operator commands run with `python -m shared.tools.<name>` against the app's settings."""
