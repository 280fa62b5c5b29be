"""The chat page, its static files and the API docs over plain HTTP (no browser needed)."""

from __future__ import annotations

import json

from chat_service.edge.web_pages import OPENAPI_PATH


def test_the_chat_page_names_the_twirp_prefix(http, server_url):
    page = http.get(server_url + "/", timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<meta name="twirp-prefix" content="/twirp">' in page.text
    script = http.get(server_url + "/static/chat.js", timeout=10)
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]


def test_the_docs_page_and_its_assets_are_served_locally(http, server_url):
    page = http.get(server_url + "/docs", timeout=10)
    assert page.status_code == 200
    assert "http" not in page.text.replace(server_url, ""), "no CDN links"
    for asset in (
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
        "/static/docs.js",
    ):
        assert http.get(server_url + asset, timeout=10).status_code == 200, asset
    assert http.get(server_url + "/docs/", timeout=10, allow_redirects=False).status_code == 308


def test_the_served_spec_is_the_generated_file(http, server_url):
    served = http.get(server_url + "/docs/openapi.json", timeout=10)
    assert served.status_code == 200
    assert served.json() == json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))


def test_twirp_routes_still_answer_next_to_the_pages(rpc):
    response = rpc("ListConversations", {"page_size": 1})
    assert response.status_code == 200
    assert set(response.json()) == {"conversations", "next_page_token"}


def test_the_browser_s_icon_request_is_a_plain_not_found(http, server_url):
    for method in ("GET", "HEAD"):
        response = http.request(method, server_url + "/favicon.ico", timeout=10)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/plain")
    assert http.get(server_url + "/favicon.ico", timeout=10).text == "Not Found"


def test_the_pages_and_the_icon_answer_without_an_api_key(secured_app, http):
    # Browsers fetch the icon without the key the page asks for: not a 401 either.
    for path in ("/", "/docs", "/docs/openapi.json"):
        assert http.get(secured_app.url + path, timeout=10).status_code == 200, path
    assert http.get(secured_app.url + "/favicon.ico", timeout=10).status_code == 404
