"""Retries: a 503 or 429 in front of the real API is waited out (Retry-After honoured), and a write
whose answer was lost is sent again with the same Idempotency-Key, so it is stored once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from datainfra_client import AsyncClient, Client, RetryPolicy, ServiceUnavailable, TransportError

from tests.fuzz.api_process import RunningApi

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

PEOPLE = {
    "columns": [{"name": "id", "type": "integer", "nullable": False}, {"name": "name", "type": "text"}],
    "primary_key": ["id"],
}


class Faults(httpx.BaseTransport):
    """The real transport with faults in front: for requests `hit` picks, the first `times` answers
    are replaced by `status` (after the real request ran, when `forward`: the answer was lost)."""

    def __init__(
        self, hit: Callable[[httpx.Request], bool], status: int, retry_after: str | None, *, times: int, forward: bool
    ) -> None:
        self._real = httpx.HTTPTransport()
        self._hit, self._status, self._retry_after = hit, status, retry_after
        self._left, self._forward = times, forward
        self.seen: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._hit(request):
            self.seen.append(request)
            if self._left > 0:
                self._left -= 1
                if self._forward:
                    self._real.handle_request(request).close()
                headers = {"content-type": "application/problem+json"}
                if self._retry_after is not None:
                    headers["retry-after"] = self._retry_after
                body = b'{"type": "urn:test:fault", "title": "Service unavailable", "status": %d, "detail": "fault"}'
                return httpx.Response(self._status, headers=headers, content=body % self._status)
        return self._real.handle_request(request)


def writes(request: httpx.Request) -> bool:
    return request.method == "POST" and request.url.path.endswith("/records")


def test_a_write_whose_answer_was_lost_is_retried_and_stored_once(api: RunningApi, api_key: str, tmp_path) -> None:
    faults = Faults(writes, 503, "0", times=2, forward=True)
    waits: list[float] = []
    with Client(api.base_url, api_key, transport=faults, sleep=waits.append) as client:
        session = client.create_session("retries").id
        dataset = client.create_dataset(session, "people", PEOPLE).id
        source = tmp_path / "people.csv"
        source.write_text("id,name\n" + "".join(f"{n},p{n}\n" for n in range(500)))
        result = client.insert(session, dataset, source)
        assert result.inserted == 500  # the replayed first answer
        assert client.page(session, dataset, count=True).total == 500
        keys = {request.headers["idempotency-key"] for request in faults.seen}
        assert len(faults.seen) == 3 and len(keys) == 1  # three tries of one write, one key
        assert waits == [0.0, 0.0]  # Retry-After: 0 honoured

        once_more = client.insert(session, dataset, [{"id": 1000, "name": "new"}])
        assert once_more.inserted == 1 and len({r.headers["idempotency-key"] for r in faults.seen}) == 2


def test_a_generator_is_replayed_from_its_spool_on_a_retry(api: RunningApi, api_key: str) -> None:
    faults = Faults(writes, 503, "0", times=1, forward=False)
    with Client(api.base_url, api_key, transport=faults, sleep=lambda s: None) as client:
        session = client.create_session("spool").id
        dataset = client.create_dataset(session, "people", PEOPLE).id
        result = client.insert(session, dataset, ({"id": n, "name": f"p{n}"} for n in range(3000)))
        assert result.inserted == 3000 and client.page(session, dataset, count=True).total == 3000


def test_retry_after_is_honoured_and_retries_give_up_with_the_typed_error(api: RunningApi, api_key: str) -> None:
    reads = lambda request: request.method == "GET" and request.url.path == "/sessions"  # noqa: E731
    waits: list[float] = []
    limited = Faults(reads, 429, "3", times=2, forward=False)
    with Client(api.base_url, api_key, transport=limited, sleep=waits.append) as client:
        assert isinstance(client.list_sessions(), list)
    assert waits == [3.0, 3.0]

    waits.clear()
    down = Faults(reads, 503, None, times=99, forward=False)
    policy = RetryPolicy(attempts=4, backoff=0.5, jitter=lambda: 0.0)
    client = Client(api.base_url, api_key, transport=down, sleep=waits.append, retry=policy)
    with client, pytest.raises(ServiceUnavailable) as failed:
        client.list_sessions()
    assert failed.value.status == 503 and failed.value.detail == "fault"
    assert waits == [0.5, 1.0, 2.0] and len(down.seen) == 4  # doubled backoff without Retry-After

    waits.clear()
    capped = Faults(reads, 503, "86400", times=1, forward=False)
    with Client(api.base_url, api_key, transport=capped, sleep=waits.append) as client:
        client.list_sessions()
    assert waits == [RetryPolicy().max_delay]


def test_an_unreachable_service_is_a_transport_error_after_the_retries() -> None:
    waits: list[float] = []
    policy = RetryPolicy(attempts=3, backoff=0.1, jitter=lambda: 0.0)
    client = Client("http://127.0.0.1:9", "k" * 16, retry=policy, sleep=waits.append)
    with client, pytest.raises(TransportError):
        client.list_sessions()
    assert waits == [0.1, 0.2]


class AsyncFaults(httpx.AsyncBaseTransport):
    def __init__(self, times: int) -> None:
        self._real = httpx.AsyncHTTPTransport()
        self._left = times
        self.keys: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if writes(request):
            self.keys.append(request.headers["idempotency-key"])
            if self._left > 0:
                self._left -= 1
                await (await self._real.handle_async_request(request)).aclose()
                return httpx.Response(503, headers={"retry-after": "0"}, json={"status": 503, "title": "down"})
        return await self._real.handle_async_request(request)


def test_the_async_client_retries_a_lost_write_once_too(api: RunningApi, api_key: str) -> None:
    async def scenario() -> tuple[int, int, list[str], list[str]]:
        faults = AsyncFaults(times=1)
        async with AsyncClient(api.base_url, api_key, transport=faults) as client:
            session = (await client.create_session("async")).id
            dataset = (await client.create_dataset(session, "people", PEOPLE)).id
            result = await client.insert(session, dataset, [{"id": n, "name": f"a{n}"} for n in range(50)])
            total = (await client.page(session, dataset, count=True)).total or 0
            names = [r["name"] async for r in client.records(session, dataset, {"id": "lt:3"}, page_size=1)]
            return result.inserted, total, faults.keys, names

    inserted, total, keys, names = asyncio.run(scenario())
    assert (inserted, total) == (50, 50)
    assert len(keys) == 2 and len(set(keys)) == 1
    assert names == ["a0", "a1", "a2"]
