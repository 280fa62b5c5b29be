"""`chat`: the command-line client of the chat service (console script `chat`)."""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import sys
from collections.abc import Sequence

from chat_cli import render
from chat_cli.ask import Ask, prompted_lines
from chat_client import (
    ChatClient,
    ChatClientError,
    ConnectionFailed,
    Conversation,
    SessionMetadata,
    TimedOut,
    Unauthenticated,
)
from devstack.stack_record import RUN, live_record

DEFAULT_URL = "http://127.0.0.1:8080"
# The status of a process killed by SIGPIPE, which is what `chat ... | head` would get from a C
# program; Python ignores SIGPIPE and raises BrokenPipeError instead.
BROKEN_PIPE_STATUS = 128 + signal.SIGPIPE
EPILOG = f"""\
environment: CHAT_URL (server; default: the one `make run` is serving, else {DEFAULT_URL}),
  CHAT_API_KEY (API key), CHAT_TIMEOUT_S.
examples:
  chat ask                                  start a conversation; type messages, Ctrl-D ends
                                            (replies print as they come; Ctrl-C stops one)
  chat ask --no-stream                      the same, each reply printed whole
  chat ask 65f1c2d3e4b5a69788990011         continue a conversation
  chat ask --model anthropic:claude-haiku-4-5 --instructions "Answer in French."
  chat models                               the models a conversation may choose
  chat regenerate 65f1c2d3e4b5a69788990011  answer the last message again
  chat edit 65f1c2d3e4b5a69788990011 "What about Porto?"   replace the last message
  chat list --page-size 10                  the newest conversations
  chat show 65f1c2d3e4b5a69788990011 --json
  chat rename 65f1c2d3e4b5a69788990011 "Trip to Lisbon"
  chat delete 65f1c2d3e4b5a69788990011
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command in `argv` (default: sys.argv); returns the exit status."""
    args = _parser().parse_args(argv)
    url = getattr(args, "url", None) or os.environ.get("CHAT_URL") or default_url()
    api_key = getattr(args, "api_key", None) or os.environ.get("CHAT_API_KEY") or None
    timeout_s = getattr(args, "timeout_s", None) or float(os.environ.get("CHAT_TIMEOUT_S", 120))
    as_json = bool(getattr(args, "json", False))
    try:
        with ChatClient(url, api_key=api_key, timeout_s=timeout_s) as client:
            return int(args.run(client, args, as_json))
    except Unauthenticated as exc:
        print(f"chat: {exc} (set CHAT_API_KEY or pass --api-key)", file=sys.stderr)
    except ConnectionFailed as exc:
        print(f"chat: cannot reach {url}: {exc}", file=sys.stderr)
    except TimedOut:
        print(f"chat: {url} did not answer within {timeout_s:g} s", file=sys.stderr)
    except ChatClientError as exc:
        print(f"chat: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of stdout is gone (`| head`): stop quietly. Later writes, including the
        # interpreter's final flush, go to /dev/null instead of raising again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return BROKEN_PIPE_STATUS
    return 1


def default_url() -> str:
    """Returns the URL of the app a running `make run` serves (from ./var/stack/), else
    DEFAULT_URL."""
    record = live_record(kinds=(RUN,))
    return record.app_url if record is not None and record.app_url else DEFAULT_URL


def _ask(client: ChatClient, args: argparse.Namespace, as_json: bool) -> int:
    interactive = sys.stdin.isatty()
    if interactive and not as_json:
        print("Type a message and press Enter; Ctrl-D ends.", file=sys.stderr)
    ask = Ask(
        client,
        out=sys.stdout,
        err=sys.stderr,
        session=SessionMetadata("cli", user_id=_user()),
        as_json=as_json,
        show_progress=sys.stderr.isatty(),
        stream=not args.no_stream,
        model=args.model,
        instructions=args.instructions,
    )
    lines = prompted_lines(prompt="you> ") if interactive else iter(sys.stdin)
    return ask.run(lines, conversation_id=args.conversation_id)


def _list(client: ChatClient, args: argparse.Namespace, as_json: bool) -> int:
    if args.all:
        conversations = tuple(client.iter_conversations(page_size=args.page_size))
        print(render.as_json(conversations) if as_json else _table(conversations))
        return 0
    page = client.list_conversations(page_size=args.page_size, page_token=args.page_token)
    print(render.as_json(page) if as_json else _table(page.conversations))
    if page.next_page_token and not as_json:
        more = f"chat list --page-size {args.page_size} --page-token {page.next_page_token}"
        print(f"more: {more}")
    return 0


def _table(conversations: Sequence[Conversation]) -> str:
    return render.conversation_table(conversations) if conversations else "No conversations found."


def _show(client: ChatClient, args: argparse.Namespace, as_json: bool) -> int:
    conversation = client.get_conversation(args.conversation_id)
    print(render.as_json(conversation) if as_json else render.conversation_text(conversation))
    return 0


def _models(client: ChatClient, args: argparse.Namespace, as_json: bool) -> int:
    models = client.list_models()
    print(render.as_json(models) if as_json else render.model_table(models))
    return 0


def _regenerate(client: ChatClient, args: argparse.Namespace, as_json: bool) -> int:
    reply = client.regenerate_reply(args.conversation_id)
    return _print_reply(args.conversation_id, reply.reply, as_json)


def _edit(client: ChatClient, args: argparse.Namespace, as_json: bool) -> int:
    reply = client.edit_last_message(args.conversation_id, args.message)
    return _print_reply(args.conversation_id, reply.reply, as_json)


def _print_reply(conversation_id: str, reply: str, as_json: bool) -> int:
    if as_json:
        print(render.as_json({"conversation_id": conversation_id, "reply": reply}))
    else:
        print(f"assistant: {reply}")
    return 0


def _rename(client: ChatClient, args: argparse.Namespace, as_json: bool) -> int:
    conversation = client.update_conversation(args.conversation_id, title=args.title)
    print(render.as_json(conversation) if as_json else f"{conversation.id}  {conversation.title}")
    return 0


def _delete(client: ChatClient, args: argparse.Namespace, as_json: bool) -> int:
    deleted = client.delete_conversation(args.conversation_id)
    if as_json:
        print(render.as_json({"conversation_id": args.conversation_id, "deleted": deleted}))
    else:
        print(f"{'deleted' if deleted else 'already deleted'}: {args.conversation_id}")
    return 0


def _status(client: ChatClient, args: argparse.Namespace, as_json: bool) -> int:
    health = client.health()
    print(render.as_json(health) if as_json else render.health_text(health))
    return 0 if health.status in ("healthy", "degraded") else 1


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def _parser() -> argparse.ArgumentParser:
    # Options are accepted before and after the command (`chat --json list`, `chat list --json`).
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--url", help="server URL (env CHAT_URL; default: see below)")
    common.add_argument("--api-key", help="API key, sent as a Bearer token (env CHAT_API_KEY)")
    common.add_argument("--timeout-s", type=float, help="seconds to wait per request (120)")
    common.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser = argparse.ArgumentParser(
        prog="chat",
        description="Talk to the chat service.",
        parents=[common],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    ask = commands.add_parser("ask", parents=[common], help="chat interactively (Ctrl-D ends)")
    ask.add_argument("conversation_id", nargs="?", help="continue this conversation")
    ask.add_argument(
        "--no-stream",
        action="store_true",
        help="wait for each whole reply (one unary call) instead of printing it as it comes",
    )
    ask.add_argument("--model", default="", help="a new conversation's model (see `chat models`)")
    ask.add_argument(
        "--instructions", default="", help="a new conversation's standing instructions"
    )
    ask.set_defaults(run=_ask)
    models = commands.add_parser("models", parents=[common], help="list the models to choose from")
    models.set_defaults(run=_models)
    regenerate = commands.add_parser(
        "regenerate", parents=[common], help="answer a conversation's last message again"
    )
    regenerate.add_argument("conversation_id")
    regenerate.set_defaults(run=_regenerate)
    edit = commands.add_parser(
        "edit", parents=[common], help="replace a conversation's last message and answer it"
    )
    edit.add_argument("conversation_id")
    edit.add_argument("message", help="the new text")
    edit.set_defaults(run=_edit)
    listing = commands.add_parser("list", parents=[common], help="list conversations, newest first")
    listing.add_argument("--page-size", type=int, default=20, help="rows per page (20)")
    listing.add_argument("--page-token", default="", help="the token printed after a page")
    listing.add_argument("--all", action="store_true", help="list every page")
    listing.set_defaults(run=_list)
    show = commands.add_parser("show", parents=[common], help="print a conversation")
    show.add_argument("conversation_id")
    show.set_defaults(run=_show)
    rename = commands.add_parser("rename", parents=[common], help="set a conversation's title")
    rename.add_argument("conversation_id")
    rename.add_argument("title")
    rename.set_defaults(run=_rename)
    delete = commands.add_parser(
        "delete", parents=[common], help="delete a conversation and everything stored for it"
    )
    delete.add_argument("conversation_id")
    delete.set_defaults(run=_delete)
    status = commands.add_parser("status", parents=[common], help="print the service's health")
    status.set_defaults(run=_status)
    return parser
