"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, a free port, in this process.

`MailServer` records every message it accepted (envelope and bytes) and can be told to
refuse recipients (`rcpt_reply`), to answer DATA with an error, to be slow, or to drop the
connection right after it took a message in.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    mail_options: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        if "SMTPUTF8" in self.mail_options:  # raw UTF-8 headers: parse them as text
            text = self.content.decode("utf-8")
            parsed = email.message_from_string(text, policy=email.policy.default)
        else:
            parsed = email.message_from_bytes(self.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


class Handler:
    def __init__(
        self,
        *,
        rcpt_reply: Callable[[str], str | None] | None = None,
        data_reply: str | None = None,
        delay: float = 0.0,
        drop_after_data: bool = False,
    ) -> None:
        self.rcpt_reply = rcpt_reply
        self.data_reply = data_reply
        self.delay = delay
        self.drop_after_data = drop_after_data
        self.received: list[Received] = []
        self.lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.rcpt_reply(address) if self.rcpt_reply else None
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        content = envelope.original_content or envelope.content
        with self.lock:  # taken in: from here on the message may have been delivered
            self.received.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    list(envelope.mail_options),
                    bytes(content),
                )
            )
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.drop_after_data:
            server.transport.close()
        return "250 OK: queued"

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.snapshot()
            if len(got) >= count:
                return got
            time.sleep(0.005)
        raise AssertionError(f"the server received {len(self.snapshot())}, not {count}")


def free_port() -> int:
    """A port nothing listens on (also what a test uses for "the server is down")."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def mail_server(handler: Handler, *, smtputf8: bool = False) -> Iterator[int]:
    """Run `handler` on a free loopback port; yields the port."""
    for _ in range(5):
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=smtputf8)
        try:
            controller.start()
        except OSError:  # taken between the probe and the start
            continue
        try:
            yield port
        finally:
            controller.stop()
        return
    raise RuntimeError("no free port for the test mail server")
