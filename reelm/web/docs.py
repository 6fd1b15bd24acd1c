"""The API's interactive documentation: Swagger UI from the Python package that ships it, served by the app.

FastAPI's own docs page loads Swagger UI from a CDN and starts it with an inline script, so it is blank
offline and under a Content-Security-Policy without 'unsafe-inline'. Here the assets come from our own origin,
under a path that names their version (so they may be cached for good), and the start-up code is a file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from swagger_ui_bundle import swagger_ui_path

from reelm.web.rendering import STATIC_VERSION

SWAGGER_UI = Path(str(swagger_ui_path))
# The folder is named for Swagger UI's version ("swagger-ui-5.31.0"): a new version is a new address.
ASSETS_PATH = f"/static/{SWAGGER_UI.name}"
# As strict as the pages' policy: everything from this origin, nothing inline.
POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class VersionedStaticFiles(StaticFiles):
    """Files whose address changes with their content: browsers keep them without asking again."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def _page(openapi_url: str, title: str) -> str:
    # Attribute values are our own constants (the app's title and the document's path), not input.
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="icon" href="/static/favicon.svg?v={STATIC_VERSION}" type="image/svg+xml">
  <link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
  <script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
  <script src="/static/js/api-docs.js?v={STATIC_VERSION}"></script>
</body>
</html>
"""


def install_docs(app: FastAPI, docs_url: str) -> None:
    """Serve Swagger UI at `docs_url` for the app's OpenAPI document (create the app with docs_url=None).
    Call before /static is mounted, so that the assets' mount is found first."""
    assert app.openapi_url is not None
    html = _page(app.openapi_url, f"{app.title} · docs")
    app.mount(ASSETS_PATH, VersionedStaticFiles(directory=SWAGGER_UI), name="swagger-ui")

    @app.get(docs_url, include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        return HTMLResponse(
            html,
            headers={
                "Content-Security-Policy": POLICY,
                "Referrer-Policy": "strict-origin-when-cross-origin",
                "Cache-Control": "no-cache",
            },
        )
