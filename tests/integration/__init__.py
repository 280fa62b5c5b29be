"""Integration tests: real servers on loopback, started by fixtures."""
