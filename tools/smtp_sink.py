"""A local SMTP sink for the dev stack: accepts every message and keeps it as a .eml file.

`serve` runs the server (aiosmtpd) on 127.0.0.1:1025; `list` prints what arrived, newest last.
Only for the local stack: it relays nothing anywhere.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class MaildirHandler:
    """Writes each accepted message to <directory>/<time>-<id>.eml."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls this hook by name
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        (self.directory / name).write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def serve(directory: Path, port: int) -> None:
    controller = Controller(MaildirHandler(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"smtp sink: listening on 127.0.0.1:{port}, keeping messages in {directory}", flush=True)
    try:
        threading.Event().wait()
    finally:
        controller.stop()


def list_messages(directory: Path) -> list[str]:
    lines = []
    for path in sorted(directory.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        lines.append(f"{message['Date']}  {message['From']} -> {message['To']}  {message['Subject']}  ({path.name})")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="smtp_sink", description=__doc__)
    parser.add_argument("command", choices=("serve", "list"))
    parser.add_argument("--dir", type=Path, default=Path(".local/mail"))
    parser.add_argument("--port", type=int, default=1025)
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.dir, args.port)
    else:
        print("\n".join(list_messages(args.dir)) or "no messages yet")


if __name__ == "__main__":
    main()
