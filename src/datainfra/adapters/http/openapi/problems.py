"""Every error status an operation can answer, each an `application/problem+json` document
(RFC 9457) of one schema, `ProblemOut` (what adapters/http/problems.py sends).

The statuses of an operation are those of its class (below) plus what its handler declares in
`opt["errors"]`:
- every route that needs a user: 400 (X-API-Key and Authorization carry different keys, or a
  parameter is malformed), 401, 403 (the operator's key policy), 503 (a store is down: the catalog
  is read to authenticate), 504 (a store gave up on a statement);
- a path naming a resource ({session_id}, ...): 404;
- a request with a body: 400, 413 (beyond the body limit), 422;
- a write (POST, PUT, PATCH, DELETE): 409 (a key clash, or a concurrent change rolled this one back);
- an authenticated POST: 409 and 422 from its Idempotency-Key.
Litestar's own error shape is never sent, so it is removed."""

from __future__ import annotations

from typing import Any

from datainfra.adapters.http.openapi.components import Components
from datainfra.adapters.http.openapi.walk import Operation
from datainfra.adapters.http.problems import PROBLEM_JSON
from datainfra.adapters.http.schemas import ProblemOut

DESCRIPTIONS = {
    400: "The request cannot be understood: a query parameter (named in `parameter`), a body member (`field`) or "
    "the body itself; or X-API-Key and Authorization carry different keys.",
    401: "No API key, or a key this service does not know: send X-API-Key (or Authorization: Bearer).",
    403: "The operator's key policy (ALLOWED_KEYS) refuses this key or this action.",
    404: "Not found: nothing of yours has this id (another user's resources are not found either).",
    409: "Conflict: a name or key that already exists (`key` names it), a concurrent change that rolled this "
    "request back (send it again), or the same Idempotency-Key still in flight.",
    412: "If-Match names no current tag (another client changed it first); nothing was written.",
    413: "Too large: the body is beyond its limit, or the work beyond what one request may do.",
    415: "The body's Content-Type is not one this operation takes.",
    422: "Well-formed but wrong: a value, record or schema the data refuses (`field`, `index`, `key` say where), "
    "or an Idempotency-Key reused for another request.",
    429: "Too many queries of yours run at once; retry after Retry-After seconds.",
    503: "A store cannot be reached right now; retry after Retry-After seconds.",
    504: "A store gave up on a statement that ran too long (or a query past its timeout_ms).",
}
HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {"description": "The schemes: ApiKey (X-API-Key), Bearer.", "schema": {"type": "string"}}
    },
    429: {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
    503: {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
}
LITESTAR_ERROR = "Bad request syntax or unsupported method"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def statuses(operation: Operation) -> set[int]:
    found: set[int] = set(operation.opt.get("errors", ()))
    if operation.authenticated:
        found |= {400, 401, 403, 503, 504}
    if "{" in operation.path:
        found.add(404)
    if "requestBody" in operation.spec or "body" in operation.opt:
        found |= {400, 413, 422}
    if operation.authenticated and operation.method in WRITES:
        found.add(409)
    if operation.authenticated and operation.method == "POST":
        found |= {409, 422}
    return found


def document(operation: Operation, components: Components) -> None:
    reference = components.schema(ProblemOut)
    answers = operation.spec.setdefault("responses", {})
    for code in list(answers):
        if answers[code].get("description") == LITESTAR_ERROR:
            del answers[code]
    declared = {int(code) for code, answer in answers.items() if int(code) >= 400 and _problem_or_nothing(answer)}
    for status in sorted(statuses(operation) | declared):
        answer = answers.setdefault(str(status), {})
        answer.setdefault("description", DESCRIPTIONS.get(status, "An error"))
        answer["content"] = {PROBLEM_JSON: {"schema": reference}}
        if status in HEADERS:
            answer["headers"] = {**HEADERS[status], **answer.get("headers", {})}
    operation.spec["responses"] = dict(sorted(answers.items()))


def _problem_or_nothing(answer: dict[str, Any]) -> bool:
    """An error answer declared in the decorator without a body shape, or as a problem document."""
    return not answer.get("content") or PROBLEM_JSON in answer["content"]
