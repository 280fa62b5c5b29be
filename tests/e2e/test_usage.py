"""Usage on every turn, end to end: the responses' totals, each message's calls in Describe,
and GetUsage's report, each owner seeing only its own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chat_service.core import prompts
from tests.fakes.openai_wire import Reply, tool_call_reply

# secured_app prices gpt-test at 1 USD per million input tokens and 2 per million output.
TITLE = Reply("Usage Test", usage=(40, 5))
ANSWER = Reply("Fine, thanks.", usage=(1_000, 500))


def _is_title(request) -> bool:
    first = request["messages"][0]
    return first["role"] == "system" and first["content"].startswith(prompts.TITLE_INSTRUCTION)


@pytest.fixture
def fixed_usage(fake_openai):
    fake_openai.responder = lambda request: TITLE if _is_title(request) else ANSWER


def _usage(app, owner, **body):
    response = app.post("GetUsage", body, owner=owner)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_turn_reports_its_calls_and_describe_shows_them(secured_app, fixed_usage):
    before = _usage(secured_app, "alice")["total"]
    started = secured_app.post("StartConversation", {"message": "how are you?"}, owner="alice")
    assert started.status_code == 200, started.text
    usage = started.json()["usage"]
    assert (usage["provider"], usage["model"], usage["cached"]) == ("openai", "gpt-test", False)
    assert (usage["input_tokens"], usage["output_tokens"]) == ("1040", "505")
    assert usage["cost_usd"] == pytest.approx((1_040 * 1 + 505 * 2) / 1e6)
    assert sorted(c["operation"] for c in usage["calls"]) == ["reply", "title"]

    conversation_id = started.json()["conversation_id"]
    described = secured_app.post(
        "DescribeConversation", {"conversation_id": conversation_id}, owner="alice"
    ).json()
    user, answer = described["conversation"]["messages"]
    assert "usage" not in user  # only assistant messages carry usage
    assert answer["usage"]["input_tokens"] == "1040"
    assert answer["usage"]["cost_usd"] == pytest.approx(usage["cost_usd"])

    continued = secured_app.post(
        "ContinueConversation",
        {"conversation_id": conversation_id, "message": "and now?"},
        owner="alice",
    ).json()
    assert [c["operation"] for c in continued["usage"]["calls"]] == ["reply"]

    after = _usage(secured_app, "alice")
    spent = after["total"]["cost_usd"] - before["cost_usd"]
    assert spent == pytest.approx(usage["cost_usd"] + continued["usage"]["cost_usd"])
    assert int(after["total"]["turns"]) - int(before["turns"]) == 2
    today = datetime.now(UTC).date().isoformat()
    assert after["end_date"] == today
    assert after["start_date"] == today[:8] + "01"
    assert after["days"][-1]["date"] == today
    assert [m["model"] for m in after["models"]] == ["gpt-test"]


def test_every_tool_round_carries_its_own_call(secured_app, fake_openai):
    def respond(request):
        if _is_title(request):
            return TITLE
        if request["messages"][-1]["role"] == "tool":
            return Reply("It is noon.", usage=(400, 10))
        return Reply(tool_calls=tool_call_reply("get_date_time", {}).tool_calls, usage=(300, 20))

    fake_openai.responder = respond
    started = secured_app.post(
        "StartConversation", {"message": "what time is it?"}, owner="alice"
    ).json()
    described = secured_app.post(
        "DescribeConversation", {"conversation_id": started["conversation_id"]}, owner="alice"
    ).json()
    steps = [m for m in described["conversation"]["messages"] if m["role"] == "ASSISTANT"]
    assert [len(m["usage"]["calls"]) for m in steps] == [1, 2]  # the answer carries the title
    assert int(started["usage"]["input_tokens"]) == 300 + 400 + 40


def test_owners_see_only_their_own_usage(secured_app, fixed_usage):
    secured_app.post("StartConversation", {"message": "bob's turn"}, owner="bob")
    alice = _usage(secured_app, "alice")
    bob = _usage(secured_app, "bob")
    assert int(bob["total"]["turns"]) >= 1
    alice_again = _usage(secured_app, "alice")
    assert alice_again["total"] == alice["total"]


@pytest.mark.parametrize(
    ("body", "argument"),
    [
        ({"start_date": "2026-02-30"}, "start_date"),
        ({"end_date": "12/01/2026"}, "end_date"),
        ({"start_date": "2026-12-02", "end_date": "2026-12-01"}, "start_date"),
        ({"start_date": "2024-01-01", "end_date": "2026-01-01"}, "end_date"),
    ],
)
def test_a_bad_period_is_invalid_argument(secured_app, body, argument):
    response = secured_app.post("GetUsage", body, owner="alice")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_argument"
    assert response.json()["meta"] == {"argument": argument}


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_the_sdk_reads_the_usage_report(secured_app, fixed_usage, encoding):
    from chat_client import ChatClient, InvalidArgument

    with ChatClient(secured_app.url, api_key=secured_app.keys["alice"], encoding=encoding) as sdk:
        sdk.start_conversation("count this")
        report = sdk.get_usage()
        assert report.total.turns >= 1
        assert report.total.cost_usd > 0
        assert report.models[0].model == "gpt-test"
        assert report.days[-1].date == report.end_date
        with pytest.raises(InvalidArgument):
            sdk.get_usage(start_date="tomorrow")


def test_an_answer_from_the_response_cache_is_free_and_counted_as_cached(secured_app, fixed_usage):
    before = _usage(secured_app, "alice")["total"]
    message = {"message": "a question asked twice, word for word"}
    first = secured_app.post("StartConversation", message, owner="alice").json()["usage"]
    again = secured_app.post("StartConversation", message, owner="alice").json()["usage"]
    assert first["cached"] is False
    assert again["cached"] is True
    assert (again["input_tokens"], again["output_tokens"], again["cost_usd"]) == ("0", "0", 0)
    assert again["model"] == "gpt-test"
    after = _usage(secured_app, "alice")["total"]
    assert int(after["cached_turns"]) - int(before["cached_turns"]) == 1
    assert after["cost_usd"] - before["cost_usd"] == pytest.approx(first["cost_usd"])
