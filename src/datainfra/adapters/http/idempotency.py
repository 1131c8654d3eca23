"""Idempotency-Key on POST: a retried write replays the first answer instead of writing again.

After the IETF httpapi Idempotency-Key draft and Stripe. The key is scoped to the authenticated
user. The request's fingerprint (SHA-256 over method, path, query string, Content-Type and the body)
is computed while the body streams through to the route, so a 50 MB upload is never held in memory.
A 2xx or 4xx answer (not 401, 408, 413, 429) is stored (its status, the headers below and a body
of at most `STORED_ANSWER_LIMIT`) and replayed with `Idempotent-Replayed: true` to a retry with the same
fingerprint; a retry with another fingerprint gets 422, one while the first still runs 409. A 5xx,
an exception, a client that went away or an answer too large to store releases the key, so the
retry runs afresh. Requests without a usable API key pass through untouched (the route answers
401/403 itself and nothing is stored); so do routes that need no user (registration).

Registered as Litestar middleware: it runs inside the app's error handling (its own errors become
problems like any route's) and outside the route's (a route's error reaches it as a response)."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from dataclasses import dataclass, field
from typing import Any, cast

import structlog
from litestar.datastructures import Headers
from litestar.types import ASGIApp, Empty, HTTPScope, Message, Receive, ReceiveMessage, Scope, Send
from litestar.utils.scope.state import ScopeState

from datainfra.adapters.http.dependencies import (
    API_KEY_HEADER,
    AUTHORIZATION_HEADER,
    key_from_headers,
    provide_accounts,
)
from datainfra.domain.errors import Conflict, DomainError, InvalidInput, InvalidRequest
from datainfra.domain.ports.idempotency import Claimed, Completed, IdempotencyStore, StoredAnswer

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
STORED_ANSWER_LIMIT = 1024 * 1024
"""Answers with a longer body are not stored (the key is released): write answers are small JSON."""
PURGE_EVERY = 256
"""Expired keys are deleted on every this-many-th claim: cheap, and the table stays small."""
IN_FLIGHT_RETRY_AFTER_S = 1
TRANSIENT_STATUSES = frozenset({401, 408, 413, 429})
"""4xx answers that say "not now" or "not like this" rather than what the request did: never stored
(the key is released), so the retry they invite runs."""
KEPT_HEADERS = frozenset(
    {
        b"content-type",
        b"content-disposition",
        b"content-encoding",
        b"content-language",
        b"content-location",
        b"etag",
        b"last-modified",
        b"link",
        b"location",
        b"vary",
    }
)

log = structlog.get_logger("datainfra.idempotency")


class KeyInFlight(Conflict):
    """The key's first request has not answered yet: retry after a moment."""

    retry_after = IN_FLIGHT_RETRY_AFTER_S


def idempotency_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The request's Idempotency-Key: None when absent; 1-255 visible ASCII characters, else 400."""
    values = [value for name, value in headers if name.lower() == b"idempotency-key"]
    if not values:
        return None
    if len(values) == 1 and 1 <= len(values[0]) <= 255 and all(0x21 <= byte <= 0x7E for byte in values[0]):
        return values[0].decode("ascii")
    raise InvalidRequest(
        "Idempotency-Key must be one value of 1-255 visible ASCII characters", parameter=IDEMPOTENCY_KEY_HEADER
    )


def _needs_user(scope: Scope) -> bool:
    """Whether the route asks for the caller's user, itself or through its dependencies."""
    handler = scope.get("route_handler")
    if handler is None:
        return False
    dependencies = handler.resolve_dependencies()
    wanted, seen = list(handler.parsed_fn_signature.parameters), set()
    while wanted:
        name = wanted.pop()
        if name == "user":
            return True
        if name in seen or name not in dependencies:
            continue
        seen.add(name)
        wanted.extend(dependencies[name].parsed_fn_signature.parameters)
    return False


def _fingerprint(scope: HTTPScope, headers: list[tuple[bytes, bytes]]) -> Any:
    """A SHA-256 over the request's method, path, query and Content-Type, each length-prefixed; the
    body is added as it streams."""
    content_type = b",".join(value for name, value in headers if name.lower() == b"content-type")
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b""), content_type):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest


