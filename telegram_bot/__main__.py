"""`python -m telegram_bot`: runs the bot with long polling until Ctrl-C."""

from __future__ import annotations

import logging
import sys

from telegram_bot.app import build_application
from telegram_bot.settings import BotSettings


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        settings = BotSettings.from_env()
    except ValueError as exc:
        print(f"telegram_bot: {exc}", file=sys.stderr)
        return 2
    build_application(settings).run_polling(allowed_updates=["message"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
