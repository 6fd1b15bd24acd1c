"""The installable app's icons: PNGs rendered from the SVGs in static/icons by ffmpeg (its librsvg decoder).

The PNGs are committed, so serving them needs nothing; after changing an SVG, render them again with
`python -m reelm.web.app_icons` (tests/web/test_app_shell.py checks that they match their SVG).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from reelm import ffmpeg

ICONS = Path(__file__).resolve().parent.parent / "static" / "icons"
_RENDER_TIMEOUT_S = 30


class AppIcon(NamedTuple):
    source: str  # an SVG in static/icons
    name: str  # the PNG made from it
    size: int
    purpose: str  # the web app manifest's: "any", or "maskable" (full bleed, the mark in the safe zone)


APP_ICONS = (
    AppIcon("icon.svg", "icon-192.png", 192, "any"),
    AppIcon("icon.svg", "icon-512.png", 512, "any"),
    AppIcon("icon-maskable.svg", "icon-maskable-192.png", 192, "maskable"),
    AppIcon("icon-maskable.svg", "icon-maskable-512.png", 512, "maskable"),
)
# iOS rounds the corners itself and shows transparency as black: the full-bleed design, at its size.
APPLE_TOUCH_ICON = AppIcon("icon-maskable.svg", "apple-touch-icon.png", 180, "any")


def render_icon(icon: AppIcon, into: Path) -> Path:
    """Render one icon's SVG at its size (not scaled up from the SVG's own 64 px) into the folder `into`."""
    target = into / icon.name
    size = str(icon.size)
    source = str(ICONS / icon.source)
    # -width and -height are the SVG decoder's (librsvg): it draws at that size rather than scaling pixels.
    decode = ["-width", size, "-height", size, "-i", source]
    write = ["-frames:v", "1", "-update", "1", "-y", str(target)]
    ffmpeg.run_sync([*decode, *write], timeout_s=_RENDER_TIMEOUT_S).raise_if_failed()
    return target


if __name__ == "__main__":
    for each in (*APP_ICONS, APPLE_TOUCH_ICON):
        print(render_icon(each, ICONS))  # a developer's command: it says what it wrote
