"""Adapters: the ports implemented over one technology each (MongoDB, Redis, LLM providers,
process memory). Only here are pymongo, redis, openai and anthropic imported."""
