"""MongoDB adapters: the conversations repository, sessions, idempotency, API keys, turn locks
and prompt overrides, with the transaction and document helpers they share."""
