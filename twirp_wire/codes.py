"""The Twirp error codes and their HTTP statuses: the one table that the edge, the OpenAPI
generator and the SDK read (the Twirp v7 spec, as the reference Go server sends them).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# The HTTP status a server sends with each code, in the spec's order (the OpenAPI description
# lists the codes in this order).
STATUS_BY_CODE: Mapping[str, int] = MappingProxyType(
    {
        "canceled": 408,
        "unknown": 500,
        "invalid_argument": 400,
        "malformed": 400,
        "deadline_exceeded": 408,
        "not_found": 404,
        "bad_route": 404,
        "already_exists": 409,
        "permission_denied": 403,
        "unauthenticated": 401,
        "resource_exhausted": 429,
        "failed_precondition": 412,
        "aborted": 409,
        "out_of_range": 400,
        "unimplemented": 501,
        "internal": 500,
        "unavailable": 503,
        "data_loss": 500,
    }
)

CODES: tuple[str, ...] = tuple(STATUS_BY_CODE)

# The code a client gives an answer that has no Twirp error body (a proxy's page, say), by its
# HTTP status, as the spec's "HTTP errors from intermediaries" asks; any other status is
# `unknown`. It is not the inverse of STATUS_BY_CODE, which is many-to-one (400 stands for three
# codes): a proxy's 400 says nothing about the arguments, so it is `internal`, and a gateway's
# 502 and 504, which no server sends, are `unavailable`.
CODE_BY_INTERMEDIARY_STATUS: Mapping[int, str] = MappingProxyType(
    {
        400: "internal",
        401: "unauthenticated",
        403: "permission_denied",
        404: "bad_route",
        429: "resource_exhausted",
        502: "unavailable",
        503: "unavailable",
        504: "unavailable",
    }
)


def intermediary_code(status: int) -> str:
    """Returns the code of an HTTP `status` answered without a Twirp error body."""
    return CODE_BY_INTERMEDIARY_STATUS.get(status, "unknown")
