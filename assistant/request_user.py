"""Who sent an HTTP request, for the chat history: some of Chainlit's HTTP routes (feedback) hand the data layer
an id without the signed-in user, so the layer reads the user from here. Part of the Chainlit shell."""

from __future__ import annotations

from contextvars import ContextVar

from chainlit.auth import decode_jwt, reuseable_oauth
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

REQUEST_USER: ContextVar[str | None] = ContextVar("request_user", default=None)


class RequestUser:
    """ASGI middleware: the signed-in user of each HTTP request (from Chainlit's own token), in REQUEST_USER."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        user: str | None = None
        try:
            token = await reuseable_oauth(Request(scope))
            user = decode_jwt(token).identifier if token else None
        except Exception:  # an invalid token: Chainlit's route answers 401 itself
            user = None
        reset = REQUEST_USER.set(user)
        try:
            await self.app(scope, receive, send)
        finally:
            REQUEST_USER.reset(reset)


def install(app: object) -> None:
    """Add the middleware to Chainlit's server app once (before it serves)."""
    from fastapi import FastAPI

    assert isinstance(app, FastAPI)
    if not any(m.cls is RequestUser for m in app.user_middleware):
        app.add_middleware(RequestUser)
