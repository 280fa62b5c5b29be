"""LiveReply: a growing reply shown within Telegram's edit limits."""

from __future__ import annotations

import asyncio
import itertools
import warnings

import pytest
from telegram.error import RetryAfter

from telegram_bot.live_reply import EMPTY_REPLY, LiveReply
from telegram_bot.replies import split_message


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


class Chat:
    """Records sends and edits with the clock's time; refuses an unchanged edit."""

    def __init__(self, clock: Clock, *, retry_after: list[int] | None = None) -> None:
        self.clock = clock
        self.calls: list[tuple[float, str, int, str]] = []
        self.texts: dict[int, str] = {}
        self.retry_after = retry_after or []

    async def send(self, text: str) -> int:
        message_id = len(self.texts) + 1
        self.texts[message_id] = text
        self.calls.append((self.clock.now, "send", message_id, text))
        return message_id

    async def edit(self, message_id: int, text: str) -> None:
        if self.retry_after:
            with warnings.catch_warnings():  # PTB 22 warns in its own constructor
                warnings.simplefilter("ignore")
                refusal = RetryAfter(self.retry_after.pop(0))
            raise refusal
        assert self.texts[message_id] != text, "message is not modified"
        self.texts[message_id] = text
        self.calls.append((self.clock.now, "edit", message_id, text))


def run(coroutine):
    return asyncio.run(coroutine)


def live(clock: Clock, chat: Chat, **options) -> LiveReply:
    return LiveReply(chat, clock=clock, sleep=clock.sleep, **options)


def test_a_quick_reply_is_sent_once_whole():
    clock = Clock()
    chat = Chat(clock)
    reply = live(clock, chat)

    async def turn():
        for text in ("Hel", "Hello", "Hello there"):
            clock.now += 0.1
            await reply.update(text)
        await reply.finish("Hello there")

    run(turn())
    assert [(kind, text) for _, kind, _, text in chat.calls] == [("send", "Hello there")]


def test_a_slow_reply_is_edited_at_most_once_per_interval_only_when_changed():
    clock = Clock()
    chat = Chat(clock)
    reply = live(clock, chat)

    async def turn():
        text = ""
        for n in range(40):
            clock.now += 0.25
            if n % 4 != 3:  # some updates bring nothing new
                text += f" w{n}"
            await reply.update(text)
        await reply.finish(text)
        return text

    final = run(turn())
    times = [at for at, *_ in chat.calls]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))
    assert chat.calls[0][1] == "send"
    assert {kind for _, kind, _, _ in chat.calls[1:]} == {"edit"}
    assert chat.texts == {1: final}
    assert len(chat.calls) <= 11


def test_past_the_limit_the_text_goes_on_in_new_messages():
    clock = Clock()
    chat = Chat(clock)
    reply = live(clock, chat, limit=20)
    words = [f"word{n:02d}" for n in range(12)]

    async def turn():
        for n in range(1, len(words) + 1):
            clock.now += 1.0
            await reply.update(" ".join(words[:n]))
        await reply.finish(" ".join(words))

    run(turn())
    assert list(chat.texts.values()) == split_message(" ".join(words), limit=20)
    assert all(len(t) <= 20 for t in chat.texts.values())
    assert reply.message_ids == list(chat.texts)


def test_the_final_text_replaces_what_streamed_and_blank_says_so():
    clock = Clock()
    chat = Chat(clock)
    reply = live(clock, chat)

    async def turn():
        clock.now += 1.5
        await reply.update("Let me check the weather.")
        await reply.finish("It is sunny in Lisbon.")

    run(turn())
    assert chat.texts == {1: "It is sunny in Lisbon."}
    assert chat.calls[1][0] - chat.calls[0][0] >= 1.0  # the final edit waited its turn
    empty_chat = Chat(clock)
    run(live(clock, empty_chat).finish("  "))
    assert list(empty_chat.texts.values()) == [EMPTY_REPLY]


def test_retry_after_pushes_edits_back_and_the_final_edit_waits_for_it():
    clock = Clock()
    chat = Chat(clock, retry_after=[5, 3])
    reply = live(clock, chat)

    async def turn():
        clock.now += 1.0
        await reply.update("one")
        clock.now += 1.0
        await reply.update("one two")  # refused: retry after 5 s
        clock.now += 1.0
        await reply.update("one two three")  # too early: skipped
        await reply.finish("one two three four")  # refused once more (3 s), then shown

    run(turn())
    assert chat.texts == {1: "one two three four"}
    assert chat.calls[-1][0] >= 103.0 + 3


def test_a_refused_final_edit_raises_after_one_retry():
    clock = Clock()
    chat = Chat(clock, retry_after=[1, 1])
    reply = live(clock, chat)

    async def turn():
        clock.now += 1.0
        await reply.update("one")
        await reply.finish("one two")

    with pytest.raises(RetryAfter):
        run(turn())
