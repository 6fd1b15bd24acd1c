"""RFC 9457 problem details: how the web layer renders every error the API returns (reelm.errors).

Two rules for what FastAPI and Starlette refuse before a route runs:
- a request that breaks a parameter's type is a 422 naming each field and why, except that a path segment
  that breaks its pattern names nothing: 404, as an unknown id is. Pages (outside the API) answer with the
  error page instead of JSON.
- a method a path does not have is a 405 whose `Allow` lists every method of that path (RFC 9110 §15.5.6),
  not only those of the first route that matched it.

And one for who reads the answer: outside /api/, a request whose Accept prefers HTML to JSON (a browser's
navigation) gets the styled error page with the same status and headers; API clients, and anything that
asks for JSON as much as for HTML (fetch's `*/*`), get problem+json.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount

from reelm.errors import Problem, not_found
from reelm.web.rendering import page_for_problem

PROBLEM_JSON = "application/problem+json"
API_PATHS = "/api/"


_JSON_TYPES = ("application/problem+json", "application/json")


def _quality(accept: str, media_type: str) -> float:
    """The q that Accept gives `media_type`, from its most specific matching range (RFC 9110 §12.5.1)."""
    kind = media_type.split("/", maxsplit=1)[0]
    best, specificity = 0.0, -1
    for item in accept.split(","):
        media_range, *params = (part.strip() for part in item.split(";"))
        media_range = media_range.lower()
        if media_range == media_type:
            rank = 2
        elif media_range == f"{kind}/*":
            rank = 1
        elif media_range == "*/*":
            rank = 0
        else:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0  # a malformed weight makes the range unacceptable rather than preferred
        if rank > specificity:
            best, specificity = q, rank
    return best


def wants_page(request: Request, *, on_tie: bool) -> bool:
    """Whether an error is answered with the HTML error page rather than problem+json: never under /api/;
    elsewhere when Accept prefers text/html to every JSON type, and `on_tie` when it prefers neither."""
    if request.url.path.startswith(API_PATHS):
        return False
    accept = request.headers.get("accept")
    if not accept:
        return on_tie
    html = _quality(accept, "text/html")
    json_ = max(_quality(accept, media_type) for media_type in _JSON_TYPES)
    return on_tie if html == json_ else html > json_


def problem_response(problem: Problem, request: Request) -> JSONResponse:
    return JSONResponse(
        problem.body(request.url.path),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(routes: list[BaseRoute], request: Request) -> list[str]:
    """Every method some route serves at this request's path (asked of each route as the router asks it,
    so routes inside included routers count too). A mount (static files) takes any method to its app, which
    says itself what it allows."""
    allowed = []
    for method in _METHODS:
        probe = {
            "type": "http",
            "path": request.scope["path"],
            "root_path": request.scope.get("root_path", ""),
            "method": method,
        }
        if any(not isinstance(route, Mount) and route.matches(probe)[0] is Match.FULL for route in routes):
            allowed.append(method)
    return allowed


_NAMED_BY = {"handle": "User", "tag": "Hashtag", "key": "File", "name": "File"}


def validation_problem(exc: RequestValidationError) -> Problem:
    errors = [
        {"field": ".".join(str(p) for p in err["loc"][1:]) or str(err["loc"][0]), "message": err["msg"]}
        for err in exc.errors()
    ]
    path = [str(err["loc"][1]) for err in exc.errors() if err["loc"][0] == "path" and len(err["loc"]) > 1]
    if path:  # `video_id` that is no id: "Video not found", as for an id that names nothing
        return not_found(_NAMED_BY.get(path[0], path[0].removesuffix("_id").replace("_", " ").capitalize()))
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return Problem(422, "invalid-request", "The request is not valid", detail, errors=errors)


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details; `errors` names each invalid field of a 422.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                "required": ["field", "message"],
            },
        },
    },
    "required": ["type", "title", "status", "detail", "instance"],
}
_PROBLEM_CONTENT = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def document_problems(app: FastAPI) -> None:
    """Make the OpenAPI document say what errors look like: every 4xx, the 422 of invalid parameters and
    bodies included, is problem+json (FastAPI would describe its own validation error as JSON)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            for item in document.get("paths", {}).values():
                for operation in item.values():
                    responses = operation.get("responses", {})
                    for status in ("422", "4XX"):
                        if status in responses:
                            responses[status]["content"] = _PROBLEM_CONTENT
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
            schemas["Problem"] = PROBLEM_SCHEMA
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to change the document


def install_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        if wants_page(request, on_tie=False):
            return await page_for_problem(request, exc)
        return problem_response(exc, request)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 405 and (methods := allowed_methods(app.router.routes, request)):
            headers["Allow"] = ", ".join(methods)
        problem = Problem(
            exc.status_code, f"http-{exc.status_code}", str(exc.detail), headers=headers or None
        )
        if wants_page(request, on_tie=False):  # an unknown address typed or followed in a browser
            return await page_for_problem(request, problem)
        return problem_response(problem, request)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problem = validation_problem(exc)
        # A page's address or form is answered as a page unless the client asks for JSON rather than HTML.
        if wants_page(request, on_tie=True):
            return await page_for_problem(request, problem)
        return problem_response(problem, request)

    document_problems(app)
    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
