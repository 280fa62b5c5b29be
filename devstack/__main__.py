"""`python -m devstack run|servers`: the development stack's command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from devstack.process import ServerStartError
from devstack.run import run, servers


def main(argv: Sequence[str] | None = None) -> int:
    """Parses `argv` and runs the command; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser(
        "run", help="start the servers not configured, apply migrations, run the app (uvicorn)"
    )
    run_parser.add_argument(
        "--root", type=Path, default=Path("."), help="repo root: .env and var/ (default: .)"
    )
    servers_parser = commands.add_parser(
        "servers", help="start Redis and secantusd-py, print export lines, wait for Ctrl-C"
    )
    servers_parser.add_argument(
        "--data-dir", type=Path, default=Path("var"), help="data root (default: var)"
    )
    servers_parser.add_argument(
        "--redis-cluster",
        action="store_true",
        help="a six-node Redis Cluster (three masters, three replicas) instead of one Redis",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return run(root=args.root, environ=os.environ)
        return servers(data_dir=args.data_dir, redis_cluster=args.redis_cluster)
    except (ServerStartError, OSError, ValueError) as exc:
        print(f"devstack: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
