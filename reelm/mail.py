"""Sending e-mail: over SMTP where a server is configured, else into a folder of .eml files (the demo).

A message is built once (`compose`) and handed to one of two senders with the same interface. The outbox
keeps the demo self-contained: the confirmation link a person needs is in the file, and in the log.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from reelm.settings import Settings

log = logging.getLogger(__name__)

SMTP_TIMEOUT_S = 20.0


class MailSender(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


def compose(settings: Settings, *, to: str, subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain="reelm.invalid")
    message.set_content(text)
    return message


@dataclass(frozen=True)
class SmtpSender:
    """One connection per message: mail here is rare (a confirmation now and then), so no pool."""

    host: str
    port: int
    tls: bool  # smtps: TLS from the first byte; plain smtp upgrades with STARTTLS when the server offers it
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> SmtpSender:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("the SMTP URL must look like smtp://host:port or smtps://host:port")
        tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if tls else 25),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def _send_now(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.tls:
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=SMTP_TIMEOUT_S, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_S)
        with client:
            client.ehlo()
            if not self.tls and client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
            if self.username is not None:
                client.login(self.username, self.password or "")
            client.send_message(message)

    async def send(self, message: EmailMessage) -> None:
        # smtplib blocks; a thread keeps the event loop serving while the server answers.
        await asyncio.to_thread(self._send_now, message)


@dataclass(frozen=True)
class OutboxSender:
    """Writes each message to <folder>/<message id>.eml, for a demo without a mail server."""

    folder: Path

    def _write(self, message: EmailMessage) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = str(message["Message-ID"]).strip("<>").replace("/", "_").replace("@", "_at_")
        path = self.folder / f"{name}.eml"
        path.write_bytes(bytes(message))
        return path

    async def send(self, message: EmailMessage) -> None:
        path = await asyncio.to_thread(self._write, message)
        log.info("no SMTP server configured: mail to %s written to %s", message["To"], path)


def outbox_dir(settings: Settings) -> Path:
    return settings.data_dir / "outbox"


def sender_for(settings: Settings) -> MailSender:
    if settings.smtp_url is not None:
        return SmtpSender.from_url(settings.smtp_url.get_secret_value())
    return OutboxSender(outbox_dir(settings))
