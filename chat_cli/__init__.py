"""The `chat` command-line client (see `chat --help`)."""
