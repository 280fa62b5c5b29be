"""protoc plugin: emits `<name>.openapi.json`, an OpenAPI 3.0 description of the Twirp JSON API.

protoc runs it as `protoc-gen-openapi`: a CodeGeneratorRequest on stdin, a
CodeGeneratorResponse on stdout. Everything comes from the descriptors: one POST path per
method, one schema per message and enum, descriptions from the proto comments, and the error
responses of each method from the Twirp codes its comments (and the file's header) name.
JSON follows Twirp's (protobuf's canonical) mapping: proto field names, int64 as strings,
enums by name, Timestamps as RFC 3339 strings.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from google.protobuf.compiler import plugin_pb2
from google.protobuf.descriptor_pb2 import (
    DescriptorProto,
    EnumDescriptorProto,
    FieldDescriptorProto,
    FileDescriptorProto,
)

from twirp_wire.codes import STATUS_BY_CODE

PREFIX = "/twirp"  # the server's default TWIRP_PREFIX; the app rewrites it when configured
_CODE_WORDS = re.compile(r"\b(" + "|".join(STATUS_BY_CODE) + r")\b")

F = FieldDescriptorProto
_SCALARS: dict[int, dict[str, Any]] = {
    F.TYPE_DOUBLE: {"type": "number", "format": "double"},
    F.TYPE_FLOAT: {"type": "number", "format": "float"},
    F.TYPE_INT32: {"type": "integer", "format": "int32"},
    F.TYPE_SINT32: {"type": "integer", "format": "int32"},
    F.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    F.TYPE_UINT32: {"type": "integer", "format": "int64", "minimum": 0},
    F.TYPE_FIXED32: {"type": "integer", "format": "int64", "minimum": 0},
    F.TYPE_INT64: {"type": "string", "format": "int64"},
    F.TYPE_SINT64: {"type": "string", "format": "int64"},
    F.TYPE_SFIXED64: {"type": "string", "format": "int64"},
    F.TYPE_UINT64: {"type": "string", "format": "uint64"},
    F.TYPE_FIXED64: {"type": "string", "format": "uint64"},
    F.TYPE_BOOL: {"type": "boolean"},
    F.TYPE_STRING: {"type": "string"},
    F.TYPE_BYTES: {"type": "string", "format": "byte"},
}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    ".google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    ".google.protobuf.Duration": {"type": "string", "example": "1.5s"},
    ".google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    ".google.protobuf.Value": {},
    ".google.protobuf.Empty": {"type": "object"},
}
_TWIRP_ERROR = {
    "type": "object",
    "description": "A Twirp error: always JSON, whatever the request's content type.",
    "required": ["code", "msg"],
    "properties": {
        "code": {"type": "string", "enum": list(STATUS_BY_CODE)},
        "msg": {"type": "string"},
        "meta": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": 'Present only when not empty, e.g. {"argument": "message"}.',
        },
    },
}
_STREAM_TAGS = [
    {
        "name": "Streams",
        "description": "Turns as Server-Sent Events: start, resume, and CancelTurn to stop.",
    }
]
_SECURITY = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API key."},
    "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}


class Comments:
    """The comments of one .proto file, by descriptor path (see SourceCodeInfo)."""

    def __init__(self, file: FileDescriptorProto) -> None:
        self._by_path: dict[tuple[int, ...], str] = {}
        for location in file.source_code_info.location:
            text = (location.leading_comments or location.trailing_comments).strip()
            self._by_path[tuple(location.path)] = _markdown(_unwrap(text))
        # The file's header is the comment above `syntax` (path 12), or one detached from it.
        detached = [
            _markdown(_unwrap(c.strip()))
            for location in file.source_code_info.location
            if tuple(location.path) == (12,)
            for c in location.leading_detached_comments
        ]
        self.header = "\n\n".join([*detached, self.at(12)]).strip()

    def at(self, *path: int) -> str:
        return self._by_path.get(path, "")


def _unwrap(text: str) -> str:
    """Joins wrapped comment lines into paragraphs; keeps list items on their own lines."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in block.splitlines()]
        joined = ""
        for line in lines:
            starts_item = line.startswith(("- ", "* "))
            joined = f"{joined}\n{line}" if joined and starts_item else f"{joined} {line}".strip()
        paragraphs.append(joined)
    return "\n\n".join(p for p in paragraphs if p)


def _markdown(text: str) -> str:
    """Escapes "<" so CommonMark shows `<Method>` instead of dropping it as an HTML tag."""
    return text.replace("<", "\\<")


def _schema_name(full_name: str, package: str) -> str:
    return full_name.lstrip(".").removeprefix(f"{package}.")


