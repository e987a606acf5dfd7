"""RFC 9457 problem documents: the one shape every client error takes from week 09 on.

Given complete. Raise :class:`Problem` anywhere in a request; :func:`install` turns it into an
``application/problem+json`` answer with its headers (``Retry-After``, ``WWW-Authenticate``…).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str = "", *,
                 headers: dict[str, str] | None = None, **extra: object) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status, self.title, self.detail = status, title, detail
        self.headers = headers or {}
        self.extra = extra


def problem_response(problem: Problem) -> JSONResponse:
    body = {"type": "about:blank", "title": problem.title, "status": problem.status,
            "detail": problem.detail, **problem.extra}
    return JSONResponse(body, status_code=problem.status, headers=problem.headers,
                        media_type="application/problem+json")


def install(app: FastAPI) -> None:
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc)

    app.add_exception_handler(Problem, handle)
