"""Unit tests: no sockets, no servers, milliseconds each."""
