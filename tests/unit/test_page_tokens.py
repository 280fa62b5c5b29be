"""Page tokens: what we issue decodes to the same cursor; anything else is InvalidPageToken."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from chat_service.adapters.mongo.page_tokens import (
    decode_conversation_token,
    decode_message_token,
    encode_conversation_token,
    encode_message_token,
)
from chat_service.core.timestamps import to_stored
from chat_service.ports.repository import InvalidPageToken

URL_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
ids = st.text(alphabet="0123456789abcdef", min_size=24, max_size=24)
moments = st.datetimes(min_value=datetime(1970, 1, 1), timezones=st.just(UTC))


@given(moments, ids)
def test_conversation_tokens_round_trip(created_at: datetime, conversation_id: str) -> None:
    token = encode_conversation_token(created_at, conversation_id)

    cursor = decode_conversation_token(token)

    assert (cursor.created_at, cursor.conversation_id) == (to_stored(created_at), conversation_id)
    assert set(token) <= set(URL_SAFE)


@given(st.integers(min_value=0, max_value=2**53))
def test_message_tokens_round_trip(next_seq: int) -> None:
    assert decode_message_token(encode_message_token(next_seq)) == next_seq


@given(st.text(min_size=1))
def test_any_other_text_is_an_invalid_token_or_a_cursor(token: str) -> None:
    for decode in (decode_conversation_token, decode_message_token):
        with contextlib.suppress(InvalidPageToken):
            decode(token)
