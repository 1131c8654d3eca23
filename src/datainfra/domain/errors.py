"""The domain's exception tree; the HTTP adapter maps each class to one status in one place.

    DomainError
    ├── InvalidRequest      400  a query parameter or body that cannot be understood
    ├── Unauthenticated     401  no usable API key
    ├── Forbidden           403  the operator's policy refuses this key or action
    ├── NotFound            404  absent, or owned by another tenant (existence is never revealed)
    ├── Conflict            409  a name or key that already exists
    ├── PreconditionFailed  412  an If-Match tag that no longer matches the resource
    ├── PayloadTooLarge     413  a request beyond a stated size limit
    ├── InvalidInput        422  well-formed but semantically wrong content (a record, a schema)
    ├── TooManyRequests     429  a per-user limit on concurrent work was reached
    ├── StoreUnavailable    503  a backing store cannot be reached right now
    └── StoreTimeout        504  a store gave up on a statement that ran too long

Every error can say *where* the problem is: a body field, a query parameter, a record index, a key.
"""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """Base of every error the service reports to a client."""

    title = "Error"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        parameter: str | None = None,
        index: int | None = None,
        key: object = None,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.parameter = parameter
        self.index = index
        self.key = key
        self.extra = dict(extra or {})

    def located(self, *, index: int | None = None, field: str | None = None) -> DomainError:
        """Return the same error, pinned to a record index and/or field when it was not yet."""
        if index is not None and self.index is None:
            self.index = index
        if field is not None and self.field is None:
            self.field = field
        return self


class InvalidRequest(DomainError):
    title = "Invalid request"


class Unauthenticated(DomainError):
    title = "Unauthenticated"


class Forbidden(DomainError):
    title = "Forbidden"


class NotFound(DomainError):
    title = "Not found"


class Conflict(DomainError):
    title = "Conflict"


class PayloadTooLarge(DomainError):
    title = "Payload too large"


class InvalidInput(DomainError):
    title = "Unprocessable content"


class TooManyRequests(DomainError):
    title = "Too many requests"


class StoreUnavailable(DomainError):
    title = "Store unavailable"

    def __init__(
        self,
        detail: str,
        *,
        retry_after: int = 5,
        field: str | None = None,
        parameter: str | None = None,
        index: int | None = None,
        key: object = None,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(detail, field=field, parameter=parameter, index=index, key=key, extra=extra)
        self.retry_after = retry_after


class StoreTimeout(DomainError):
    title = "Store timeout"


class PreconditionFailed(DomainError):
    """412: an `If-Match` that no longer matches (someone else changed the resource first)."""

    title = "Precondition failed"