@dataclass
class _Exchange:
    """What passed through one claimed request: the body hashed so far, the answer captured."""

    digest: Any
    body_read: bool = False
    client_gone: bool = False
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    too_large: bool = False
    answered: bool = False

    def hash_message(self, message: ReceiveMessage) -> None:
        if message["type"] == "http.request":
            self.digest.update(message.get("body", b""))
            self.body_read = not message.get("more_body", False)
        elif message["type"] == "http.disconnect":
            self.client_gone = True

    def storable(self) -> StoredAnswer | None:
        if (
            not (self.answered and self.body_read)
            or self.client_gone
            or self.too_large
            or self.status >= 500
            or self.status in TRANSIENT_STATUSES
        ):
            return None
        kept = tuple((name.decode("latin-1"), value.decode("latin-1")) for name, value in self.headers)
        return StoredAnswer(self.digest.hexdigest(), self.status, kept, bytes(self.body))


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._claims = itertools.count(1)
        self._asks_for_user: dict[int, bool] = {}

    def _needs_user(self, scope: Scope) -> bool:
        handler = scope.get("route_handler")
        if id(handler) not in self._asks_for_user:
            self._asks_for_user[id(handler)] = _needs_user(scope)
        return self._asks_for_user[id(handler)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") != "POST" or not self._needs_user(scope):  # HTTP only: websockets have no method
            await self.app(scope, receive, send)
            return
        headers = list(scope["headers"])
        key = idempotency_key(headers)
        if key is None:
            await self.app(scope, receive, send)
            return
        container = scope["app"].state.container
        try:
            presented = Headers.from_scope(scope)
            api_key = key_from_headers(presented.get(API_KEY_HEADER), presented.get(AUTHORIZATION_HEADER))
            user = await (await provide_accounts(scope["app"].state)).authenticate(api_key)
        except DomainError:
            await self.app(scope, receive, send)  # the route refuses the caller as it always does
            return
        store: IdempotencyStore = await _resolved(container.idempotency())
        now = container.clock().now()
        if next(self._claims) % PURGE_EVERY == 0:
            await store.purge(now)
        exchange = _Exchange(_fingerprint(cast("HTTPScope", scope), headers))
        claim = await store.begin(user.id, key, container.ids().new_id(), now)
        if isinstance(claim, Completed):
            await self._replay(claim.answer, exchange, receive, send)
        elif isinstance(claim, Claimed):
            await self._run(scope, receive, send, exchange, store, (user.id, key, claim.token))
        else:
            raise KeyInFlight(
                "a request with this Idempotency-Key is still being handled; retry later",
                parameter=IDEMPOTENCY_KEY_HEADER,
            )

    async def _replay(self, answer: StoredAnswer, exchange: _Exchange, receive: Receive, send: Send) -> None:
        while not exchange.body_read and not exchange.client_gone:  # hash the body, keep none of it
            exchange.hash_message(await receive())
        if exchange.client_gone:
            return
        if exchange.digest.hexdigest() != answer.fingerprint:
            raise InvalidInput(
                "this Idempotency-Key was used for a different request (method, path, query or body)",
                parameter=IDEMPOTENCY_KEY_HEADER,
            )
        headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers]
        headers += [(b"content-length", str(len(answer.body)).encode()), (REPLAYED_HEADER.lower().encode(), b"true")]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body, "more_body": False})

    async def _run(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        exchange: _Exchange,
        store: IdempotencyStore,
        claim: tuple[str, str, str],
    ) -> None:
        async def hashing_receive() -> ReceiveMessage:
            message = await receive()
            exchange.hash_message(message)
            return message

        async def capturing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                exchange.headers = [(n, v) for n, v in message.get("headers", []) if n.lower() in KEPT_HEADERS]
                # An answer given before the whole body was read (a refused media type, a bad row)
                # is stored under the whole body's fingerprint: read the rest now, hashing only.
                # Not for 413: that body is refused for its size, and the answer is not stored.
                while exchange.status != 413 and not exchange.body_read and not exchange.client_gone:
                    exchange.hash_message(await receive())
            elif message["type"] == "http.response.body":
                if len(exchange.body) + len(message.get("body", b"")) > STORED_ANSWER_LIMIT:
                    exchange.too_large = True
                    exchange.body.clear()
                elif not exchange.too_large:
                    exchange.body += message.get("body", b"")
                exchange.answered = not message.get("more_body", False)
            await send(message)

        # The answer is stored as sent and replayed to any retry, so it is sent without a content
        # coding (write answers are small): a retry that does not take gzip must not get it.
        scope["headers"] = [(name, value) for name, value in scope["headers"] if name.lower() != b"accept-encoding"]
        ScopeState.from_scope(scope).headers = Empty  # Litestar's parsed copy, if one was made, goes too
        answer: StoredAnswer | None = None
        try:
            await self.app(scope, hashing_receive, capturing_send)
            answer = exchange.storable()
        finally:
            await _settle(store, claim, answer, exchange, scope["app"].state.container.clock().now())


async def _settle(
    store: IdempotencyStore,
    claim: tuple[str, str, str],
    answer: StoredAnswer | None,
    exchange: _Exchange,
    now: dt.datetime,
) -> None:
    """Store the answer, or release the key. The client has its answer already: a store that fails
    now is logged, and the claim lapses after IN_FLIGHT_LEASE (retries meanwhile get 409)."""
    user_id, key, token = claim
    try:
        if answer is None:
            if exchange.too_large:
                log.warning("idempotent_answer_not_stored", reason="answer over the stored-answer limit")
            await store.release(user_id, key, token)
        else:
            await store.complete(user_id, key, token, answer, now)
    except DomainError as exc:
        log.warning("idempotency_key_not_settled", detail=exc.detail, stored=answer is not None)


async def _resolved(value: Any) -> Any:
    return await value if hasattr(value, "__await__") else value
