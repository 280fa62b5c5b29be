"""The bot's commands and message handling (python-telegram-bot handlers)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

from telegram import BotCommand, Message, Update
from telegram.constants import ChatAction
from telegram.ext import ApplicationHandlerStop, ContextTypes

from chat_client import (
    AsyncChatClient,
    ChatClientError,
    ConnectionFailed,
    InvalidArgument,
    ModelInfo,
    ResourceExhausted,
    SessionMetadata,
    TimedOut,
    TwirpError,
    Unauthenticated,
    Unavailable,
)
from telegram_bot.conversations import MODEL_KEY, ChatConversations, UnknownModel
from telegram_bot.deliveries import SeenUpdates
from telegram_bot.live_reply import LiveReply
from telegram_bot.replies import split_message

logger = logging.getLogger(__name__)

COMMANDS = (
    BotCommand("new", "Start a new conversation"),
    BotCommand("model", "Show the models, or choose one: /model <id>"),
    BotCommand("regenerate", "Answer your last message again"),
    BotCommand("status", "Is the service up?"),
    BotCommand("help", "What this bot does"),
)
HELP = (
    "Send me a message and the assistant answers; I keep the conversation going, so you "
    "can ask follow-up questions.\n\n"
    "/new — start a new conversation\n"
    "/model — show the models; /model <id> chooses one\n"
    "/regenerate — answer your last message again\n"
    "/status — is the service up?\n"
    "/help — this text"
)
WELCOME = "Hello! I am a chat assistant. Ask me anything.\n\n" + HELP
SEEN_KEY = "seen_updates"


class BotHandlers:
    """The callbacks the bot registers; `typing_interval_s` is how often "typing…" is renewed
    while a reply is awaited (Telegram shows it for about 5 s); a reply streams into its
    message, edited at most once per `edit_interval_s` (see `LiveReply`)."""

    def __init__(
        self,
        client: AsyncChatClient,
        conversations: ChatConversations,
        *,
        typing_interval_s: float = 4.0,
        edit_interval_s: float = 1.0,
    ) -> None:
        self._client = client
        self._conversations = conversations
        self._typing_interval_s = typing_interval_s
        self._edit_interval_s = edit_interval_s

    async def drop_redelivered(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Runs first for every update: stops one whose id was already handled."""
        seen = context.bot_data.setdefault(SEEN_KEY, SeenUpdates())
        if not seen.first_time(update.update_id):
            logger.info("dropping a redelivered update", extra={"update_id": update.update_id})
            raise ApplicationHandlerStop

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_message:
            await update.effective_message.reply_text(WELCOME)

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_message:
            await update.effective_message.reply_text(HELP)

    async def new(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_message is None or context.chat_data is None:
            return
        had_one = self._conversations.reset(context.chat_data)
        text = "Started afresh." if had_one else "This is already a new conversation."
        await update.effective_message.reply_text(
            f"{text} Your next message begins a new conversation."
        )

    async def model(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/model lists the models (the chat's marked); /model <id> chooses one."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None or context.chat_data is None:
            return
        try:
            if not context.args:
                models = await self._client.list_models()
                chosen = context.chat_data.get(MODEL_KEY, "")
                await message.reply_text(_model_list(models, chosen))
                return
            session = SessionMetadata("telegram", chat_id=str(chat.id))
            await self._conversations.choose_model(context.chat_data, session, context.args[0])
        except UnknownModel as exc:
            await message.reply_text(f"I don't know that model.\n\n{_model_list(exc.models, '')}")
            return
        except ChatClientError as exc:
            await message.reply_text(_explain(exc))
            return
        await message.reply_text(f"From now on {context.args[0]} answers in this chat.")

    async def regenerate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/regenerate answers the chat's last message again."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None or context.chat_data is None:
            return
        session = SessionMetadata("telegram", chat_id=str(chat.id))
        key = f"telegram-{context.bot.id}-{update.update_id}"
        try:
            async with self._typing(context, chat.id):
                reply = await self._conversations.regenerate(
                    context.chat_data, session, idempotency_key=key
                )
        except ChatClientError as exc:
            await message.reply_text(_explain(exc))
            return
        if reply is None:
            await message.reply_text("There is no answer to regenerate yet: send a message.")
            return
        for piece in split_message(reply) or ["(the assistant sent an empty reply)"]:
            await message.reply_text(piece)

    async def status(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_message is None:
            return
        try:
            health = await self._client.health()
        except ChatClientError:
            await update.effective_message.reply_text("Service: unreachable")
            return
        lines = [f"Service: {health.status}", *(f"{k}: {v}" for k, v in health.checks.items())]
        await update.effective_message.reply_text("\n".join(lines))

    async def message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, chat, user = update.effective_message, update.effective_chat, update.effective_user
        if message is None or chat is None or not message.text or context.chat_data is None:
            return
        session = SessionMetadata(
            "telegram", user_id=str(user.id) if user else "", chat_id=str(chat.id)
        )
        key = f"telegram-{context.bot.id}-{update.update_id}"
        live = LiveReply(_Channel(context, message), min_interval_s=self._edit_interval_s)
        try:
            async with self._typing(context, chat.id):
                reply = await self._conversations.stream(
                    context.chat_data,
                    session,
                    message.text,
                    idempotency_key=key,
                    on_text=live.update,
                )
        except ChatClientError as exc:
            await message.reply_text(_explain(exc))
            return
        await live.finish(reply)

    @contextlib.asynccontextmanager
    async def _typing(
        self, context: ContextTypes.DEFAULT_TYPE, chat_id: int
    ) -> AsyncIterator[None]:
        async def keep_typing() -> None:
            while True:
                with contextlib.suppress(Exception):  # a lost "typing…" must not fail the turn
                    await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
                await asyncio.sleep(self._typing_interval_s)

        task = asyncio.create_task(keep_typing())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class _Channel:
    """A chat's replies to one message, as `LiveReply` sends and edits them."""

    def __init__(self, context: ContextTypes.DEFAULT_TYPE, message: Message) -> None:
        self._bot = context.bot
        self._message = message

    async def send(self, text: str) -> int:
        sent = await self._message.reply_text(text)
        return sent.message_id

    async def edit(self, message_id: int, text: str) -> None:
        await self._bot.edit_message_text(
            text, chat_id=self._message.chat_id, message_id=message_id
        )


def _model_list(models: Sequence[ModelInfo], chosen: str) -> str:
    """Returns one line per model, the chat's choice (else the default) marked."""
    current = chosen or next((m.id for m in models if m.is_default), "")
    lines = [f"{'→' if m.id == current else '•'} {m.id} — {m.display_name}" for m in models]
    return "Models (choose with /model <id>):\n" + "\n".join(lines)


def _explain(exc: ChatClientError) -> str:
    """Returns what to tell the user about a failed turn (the service's words included)."""
    if isinstance(exc, InvalidArgument):
        return f"I can't send that message: {exc.msg}."
    if isinstance(exc, ResourceExhausted):
        wait = f" in {exc.retry_after_s:g} s" if exc.retry_after_s else " in a moment"
        return f"Too many messages; please try again{wait}."
    if isinstance(exc, Unavailable | ConnectionFailed):
        return "The assistant is unavailable right now; please try again in a moment."
    if isinstance(exc, TimedOut):
        return "The assistant took too long to answer; please try again."
    if isinstance(exc, Unauthenticated):
        logger.error("the chat service refused the bot's API key; check CHAT_API_KEY")
        return "The bot is misconfigured (its API key was refused); please tell its owner."
    if isinstance(exc, TwirpError):
        logger.warning("turn failed", extra={"code": exc.code})
        return f"Sorry, that failed ({exc.code}: {exc.msg})."
    return "Sorry, that failed."
