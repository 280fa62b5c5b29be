"""`BotSettings`: the bot's configuration, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

TELEGRAM_API_URL = "https://api.telegram.org/bot"


@dataclass(frozen=True, slots=True)
class BotSettings:
    """What the bot needs: its token, where the chat service is, and optional state file.

    `telegram_api_url` is the Bot API base (the token is appended); tests point it at a local
    fake. Secrets are kept out of `repr`.
    """

    telegram_token: str = field(repr=False)
    chat_url: str = "http://127.0.0.1:8080"
    chat_api_key: str | None = field(default=None, repr=False)
    chat_timeout_s: float = 120.0
    telegram_api_url: str = TELEGRAM_API_URL
    state_file: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BotSettings:
        """Reads TELEGRAM_BOT_TOKEN (required), CHAT_URL, CHAT_API_KEY, CHAT_TIMEOUT_S,
        TELEGRAM_API_URL and BOT_STATE_FILE. Raises ValueError naming what is wrong."""
        env = os.environ if environ is None else environ
        token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
        if not token:
            raise ValueError("TELEGRAM_BOT_TOKEN is required (ask @BotFather for one)")
        try:
            timeout_s = float(env.get("CHAT_TIMEOUT_S") or 120.0)
        except ValueError:
            raise ValueError("CHAT_TIMEOUT_S must be a number of seconds") from None
        state_file = env.get("BOT_STATE_FILE", "").strip()
        return cls(
            telegram_token=token,
            chat_url=env.get("CHAT_URL") or "http://127.0.0.1:8080",
            chat_api_key=env.get("CHAT_API_KEY") or None,
            chat_timeout_s=timeout_s,
            telegram_api_url=env.get("TELEGRAM_API_URL") or TELEGRAM_API_URL,
            state_file=Path(state_file) if state_file else None,
        )
