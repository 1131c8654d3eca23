"""The client's exceptions. Every refusal the API answers is an RFC 9457 problem document; it is
raised as the `ApiError` subclass for its status, carrying the document's members.

    DatainfraError
    ├── ConfigError                 no API key or base URL could be found
    ├── TransportError              the service could not be reached (connect, read, timeout)
    └── ApiError                    the service answered a problem document (status, type, detail, ...)
        ├── BadRequest              400
        ├── Unauthorized            401
        ├── Forbidden               403
        ├── NotFound                404
        ├── Conflict                409
        ├── PreconditionFailed      412
        ├── PayloadTooLarge         413
        ├── UnsupportedMediaType    415
        ├── ValidationError         422 (names the `field` and record `index` at fault)
        ├── RateLimited             429
        └── ServerError             5xx
            └── ServiceUnavailable  503
"""

from __future__ import annotations

from typing import Any

import msgspec


class DatainfraError(Exception):
    """Base of every exception the client raises."""


class ConfigError(DatainfraError):
    """No API key (or base URL) in the argument, the environment or the config file."""


class TransportError(DatainfraError):
    """The service could not be reached, or the connection broke, after every retry."""


class ApiError(DatainfraError):
    """A problem document (RFC 9457) the service answered.

    `status`, `type`, `title` and `detail` are always set; `field` (the body member or column),
    `parameter` (query parameter or header), `index` (record or line from 0), `key` and `valid`
    (the accepted values) when the service named them."""

    def __init__(
        self,
        status: int,
        *,
        type: str = "about:blank",
        title: str = "",
        detail: str = "",
        field: str | None = None,
        parameter: str | None = None,
        index: int | None = None,
        key: Any = None,
        valid: list[str] | None = None,
        document: dict[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.field = field
        self.parameter = parameter
        self.index = index
        self.key = key
        self.valid = valid
        self.document = document or {}
        super().__init__(self.message())

    def message(self) -> str:
        """One line: status, title, detail, then where (field, parameter, index, key)."""
        text = f"{self.status} {self.title or 'error'}"
        if self.detail:
            text += f": {self.detail}"
        where = [
            f"{name}={value}"
            for name, value in (
                ("field", self.field),
                ("parameter", self.parameter),
                ("index", self.index),
                ("key", self.key),
            )
            if value is not None
        ]
        return f"{text} ({', '.join(where)})" if where else text


class BadRequest(ApiError):
    """400: the request is malformed (unknown parameter, bad filter, bad format)."""


class Unauthorized(ApiError):
    """401: no API key, or one the service does not know."""


class Forbidden(ApiError):
    """403: the key may not do this."""


class NotFound(ApiError):
    """404: no such session, dataset, record or node (for this key)."""


class Conflict(ApiError):
    """409: a name already taken, or a write racing another."""


class PreconditionFailed(ApiError):
    """412: If-Match named a tag that is no longer current."""


class PayloadTooLarge(ApiError):
    """413: the body is over the service's limit."""


class UnsupportedMediaType(ApiError):
    """415: the route does not take this Content-Type."""


class ValidationError(ApiError):
    """422: a value the schema refuses; `field` and `index` say which."""


class RateLimited(ApiError):
    """429: too many requests (retried first, honouring Retry-After)."""


class ServerError(ApiError):
    """5xx: the service failed (retried first when it was a 503)."""


class ServiceUnavailable(ServerError):
    """503: a store is unavailable (retried first, honouring Retry-After)."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: ValidationError,
    429: RateLimited,
    503: ServiceUnavailable,
}


def error_class(status: int) -> type[ApiError]:
    """The exception class for a status (ServerError for any other 5xx, ApiError for the rest)."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else ApiError


def problem_error(status: int, body: bytes, reason: str = "") -> ApiError:
    """The typed exception for an error answer: its problem document's members, or (for a body
    that is not one, e.g. a proxy's HTML page) the status and the start of the body."""
    document: dict[str, Any] = {}
    try:
        decoded = msgspec.json.decode(body) if body else None
        if isinstance(decoded, dict):
            document = decoded
    except msgspec.DecodeError:
        pass
    cls = error_class(status)
    if not document:
        text = body[:200].decode("utf-8", "replace").strip()
        return cls(status, title=reason, detail=text)
    index = document.get("index")
    valid = document.get("valid")
    return cls(
        status,
        type=str(document.get("type", "about:blank")),
        title=str(document.get("title", reason)),
        detail=str(document.get("detail", "")),
        field=_text(document.get("field")),
        parameter=_text(document.get("parameter")),
        index=index if isinstance(index, int) else None,
        key=document.get("key"),
        valid=[str(v) for v in valid] if isinstance(valid, list) else None,
        document=document,
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
