"""A Telegram bot for the chat service (see telegram_bot/README.md)."""
