"""RFC 9457 problem details: how the web layer renders every error the API returns (reelm.errors).

Two rules for what FastAPI and Starlette refuse before a route runs:
- a request that breaks a parameter's type is a 422 naming each field and why, except that a path segment
  that breaks its pattern names nothing: 404, as an unknown id is. Pages (outside the API) answer with the
  error page instead of JSON.
- a method a path does not have is a 405 whose `Allow` lists every method of that path (RFC 9110 §15.5.6),
  not only those of the first route that matched it.
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
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc, request)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 405 and (methods := allowed_methods(app.router.routes, request)):
            headers["Allow"] = ", ".join(methods)
        problem = Problem(
            exc.status_code, f"http-{exc.status_code}", str(exc.detail), headers=headers or None
        )
        return problem_response(problem, request)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problem = validation_problem(exc)
        if not request.url.path.startswith(API_PATHS):  # a page's address or form
            return await page_for_problem(request, problem)
        return problem_response(problem, request)

    document_problems(app)
    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
