"""Adapters that keep their state in this process's memory (fallbacks while Redis is down)."""