def _field_schema(field: FieldDescriptorProto, package: str) -> dict[str, Any]:
    if field.type_name in _WELL_KNOWN:
        schema = dict(_WELL_KNOWN[field.type_name])
    elif field.type in (F.TYPE_MESSAGE, F.TYPE_ENUM):
        schema = {"$ref": f"#/components/schemas/{_schema_name(field.type_name, package)}"}
    else:
        schema = dict(_SCALARS[field.type])
    if field.label == F.LABEL_REPEATED:
        return {"type": "array", "items": schema}
    return schema


def _message_schemas(
    message: DescriptorProto, prefix: str, path: tuple[int, ...], comments: Comments, package: str
) -> Iterable[tuple[str, dict[str, Any]]]:
    name = f"{prefix}{message.name}"
    maps = {
        f".{package}.{name}.{nested.name}": nested
        for nested in message.nested_type
        if nested.options.map_entry
    }
    properties: dict[str, Any] = {}
    for index, field in enumerate(message.field):
        schema: dict[str, Any]
        if field.type_name in maps:
            value = next(f for f in maps[field.type_name].field if f.number == 2)
            schema = {"type": "object", "additionalProperties": _field_schema(value, package)}
        else:
            schema = _field_schema(field, package)
        description = comments.at(*path, 2, index)
        if description:
            # OpenAPI 3.0 ignores siblings of $ref: wrap it so the description shows.
            schema = (
                {"allOf": [schema], "description": description}
                if "$ref" in schema
                else {**schema, "description": description}
            )
        properties[field.name] = schema
    message_schema: dict[str, Any] = {"type": "object", "properties": properties}
    if comments.at(*path):
        message_schema["description"] = comments.at(*path)
    yield name, message_schema
    for index, nested in enumerate(message.nested_type):
        if not nested.options.map_entry:
            yield from _message_schemas(nested, f"{name}.", (*path, 3, index), comments, package)
    for index, enum in enumerate(message.enum_type):
        yield _enum_schema(enum, f"{name}.", (*path, 4, index), comments)


def _enum_schema(
    enum: EnumDescriptorProto, prefix: str, path: tuple[int, ...], comments: Comments
) -> tuple[str, dict[str, Any]]:
    schema: dict[str, Any] = {"type": "string", "enum": [value.name for value in enum.value]}
    if comments.at(*path):
        schema["description"] = comments.at(*path)
    return f"{prefix}{enum.name}", schema


def _responses(output_ref: str, codes: Iterable[str]) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {
            "description": "OK",
            "content": {
                "application/json": {"schema": {"$ref": output_ref}},
                "application/protobuf": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    }
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(STATUS_BY_CODE[code], []).append(code)
    for status, names in sorted(by_status.items()):
        responses[str(status)] = {
            "description": "Twirp error: " + ", ".join(names),
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/TwirpError"}}
            },
        }
    return responses


def _codes(*texts: str) -> list[str]:
    found = {code for text in texts for code in _CODE_WORDS.findall(text)}
    return [code for code in STATUS_BY_CODE if code in found]


STREAM_PREFIX = "/stream"
_STREAM_ERRORS = (
    "Twirp errors as the unary method's, before the turn starts (a refusal never opens the "
    "stream); resource_exhausted also when the caller has MAX_STREAMS_PER_OWNER streams open."
)


def _event_stream(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {
            "X-Turn-Id": {"schema": {"type": "string"}, "description": "The turn's id."},
            "Cache-Control": {"schema": {"type": "string", "enum": ["no-cache"]}},
        },
        "content": {
            "text/event-stream": {
                "schema": {"$ref": "#/components/schemas/TurnEvent"},
                "example": 'id: 3\nevent: delta\ndata: {"seq": "3", "turnId": "…", '
                '"delta": {"text": "Hello"}}\n\n',
            }
        },
    }


