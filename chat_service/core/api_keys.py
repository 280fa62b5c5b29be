"""API keys: how they look, how they are stored (SHA-256 digests only) and the store port."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "acai_"
KEY_ID_CHARS = 12


def new_api_key() -> str:
    """Returns a new random key: `acai_` and 43 URL-safe characters (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_digest(key: str) -> str:
    """Returns the SHA-256 hex digest under which a key is stored and looked up."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_id(digest: str) -> str:
    """Returns the public id of a key: the start of its digest (names it in lists, revocation)."""
    return digest[:KEY_ID_CHARS]
