"""The `chat` console script, run as a process against the real app."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.sse_stream import Pacing
from tests.fakes.uvicorn_thread import free_port

ROOT = Path(__file__).resolve().parents[2]


def _command() -> list[str]:
    # The installed console script when there is one (CI installs the project), else the module.
    script = Path(sys.executable).parent / "chat"
    return [str(script)] if script.exists() else [sys.executable, "-m", "chat_cli"]


@pytest.fixture
def chat(server_url):
    """Runs `chat ARGS` with CHAT_URL set to the app; returns the finished process."""

    def run(*args: str, stdin: str = "", env: dict[str, str] | None = None):
        environment = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "CHAT_URL": server_url,
            **(env or {}),
        }
        environment.pop("CHAT_API_KEY", None)
        return subprocess.run(
            [*_command(), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=environment,
            timeout=60,
            check=False,
        )

    return run


@pytest.fixture
def chat_process(server_url):
    """Starts `chat ARGS` with pipes for stdin, stdout and stderr; returns the Popen."""

    def start(*args: str):
        environment = {**os.environ, "PYTHONPATH": str(ROOT), "CHAT_URL": server_url}
        environment.pop("CHAT_API_KEY", None)
        return subprocess.Popen(
            [*_command(), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )

    return start


def _conversation_id(stdout: str) -> str:
    first = stdout.splitlines()[0]
    assert first.startswith("Conversation "), stdout
    return first.split()[1].rstrip(":")


def test_ask_starts_and_continues_a_conversation_until_end_of_input(chat):
    done = chat("ask", stdin="Plan a weekend in Lisbon\n\nAnd Sunday?\n")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1:] == [
        "assistant: echo: Plan a weekend in Lisbon",
        "assistant: echo: And Sunday?",
    ]
    assert len(_conversation_id(done.stdout)) == 24
    assert "\x1b" not in done.stderr, "no spinner when stderr is not a terminal"


def test_ask_with_an_id_prints_the_history_then_continues(chat):
    cid = _conversation_id(chat("ask", stdin="first question\n").stdout)
    done = chat("ask", cid, stdin="second question\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Conversation {cid}\nTitle:")
    assert "USER · " in done.stdout
    assert "first question" in done.stdout
    assert done.stdout.rstrip().endswith("assistant: echo: second question")


def test_show_prints_roles_and_messages_and_json(chat):
    cid = _conversation_id(chat("ask", stdin="hello there\nmore\n").stdout)
    text = chat("show", cid)
    assert text.returncode == 0, text.stderr
    blocks = text.stdout.strip().split("\n\n")
    assert blocks[0].startswith(f"Conversation {cid}")
    assert [b.splitlines()[0].split(" · ")[0] for b in blocks[1:]] == [
        "USER",
        "ASSISTANT",
        "USER",
        "ASSISTANT",
    ]
    assert [b.splitlines()[1] for b in blocks[1:]] == [
        "hello there",
        "echo: hello there",
        "more",
        "echo: more",
    ]
    as_json = json.loads(chat("show", cid, "--json").stdout)
    assert as_json["id"] == cid
    assert [m["role"] for m in as_json["messages"]] == ["USER", "ASSISTANT", "USER", "ASSISTANT"]


def test_list_prints_a_page_and_the_command_for_the_next(chat):
    ids = [_conversation_id(chat("ask", stdin=f"topic {n}\n").stdout) for n in range(2)]
    page = chat("list", "--page-size", "1")
    assert page.returncode == 0, page.stderr
    header, row, more = page.stdout.splitlines()
    assert header.split() == ["ID", "UPDATED", "(UTC)", "TITLE"]
    assert row.startswith(ids[-1])
    # The hint is part of the listing, on stdout: `chat list | less` shows it too.
    assert more.startswith("more: chat list --page-size 1 --page-token ")
    assert page.stderr == ""
    token = more.split("--page-token ")[1].split()[0]
    second = chat("list", "--page-size", "1", "--page-token", token)
    assert second.stdout.splitlines()[1].startswith(ids[-2])

    listed = json.loads(chat("--json", "list", "--all").stdout)
    listed_ids = [c["id"] for c in listed]
    assert listed_ids.index(ids[1]) < listed_ids.index(ids[0])


def test_a_reader_that_stops_early_ends_the_session_quietly(chat, chat_process):
    # `chat ask ID | head -1`: head exits after the first line; the next turn's reply meets a
    # closed pipe. The CLI stops without a traceback, with the status of a SIGPIPE death.
    cid = _conversation_id(chat("ask", stdin="first question\n").stdout)
    process = chat_process("ask", cid)
    assert process.stdout.readline().startswith(f"Conversation {cid}")
    process.stdout.close()
    process.stdin.write("another question\nand one more\n")
    process.stdin.close()
    with process.stderr:
        stderr = process.stderr.read()
    assert (process.wait(timeout=60), stderr) == (141, "")


def test_ask_json_prints_one_object_per_turn(chat):
    done = chat("ask", "--json", stdin="one\ntwo\n")
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert set(first) == {"conversation_id", "title", "reply"}
    assert second == {"conversation_id": first["conversation_id"], "reply": "echo: two"}


def test_a_failed_turn_is_reported_and_the_session_goes_on(chat):
    done = chat("ask", stdin="x" * 2001 + "\nstill here\n")
    assert done.returncode == 1
    assert "chat: invalid_argument:" in done.stderr
    assert done.stdout.splitlines()[-1] == "assistant: echo: still here"


def test_an_unknown_conversation_exits_1_with_the_twirp_error(chat):
    done = chat("show", "f" * 24)
    assert done.returncode == 1
    assert done.stderr.strip() == "chat: not_found: conversation not found"


def test_an_unreachable_server_is_named(chat):
    url = f"http://127.0.0.1:{free_port()}"
    done = chat("list", "--url", url)
    assert done.returncode == 1
    assert done.stderr.startswith(f"chat: cannot reach {url}: could not connect")


def test_status_prints_the_health(chat):
    done = chat("status")
    expected = "healthy (mongodb ok, redis ok, llm:openai:gpt-test ok)"
    assert (done.returncode, done.stdout.strip()) == (0, expected)


def test_no_command_prints_usage_and_fails(chat):
    done = chat()
    assert done.returncode == 2
    assert "usage: chat" in done.stderr


def test_rename_then_delete_a_conversation(chat):
    cid = _conversation_id(chat("ask", stdin="name me\n").stdout)

    renamed = chat("rename", cid, "Trip to Lisbon")
    assert (renamed.returncode, renamed.stdout) == (0, f"{cid}  Trip to Lisbon\n"), renamed.stderr
    assert json.loads(chat("show", cid, "--json").stdout)["title"] == "Trip to Lisbon"

    deleted = chat("delete", cid)
    assert (deleted.returncode, deleted.stdout) == (0, f"deleted: {cid}\n"), deleted.stderr
    again = chat("delete", cid, "--json")
    assert json.loads(again.stdout) == {"conversation_id": cid, "deleted": False}
    gone = chat("show", cid)
    assert gone.returncode == 1
    assert "not_found" in gone.stderr or "not found" in gone.stderr.lower()


def _read_until(stream, marker: str, *, limit: int = 10_000) -> str:
    seen = ""
    while marker not in seen and len(seen) < limit:
        char = stream.read(1)
        if not char:
            break
        seen += char
    return seen


def test_ask_prints_the_reply_as_it_is_written(chat_process, fake_openai):
    fake_openai.pacing = Pacing(first_token_delay_s=0.0, token_gap_s=0.3)
    process = chat_process("ask")
    process.stdin.write("one two three four five six\n")
    process.stdin.flush()
    seen = _read_until(process.stdout, "assistant: echo:")
    assert seen.startswith("Conversation ")
    # The reply's first words are on the terminal while the model still writes the rest.
    assert not fake_openai.streams[-1].finished.is_set()
    process.stdin.close()
    with process.stdout, process.stderr:
        rest = process.stdout.read()
    assert process.wait(timeout=60) == 0
    assert (seen + rest).endswith("assistant: echo: one two three four five six\n")


def test_ctrl_c_stops_the_turn_keeps_its_text_and_exits_130(chat, chat_process, fake_openai):
    cid = _conversation_id(chat("ask", stdin="first question\n").stdout)
    fake_openai.pacing = Pacing(first_token_delay_s=0.0, token_gap_s=0.3)
    process = chat_process("ask", cid)
    process.stdin.write("one two three four five six seven eight nine ten\n")
    process.stdin.flush()
    shown = _read_until(process.stdout, "assistant: echo: one")
    process.send_signal(signal.SIGINT)
    with process.stdin, process.stdout, process.stderr:
        shown += process.stdout.read()
        stderr = process.stderr.read()
    assert process.wait(timeout=60) == 130
    assert "chat: cancelled" in stderr
    assert "Traceback" not in stderr
    # The CLI waited for the turn's end: the stop is stored, as the terminal shows it.
    messages = json.loads(chat("show", cid, "--json").stdout)["messages"]
    assert len(messages) == 4
    last = messages[-1]
    assert last["finish_reason"] == "cancelled"
    assert shown.splitlines()[-1] == f"assistant: {last['content']}"
    assert last["content"] != "echo: one two three four five six seven eight nine ten"


def test_no_stream_keeps_the_unary_call(chat, fake_openai):
    done = chat("ask", "--no-stream", stdin="whole please\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1] == "assistant: echo: whole please"
    assert not fake_openai.requests[-1].json.get("stream")


def test_models_ask_with_a_model_regenerate_and_edit(chat):
    models = chat("models")
    assert models.returncode == 0, models.stderr
    assert models.stdout.splitlines()[1:] == ["openai:gpt-test  gpt-test  (default)"]
    refused = chat("ask", "--model", "openai:nope", stdin="hi\n")
    assert refused.returncode == 1
    assert "unknown model 'openai:nope'; allowed: openai:gpt-test" in refused.stderr

    started = chat(
        "ask", "--model", "openai:gpt-test", "--instructions", "Be brief.", stdin="Lisbon?\n"
    )
    cid = _conversation_id(started.stdout)
    regenerated = chat("regenerate", cid)
    edited = chat("edit", cid, "Porto?", "--json")
    assert regenerated.stdout == "assistant: echo: Lisbon?\n", regenerated.stderr
    assert json.loads(edited.stdout) == {"conversation_id": cid, "reply": "echo: Porto?"}

    shown = chat("show", cid).stdout
    assert "Model:   openai:gpt-test\nInstructions: Be brief." in shown
    headings = [block.splitlines()[0] for block in shown.strip().split("\n\n")[1:]]
    assert [h.split(" · ", 2)[-1] if "version" in h else h.split(" · ")[0] for h in headings] == [
        "version 1 (replaced)",
        "openai:gpt-test · version 1 (replaced)",
        "openai:gpt-test · version 2 (replaced)",
        "version 3",
        "openai:gpt-test · version 3",
    ]
