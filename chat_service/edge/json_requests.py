"""JSON request bodies read into protobuf messages as the reference Go server (protojson) reads them.

`json_format` alone is laxer than protojson in two ways that matter here: it accepts any JSON
value at the top (`[]`), and it takes a string or a list where a message is expected (iterating
over it and, with unknown fields ignored, leaving the message empty). Both are a wrong type, and
a wrong type is `malformed`. Unlike protojson, a leading UTF-8 byte order mark is skipped (RFC
8259 lets a parser ignore one; some Windows tools write it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import cast

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

BYTE_ORDER_MARK = "\ufeff"
# Messages whose JSON form is not an object of their fields; json_format checks these itself.
_OWN_JSON_FORMS = frozenset(
    f"google.protobuf.{name}"
    for name in (
        *("Any", "Duration", "FieldMask", "ListValue", "Struct", "Timestamp", "Value"),
        *("BoolValue", "BytesValue", "DoubleValue", "FloatValue", "StringValue"),
        *("Int32Value", "Int64Value", "UInt32Value", "UInt64Value"),
    )
)


class MalformedJson(ValueError):
    """The body is not UTF-8 JSON, not an object, or has a value of the wrong type."""


def parse_json_request(body: bytes, message: Message) -> None:
    """Fills `message` from the JSON object in `body`: proto or lowerCamelCase names, unknown
    fields ignored, `null` as the default. Raises MalformedJson."""
    try:
        value = json.loads(
            body.decode("utf-8").removeprefix(BYTE_ORDER_MARK), object_pairs_hook=_unique_keys
        )
        # The upb runtime's descriptors have the API of descriptor.Descriptor.
        _check_message(value, cast(Descriptor, message.DESCRIPTOR))
        json_format.ParseDict(value, message, ignore_unknown_fields=True)
    except Exception as exc:
        # Whatever the input makes them raise, it is the input's fault: json_format raises
        # ParseError, and upb beneath it even SystemError (for a key with a lone surrogate).
        raise MalformedJson(str(exc)) from None


def _unique_keys(pairs: Sequence[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise MalformedJson(f"duplicate key {key!r}")
        out[key] = value
    return out


def _check_message(value: object, descriptor: Descriptor) -> None:
    """Raises MalformedJson unless `value` is an object whose message-typed fields hold
    objects too (or null), all the way down; scalars are left to json_format, and so are the
    well-known types that have JSON forms of their own."""
    if descriptor.full_name in _OWN_JSON_FORMS:
        return
    if not isinstance(value, dict):
        raise MalformedJson(f"{descriptor.full_name} must be a JSON object")
    for field in descriptor.fields:
        for key in {field.name, field.json_name}:
            item = value.get(key)
            if item is not None and field.message_type is not None:
                _check_field(item, field, field.message_type)


def _check_field(item: object, field: FieldDescriptor, message_type: Descriptor) -> None:
    # Lists and maps of the wrong shape, and nulls inside them, json_format refuses itself.
    if message_type.GetOptions().map_entry:
        value_type = message_type.fields_by_name["value"].message_type
        elements = list(item.values()) if isinstance(item, dict) and value_type else []
    elif field.is_repeated:
        value_type = message_type
        elements = item if isinstance(item, list) else []
    else:
        value_type, elements = message_type, [item]
    for element in elements:
        if element is not None and value_type is not None:
            _check_message(element, value_type)
