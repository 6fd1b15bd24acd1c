"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for tests that send mail."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Inbox:
    """Messages the server accepted, as parsed e-mail, in order of arrival."""

    messages: list[EmailMessage] = field(default_factory=list)

    # aiosmtpd calls this hook by name once a message is in; the client's send returns after it.
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@dataclass
class MailServer:
    url: str
    inbox: Inbox


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield MailServer(url=f"smtp://127.0.0.1:{port}", inbox=inbox)
    finally:
        controller.stop()


LINK = re.compile(r"https?://\S+/settings/email/confirm\?token=(\S+)")


def confirmation_token(message: EmailMessage) -> str:
    """The token of the confirmation link in a message's text."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = LINK.search(body.get_content())
    assert found is not None, body.get_content()
    return found.group(1)
