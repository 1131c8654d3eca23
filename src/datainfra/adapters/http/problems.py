"""One mapping from errors to RFC 9457 problem documents. Nothing else in the HTTP adapter builds an
error response, and no stack trace ever reaches a client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from datainfra.adapters.http.encoding import body_field, encode_json
from datainfra.adapters.http.observability import CLIENT_CLOSED_REQUEST, client_left_mid_body
from datainfra.domain import errors

PROBLEM_JSON = "application/problem+json"

STATUS: dict[type[errors.DomainError], int] = {
    errors.InvalidRequest: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PreconditionFailed: 412,
    errors.PayloadTooLarge: 413,
    errors.TooManyRequests: 429,
    errors.InvalidInput: 422,
    errors.StoreUnavailable: 503,
    errors.StoreTimeout: 504,
}

log = structlog.get_logger("datainfra.http")


class UnsupportedMediaType(errors.InvalidRequest):
    """A body in a format the route does not take (HTTP-only, hence not in the domain tree)."""

    title = "Unsupported media type"


STATUS[UnsupportedMediaType] = 415


class MethodNotAllowed(errors.InvalidRequest):
    """A method the route does not have (HTTP-only): the answer's Allow header lists the ones it has."""

    title = "Method not allowed"

    def __init__(self, detail: str, allowed: list[str]) -> None:
        super().__init__(detail)
        self.allowed = allowed


STATUS[MethodNotAllowed] = 405


def problem_type(slug: str) -> str:
    return f"urn:datainfra:problem:{slug}"


def _slug(title: str) -> str:
    return title.lower().replace(" ", "-")


def problem_response(
    status: int, title: str, detail: str, *, headers: dict[str, str] | None = None, **members: Any
) -> Response[bytes]:
    body = {"type": problem_type(_slug(title)), "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in members.items() if v is not None})
    return Response(content=encode_json(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_error_handler(_: Request[Any, Any, Any], exc: errors.DomainError) -> Response[bytes]:
    status = next((STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS), 500)
    headers: dict[str, str] = {}
    if isinstance(exc, errors.StoreUnavailable):
        headers["Retry-After"] = str(exc.retry_after)
        log.warning("store_unavailable", detail=exc.detail)
    if isinstance(exc, errors.TooManyRequests):
        headers["Retry-After"] = "1"
    if isinstance(exc, errors.Conflict) and getattr(exc, "retry_after", None) is not None:
        headers["Retry-After"] = str(exc.retry_after)  # type: ignore[attr-defined]
    if isinstance(exc, errors.Unauthenticated):
        headers["WWW-Authenticate"] = 'ApiKey header="X-API-Key", Bearer'
    if isinstance(exc, MethodNotAllowed):
        headers["Allow"] = ", ".join(exc.allowed)
    return problem_response(
        status,
        exc.title,
        exc.detail,
        headers=headers or None,
        field=exc.field,
        parameter=exc.parameter,
        index=exc.index,
        key=_jsonable_key(exc.key),
        **exc.extra,
    )


def _jsonable_key(key: Any) -> Any:
    """A conflicting key as JSON: a mapping of column → value, a list, or a scalar."""
    if key is None or isinstance(key, str | int | float | bool):
        return key
    if isinstance(key, dict):
        return {str(k): _jsonable_key(v) for k, v in key.items()}
    if isinstance(key, tuple | list):
        return [_jsonable_key(k) for k in key]
    return str(key)


def validation_handler(_: Request[Any, Any, Any], exc: ValidationException) -> Response[bytes]:
    """Litestar's own parameter and body validation: a 400 naming the offending key."""
    field = parameter = None
    detail = exc.detail or "invalid request"
    extra = exc.extra if isinstance(exc.extra, list) else []
    if extra and isinstance(extra[0], dict):
        first = extra[0]
        detail = str(first.get("message") or detail)
        if first.get("source") in ("query", "path", "header", "cookie"):
            parameter = first.get("key")
        else:
            field = body_field(detail) or first.get("key")
    return problem_response(400, "Invalid request", detail, field=field, parameter=parameter)


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    if exc.status_code == 405:
        allow = {k.lower(): v for k, v in (exc.headers or {}).items()}.get("allow", "")
        allowed = sorted({m.strip().upper() for m in allow.split(",") if m.strip()})
        detail = f"{request.method} is not a method of this route; it has {', '.join(allowed)}"
        return domain_error_handler(request, MethodNotAllowed(detail, allowed))
    titles = {404: "Not found", 405: "Method not allowed", 413: "Payload too large", 415: "Unsupported media type"}
    title = titles.get(exc.status_code, "Error")
    headers = {k: v for k, v in (exc.headers or {}).items()}
    return problem_response(exc.status_code, title, exc.detail or title, headers=headers or None)


def undecodable_body_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Bodies the JSON decoder cannot take apart: not UTF-8, or nested beyond its recursion limit."""
    if isinstance(exc, RecursionError):
        return problem_response(400, "Invalid request", "the JSON document is nested too deeply")
    return problem_response(400, "Invalid request", "the request body is not valid UTF-8")


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.error("unhandled_error", path=request.url.path, method=request.method, exc_info=exc)
    return problem_response(500, "Internal error", "the service failed to handle this request; it has been logged")


Handler = Callable[[Request[Any, Any, Any], Any], Response[bytes]]


def unless_client_left(handler: Handler) -> Handler:
    """A client that left mid-body gets 499, whatever its abandoned body made fail (Litestar raises a
    500 `InternalServerException`, a store may wrap it): not logged as an error, not a 5xx."""

    def handle(request: Request[Any, Any, Any], exc: Any) -> Response[bytes]:
        if client_left_mid_body(request.scope):
            return problem_response(
                CLIENT_CLOSED_REQUEST,
                "Client closed request",
                "the client closed the connection before sending the whole request body; nothing was written",
            )
        return handler(request, exc)

    return handle


EXCEPTION_HANDLERS: dict[Any, Any] = {
    errors.DomainError: unless_client_left(domain_error_handler),
    ValidationException: unless_client_left(validation_handler),
    HTTPException: unless_client_left(http_error_handler),
    UnicodeDecodeError: unless_client_left(undecodable_body_handler),
    RecursionError: unless_client_left(undecodable_body_handler),
    Exception: unless_client_left(internal_error_handler),
}

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "MediaType", "problem_response"]
