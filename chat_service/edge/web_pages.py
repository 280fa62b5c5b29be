"""The browser-facing routes: the chat page at `/` and the API documentation at `/docs`.

Everything is served from the package (no CDN): the page's HTML, CSS and JavaScript from
`chat_service/edge/web/`, Swagger UI from the `swagger-ui-bundle` package, and the OpenAPI
description generated from the proto (`gen/acai/chat/chat.openapi.json`).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

import gen.acai.chat.chat_pb2

WEB_DIR = Path(__file__).parent / "web"
OPENAPI_PATH = Path(gen.acai.chat.chat_pb2.__file__).parent / "chat.openapi.json"
_GENERATED_PREFIX = "/twirp"  # the prefix codegen/protoc_gen_openapi.py writes

# Served without an API key: the pages ask for the key and send it with each call. Browsers
# ask for /favicon.ico by themselves, without a key.
PUBLIC_PATHS = ("/", "/docs", "/docs/", "/docs/openapi.json", "/favicon.ico")
PUBLIC_PREFIXES = ("/static/", "/docs/assets/")
# The pages load only their own files and call only this origin (Swagger UI's stylesheet
# draws its icons from data: URLs). A browser test checks that nothing is refused.
PAGE_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
_PAGE_HEADERS = {"Content-Security-Policy": PAGE_CONTENT_SECURITY_POLICY}


def openapi_document(*, twirp_prefix: str) -> dict[str, Any]:
    """Returns the generated OpenAPI description with its Twirp paths under `twirp_prefix`
    (the stream paths, under /stream, stay where they are)."""
    document: dict[str, Any] = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    document["paths"] = {
        (
            twirp_prefix + path.removeprefix(_GENERATED_PREFIX)
            if path.startswith(_GENERATED_PREFIX + "/")
            else path
        ): item
        for path, item in document["paths"].items()
    }
    return document


def web_routes(*, twirp_prefix: str) -> list[BaseRoute]:
    """Returns the routes of the chat page and the API docs (and a plain 404 for the icon
    browsers ask for); the page calls the Twirp API under `twirp_prefix`. Files are read
    once, here."""
    index = (WEB_DIR / "index.html").read_text(encoding="utf-8")
    index = index.replace("{{TWIRP_PREFIX}}", html.escape(twirp_prefix, quote=True))
    docs = (WEB_DIR / "docs.html").read_text(encoding="utf-8")
    spec = openapi_document(twirp_prefix=twirp_prefix)

    async def chat_page(request: Request) -> HTMLResponse:
        return HTMLResponse(index, headers=_PAGE_HEADERS)

    async def docs_page(request: Request) -> HTMLResponse:
        return HTMLResponse(docs, headers=_PAGE_HEADERS)

    async def docs_slash(request: Request) -> RedirectResponse:
        return RedirectResponse("/docs", status_code=308)

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(spec)

    async def no_icon(request: Request) -> PlainTextResponse:
        # There is no icon; without this route the Twirp edge would answer `bad_route`.
        return PlainTextResponse("Not Found", status_code=404)

    return [
        Route("/", chat_page, methods=["GET", "HEAD"]),
        Mount("/static", app=StaticFiles(directory=WEB_DIR), name="static"),
        Route("/docs", docs_page, methods=["GET", "HEAD"]),
        Route("/docs/", docs_slash, methods=["GET", "HEAD"]),
        Route("/docs/openapi.json", openapi, methods=["GET", "HEAD"]),
        Mount("/docs/assets", app=StaticFiles(directory=str(swagger_ui_path)), name="docs-assets"),
        Route("/favicon.ico", no_icon, methods=["GET", "HEAD"]),
    ]
