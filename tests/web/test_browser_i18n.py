"""The interface in the reader's language: picked from the sidebar, kept by a cookie, mirrored for Arabic."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from reelm.i18n import translations
from tests.web import test_browser
from tests.web.conftest import DESKTOP, PHONE
from tests.web.test_browser import Pages

pages = test_browser.pages


def french(message: str) -> str:
    translated = translations("fr").gettext(message)
    assert translated != message, f"not translated into French: {message}"
    return translated


async def test_the_sidebar_language_picker_switches_the_interface(pages: Pages) -> None:
    page = await pages.new()
    await page.goto("/login")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await page.select_option("#language-select", "fr")
    await expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert page.url.endswith("/login")  # the picker brings the reader back where they were
    await expect(page.locator("main")).to_contain_text(french("Password"))
    # Scripts speak it too: their catalogue rides along with the page.
    catalogue = await page.locator("#i18n-catalogue").text_content()
    assert catalogue is not None
    assert '"locale": "fr"' in catalogue or '"locale":"fr"' in catalogue
    # The choice stays for the next page.
    await page.goto("/signup")
    await expect(page.locator("html")).to_have_attribute("lang", "fr")


async def test_arabic_is_laid_out_right_to_left(pages: Pages) -> None:
    page = await pages.new()
    # As the picker leaves it (the browser's own language list is the context's, English).
    await page.context.add_cookies([{"name": "reelm_locale", "value": "ar", "url": pages.base_url}])
    await page.goto("/login")
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await expect(page.locator("html")).to_have_attribute("lang", "ar")
    width = DESKTOP["width"]
    nav = await page.locator("nav.nav").bounding_box()
    main = await page.locator("main").bounding_box()
    assert nav is not None
    assert main is not None
    # The sidebar sits on the right edge and the content to its left.
    assert nav["x"] + nav["width"] >= width - 1
    assert nav["x"] > width / 2
    assert main["x"] + main["width"] <= nav["x"] + 1


@pytest.mark.parametrize("pages", [PHONE], indirect=True)
async def test_on_phones_the_language_is_picked_at_the_foot_of_the_page(pages: Pages) -> None:
    page = await pages.new()
    await page.goto("/signup")
    await expect(page.locator("#language-select")).to_be_hidden()  # the sidebar's, desktop only
    await page.select_option("#language-select-footer", "es")
    await expect(page.locator("html")).to_have_attribute("lang", "es")
    assert page.url.endswith("/signup")
    spanish = translations("es").gettext("Password")
    assert spanish != "Password"
    await expect(page.locator("main")).to_contain_text(spanish)
