"""Logs, metrics and traces: how the service reports what it does."""
