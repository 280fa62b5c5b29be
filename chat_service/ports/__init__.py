"""The ports: the interfaces the core owns and the adapters implement (storage, caches, locks,
rate limits, chat models), with the types that cross them."""
