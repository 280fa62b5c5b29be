"""Pure-ASGI middleware, one concern per module, each configured through its constructor."""
