"""A local SMTP server for `make run` (telecom/devstack.py): it accepts every message, keeps each
one under `var/mail/` as an `.eml` file and prints a line per message, so the product's real
SMTP path (Django's SMTP backend, `EMAIL_URL`) runs on one machine.

    python -m telecom.mailsink --port 1025 --dir var/mail
"""

from __future__ import annotations

import argparse
import itertools
import signal
import threading
import time
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller


class MailKeeper:
    """An aiosmtpd handler that writes each message it receives to `directory`."""

    def __init__(self, directory: Path, *, quiet: bool = False):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.quiet = quiet
        self._count = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content
        path = self.directory / f"{time.strftime('%Y%m%d-%H%M%S')}-{next(self._count):04d}.eml"
        path.write_bytes(content)
        if not self.quiet:
            subject = message_from_bytes(content, policy=policy.default)["subject"]
            print(
                f"mail: {envelope.mail_from} -> {', '.join(envelope.rcpt_tos)}: {subject} "
                f"({len(content)} bytes, {path})",
                flush=True,
            )
        return "250 Message accepted for delivery"


def mail_sink(directory: Path, *, port: int, quiet: bool = False) -> Controller:
    """A started SMTP server on 127.0.0.1:`port` keeping messages in `directory`."""
    controller = Controller(MailKeeper(directory, quiet=quiet), hostname="127.0.0.1", port=port)
    controller.start()
    return controller


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", type=Path, default=Path("var/mail"))
    options = parser.parse_args()
    controller = mail_sink(options.dir, port=options.port)
    print(f"mail: SMTP on 127.0.0.1:{options.port}, messages kept in {options.dir}", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
