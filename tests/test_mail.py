"""Outgoing mail: over SMTP to a real server on 127.0.0.1, or into the outbox folder without one."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from pydantic import SecretStr

from reelm import mail
from tests.conftest import make_settings
from tests.mailserver import MailServer, mail_server

__all__ = ["mail_server"]  # the fixture, used by name


async def test_without_a_server_mail_goes_to_the_outbox(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    message = mail.compose(settings, to="ana@example.org", subject="Hello", text="Open https://x/y\n")
    sender = mail.sender_for(settings)
    assert isinstance(sender, mail.OutboxSender)
    await sender.send(message)
    (written,) = mail.outbox_dir(settings).glob("*.eml")
    parsed = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "ana@example.org"
    assert parsed["From"] == settings.mail_from
    assert "Open https://x/y" in parsed.get_content()


async def test_with_a_server_mail_goes_over_smtp(tmp_path: Path, mail_server: MailServer) -> None:
    settings = make_settings(tmp_path / "data", smtp_url=SecretStr(mail_server.url))
    await mail.sender_for(settings).send(
        mail.compose(settings, to="bo@example.org", subject="Hi", text="ünïcode ✓")
    )
    (received,) = mail_server.inbox.to("bo@example.org")
    assert received["Subject"] == "Hi"
    assert received.get_content().strip() == "ünïcode ✓"
    assert not mail.outbox_dir(settings).exists()


@pytest.mark.parametrize("url", ["http://mail.example.org", "smtp://", "mail.example.org:25"])
def test_a_malformed_smtp_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="SMTP URL"):
        mail.SmtpSender.from_url(url)


def test_the_smtp_url_gives_host_port_tls_and_login() -> None:
    sender = mail.SmtpSender.from_url("smtps://me%40x:p%2Fw@mail.example.org")
    assert (sender.host, sender.port, sender.tls, sender.username, sender.password) == (
        "mail.example.org",
        465,
        True,
        "me@x",
        "p/w",
    )