def _stream_paths(file: FileDescriptorProto, comments: Comments) -> dict[str, Any]:
    """Returns the stream endpoints: one per method whose response a TurnCompleted event
    carries, and the resume of a turn. Empty when the file has no TurnEvent."""
    package = file.package
    by_name = {m.name: (index, m) for index, m in enumerate(file.message_type)}
    if "TurnEvent" not in by_name or "TurnCompleted" not in by_name:
        return {}
    event_index, event = by_name["TurnEvent"]
    completed = {f.type_name for f in by_name["TurnCompleted"][1].field}
    kinds = "\n".join(
        f"- `{f.name}`: {comments.at(4, by_name[_schema_name(f.type_name, package)][0]) or ''}"
        for f in event.field
        if f.HasField("oneof_index") and _schema_name(f.type_name, package) in by_name
    )
    about = comments.at(4, event_index)
    paths: dict[str, Any] = {}
    for s_index, service in enumerate(file.service):
        full_name = f"{package}.{service.name}" if package else service.name
        for m_index, method in enumerate(service.method):
            if method.output_type not in completed:
                continue
            input_ref = f"#/components/schemas/{_schema_name(method.input_type, package)}"
            codes = _codes(comments.at(6, s_index, 2, m_index), comments.header, _STREAM_ERRORS)
            responses = _responses("#/components/schemas/TurnEvent", codes)
            responses["200"] = _event_stream(
                f"The turn's events (Server-Sent Events), the first `started`, the last its "
                f"terminal event; a `: keep-alive` comment while idle. Events:\n\n{kinds}"
            )
            paths[f"{STREAM_PREFIX}/{full_name}/{method.name}"] = {
                "post": {
                    "tags": ["Streams"],
                    "operationId": f"Stream{method.name}",
                    "summary": f"{method.name} as a stream of the turn's events",
                    "description": f"{about}\n\n{_STREAM_ERRORS}",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": input_ref}},
                            "application/protobuf": {
                                "schema": {"type": "string", "format": "binary"}
                            },
                        },
                    },
                    "responses": responses,
                }
            }
    resume = _responses("#/components/schemas/TurnEvent", ["invalid_argument", "not_found"])
    resume["200"] = _event_stream(
        "The events after the given one, then the live ones, each once and in order, to "
        "the terminal event (after the turn's copy expired: its terminal event alone)."
    )
    paths[f"{STREAM_PREFIX}/turns/{{turn_id}}"] = {
        "get": {
            "tags": ["Streams"],
            "operationId": "ResumeTurn",
            "summary": "Resumes a streamed turn after an event, on any worker",
            "description": "Owner-scoped: another owner's turn, like an unknown one, is "
            "not_found. invalid_argument: Last-Event-ID or after is not a non-negative integer.",
            "parameters": [
                {"name": "turn_id", "in": "path", "required": True, "schema": {"type": "string"}},
                {
                    "name": "Last-Event-ID",
                    "in": "header",
                    "schema": {"type": "integer", "minimum": 0},
                    "description": "Resume after this event (wins over `after`).",
                },
                {
                    "name": "after",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 0},
                    "description": "Resume after this event; 0 or absent: from the start.",
                },
            ],
            "responses": resume,
        }
    }
    return paths


def document(file: FileDescriptorProto) -> dict[str, Any]:
    """Returns the OpenAPI document of the services of `file`."""
    comments = Comments(file)
    package = file.package
    schemas: dict[str, Any] = {}
    for index, message in enumerate(file.message_type):
        schemas.update(_message_schemas(message, "", (4, index), comments, package))
    for index, enum in enumerate(file.enum_type):
        name, schema = _enum_schema(enum, "", (5, index), comments)
        schemas[name] = schema
    schemas["TwirpError"] = _TWIRP_ERROR
    paths: dict[str, Any] = {}
    tags = []
    for s_index, service in enumerate(file.service):
        full_name = f"{package}.{service.name}" if package else service.name
        tags.append({"name": service.name, "description": comments.at(6, s_index)})
        for m_index, method in enumerate(service.method):
            text = comments.at(6, s_index, 2, m_index)
            input_ref = f"#/components/schemas/{_schema_name(method.input_type, package)}"
            output_ref = f"#/components/schemas/{_schema_name(method.output_type, package)}"
            paths[f"{PREFIX}/{full_name}/{method.name}"] = {
                "post": {
                    "tags": [service.name],
                    "operationId": method.name,
                    "summary": text.split(". ")[0].split("\n")[0].rstrip("."),
                    "description": text,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": input_ref}},
                            "application/protobuf": {
                                "schema": {"type": "string", "format": "binary"}
                            },
                        },
                    },
                    "responses": _responses(output_ref, _codes(text, comments.header)),
                }
            }
    paths.update(_stream_paths(file, comments))
    title = ", ".join(f"{package}.{s.name}" for s in file.service)
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": package, "description": comments.header},
        "servers": [{"url": "/"}],
        "tags": [*tags, *_STREAM_TAGS] if "TurnEvent" in schemas else tags,
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": _SECURITY},
        # No key at all is allowed too: a server without configured keys runs open.
        "security": [{}, {"bearerAuth": []}, {"apiKeyHeader": []}],
    }


def generate(request: plugin_pb2.CodeGeneratorRequest) -> plugin_pb2.CodeGeneratorResponse:
    """Returns one `<name>.openapi.json` for each requested .proto file that has services."""
    response = plugin_pb2.CodeGeneratorResponse()
    response.supported_features = plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    files = {f.name: f for f in request.proto_file}
    for name in request.file_to_generate:
        file = files[name]
        if not file.service:
            continue
        path = PurePosixPath(name)
        out = response.file.add()
        out.name = str(path.with_name(f"{path.stem}.openapi.json"))
        out.content = json.dumps(document(file), indent=2, ensure_ascii=False) + "\n"
    return response


def main() -> None:
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    sys.stdout.buffer.write(generate(request).SerializeToString())


if __name__ == "__main__":
    main()
