"""`build_application`: the bot's composition root."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseHandler,
    CommandHandler,
    MessageHandler,
    PicklePersistence,
    TypeHandler,
    filters,
)

from chat_client import AsyncChatClient
from telegram_bot.conversations import ChatConversations
from telegram_bot.handlers import COMMANDS, BotHandlers
from telegram_bot.settings import BotSettings

MAX_CONCURRENT_UPDATES = 64


def build_application(
    settings: BotSettings,
    *,
    client: AsyncChatClient | None = None,
    typing_interval_s: float = 4.0,
    edit_interval_s: float = 1.0,
) -> Application:  # type: ignore[type-arg]
    """Returns the bot, ready for `run_polling()`; `client` overrides the SDK client built
    from `settings`. Updates run concurrently (a slow reply in one chat does not hold up
    the others); each chat's turns run in order, their replies streamed into messages
    edited at most once per `edit_interval_s`."""
    client = client or AsyncChatClient(
        settings.chat_url, api_key=settings.chat_api_key, timeout_s=settings.chat_timeout_s
    )
    handlers = BotHandlers(
        client,
        ChatConversations(client),
        typing_interval_s=typing_interval_s,
        edit_interval_s=edit_interval_s,
    )

    async def post_init(application: Application) -> None:  # type: ignore[type-arg]
        await application.bot.set_my_commands(list(COMMANDS))

    async def post_shutdown(application: Application) -> None:  # type: ignore[type-arg]
        await client.aclose()

    builder = (
        ApplicationBuilder()
        .token(settings.telegram_token)
        .base_url(settings.telegram_api_url)
        .concurrent_updates(MAX_CONCURRENT_UPDATES)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if settings.state_file is not None:
        builder = builder.persistence(PicklePersistence(filepath=settings.state_file))
    application = builder.build()
    routes: list[BaseHandler] = [  # type: ignore[type-arg]
        CommandHandler("start", handlers.start),
        CommandHandler("help", handlers.help),
        CommandHandler("new", handlers.new),
        CommandHandler("model", handlers.model),
        CommandHandler("regenerate", handlers.regenerate),
        CommandHandler("status", handlers.status),
        MessageHandler(filters.TEXT & ~filters.COMMAND, handlers.message),
    ]
    application.add_handler(TypeHandler(Update, handlers.drop_redelivered), group=-1)
    application.add_handlers(routes)
    return application
