"""What an endpoint's failure means for a retry: whether it may pass, whether it repeats itself, whether the server
says the request cannot be served at all. Read by `tools.llm.resilience.ResilientModel`."""

from __future__ import annotations

from pydantic_ai.exceptions import (
    ModelAPIError,
    ModelConnectionError,
    ModelHTTPError,
    UnexpectedModelBehavior,
)

_RETRYABLE_STATUS = {408, 409, 425, 429}
_DETERMINISTIC_WORDS = ("unsupported", "not supported", "does not support", "not found", "not implemented")


def _rate_limited(exc: BaseException) -> bool:
    return (isinstance(exc, ModelHTTPError) and exc.status_code == 429) or exc.__class__.__name__ == "ModelRateLimitError"


def broken_reply(exc: BaseException) -> bool:
    """A reply that is no chat completion at all: a body that is not JSON (a proxy's error page sent with 200, a
    connection cut mid-body), or JSON of another shape. A server under strain sends these now and then; a URL that
    is not an OpenAI-compatible endpoint sends them every time (then the first-contact rules stop it at once)."""
    if isinstance(exc, ModelAPIError) and not isinstance(exc, ModelHTTPError):
        return str(exc).startswith("Failed to decode response as JSON")
    return isinstance(exc, UnexpectedModelBehavior) and str(exc).startswith("Invalid response from")


def _signature(exc: BaseException) -> str | None:
    """What identifies a repeat of the same server error: status and body (a broken reply: what was wrong)."""
    if isinstance(exc, ModelHTTPError):
        return f"{exc.status_code}:{exc.body!r}"
    if broken_reply(exc):
        return f"broken:{str(exc)[:300]}"
    return None


def says_unservable(exc: BaseException) -> bool:
    """The server's error says the request cannot be served as sent (not a fault that passes)."""
    if not isinstance(exc, ModelHTTPError) or exc.status_code == 429:
        return False
    text = f"{exc.body!r} {exc.message}".lower()
    return any(word in text for word in _DETERMINISTIC_WORDS)


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, ModelConnectionError) or broken_reply(exc):  # refused, reset, timeouts; garbage bodies
        return True
    if isinstance(exc, ModelHTTPError):
        return exc.status_code in _RETRYABLE_STATUS or exc.status_code >= 500
    return isinstance(exc, ModelAPIError) and exc.__class__.__name__ in (
        "ModelRateLimitError", "ModelServerError", "ModelUnavailableError", "ModelOverloadedError")
