"""Browser stories of account safety, at a phone and a desktop size, with axe-core on each page:
- an authenticator app is set up from Settings, Security (the code computed here from the secret the page
  shows), the recovery codes are shown once, and the next log-in asks for a code after the password (a wrong
  one is refused in place);
- a passkey is added with Chromium's virtual authenticator, then logs in without a password.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pyotp
import pytest
from playwright.async_api import Page, expect

from reelm.runtime import Runtime
from tests import live
from tests.conftest import PASSWORD
from tests.web import test_browser
from tests.web.conftest import DESKTOP, PHONE
from tests.web.test_accessibility import serious_violations
from tests.web.test_browser import Pages, press, shot, sign_up

pages = test_browser.pages


@pytest.fixture
def live_server(runtime: Runtime, tmp_path: Path) -> Iterator[str]:
    """The server, addressed as localhost: WebAuthn takes a domain as the relying party's id, never an IP
    address. (No worker: nothing here is uploaded.)"""
    port = live.free_port()
    base = f"http://localhost:{port}"
    log = tmp_path / "server.log"
    env = live.external_env(runtime) | {"REELM_BASE_URL": base}
    server = live.start(["serve", "--host", "127.0.0.1", "--port", str(port)], env, log)
    deadline = time.monotonic() + 60
    while not _healthy(f"http://127.0.0.1:{port}"):
        assert server.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.2)
    yield base
    live.stop(server)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


async def log_out(page: Page) -> None:
    await page.goto("/settings")
    await press(page, page.get_by_test_id("settings-logout"))
    await expect(page.locator("body")).not_to_have_attribute("data-viewer-handle", re.compile(".+"))


async def password_step(page: Page, handle: str) -> None:
    await page.goto("/login")
    await page.locator("input[name=login]").fill(handle)
    await page.locator("input[name=password]").fill(PASSWORD)
    await page.locator("main").get_by_role("button", name="Log in").click()


@pytest.mark.parametrize("pages", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
async def test_authenticator_app_enrolment_and_log_in(pages: Pages) -> None:
    page = await pages.new()
    await sign_up(page, "tess", "Tess Two-Step")
    await page.goto("/settings")
    await press(page, page.get_by_test_id("settings-link-security"))
    await expect(page).to_have_url(re.compile(r"/settings/security$"))
    sessions = page.get_by_test_id("session")
    await expect(sessions).to_have_count(1)
    await expect(sessions.first).to_have_attribute("data-current", "true")
    assert await serious_violations(page) == []

    await press(page, page.get_by_test_id("totp-begin"))
    await expect(page.get_by_test_id("totp-qr").locator("svg")).to_be_visible()
    secret = (await page.get_by_test_id("totp-secret").inner_text()).strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    await expect(page.get_by_test_id("totp-uri")).to_contain_text(f"secret={secret}", use_inner_text=False)
    assert await serious_violations(page) == []
    await shot(page, "security-enrol")
    totp = pyotp.TOTP(secret)
    await page.get_by_test_id("totp-confirm-code").fill(totp.now())
    await press(page, page.get_by_test_id("totp-confirm"))
    codes = page.get_by_test_id("recovery-code")
    await expect(codes).to_have_count(10)
    await expect(page.get_by_test_id("totp-on")).to_contain_text("10 recovery codes left")
    assert await serious_violations(page) == []
    await shot(page, "security-recovery-codes")
    await page.reload()  # shown once: not on the page again
    await expect(page.get_by_test_id("recovery-code")).to_have_count(0)

    await log_out(page)
    await password_step(page, "tess")
    await expect(page).to_have_url(re.compile(r"/login/second-factor"))
    await expect(page.locator("body")).not_to_have_attribute("data-viewer-handle", re.compile(".+"))
    assert await serious_violations(page) == []
    await page.get_by_test_id("second-factor-code").fill("000000")
    await press(page, page.get_by_test_id("second-factor-submit"))
    await expect(page.get_by_test_id("second-factor-error")).to_contain_text("wrong")
    # The confirming code was spent: the app's next one (its window allows one step ahead) logs in.
    await page.get_by_test_id("second-factor-code").fill(totp.at(int(time.time()) + 30))
    await press(page, page.get_by_test_id("second-factor-submit"))
    await expect(page.locator("body")).to_have_attribute("data-viewer-handle", "tess")
    assert urlsplit(page.url).path == "/"

    await page.goto("/settings/security")
    await expect(page.get_by_test_id("session")).to_have_count(1)  # the logged-out one is gone
    await expect(page.get_by_test_id("totp-on")).to_be_visible()


async def virtual_authenticator(page: Page) -> None:
    """Chromium's virtual authenticator on this page: a platform authenticator with resident keys that
    verifies its user and answers at once."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable")
    await cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )


@pytest.mark.parametrize("pages", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
async def test_passkey_enrolment_and_log_in(pages: Pages) -> None:
    page = await pages.new()
    await virtual_authenticator(page)
    await sign_up(page, "pia", "Pia Passkey")
    await page.goto("/settings/security")
    await expect(page.locator("body")).to_have_attribute("data-passkeys-ready", "true")
    await press(page, page.get_by_test_id("passkey-add"))
    await expect(page).to_have_url(re.compile(r"/settings/security\?done=passkey-added$"))
    await expect(page.get_by_test_id("passkey")).to_have_count(1)
    await expect(page.get_by_test_id("security-notice")).to_contain_text("passkey has been added")
    assert await serious_violations(page) == []
    await shot(page, "security-passkey")

    # Without a password: the log-in page's passkey button.
    await log_out(page)
    await page.goto("/login")
    await expect(page.locator("body")).to_have_attribute("data-passkeys-ready", "true")
    assert await serious_violations(page) == []
    await press(page, page.get_by_test_id("passkey-login"))
    await expect(page.locator("body")).to_have_attribute("data-viewer-handle", "pia")
    assert urlsplit(page.url).path == "/"

    # As the second step after the password.
    await log_out(page)
    await password_step(page, "pia")
    await expect(page).to_have_url(re.compile(r"/login/second-factor"))
    await expect(page.get_by_test_id("second-factor-code")).to_have_count(0)  # no app: only the passkey
    await expect(page.locator("body")).to_have_attribute("data-passkeys-ready", "true")
    assert await serious_violations(page) == []
    await press(page, page.get_by_test_id("passkey-factor"))
    await expect(page.locator("body")).to_have_attribute("data-viewer-handle", "pia")
    await page.goto("/settings/security")
    factors = [await s.get_attribute("data-current") for s in await page.get_by_test_id("session").all()]
    assert factors.count("true") == 1
