"""The installable app's parts as a browser fetches them: the manifest, its icons, the service worker and the
offline page (what the browser does with them: tests/web/test_browser_offline.py)."""

from __future__ import annotations

import io
from pathlib import Path

import av
import httpx
import numpy as np
import pytest
from numpy.typing import NDArray

from reelm.web.app_icons import APP_ICONS, APPLE_TOUCH_ICON, ICONS, AppIcon, render_icon


def rgba(png: bytes) -> NDArray[np.uint8]:
    with av.open(io.BytesIO(png), mode="r") as container:
        frame = next(container.decode(video=0))
        return np.asarray(frame.to_ndarray(format="rgba"), dtype=np.uint8)


async def test_every_page_links_the_manifest_the_touch_icon_and_the_worker(client: httpx.AsyncClient) -> None:
    page = (await client.get("/login")).text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    assert '<link rel="apple-touch-icon" href="/static/icons/apple-touch-icon.png?v=' in page
    assert '<script type="module" src="/static/js/sw-register.js?v=' in page


async def test_the_manifest_makes_an_installable_standalone_app(client: httpx.AsyncClient) -> None:
    answer = await client.get("/manifest.webmanifest")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/manifest+json"
    manifest = answer.json()
    assert manifest["name"] == "Reelm"
    assert manifest["short_name"] == "Reelm"
    assert manifest["start_url"] == "/"
    assert manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["background_color"] == manifest["theme_color"] == "#000000"  # the dark interface
    pngs = [icon for icon in manifest["icons"] if icon["type"] == "image/png"]
    assert {(icon["sizes"], icon["purpose"]) for icon in pngs} >= {
        ("192x192", "any"),
        ("512x512", "any"),
        ("512x512", "maskable"),
    }
    for icon in manifest["icons"]:
        fetched = await client.get(icon["src"])
        assert fetched.status_code == 200, icon
        assert fetched.headers["content-type"].startswith(icon["type"])
        if icon["type"] == "image/png":
            side = int(icon["sizes"].split("x")[0])
            pixels = rgba(fetched.content)
            assert pixels.shape == (side, side, 4)
            # A maskable icon bleeds to every edge (the launcher cuts its shape); the other has round corners.
            assert pixels[0, 0, 3] == (255 if icon["purpose"] == "maskable" else 0)


@pytest.mark.parametrize("icon", [*APP_ICONS, APPLE_TOUCH_ICON], ids=lambda icon: icon.name)
def test_each_committed_icon_is_its_svg_rendered_again(icon: AppIcon, tmp_path: Path) -> None:
    """After an SVG changes, `python -m reelm.web.app_icons` must be run again; this says when it was not."""
    fresh = rgba(render_icon(icon, tmp_path).read_bytes())
    committed = rgba((ICONS / icon.name).read_bytes())
    assert committed.shape == (icon.size, icon.size, 4)
    difference = np.abs(fresh.astype(np.int16) - committed.astype(np.int16))
    assert difference.max() <= 2, f"{icon.name} differs from {icon.source}: render the icons again"


async def test_the_service_worker_is_served_from_the_root_for_the_site(client: httpx.AsyncClient) -> None:
    answer = await client.get("/sw.js", params={"v": "abc"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.headers["service-worker-allowed"] == "/"
    assert answer.headers["cache-control"] == "no-cache"
    assert 'self.addEventListener("fetch"' in answer.text


async def test_the_offline_page_holds_nothing_of_anyone(client: httpx.AsyncClient) -> None:
    answer = await client.get("/offline")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "You&#39;re offline" in answer.text or "You're offline" in answer.text
    assert "set-cookie" not in answer.headers  # a cached copy must carry no one's CSRF nonce
    assert "csrf" not in answer.text
    assert "script-src 'none'" in answer.headers["content-security-policy"]
