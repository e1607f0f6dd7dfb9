"""python -m devstack up | demo  (see README: "Run it on your machine")."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from pathlib import Path

import httpx

from devstack.app import Devstack, DevstackOptions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start everything, print the endpoints, run until interrupted")
    demo = commands.add_parser("demo", help="start everything, play a customer's orders, print what happened")
    for command in (up, demo):
        command.add_argument("--wix-url", help="use this Wix API base URL instead of the Wix sandbox")
        command.add_argument("--pos-url", help="use this POS API base URL instead of the Square sandbox")
        command.add_argument("--wix-app-id", default="devstack-wix-app")
        command.add_argument("--wix-app-secret", default="devstack-wix-secret")
        command.add_argument("--wix-public-key", type=Path, help="PEM file of the Wix webhook public key")
        command.add_argument("--port", type=int, default=0, help="gateway port (default: any free port)")
        command.add_argument("--clover-port", type=int, default=0, help="Clover sandbox port (default: any free port)")
        command.add_argument(
            "--log-level",
            default="WARNING" if command is demo else "INFO",
            choices=["DEBUG", "INFO", "WARNING", "ERROR"],
            help="the functions' log level",
        )
    args = parser.parse_args(argv)

    options = DevstackOptions(
        wix_url=args.wix_url,
        pos_url=args.pos_url,
        wix_app_id=args.wix_app_id,
        wix_app_secret=args.wix_app_secret,
        wix_public_key_pem=args.wix_public_key.read_text() if args.wix_public_key else None,
        gateway_port=args.port,
        clover_port=args.clover_port,
        log_level=args.log_level,
    )
    if args.command == "demo":
        from devstack.demo import run_demo

        return int(run_demo(options))
    with Devstack(options) as devstack:
        print(json.dumps(devstack.write_endpoints(), indent=2), flush=True)
        if devstack.wix is not None and devstack.square is not None:  # a restaurant to play with (playground.py)
            from devstack.playground import guide, open_restaurant

            with httpx.Client(timeout=30) as http:
                restaurant = open_restaurant(devstack, http)
            print(guide(restaurant["pageUrl"], restaurant["import"]), flush=True)
        print(f"devstack up in {devstack.timings['startup_s']:.1f} s; Ctrl-C to stop", file=sys.stderr, flush=True)
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        with contextlib.suppress(KeyboardInterrupt):
            stopped.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
