"""Database errors caused by the input, answered as upstream would (400/409), not as a 500.

Request models bound lengths and refuse NUL characters, so these handlers are the
safety net for what slips through: a value a column cannot hold (DataError), or a
uniqueness race between two concurrent requests (IntegrityError).
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.exc import DataError, IntegrityError
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.app import request_id
from tinystack.common.api.errors import identity as render_error


def install(app: FastAPI) -> None:
    @app.exception_handler(DataError)
    def _bad_value(request: Request, exc: DataError) -> Response:
        message = "Invalid input: a value does not fit the attribute it was given for."
        return render_error(400, "Bad Request", message, None, request_id(request))

    @app.exception_handler(IntegrityError)
    def _conflict(request: Request, exc: IntegrityError) -> Response:
        if _is_duplicate(exc):
            message = "Conflict occurred attempting to store the data: it already exists."
            return render_error(409, "Conflict", message, None, request_id(request))
        message = "Invalid input: a required attribute is missing or refers to nothing."
        return render_error(400, "Bad Request", message, None, request_id(request))


def _is_duplicate(exc: IntegrityError) -> bool:
    """A uniqueness violation (rather than NOT NULL or a foreign key), on every engine."""
    code = str(getattr(exc.orig, "sqlstate", "") or "")
    text = str(exc.orig)
    return code == "23505" or "UNIQUE constraint" in text or "Duplicate entry" in text
