"""Distinctive secrets the tests use, so the log audit can tell if any of them was logged."""

from __future__ import annotations

# Shaped like the real things (the provider key like an OpenAI key, the API key like this
# service's keys) so the redaction patterns are exercised, not bypassed.
OPENAI_KEY = "sk-canary-openai-5f1c9e2b7a4d"
API_KEY = "acai_canary-env-key-8d2f6a1c3e9b"
MONGO_PASSWORD = "canary-mongo-pw-4b7e1d90"
