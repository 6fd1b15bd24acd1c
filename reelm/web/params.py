"""Path, query and form parameter types: reelm.inputs' types and patterns as FastAPI parameters.

Every route and form takes its ids, handles, hashtags, realms, cursors and text through these, so the
OpenAPI document states each pattern and length and no other value reaches a service. A path segment that
breaks its pattern names nothing (404, as for an unknown id: reelm.web.problems); a query or form value
that breaks one is a 422 that says which and why.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Path, Query

from reelm.inputs import (
    HANDLE_PATTERN,
    ID_PATTERN,
    REALM_PATTERN,
    TAG_PATTERN,
    CursorText,
    Line,
)

IdPath = Annotated[str, Path(pattern=ID_PATTERN, description="an id: 1-19 ASCII digits")]
HandlePath = Annotated[
    str, Path(pattern=HANDLE_PATTERN, description="a handle, with or without its '@', any case")
]
TagPath = Annotated[str, Path(pattern=TAG_PATTERN, description="a hashtag, with or without its '#'")]
RealmPath = Annotated[str, Path(pattern=REALM_PATTERN, description="a realm's name, e.g. 'eu'")]

# Opaque cursors from a page's `next_cursor`: the route answers 400 bad-cursor for one it did not sign.
Cursor = Annotated[CursorText | None, Query(max_length=200)]
# The For You cursor carries the ids already served (reelm.web.routes.feed).
FeedCursor = Annotated[CursorText | None, Query(max_length=8000)]
IdQuery = Annotated[str | None, Query(pattern=ID_PATTERN)]
RealmQuery = Annotated[str, Query(pattern=REALM_PATTERN)]
RealmChoice = Annotated[str | None, Query(pattern=REALM_PATTERN)]  # a page's realm picker
# Where a page sends the browser after a form: a local path (reelm.web.rendering.safe_next checks it).
NextQuery = Annotated[Line, Query(max_length=500)]

# Forms: the CSRF token of every form, and the page forms' text fields (lengths at each field).
CsrfForm = Annotated[Line, Form(max_length=100)]
IdForm = Annotated[str | None, Form(pattern=ID_PATTERN, description="an id: 1-19 ASCII digits")]
# A mix level: 0 (silent) to 1 (as recorded); a time within a sound or video, in seconds.
LevelForm = Annotated[float, Form(ge=0.0, le=1.0, allow_inf_nan=False)]
SecondsForm = Annotated[float, Form(ge=0.0, le=3600.0, allow_inf_nan=False)]
NextForm = Annotated[Line, Form(max_length=500)]
