"""The conversation core: use cases (chat, turns), the assistant's tool loop, context, prompts,
sessions, idempotency, turn locks, caching rules, domain models and errors.

Synchronous and free of I/O libraries: it reaches storage and models only through `ports`.
"""
