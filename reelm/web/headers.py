"""Headers every response carries, whatever produced it (a route, an error handler, static files, media)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A year, and every subdomain: once a browser has seen the site over https it never tries plain http.
HSTS = b"max-age=31536000; includeSubDomains"


class SecurityHeadersMiddleware:
    """`X-Content-Type-Options: nosniff` on every response, so no browser runs a JSON error or an uploaded
    file as a script or page; `Strict-Transport-Security` too when the site is served over https."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.extra = [(b"x-content-type-options", b"nosniff")]
        if https:
            self.extra.append((b"strict-transport-security", HSTS))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *(header for header in self.extra if header[0] not in present),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
